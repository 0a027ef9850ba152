//! The bridge from Python's outgoing HTTP requests to the host's client:
//! `_pycomponent._http_send` (both worlds), `_http_start` and `_http_finish`
//! (world `python`), which `_pycomponent_http` (http_client.py) calls. In
//! world `python` the host is the WIT `http-client` import; in world
//! `http-app` it is `wasi:http/outgoing-handler` (`crate::http_outgoing`).
//!
//! Each returns `(None, response)` or `(kind, message)`, `kind` the name of
//! the WIT error case: the Python side raises the matching exception, so
//! that this file holds no exception classes.

use pyo3_ffi as ffi;

use crate::py::{self, ExceptionKind, Owned, PyErr, PyObject, PyResult, c_function, install_functions};

/// A request, whole, as Python gives it.
pub(crate) struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub timeout_ms: Option<u64>,
}

/// A response, whole.
pub(crate) struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// Why a request failed: `kind` names the WIT `http-client.error` case
/// (`denied`, `invalid`, `timeout`, `too-large`, `too-many-requests`,
/// `failed`), which Python turns into its exception class.
pub(crate) struct Failure {
    pub kind: &'static str,
    pub message: String,
}

/// Installs the entry points into `module` (`_pycomponent`).
pub(crate) fn install(module: &Owned) -> PyResult<()> {
    install_functions(
        module,
        [(
            c"_http_send",
            http_send,
            ffi::METH_VARARGS,
            c"_http_send(method, url, headers, body, timeout_ms): sends a request through the host.",
        )],
    )?;
    #[cfg(not(feature = "http"))]
    install_functions(
        module,
        [
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
    )?;
    Ok(())
}

/// The C entry point behind `_pycomponent._http_send`.
unsafe extern "C" fn http_send(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: with METH_VARARGS the interpreter passes a borrowed tuple of the arguments.
    let args = unsafe { Owned::from_borrowed(args) };
    c_function(|| answer(transport::send(request(&args?)?)))
}

/// The C entry point behind `_pycomponent._http_start`.
#[cfg(not(feature = "http"))]
unsafe extern "C" fn http_start(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: as in `http_send`.
    let args = unsafe { Owned::from_borrowed(args) };
    c_function(|| match transport::start(request(&args?)?) {
        Ok(id) => py::tuple([py::none(), py::uint(id)?].into_iter()),
        Err(failure) => failed(failure),
    })
}

/// The C entry point behind `_pycomponent._http_finish`.
#[cfg(not(feature = "http"))]
unsafe extern "C" fn http_finish(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: as in `http_send`.
    let args = unsafe { Owned::from_borrowed(args) };
    c_function(|| {
        let items = py::sequence_items(&args?)?;
        let [id] = items.as_slice() else {
            return Err(PyErr::new(ExceptionKind::Type, "_http_finish(id: int)"));
        };
        answer(transport::finish(py::uint_value(id)?))
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
    let headers = header_list(headers, usage)?;
    Ok(Request {
        method: py::text_of(method)?,
        url: py::text_of(url)?,
        headers,
        body: py::bytes_of(body)?,
        timeout_ms: if timeout.is_none() { None } else { Some(py::uint_value(timeout)?) },
    })
}

/// Headers from Python: a sequence of `(name: str, value: bytes)`;
/// anything else is the `usage` error.
pub(crate) fn header_list(headers: &Owned, usage: impl Fn() -> PyErr) -> PyResult<Vec<(String, Vec<u8>)>> {
    py::sequence_items(headers)?
        .iter()
        .map(|header| match py::sequence_items(header)?.as_slice() {
            [name, value] => Ok((py::text_of(name)?, py::bytes_of(value)?)),
            _ => Err(usage()),
        })
        .collect()
}

/// `(None, (status, reason, headers, body))`, or the error as `(kind, message)`.
fn answer(result: Result<Response, Failure>) -> PyResult<Owned> {
    let response = match result {
        Ok(response) => response,
        Err(failure) => return failed(failure),
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

/// `(kind, message)` for a failed request.
fn failed(failure: Failure) -> PyResult<Owned> {
    py::tuple([py::str(failure.kind)?, py::str(&failure.message)?].into_iter())
}

/// The WIT `http-client` import of world `python`.
#[cfg(not(feature = "http"))]
mod transport {
    use super::{Failure, Request, Response};
    use crate::pycomponent::python::http_client::{self as wit, Error};

    pub(super) fn send(request: Request) -> Result<Response, Failure> {
        wit::send(&wire(request)).map(response).map_err(failure)
    }

    pub(super) fn start(request: Request) -> Result<u64, Failure> {
        wit::start(&wire(request)).map_err(failure)
    }

    pub(super) fn finish(id: u64) -> Result<Response, Failure> {
        wit::finish(id).map(response).map_err(failure)
    }

    fn wire(r: Request) -> wit::Request {
        wit::Request {
            method: r.method,
            url: r.url,
            headers: r.headers,
            body: r.body,
            timeout_ms: r.timeout_ms,
        }
    }

    fn response(r: wit::Response) -> Response {
        Response { status: r.status, reason: r.reason, headers: r.headers, body: r.body }
    }

    fn failure(error: Error) -> Failure {
        let (kind, message) = match error {
            Error::Denied(m) => ("denied", m),
            Error::Invalid(m) => ("invalid", m),
            Error::Timeout(m) => ("timeout", m),
            Error::TooLarge(m) => ("too-large", m),
            Error::TooManyRequests(m) => ("too-many-requests", m),
            Error::Failed(m) => ("failed", m),
        };
        Failure { kind, message }
    }
}

/// `wasi:http/outgoing-handler` of world `http-app`.
#[cfg(feature = "http")]
use crate::http_outgoing as transport;
