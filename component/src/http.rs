//! The `wasi:http/incoming-handler` export of the `http-app` world: reads a
//! request, runs the app through `pycomponent.http` (http.py) and writes
//! the response back.

use std::ffi::c_char;
use std::io::Write;

use crate::convert;
use crate::exports::wasi::http::incoming_handler::Guest as IncomingHandler;
use crate::ffi::{self, PyObject};
use crate::interp;
use crate::pycomponent::python::types::PythonError;
use crate::pyobj::Owned;
use crate::wasi::http::types::{
    ErrorCode, Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam, Scheme,
};
use crate::wasi::io::streams::StreamError;

/// The Python half (see that file), added as module `pycomponent.http`.
const HTTP_SOURCE: &str = include_str!("http.py");

/// The largest request body the app accepts, in bytes; set from the build's
/// `--max-body` when the app is loaded into the snapshot.
static mut MAX_BODY: u64 = 0;

/// How much of a body one read asks for, and the most one write may carry
/// (`blocking-write-and-flush` takes at most 4096 bytes).
const READ_CHUNK: u64 = 64 << 10;
const WRITE_CHUNK: usize = 4096;

/// Loads the app mounted at `/app` into the interpreter: run once, by
/// wizer, while `pycomponent build` makes the app's snapshot.
pub fn load_app() -> Result<(), PythonError> {
    interp::ensure_started();
    // The build mounts the app at /app; wasi-libc's table of directories
    // still lists the stdlib mount of the first snapshot.
    interp::register_granted_directories();
    let empty = interp::py_str("").map_err(|()| interp::take_error())?;
    let package = interp::py_str("pycomponent").map_err(|()| interp::take_error())?;
    let module = interp::py_str("pycomponent.http").map_err(|()| interp::take_error())?;
    let source = interp::py_str(HTTP_SOURCE).map_err(|()| interp::take_error())?;
    unsafe {
        let yes = Owned::new(ffi::PyBool_FromLong(1)).map_err(|()| interp::take_error())?;
        let no = Owned::new(ffi::PyBool_FromLong(0)).map_err(|()| interp::take_error())?;
        interp::call_helper("add_module", &[package.ptr(), empty.ptr(), yes.ptr()]).map_err(|()| interp::take_error())?;
        interp::call_helper("add_module", &[module.ptr(), source.ptr(), no.ptr()]).map_err(|()| interp::take_error())?;
    }
    let max_body = call_http("load_app", &[])?;
    let mut overflow = 0;
    let max_body = unsafe { ffi::PyLong_AsLongLongAndOverflow(max_body.ptr(), &mut overflow) };
    unsafe { MAX_BODY = max_body.max(0) as u64 };
    Ok(())
}

/// Calls `pycomponent.http.<function>(*args)`.
fn call_http(function: &str, args: &[*mut PyObject]) -> Result<Owned, PythonError> {
    unsafe {
        let name = interp::py_str(&format!("pycomponent.http.{function}")).map_err(|()| interp::take_error())?;
        let tuple = Owned::new(ffi::PyTuple_New(args.len() as _)).map_err(|()| interp::take_error())?;
        for (i, arg) in args.iter().enumerate() {
            ffi::PyTuple_SetItem(tuple.ptr(), i as _, Owned::borrowed(*arg).map_err(|()| interp::take_error())?.into_raw());
        }
        let kwargs = Owned::new(ffi::PyDict_New()).map_err(|()| interp::take_error())?;
        interp::call_helper("call", &[name.ptr(), tuple.ptr(), kwargs.ptr()]).map_err(|()| interp::take_error())
    }
}

/// A request as read from the host.
struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    scheme: String,
    authority: String,
}

/// A response as the app gave it.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Why a request did not reach the app.
enum Refusal {
    /// The body is larger than `MAX_BODY`.
    TooLarge,
    /// The body could not be read.
    Unreadable(String),
}

impl IncomingHandler for crate::Component {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        interp::ensure_instance_started();
        let response = match read_request(&request) {
            Ok(request) => run_app(&request),
            Err(Refusal::TooLarge) => text_response(
                413,
                &format!("Request body larger than {} bytes\n", unsafe { MAX_BODY }),
            ),
            Err(Refusal::Unreadable(why)) => {
                eprintln!("pycomponent: reading the request body failed: {why}");
                text_response(400, "Bad Request\n")
            }
        };
        let head = matches!(request.method(), Method::Head);
        drop(request);
        send(response, head, response_out);
    }
}

fn read_request(request: &IncomingRequest) -> Result<Request, Refusal> {
    let method = match request.method() {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other,
    };
    let target = request.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), query.to_string()),
        None => (target, String::new()),
    };
    let scheme = match request.scheme() {
        Some(Scheme::Https) => "https".into(),
        Some(Scheme::Other(other)) => other,
        Some(Scheme::Http) | None => "http".into(),
    };
    let headers = request.headers().entries();
    let max_body = unsafe { MAX_BODY };
    let declared = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| std::str::from_utf8(value).ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_body) {
        return Err(Refusal::TooLarge);
    }
    let body = read_body(request, max_body)?;
    Ok(Request { method, path, query, headers, body, scheme, authority: request.authority().unwrap_or_default() })
}

fn read_body(request: &IncomingRequest, max_body: u64) -> Result<Vec<u8>, Refusal> {
    let incoming = request.consume().map_err(|()| Refusal::Unreadable("the body was taken already".into()))?;
    let mut body = Vec::new();
    {
        let stream = incoming.stream().map_err(|()| Refusal::Unreadable("no body stream".into()))?;
        loop {
            match stream.blocking_read(READ_CHUNK) {
                Ok(chunk) => {
                    body.extend_from_slice(&chunk);
                    if body.len() as u64 > max_body {
                        return Err(Refusal::TooLarge);
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(error)) => {
                    return Err(Refusal::Unreadable(error.to_debug_string()));
                }
            }
        }
    }
    drop(incoming);
    Ok(body)
}

/// Runs `pycomponent.http.dispatch`, which turns an exception of the app
/// into a 500 itself; what the app printed goes to the host's stdout and
/// stderr.
fn run_app(request: &Request) -> Response {
    let response = dispatch(request);
    let output = interp::take_output();
    let _ = std::io::stdout().write_all(output.stdout.as_bytes());
    let _ = std::io::stderr().write_all(output.stderr.as_bytes());
    response.unwrap_or_else(|error| {
        eprintln!("pycomponent: {} {}: {}: {}\n{}", request.method, request.path, error.type_name, error.message, error.traceback);
        text_response(500, "Internal Server Error\n")
    })
}

fn dispatch(request: &Request) -> Result<Response, PythonError> {
    let fail = |()| interp::take_error();
    unsafe {
        let headers = Owned::new(ffi::PyList_New(request.headers.len() as _)).map_err(fail)?;
        for (i, (name, value)) in request.headers.iter().enumerate() {
            let pair = Owned::new(ffi::PyTuple_New(2)).map_err(fail)?;
            ffi::PyTuple_SetItem(pair.ptr(), 0, interp::py_str(name).map_err(fail)?.into_raw());
            ffi::PyTuple_SetItem(pair.ptr(), 1, py_bytes(value).map_err(fail)?.into_raw());
            ffi::PyList_SetItem(headers.ptr(), i as _, pair.into_raw());
        }
        let args = [
            interp::py_str(&request.method).map_err(fail)?,
            interp::py_str(&request.path).map_err(fail)?,
            interp::py_str(&request.query).map_err(fail)?,
            headers,
            py_bytes(&request.body).map_err(fail)?,
            interp::py_str(&request.scheme).map_err(fail)?,
            interp::py_str(&request.authority).map_err(fail)?,
        ];
        let pointers: Vec<*mut PyObject> = args.iter().map(Owned::ptr).collect();
        let result = call_http("dispatch", &pointers)?;
        let item = |i| ffi::PyTuple_GetItem(result.ptr(), i);
        let mut overflow = 0;
        let status = ffi::PyLong_AsLongLongAndOverflow(item(0), &mut overflow);
        let status = u16::try_from(status).ok().filter(|s| (100..=999).contains(s)).ok_or_else(|| PythonError {
            type_name: "ValueError".into(),
            message: format!("invalid HTTP status {status}"),
            traceback: String::new(),
        })?;
        let list = item(1);
        let mut headers = Vec::new();
        for i in 0..ffi::PyList_Size(list) {
            let pair = ffi::PyList_GetItem(list, i);
            let name = convert::text_of(ffi::PyTuple_GetItem(pair, 0)).map_err(fail)?;
            let value = convert::text_of(ffi::PyTuple_GetItem(pair, 1)).map_err(fail)?;
            headers.push((name, value));
        }
        let body = convert::bytes_of(item(2)).map_err(fail)?;
        Ok(Response { status, headers, body })
    }
}

fn py_bytes(data: &[u8]) -> Result<Owned, ()> {
    Owned::new(unsafe { ffi::PyBytes_FromStringAndSize(data.as_ptr().cast::<c_char>(), data.len() as _) })
}

fn text_response(status: u16, text: &str) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
        body: text.as_bytes().to_vec(),
    }
}

/// Writes the response. The body is complete, so its length is known and
/// sent as `content-length` (the app's own is replaced); headers the host
/// refuses (hop-by-hop ones such as `connection`) are left out and logged.
fn send(response: Response, head: bool, response_out: ResponseOutparam) {
    let fields = Fields::new();
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        if let Err(error) = fields.append(name, value.as_bytes()) {
            eprintln!("pycomponent: response header {name:?} left out: {error:?}");
        }
    }
    if !head {
        let _ = fields.set("content-length", &[response.body.len().to_string().into_bytes()]);
    }
    let outgoing = OutgoingResponse::new(fields);
    if outgoing.set_status_code(response.status).is_err() {
        eprintln!("pycomponent: invalid status {}; sending 500", response.status);
        let _ = outgoing.set_status_code(500);
    }
    let Ok(body) = outgoing.body() else {
        ResponseOutparam::set(response_out, Err(ErrorCode::InternalError(Some("no response body".into()))));
        return;
    };
    ResponseOutparam::set(response_out, Ok(outgoing));
    if !head {
        let Ok(stream) = body.write() else { return };
        for chunk in response.body.chunks(WRITE_CHUNK) {
            if let Err(error) = stream.blocking_write_and_flush(chunk) {
                // The client went away: nothing more to send.
                eprintln!("pycomponent: writing the response body failed: {error:?}");
                return;
            }
        }
        drop(stream);
    }
    if let Err(error) = OutgoingBody::finish(body, None) {
        eprintln!("pycomponent: finishing the response failed: {error:?}");
    }
}
