//! The part of CPython 3.11's C API the guest uses, declared by hand.
//!
//! Only functions and exported objects are used (no struct layouts beyond
//! `PyObject`'s two-word header, which is stable for a release build), so the
//! declarations hold for the exact `libpython3.11.a` this crate links.
#![allow(non_upper_case_globals, non_camel_case_types, dead_code)]

use std::ffi::{c_char, c_double, c_int, c_long, c_longlong};

/// `Py_ssize_t`.
pub type Py_ssize_t = isize;

/// The header of every Python object.
#[repr(C)]
pub struct PyObject {
    pub ob_refcnt: Py_ssize_t,
    pub ob_type: *mut PyTypeObject,
}

/// Opaque: only compared by address.
#[repr(C)]
pub struct PyTypeObject {
    _private: [u8; 0],
}

/// `Py_file_input`: statements.
pub const Py_file_input: c_int = 257;
/// `Py_eval_input`: one expression.
pub const Py_eval_input: c_int = 258;

unsafe extern "C" {
    pub static mut Py_IsolatedFlag: c_int;
    pub static mut Py_NoSiteFlag: c_int;
    pub static mut Py_IgnoreEnvironmentFlag: c_int;
    pub static mut Py_DontWriteBytecodeFlag: c_int;
    pub static mut Py_NoUserSiteDirectory: c_int;

    pub static mut _Py_NoneStruct: PyObject;
    pub static mut _Py_TrueStruct: PyObject;
    pub static mut _Py_FalseStruct: PyObject;

    pub static mut PyBool_Type: PyTypeObject;
    pub static mut PyLong_Type: PyTypeObject;
    pub static mut PyFloat_Type: PyTypeObject;
    pub static mut PyUnicode_Type: PyTypeObject;
    pub static mut PyBytes_Type: PyTypeObject;
    pub static mut PyByteArray_Type: PyTypeObject;
    pub static mut PyList_Type: PyTypeObject;
    pub static mut PyTuple_Type: PyTypeObject;
    pub static mut PyDict_Type: PyTypeObject;
    pub static mut PySet_Type: PyTypeObject;
    pub static mut PyFrozenSet_Type: PyTypeObject;

    pub static mut PyExc_RuntimeError: *mut PyObject;
    pub static mut PyExc_TypeError: *mut PyObject;
    pub static mut PyExc_ValueError: *mut PyObject;

    pub fn Py_InitializeEx(install_sigs: c_int);
    pub fn Py_IsInitialized() -> c_int;
    pub fn Py_IncRef(o: *mut PyObject);
    pub fn Py_DecRef(o: *mut PyObject);

    pub fn PyRun_StringFlags(
        code: *const c_char,
        start: c_int,
        globals: *mut PyObject,
        locals: *mut PyObject,
        flags: *mut std::ffi::c_void,
    ) -> *mut PyObject;
    pub fn PyImport_AddModule(name: *const c_char) -> *mut PyObject;
    pub fn PyImport_ImportModule(name: *const c_char) -> *mut PyObject;
    pub fn PyModule_GetDict(module: *mut PyObject) -> *mut PyObject;

    pub fn PyObject_GetAttrString(o: *mut PyObject, name: *const c_char) -> *mut PyObject;
    pub fn PyObject_Call(callable: *mut PyObject, args: *mut PyObject, kwargs: *mut PyObject) -> *mut PyObject;
    pub fn PyObject_IsInstance(o: *mut PyObject, cls: *mut PyObject) -> c_int;
    pub fn PyObject_Repr(o: *mut PyObject) -> *mut PyObject;
    pub fn PyObject_Str(o: *mut PyObject) -> *mut PyObject;
    pub fn PyObject_GetIter(o: *mut PyObject) -> *mut PyObject;
    pub fn PyIter_Next(iter: *mut PyObject) -> *mut PyObject;

    pub fn PyLong_AsLongLongAndOverflow(o: *mut PyObject, overflow: *mut c_int) -> c_longlong;
    pub fn PyLong_FromLongLong(v: c_longlong) -> *mut PyObject;
    pub fn PyLong_FromString(s: *const c_char, end: *mut *mut c_char, base: c_int) -> *mut PyObject;
    pub fn PyBool_FromLong(v: c_long) -> *mut PyObject;
    pub fn PyFloat_AsDouble(o: *mut PyObject) -> c_double;
    pub fn PyFloat_FromDouble(v: c_double) -> *mut PyObject;

    pub fn PyUnicode_FromStringAndSize(s: *const c_char, len: Py_ssize_t) -> *mut PyObject;
    pub fn PyObject_Size(o: *mut PyObject) -> Py_ssize_t;
    pub fn PyUnicode_AsEncodedString(o: *mut PyObject, encoding: *const c_char, errors: *const c_char) -> *mut PyObject;
    pub fn PyBytes_FromStringAndSize(s: *const c_char, len: Py_ssize_t) -> *mut PyObject;
    pub fn PyBytes_AsStringAndSize(o: *mut PyObject, buf: *mut *mut c_char, len: *mut Py_ssize_t) -> c_int;
    pub fn PyBytes_FromObject(o: *mut PyObject) -> *mut PyObject;

    pub fn PyList_New(len: Py_ssize_t) -> *mut PyObject;
    pub fn PyList_Size(o: *mut PyObject) -> Py_ssize_t;
    pub fn PyList_GetItem(o: *mut PyObject, i: Py_ssize_t) -> *mut PyObject;
    pub fn PyList_SetItem(o: *mut PyObject, i: Py_ssize_t, item: *mut PyObject) -> c_int;
    pub fn PyTuple_New(len: Py_ssize_t) -> *mut PyObject;
    pub fn PyTuple_Size(o: *mut PyObject) -> Py_ssize_t;
    pub fn PyTuple_GetItem(o: *mut PyObject, i: Py_ssize_t) -> *mut PyObject;
    pub fn PyTuple_SetItem(o: *mut PyObject, i: Py_ssize_t, item: *mut PyObject) -> c_int;
    pub fn PyDict_New() -> *mut PyObject;
    pub fn PyDict_SetItem(d: *mut PyObject, k: *mut PyObject, v: *mut PyObject) -> c_int;
    pub fn PyDict_SetItemString(d: *mut PyObject, k: *const c_char, v: *mut PyObject) -> c_int;
    pub fn PyDict_Next(
        d: *mut PyObject,
        pos: *mut Py_ssize_t,
        k: *mut *mut PyObject,
        v: *mut *mut PyObject,
    ) -> c_int;
    pub fn PySet_New(iterable: *mut PyObject) -> *mut PyObject;
    pub fn PySet_Add(set: *mut PyObject, key: *mut PyObject) -> c_int;
    pub fn PyFrozenSet_New(iterable: *mut PyObject) -> *mut PyObject;

    pub fn PyErr_Occurred() -> *mut PyObject;
    pub fn PyErr_Fetch(t: *mut *mut PyObject, v: *mut *mut PyObject, tb: *mut *mut PyObject);
    pub fn PyErr_NormalizeException(t: *mut *mut PyObject, v: *mut *mut PyObject, tb: *mut *mut PyObject);
    pub fn PyException_SetTraceback(e: *mut PyObject, tb: *mut PyObject) -> c_int;
    pub fn PyErr_SetString(t: *mut PyObject, msg: *const c_char);
    pub fn PyErr_Clear();
}

/// `Py_None` (borrowed).
pub fn none() -> *mut PyObject {
    &raw mut _Py_NoneStruct
}

/// The type of an object, by address.
///
/// # Safety
/// `o` must be a live object.
pub unsafe fn type_of(o: *mut PyObject) -> *mut PyTypeObject {
    unsafe { (*o).ob_type }
}
