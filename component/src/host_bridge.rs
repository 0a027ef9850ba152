//! The bridge from Python to the embedder's host functions (WIT `host`):
//! `_pycomponent._host_call` and `_pycomponent._host_modules`, in Rust.

use std::ffi::{CString, c_char, c_int};

use crate::convert;
use crate::ffi::{self, PyObject};
use crate::interp::py_str;
use crate::pycomponent::python::host;
use crate::pycomponent::python::types::KeywordArgument;
use crate::pyobj::Owned;

/// `PyMethodDef`: the four-field layout of CPython 3.11.
#[repr(C)]
struct PyMethodDef {
    name: *const c_char,
    meth: unsafe extern "C" fn(*mut PyObject, *mut PyObject) -> *mut PyObject,
    flags: c_int,
    doc: *const c_char,
}

// SAFETY: the definition is immutable and the guest is single-threaded.
unsafe impl Sync for PyMethodDef {}

const METH_VARARGS: c_int = 1;

static HOST_CALL: PyMethodDef = PyMethodDef {
    name: c"_host_call".as_ptr(),
    meth: host_call,
    flags: METH_VARARGS,
    doc: c"_host_call(module, function, args, kwargs): calls a host function.".as_ptr(),
};

unsafe extern "C" {
    fn PyCFunction_NewEx(def: *const PyMethodDef, self_: *mut PyObject, module: *mut PyObject) -> *mut PyObject;
    fn PyArg_ParseTuple(args: *mut PyObject, format: *const c_char, ...) -> c_int;
}

/// Installs the Rust entry points `_pycomponent._host_call` and
/// `_pycomponent._host_modules`. The host is asked for its modules only at
/// run time: while the snapshot is made there is no host.
pub(crate) unsafe fn install(module: *mut PyObject) {
    unsafe {
        let globals = ffi::PyModule_GetDict(module);
        for (def, name) in [(&HOST_CALL, c"_host_call"), (&HOST_MODULES, c"_host_modules")] {
            let func = PyCFunction_NewEx(def, std::ptr::null_mut(), std::ptr::null_mut());
            assert!(!func.is_null(), "creating a host bridge function failed");
            ffi::PyDict_SetItemString(globals, name.as_ptr(), func);
            ffi::Py_DecRef(func);
        }
    }
}

const METH_NOARGS: c_int = 4;

static HOST_MODULES: PyMethodDef = PyMethodDef {
    name: c"_host_modules".as_ptr(),
    meth: host_modules,
    flags: METH_NOARGS,
    doc: c"_host_modules(): the host's modules, as [(name, [function, ...]), ...].".as_ptr(),
};

/// The C entry point behind `_pycomponent._host_modules`.
unsafe extern "C" fn host_modules(_self: *mut PyObject, _args: *mut PyObject) -> *mut PyObject {
    let build = || -> Result<Owned, ()> {
        unsafe {
            let list = Owned::new(ffi::PyList_New(0))?;
            for m in host::modules() {
                let functions = Owned::new(ffi::PyList_New(m.functions.len() as _))?;
                for (i, f) in m.functions.iter().enumerate() {
                    ffi::PyList_SetItem(functions.ptr(), i as _, py_str(f)?.into_raw());
                }
                let pair = Owned::new(ffi::PyTuple_New(2))?;
                ffi::PyTuple_SetItem(pair.ptr(), 0, py_str(&m.name)?.into_raw());
                ffi::PyTuple_SetItem(pair.ptr(), 1, functions.into_raw());
                list_append(list.ptr(), pair.ptr());
            }
            Ok(list)
        }
    };
    build().map_or(std::ptr::null_mut(), Owned::into_raw)
}

unsafe fn list_append(list: *mut PyObject, item: *mut PyObject) {
    unsafe extern "C" {
        fn PyList_Append(list: *mut PyObject, item: *mut PyObject) -> c_int;
    }
    unsafe { PyList_Append(list, item) };
}

/// The C entry point behind `_pycomponent._host_call`.
unsafe extern "C" fn host_call(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    unsafe {
        let (mut module, mut function, mut call_args, mut call_kwargs) =
            (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
        if PyArg_ParseTuple(
            args,
            c"UUO!O!".as_ptr(),
            &mut module as *mut *mut PyObject,
            &mut function as *mut *mut PyObject,
            &raw mut ffi::PyTuple_Type,
            &mut call_args as *mut *mut PyObject,
            &raw mut ffi::PyDict_Type,
            &mut call_kwargs as *mut *mut PyObject,
        ) == 0
        {
            return std::ptr::null_mut();
        }
        let (Ok(module), Ok(function)) = (convert::text_of(module), convert::text_of(function)) else {
            return std::ptr::null_mut();
        };
        let mut values = Vec::new();
        for i in 0..ffi::PyTuple_Size(call_args) {
            match convert::to_value(ffi::PyTuple_GetItem(call_args, i)) {
                Ok(v) => values.push(v),
                Err(()) => return std::ptr::null_mut(),
            }
        }
        let mut keywords = Vec::new();
        let (mut pos, mut key, mut value) = (0, std::ptr::null_mut(), std::ptr::null_mut());
        while ffi::PyDict_Next(call_kwargs, &mut pos, &mut key, &mut value) != 0 {
            let (Ok(name), Ok(value)) = (convert::text_of(key), convert::to_value(value)) else {
                return std::ptr::null_mut();
            };
            keywords.push(KeywordArgument { name, value });
        }
        match host::call(&module, &function, &values, &keywords) {
            Ok(result) => match convert::from_value(&result) {
                Ok(obj) => obj.into_raw(),
                Err(message) => {
                    let message = CString::new(format!("the host returned an invalid value: {message}"))
                        .unwrap_or_default();
                    ffi::PyErr_SetString(ffi::PyExc_TypeError, message.as_ptr());
                    std::ptr::null_mut()
                }
            },
            Err(message) => {
                let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
                ffi::PyErr_SetString(ffi::PyExc_RuntimeError, message.as_ptr());
                std::ptr::null_mut()
            }
        }
    }
}
