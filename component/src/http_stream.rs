//! The request in progress as streams: an ASGI app reads the request body
//! and writes its response piece by piece through `_pycomponent`
//! (`_http_body_read`, `_http_response_start`, `_http_body_write`,
//! `_http_response_end`), so that no body is held whole. Also the one place
//! that turns a status and headers into a `wasi:http` response.

use std::cell::RefCell;

use pyo3_ffi as ffi;

use crate::py::{self, ExceptionKind, Owned, PyErr, PyObject, PyResult, c_function, install_functions};
use crate::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use crate::wasi::io::streams::{InputStream, OutputStream, StreamError};

/// The most one write may carry (`blocking-write-and-flush` takes at most
/// 4096 bytes).
const WRITE_CHUNK: usize = 4096;

/// The request body being read. Fields drop in order: the stream is a
/// child of the body and must go first.
struct RequestBody {
    stream: InputStream,
    _body: IncomingBody,
}

/// A response whose body is being written (the stream before the body, as above).
pub(crate) struct ResponseBody {
    stream: OutputStream,
    body: OutgoingBody,
}

/// How far the request body has been read.
enum BodyState {
    Reading(RequestBody),
    Ended,
    /// It could not be opened or read: why.
    Failed(String),
}

/// The exchange of the request in progress.
struct Exchange {
    request: BodyState,
    /// Some until the response has started.
    response_out: Option<ResponseOutparam>,
    /// Some while the response body is being written.
    response: Option<ResponseBody>,
    /// Whether the response ended properly (`_http_response_end`).
    ended: bool,
    /// A HEAD request: the response has no body.
    head: bool,
}

thread_local! {
    static EXCHANGE: RefCell<Option<Exchange>> = const { RefCell::new(None) };
}

/// How an exchange ended, from `end`.
pub(crate) enum Outcome {
    /// The app sent no response: the host's response slot is still open.
    Unanswered(ResponseOutparam),
    /// The response started but did not end: its body is dropped unfinished,
    /// so the client sees it cut short rather than taken for complete.
    CutShort,
    /// The response was sent whole.
    Complete,
}

/// Opens the exchange of `request` for the Python side.
pub(crate) fn begin(request: &IncomingRequest, response_out: ResponseOutparam, head: bool) {
    let exchange = Exchange {
        request: open_body(request).map_or_else(BodyState::Failed, BodyState::Reading),
        response_out: Some(response_out),
        response: None,
        ended: false,
        head,
    };
    EXCHANGE.with(|cell| *cell.borrow_mut() = Some(exchange));
}

/// Closes the exchange opened by `begin` and says how it ended.
pub(crate) fn end() -> Outcome {
    let exchange = EXCHANGE.with(|cell| cell.borrow_mut().take()).expect("an exchange was begun");
    match exchange {
        Exchange { response_out: Some(out), .. } => Outcome::Unanswered(out),
        Exchange { ended: true, .. } => Outcome::Complete,
        _ => Outcome::CutShort,
    }
}

fn open_body(request: &IncomingRequest) -> Result<RequestBody, String> {
    let body = request.consume().map_err(|()| "the body was taken already".to_string())?;
    let stream = body.stream().map_err(|()| "the body has no stream".to_string())?;
    Ok(RequestBody { stream, _body: body })
}

/// Starts a response: status, headers (the app's `content-length` is left
/// out: `content_length` is set when the whole body's length is known, else
/// the host sends the body chunked) and the body to write, which is None
/// when the host refused to give one (logged). Headers the host refuses
/// (hop-by-hop ones such as `connection`) are left out and logged.
pub(crate) fn start_response(
    status: u16,
    headers: &[(String, Vec<u8>)],
    content_length: Option<usize>,
    head: bool,
    response_out: ResponseOutparam,
) -> Option<ResponseBody> {
    let fields = Fields::new();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        if let Err(error) = fields.append(name, value) {
            crate::vfs::log(format_args!("pycomponent: response header {name:?} left out: {error:?}"));
        }
    }
    if let (Some(length), false) = (content_length, head) {
        let _ = fields.set("content-length", &[length.to_string().into_bytes()]);
    }
    let outgoing = OutgoingResponse::new(fields);
    if outgoing.set_status_code(status).is_err() {
        crate::vfs::log(format_args!("pycomponent: invalid status {status}; sending 500"));
        let _ = outgoing.set_status_code(500);
    }
    let Ok(body) = outgoing.body() else {
        ResponseOutparam::set(response_out, Err(ErrorCode::InternalError(Some("no response body".into()))));
        return None;
    };
    ResponseOutparam::set(response_out, Ok(outgoing));
    match body.write() {
        Ok(stream) => Some(ResponseBody { stream, body }),
        Err(()) => {
            crate::vfs::log(format_args!("pycomponent: the response body has no stream"));
            None
        }
    }
}

impl ResponseBody {
    /// Writes `data`; an error means the client went away.
    pub(crate) fn write(&self, data: &[u8]) -> Result<(), String> {
        for chunk in data.chunks(WRITE_CHUNK) {
            self.stream.blocking_write_and_flush(chunk).map_err(|error| match error {
                StreamError::Closed => "the client closed the connection".to_string(),
                StreamError::LastOperationFailed(error) => error.to_debug_string(),
            })?;
        }
        Ok(())
    }

    /// Ends the body: the response is complete.
    pub(crate) fn finish(self) {
        let ResponseBody { stream, body } = self;
        drop(stream);
        if let Err(error) = OutgoingBody::finish(body, None) {
            crate::vfs::log(format_args!("pycomponent: finishing the response failed: {error:?}"));
        }
    }
}

/// Installs the entry points into `module` (`_pycomponent`).
pub(crate) fn install(module: &Owned) -> PyResult<()> {
    install_functions(
        module,
        [
            (
                c"_http_body_read",
                body_read,
                ffi::METH_O,
                c"_http_body_read(size): up to size bytes of the request body; b'' at its end.",
            ),
            (
                c"_http_response_start",
                response_start,
                ffi::METH_VARARGS,
                c"_http_response_start(status, headers, content_length): sends the status and headers.",
            ),
            (
                c"_http_body_write",
                body_write,
                ffi::METH_O,
                c"_http_body_write(data): sends part of the response body.",
            ),
            (
                c"_http_response_end",
                response_end,
                ffi::METH_NOARGS,
                c"_http_response_end(): ends the response.",
            ),
        ],
    )
}

/// Runs `body` with the exchange in progress, or raises when there is none.
fn with_exchange<T>(body: impl FnOnce(&mut Exchange) -> PyResult<T>) -> PyResult<T> {
    EXCHANGE.with(|cell| match cell.borrow_mut().as_mut() {
        Some(exchange) => body(exchange),
        None => Err(PyErr::new(ExceptionKind::Runtime, "no HTTP request is in progress")),
    })
}

/// The C entry point behind `_pycomponent._http_body_read`.
unsafe extern "C" fn body_read(_self: *mut PyObject, size: *mut PyObject) -> *mut PyObject {
    // SAFETY: with METH_O the interpreter passes one borrowed argument.
    let size = unsafe { Owned::from_borrowed(size) };
    c_function(|| {
        let size = py::uint_value(&size?)?;
        let chunk = with_exchange(|exchange| {
            let failed =
                |why: &str| PyErr::new(ExceptionKind::Connection, &format!("the request body: {why}"));
            let request = match &exchange.request {
                BodyState::Reading(request) => request,
                BodyState::Ended => return Ok(Vec::new()),
                BodyState::Failed(why) => return Err(failed(why)),
            };
            loop {
                match request.stream.blocking_read(size) {
                    // An empty read is not the end: the next one waits for data.
                    Ok(chunk) if chunk.is_empty() => continue,
                    Ok(chunk) => return Ok(chunk),
                    Err(StreamError::Closed) => {
                        exchange.request = BodyState::Ended;
                        return Ok(Vec::new());
                    }
                    Err(StreamError::LastOperationFailed(error)) => {
                        let why = error.to_debug_string();
                        let error = failed(&why);
                        exchange.request = BodyState::Failed(why);
                        return Err(error);
                    }
                }
            }
        })?;
        py::bytes(&chunk)
    })
}

/// The C entry point behind `_pycomponent._http_response_start`:
/// `(status: int, headers: [(str, bytes)], content_length: int | None)`.
unsafe extern "C" fn response_start(_self: *mut PyObject, args: *mut PyObject) -> *mut PyObject {
    // SAFETY: with METH_VARARGS the interpreter passes a borrowed tuple of the arguments.
    let args = unsafe { Owned::from_borrowed(args) };
    c_function(|| {
        let usage = || {
            PyErr::new(
                ExceptionKind::Type,
                "_http_response_start(status: int, headers: [(str, bytes)], content_length: int | None)",
            )
        };
        let items = py::sequence_items(&args?)?;
        let [status, headers, length] = items.as_slice() else { return Err(usage()) };
        let status = py::int_value(status)?
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=999).contains(s))
            .ok_or_else(|| PyErr::new(ExceptionKind::Value, "an HTTP status is an int from 100 to 999"))?;
        let headers = crate::http_client::header_list(headers, usage)?;
        let length = if length.is_none() { None } else { Some(py::uint_value(length)? as usize) };
        with_exchange(|exchange| {
            let out = exchange
                .response_out
                .take()
                .ok_or_else(|| PyErr::new(ExceptionKind::Runtime, "the response has started already"))?;
            exchange.response = start_response(status, &headers, length, exchange.head, out);
            Ok(())
        })?;
        Ok(py::none())
    })
}

/// The C entry point behind `_pycomponent._http_body_write`.
unsafe extern "C" fn body_write(_self: *mut PyObject, data: *mut PyObject) -> *mut PyObject {
    // SAFETY: with METH_O the interpreter passes one borrowed argument.
    let data = unsafe { Owned::from_borrowed(data) };
    c_function(|| {
        let data = py::bytes_of(&data?)?;
        with_exchange(|exchange| {
            if exchange.response_out.is_some() {
                return Err(PyErr::new(ExceptionKind::Runtime, "the response body comes after its start"));
            }
            if exchange.head {
                return Ok(());
            }
            let Some(response) = &exchange.response else {
                return Err(PyErr::new(ExceptionKind::Connection, "the response has ended or has no body"));
            };
            response.write(&data).map_err(|why| {
                exchange.response = None;
                PyErr::new(ExceptionKind::Connection, &format!("writing the response: {why}"))
            })
        })?;
        Ok(py::none())
    })
}

/// The C entry point behind `_pycomponent._http_response_end`.
unsafe extern "C" fn response_end(_self: *mut PyObject, _args: *mut PyObject) -> *mut PyObject {
    c_function(|| {
        with_exchange(|exchange| {
            if exchange.response_out.is_some() {
                return Err(PyErr::new(ExceptionKind::Runtime, "the response has not started"));
            }
            if let Some(response) = exchange.response.take() {
                response.finish();
            }
            exchange.ended = true;
            Ok(())
        })?;
        Ok(py::none())
    })
}
