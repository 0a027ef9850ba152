//! The bridge from Python's outgoing HTTP requests to the embedder's client
//! (WIT `http-client`): `_pycomponent._http_send`, `_http_start` and
//! `_http_finish`, which `_pycomponent_http` (http_client.py) calls.
//!
//! Each returns `(None, response)` or `(kind, message)`, `kind` the name of
//! the WIT error case: the Python side raises the matching exception, so
//! that this file holds no exception classes.

use pyo3_ffi as ffi;

use crate::host_bridge::{c_function, install_functions};
use crate::py::{self, ExceptionKind, Owned, PyErr, PyObject, PyResult};
use crate::pycomponent::python::http_client::{self, Error, Request, Response};

/// Installs the three entry points into `module` (`_pycomponent`).
pub(crate) fn install(module: &Owned) -> PyResult<()> {
    install_functions(
        module,
        [
            (
                c"_http_send",
                http_send,
                ffi::METH_VARARGS,
                c"_http_send(method, url, headers, body, timeout_ms): sends a request through the host.",
            ),
            (
                c"_http_start",
                http_start,
                ffi::METH_VARARGS,
                c"_http_start(method, url, headers, body, timeout_ms): starts a request in an asynchronous call.",
            ),
            (
                c"_http_finish",
                http_finish,
                ffi::METH_VARARGS,
                c"_http_finish(id): the response of a started request that completed.",
            ),
        ],
    )
}

/// The C entry point behind `_pycomponent._http_send`.
unsafe extern "C" fn http_send(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: with METH_VARARGS the interpreter passes a borrowed tuple of the arguments.
    let args = unsafe { Owned::from_borrowed(args) };
    c_function(|| answer(http_client::send(&request(&args?)?)))
}

/// The C entry point behind `_pycomponent._http_start`.
unsafe extern "C" fn http_start(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: as in `http_send`.
    let args = unsafe { Owned::from_borrowed(args) };
    c_function(|| match http_client::start(&request(&args?)?) {
        Ok(id) => py::tuple([py::none(), py::uint(id)?].into_iter()),
        Err(error) => failure(error),
    })
}

/// The C entry point behind `_pycomponent._http_finish`.
unsafe extern "C" fn http_finish(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: as in `http_send`.
    let args = unsafe { Owned::from_borrowed(args) };
    c_function(|| {
        let items = py::sequence_items(&args?)?;
        let [id] = items.as_slice() else {
            return Err(PyErr::new(ExceptionKind::Type, "_http_finish(id: int)"));
        };
        answer(http_client::finish(py::uint_value(id)?))
    })
}

/// `(method: str, url: str, headers: [(str, bytes)], body: bytes, timeout_ms: int | None)`.
fn request(args: &Owned) -> PyResult<Request> {
    let usage = || {
        PyErr::new(
            ExceptionKind::Type,
            "_http_send(method: str, url: str, headers: list, body: bytes, timeout_ms: int | None)",
        )
    };
    let items = py::sequence_items(args)?;
    let [method, url, headers, body, timeout] = items.as_slice() else { return Err(usage()) };
    let headers = py::sequence_items(headers)?
        .iter()
        .map(|header| match py::sequence_items(header)?.as_slice() {
            [name, value] => Ok((py::text_of(name)?, py::bytes_of(value)?)),
            _ => Err(usage()),
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Request {
        method: py::text_of(method)?,
        url: py::text_of(url)?,
        headers,
        body: py::bytes_of(body)?,
        timeout_ms: if timeout.is_none() { None } else { Some(py::uint_value(timeout)?) },
    })
}

/// `(None, (status, reason, headers, body))`, or the error as `(kind, message)`.
fn answer(result: Result<Response, Error>) -> PyResult<Owned> {
    let response = match result {
        Ok(response) => response,
        Err(error) => return failure(error),
    };
    let headers = response
        .headers
        .iter()
        .map(|(name, value)| py::tuple([py::str(name)?, py::bytes(value)?].into_iter()))
        .collect::<PyResult<Vec<_>>>()?;
    let response = py::tuple(
        [
            py::int(i64::from(response.status))?,
            py::str(&response.reason)?,
            py::list(headers.into_iter())?,
            py::bytes(&response.body)?,
        ]
        .into_iter(),
    )?;
    py::tuple([py::none(), response].into_iter())
}

/// `(kind, message)` for an error of the host's client.
fn failure(error: Error) -> PyResult<Owned> {
    let (kind, message) = match error {
        Error::Denied(m) => ("denied", m),
        Error::Invalid(m) => ("invalid", m),
        Error::Timeout(m) => ("timeout", m),
        Error::TooLarge(m) => ("too-large", m),
        Error::TooManyRequests(m) => ("too-many-requests", m),
        Error::Failed(m) => ("failed", m),
    };
    py::tuple([py::str(kind)?, py::str(&message)?].into_iter())
}
