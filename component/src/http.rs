//! The `wasi:http/incoming-handler` export of the `http-app` world: reads a
//! request, runs the app through `pycomponent.http` (http.py) and writes
//! the response back. A WSGI or `handle` app gets the body whole and gives
//! its response whole; an ASGI app streams both (`crate::http_stream`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::exports::wasi::http::incoming_handler::Guest as IncomingHandler;
use crate::http_stream::{self, Outcome};
use crate::interp;
use crate::py::{self, ExceptionKind, Owned, PyErr, PyResult};
use crate::pycomponent::python::types::PythonError;
use crate::wasi::http::types::{IncomingRequest, Method, ResponseOutparam, Scheme};
use crate::wasi::io::streams::StreamError;

/// The Python half (see that file), added as module `pycomponent.http`.
const HTTP_SOURCE: &str = include_str!("http.py");

/// The largest request body the app accepts, in bytes; set from the build's
/// `--max-body` when the app is loaded into the snapshot.
static MAX_BODY: AtomicU64 = AtomicU64::new(0);

/// Whether the app streams its request and response (ASGI); set, like
/// `MAX_BODY`, when the app is loaded.
static STREAMING: AtomicBool = AtomicBool::new(false);

/// How much of a body one read asks for.
const READ_CHUNK: u64 = 64 << 10;

/// Loads the app mounted at `/app` into the interpreter: run once, by
/// wizer, while `pycomponent build` makes the app's snapshot.
pub fn load_app() -> Result<(), PythonError> {
    interp::ensure_started();
    // The build mounts the app at /app; the file system still has the
    // stdlib mount of the first snapshot.
    crate::vfs::on_instance_start();
    let load = || -> PyResult<()> {
        let add = |name: &str, source: &str, is_package: bool| {
            interp::call_helper("add_module", &[&py::str(name)?, &py::str(source)?, &py::bool(is_package)?])
        };
        add("pycomponent", "", true)?;
        add("pycomponent.http", HTTP_SOURCE, false)?;
        let loaded = call_http("load_app", &[])?;
        let max_body = py::int_value(&py::tuple_item(&loaded, 0)?)?;
        MAX_BODY.store(max_body.unwrap_or(i64::MAX).max(0) as u64, Ordering::Relaxed);
        STREAMING.store(py::int_value(&py::tuple_item(&loaded, 1)?)? == Some(1), Ordering::Relaxed);
        Ok(())
    };
    load().map_err(interp::describe)
}

/// Calls `pycomponent.http.<function>(*args)`.
fn call_http(function: &str, args: &[&Owned]) -> PyResult<Owned> {
    let name = py::str(&format!("pycomponent.http.{function}"))?;
    let args = py::tuple(args.iter().map(|arg| arg.clone_ref()))?;
    interp::call_helper("call", &[&name, &args, &py::dict()?])
}

/// A request as read from the host; `body` is empty for a streaming app,
/// which reads it itself.
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
    headers: Vec<(String, Vec<u8>)>,
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
        if STREAMING.load(Ordering::Relaxed) {
            return stream_app(request, response_out);
        }
        let response = match read_request(&request) {
            Ok(request) => run_app(&request),
            Err(refusal) => refusal_response(refusal),
        };
        let head = matches!(request.method(), Method::Head);
        drop(request);
        send(response, head, response_out);
    }
}

/// The request line and headers; the body is left unread.
fn read_head(request: &IncomingRequest) -> Result<Request, Refusal> {
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
    let declared = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| std::str::from_utf8(value).ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY.load(Ordering::Relaxed)) {
        return Err(Refusal::TooLarge);
    }
    Ok(Request {
        method,
        path,
        query,
        headers,
        body: Vec::new(),
        scheme,
        authority: request.authority().unwrap_or_default(),
    })
}

/// The whole request, body included.
fn read_request(request: &IncomingRequest) -> Result<Request, Refusal> {
    let mut head = read_head(request)?;
    head.body = read_body(request, MAX_BODY.load(Ordering::Relaxed))?;
    Ok(head)
}

/// Serves a request with a streaming (ASGI) app: `pycomponent.http.stream`
/// reads the body and writes the response through `http_stream` as the app
/// goes; a response the app did not start is a 500, and one it did not end
/// is cut short.
fn stream_app(request: IncomingRequest, response_out: ResponseOutparam) {
    let head = matches!(request.method(), Method::Head);
    let meta = match read_head(&request) {
        Ok(meta) => meta,
        Err(refusal) => return send(refusal_response(refusal), head, response_out),
    };
    http_stream::begin(&request, response_out, head);
    let call = || -> PyResult<Owned> {
        let args = head_args(&meta)?;
        call_http("stream", &args.iter().collect::<Vec<_>>())
    };
    let result = call().map_err(interp::describe);
    forward_output();
    if let Err(error) = result {
        log_failure(&meta, &error);
    }
    match http_stream::end() {
        Outcome::Unanswered(response_out) => {
            send(text_response(500, "Internal Server Error\n"), head, response_out)
        }
        Outcome::CutShort => crate::vfs::log(format_args!(
            "pycomponent: {} {}: the response was cut short",
            meta.method, meta.path
        )),
        Outcome::Complete => {}
    }
    drop(request);
}

fn read_body(request: &IncomingRequest, max_body: u64) -> Result<Vec<u8>, Refusal> {
    let incoming =
        request.consume().map_err(|()| Refusal::Unreadable("the body was taken already".into()))?;
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
    forward_output();
    response.unwrap_or_else(|error| {
        log_failure(request, &error);
        text_response(500, "Internal Server Error\n")
    })
}

/// Hands what the app printed to the host's stdout and stderr.
fn forward_output() {
    let output = interp::take_output();
    crate::vfs::write_to_host(1, output.stdout.as_bytes());
    crate::vfs::write_to_host(2, output.stderr.as_bytes());
}

fn log_failure(request: &Request, error: &PythonError) {
    crate::vfs::log(format_args!(
        "pycomponent: {} {}: {}: {}\n{}",
        request.method, request.path, error.type_name, error.message, error.traceback
    ));
}

/// `(method, path, query, headers, scheme, authority)` for Python.
fn head_args(request: &Request) -> PyResult<[Owned; 6]> {
    let headers = request
        .headers
        .iter()
        .map(|(name, value)| py::tuple([py::str(name)?, py::bytes(value)?].into_iter()))
        .collect::<PyResult<Vec<_>>>()?;
    Ok([
        py::str(&request.method)?,
        py::str(&request.path)?,
        py::str(&request.query)?,
        py::list(headers.into_iter())?,
        py::str(&request.scheme)?,
        py::str(&request.authority)?,
    ])
}

fn dispatch(request: &Request) -> Result<Response, PythonError> {
    let call = || -> PyResult<Response> {
        let [method, path, query, headers, scheme, authority] = head_args(request)?;
        let body = py::bytes(&request.body)?;
        let args = [&method, &path, &query, &headers, &body, &scheme, &authority];
        let result = call_http("dispatch", &args)?;
        let item = |i| py::tuple_item(&result, i);
        let status = py::int_value(&item(0)?)?;
        let status = status
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..=999).contains(s))
            .ok_or_else(|| PyErr::new(ExceptionKind::Value, &format!("invalid HTTP status {status:?}")))?;
        let mut headers = Vec::new();
        for pair in py::sequence_items(&item(1)?)? {
            let pair = py::sequence_items(&pair)?;
            let [name, value] = pair.as_slice() else {
                return Err(PyErr::new(
                    ExceptionKind::Value,
                    "a response header is not a (name, value) pair",
                ));
            };
            headers.push((py::text_of(name)?, py::text_of(value)?.into_bytes()));
        }
        let body = py::bytes_of(&item(2)?)?;
        Ok(Response { status, headers, body })
    };
    call().map_err(interp::describe)
}

/// The response to a request that does not reach the app.
fn refusal_response(refusal: Refusal) -> Response {
    match refusal {
        Refusal::TooLarge => text_response(
            413,
            &format!("Request body larger than {} bytes\n", MAX_BODY.load(Ordering::Relaxed)),
        ),
        Refusal::Unreadable(why) => {
            crate::vfs::log(format_args!("pycomponent: reading the request body failed: {why}"));
            text_response(400, "Bad Request\n")
        }
    }
}

fn text_response(status: u16, text: &str) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
        body: text.as_bytes().to_vec(),
    }
}

/// Writes a whole response: its length is known and sent as
/// `content-length` (the app's own is replaced).
fn send(response: Response, head: bool, response_out: ResponseOutparam) {
    let length = Some(response.body.len());
    let Some(body) =
        http_stream::start_response(response.status, &response.headers, length, head, response_out)
    else {
        return;
    };
    if !head && let Err(why) = body.write(&response.body) {
        // The client went away: nothing more to send.
        crate::vfs::log(format_args!("pycomponent: writing the response body failed: {why}"));
        return;
    }
    body.finish();
}
