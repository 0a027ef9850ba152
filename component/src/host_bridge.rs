//! The bridge from Python to the embedder's host functions and host
//! objects (WIT `host`): `_pycomponent._host_call`, `_host_modules` and
//! `_host_object_get`, `_set`, `_call`, `_release`, in Rust.

use pyo3_ffi as ffi;

use crate::convert;
use crate::py::{self, ExceptionKind, Owned, PyErr, PyObject, PyResult, c_function, install_functions};
use crate::pycomponent::python::host::{self, Attribute, Outcome};
use crate::pycomponent::python::types::{HostError, KeywordArgument, Value};

/// Installs the Rust entry points `_pycomponent._host_call` and
/// `_pycomponent._host_modules` into `module`, replacing the bootstrap's
/// stand-ins. The host is asked for its modules only at run time: while the
/// snapshot is made there is no host.
pub(crate) fn install(module: &Owned) -> PyResult<()> {
    install_functions(
        module,
        [
            (
                c"_host_call",
                host_call,
                ffi::METH_VARARGS,
                c"_host_call(module, function, args, kwargs): calls a host function.",
            ),
            (
                c"_host_modules",
                host_modules,
                ffi::METH_NOARGS,
                c"_host_modules(): the host's modules, as [(name, [function, ...]), ...].",
            ),
            (
                c"_host_object_get",
                host_object_get,
                ffi::METH_VARARGS,
                c"_host_object_get(handle, name): ('value', v), ('method', None) or ('missing', None).",
            ),
            (
                c"_host_object_set",
                host_object_set,
                ffi::METH_VARARGS,
                c"_host_object_set(handle, name, value): sets an attribute of a host object.",
            ),
            (
                c"_host_object_call",
                host_object_call,
                ffi::METH_VARARGS,
                c"_host_object_call(handle, method or None, args, kwargs): calls a host object or its method.",
            ),
            (
                c"_host_object_release",
                host_object_release,
                ffi::METH_O,
                c"_host_object_release(handle): Python dropped a host object.",
            ),
        ],
    )
}

/// The C entry point behind `_pycomponent._host_modules`.
unsafe extern "C" fn host_modules(_self: *mut PyObject, _args: *mut PyObject) -> *mut PyObject {
    c_function(|| {
        let modules = host::modules()
            .iter()
            .map(|m| {
                let functions = m.functions.iter().map(|f| py::str(f)).collect::<PyResult<Vec<_>>>()?;
                py::tuple([py::str(&m.name)?, py::list(functions.into_iter())?].into_iter())
            })
            .collect::<PyResult<Vec<_>>>()?;
        py::list(modules.into_iter())
    })
}

/// The C entry point behind `_pycomponent._host_call`.
unsafe extern "C" fn host_call(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: with METH_VARARGS the interpreter passes a borrowed tuple of the arguments.
    let args = unsafe { Owned::from_borrowed(args) };
    c_function(|| call_host(&args?))
}

/// `_host_call(module: str, function: str, args: tuple, kwargs: dict)`.
fn call_host(args: &Owned) -> PyResult<Owned> {
    let usage = || {
        PyErr::new(ExceptionKind::Type, "_host_call(module: str, function: str, args: tuple, kwargs: dict)")
    };
    let items = py::sequence_items(args)?;
    let [module, function, call_args, call_kwargs] = items.as_slice() else { return Err(usage()) };
    let (module, function) = (py::text_of(module)?, py::text_of(function)?);
    let (values, keywords) = call_values(call_args, call_kwargs).ok_or_else(usage)??;
    crate::host_objects::send_released();
    let outcome = host::call(&module, &function, &values, &keywords)
        .map_err(|message| PyErr::new(ExceptionKind::Runtime, &message))?;
    outcome_object(outcome, &format!("{module}.{function}"))
}

/// The values of a call's `args` tuple and `kwargs` dict; None when they
/// are not a tuple and a dict.
fn call_values(args: &Owned, kwargs: &Owned) -> Option<PyResult<(Vec<Value>, Vec<KeywordArgument>)>> {
    // SAFETY: the type checks read only the objects' type flags.
    let (is_tuple, is_dict) =
        unsafe { (ffi::PyTuple_Check(args.as_ptr()) != 0, ffi::PyDict_Check(kwargs.as_ptr()) != 0) };
    if !is_tuple || !is_dict {
        return None;
    }
    let mut values = Vec::new();
    let mut keywords = Vec::new();
    let mut convert = || {
        for arg in py::sequence_items(args)? {
            values.push(convert::to_value(&arg)?);
        }
        let mut pos: ffi::Py_ssize_t = 0;
        loop {
            let (mut key, mut value) = (std::ptr::null_mut(), std::ptr::null_mut());
            // SAFETY: a dict (checked above); PyDict_Next bounds-checks `pos`
            // and gives borrowed references, of which we take our own at once.
            let (key, value) = unsafe {
                if ffi::PyDict_Next(kwargs.as_ptr(), &mut pos, &mut key, &mut value) == 0 {
                    break;
                }
                (Owned::from_borrowed(key)?, Owned::from_borrowed(value)?)
            };
            keywords.push(KeywordArgument { name: py::text_of(&key)?, value: convert::to_value(&value)? });
        }
        Ok(())
    };
    match convert() {
        Ok(()) => Some(Ok((values, keywords))),
        Err(err) => {
            // The host never sees the handles of the values converted already.
            let held = values.iter().chain(keywords.iter().map(|k| &k.value)).flat_map(convert::handles_in);
            crate::objects::release(&held.collect::<Vec<_>>());
            Some(Err(err))
        }
    }
}

/// What a host call gave, as Python's result: its value, or a future of
/// the driven event loop for an asynchronous one (done already, or
/// completed later by `resume`).
fn outcome_object(outcome: Outcome, label: &str) -> PyResult<Owned> {
    let label = || py::str(label);
    match outcome {
        Outcome::Value(result) => host_value(&result),
        Outcome::Ready(result) => crate::interp::call_helper(
            "host_call_future",
            &[&py::int(0)?, &label()?, &host_value(&result)?, &py::bool(true)?],
        ),
        Outcome::Pending(id) => crate::interp::call_helper("host_call_future", &[&py::uint(id)?, &label()?]),
    }
}

/// The `HostError` of an error the host's code raised.
fn host_error(error: HostError) -> PyErr {
    let made = (|| {
        let module = py::import(c"_pycomponent_objects")?;
        module.getattr(c"_host_error")?.call(&[
            &py::str(&error.type_name)?,
            &py::str(&error.message)?,
            &py::str(&error.stack)?,
        ])
    })();
    match made {
        Ok(exception) => PyErr::from_exception(exception),
        Err(err) => err,
    }
}

/// The C entry point behind `_pycomponent._host_object_get`.
unsafe extern "C" fn host_object_get(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: with METH_VARARGS the interpreter passes a borrowed tuple of the arguments.
    let args = unsafe { Owned::from_borrowed(args) };
    c_function(|| {
        let items = py::sequence_items(&args?)?;
        let [handle, name] = items.as_slice() else {
            return Err(PyErr::new(ExceptionKind::Type, "_host_object_get(handle: int, name: str)"));
        };
        let (handle, name) = (py::uint_value(handle)?, py::text_of(name)?);
        crate::host_objects::send_released();
        let (kind, value) = match host::object_get(handle, &name).map_err(host_error)? {
            Attribute::Value(value) => ("value", host_value(&value)?),
            Attribute::Method => ("method", py::none()),
            Attribute::Missing => ("missing", py::none()),
        };
        py::tuple([py::str(kind)?, value].into_iter())
    })
}

/// The C entry point behind `_pycomponent._host_object_set`.
unsafe extern "C" fn host_object_set(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: with METH_VARARGS the interpreter passes a borrowed tuple of the arguments.
    let args = unsafe { Owned::from_borrowed(args) };
    c_function(|| {
        let items = py::sequence_items(&args?)?;
        let [handle, name, value] = items.as_slice() else {
            return Err(PyErr::new(ExceptionKind::Type, "_host_object_set(handle: int, name: str, value)"));
        };
        let (handle, name, value) = (py::uint_value(handle)?, py::text_of(name)?, convert::to_value(value)?);
        crate::host_objects::send_released();
        host::object_set(handle, &name, &value).map_err(host_error)?;
        Ok(py::none())
    })
}

/// The C entry point behind `_pycomponent._host_object_call`.
unsafe extern "C" fn host_object_call(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: with METH_VARARGS the interpreter passes a borrowed tuple of the arguments.
    let args = unsafe { Owned::from_borrowed(args) };
    c_function(|| {
        let usage = || {
            PyErr::new(
                ExceptionKind::Type,
                "_host_object_call(handle: int, method: str | None, args: tuple, kwargs: dict)",
            )
        };
        let items = py::sequence_items(&args?)?;
        let [handle, method, call_args, call_kwargs] = items.as_slice() else { return Err(usage()) };
        let handle = py::uint_value(handle)?;
        let method = if method.is_none() { None } else { Some(py::text_of(method)?) };
        let (values, keywords) = call_values(call_args, call_kwargs).ok_or_else(usage)??;
        crate::host_objects::send_released();
        let outcome = host::object_call(handle, method.as_deref(), &values, &keywords).map_err(host_error)?;
        let label = match &method {
            Some(name) => format!("host object method {name}"),
            None => "host function".to_string(),
        };
        outcome_object(outcome, &label)
    })
}

/// The C entry point behind `_pycomponent._host_object_release`: the
/// handle is sent with the next call to the host, or when the next call
/// into the instance starts.
unsafe extern "C" fn host_object_release(_self: *mut PyObject, handle: *mut PyObject) -> *mut PyObject {
    // SAFETY: with METH_O the interpreter passes the borrowed argument.
    let handle = unsafe { Owned::from_borrowed(handle) };
    c_function(|| {
        crate::host_objects::released(py::uint_value(&handle?)?);
        Ok(py::none())
    })
}

/// A value the host returned, as a Python object.
fn host_value(result: &Value) -> PyResult<Owned> {
    convert::from_value(result).map_err(|e| match e {
        convert::FromValueError::Malformed(message) => {
            PyErr::new(ExceptionKind::Type, &format!("the host returned an invalid value: {message}"))
        }
        convert::FromValueError::Python(err) => err,
    })
}
