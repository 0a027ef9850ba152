//! The bridge from Python to the embedder's host functions (WIT `host`):
//! `_pycomponent._host_call` and `_pycomponent._host_modules`, in Rust.

use pyo3_ffi as ffi;

use crate::convert;
use crate::py::{self, ExceptionKind, Owned, PyErr, PyObject, PyResult, c_function, install_functions};
use crate::pycomponent::python::host::{self, Outcome};
use crate::pycomponent::python::types::KeywordArgument;

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
    // SAFETY: the type checks read only the objects' type flags.
    let (is_tuple, is_dict) = unsafe {
        (ffi::PyTuple_Check(call_args.as_ptr()) != 0, ffi::PyDict_Check(call_kwargs.as_ptr()) != 0)
    };
    if !is_tuple || !is_dict {
        return Err(usage());
    }
    let (module, function) = (py::text_of(module)?, py::text_of(function)?);
    let values =
        py::sequence_items(call_args)?.iter().map(convert::to_value).collect::<PyResult<Vec<_>>>()?;
    let mut keywords = Vec::new();
    let mut pos: ffi::Py_ssize_t = 0;
    loop {
        let (mut key, mut value) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: a dict (checked above); PyDict_Next bounds-checks `pos`
        // and gives borrowed references, of which we take our own at once.
        let (key, value) = unsafe {
            if ffi::PyDict_Next(call_kwargs.as_ptr(), &mut pos, &mut key, &mut value) == 0 {
                break;
            }
            (Owned::from_borrowed(key)?, Owned::from_borrowed(value)?)
        };
        keywords.push(KeywordArgument { name: py::text_of(&key)?, value: convert::to_value(&value)? });
    }
    let label = || py::str(&format!("{module}.{function}"));
    match host::call(&module, &function, &values, &keywords) {
        Ok(Outcome::Value(result)) => host_value(&result),
        // An asynchronous function: Python gets a future of the driven
        // event loop, done already or completed later by `resume`.
        Ok(Outcome::Ready(result)) => crate::interp::call_helper(
            "host_call_future",
            &[&py::int(0)?, &label()?, &host_value(&result)?, &py::bool(true)?],
        ),
        Ok(Outcome::Pending(id)) => {
            crate::interp::call_helper("host_call_future", &[&py::uint(id)?, &label()?])
        }
        Err(message) => Err(PyErr::new(ExceptionKind::Runtime, &message)),
    }
}

/// A value the host returned, as a Python object.
fn host_value(result: &crate::pycomponent::python::types::Value) -> PyResult<Owned> {
    convert::from_value(result).map_err(|e| match e {
        convert::FromValueError::Malformed(message) => {
            PyErr::new(ExceptionKind::Type, &format!("the host returned an invalid value: {message}"))
        }
        convert::FromValueError::Python(err) => err,
    })
}
