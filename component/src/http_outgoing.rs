//! Outgoing requests of an HTTP app (world `http-app`), through
//! `wasi:http/outgoing-handler`: the host (`pycomponent serve`, `wasmtime
//! serve`, an edge platform) sends them under its own policy. A request is
//! sent whole and its response read whole, within `MAX_RESPONSE_BYTES`.

use crate::http_client::{Failure, Request, Response};
use crate::wasi::http::outgoing_handler;
use crate::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use crate::wasi::io::streams::StreamError;

/// The largest response body read (a larger one raises `ResponseTooLarge`),
/// as the Rust and JS hosts' default cap.
const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// How long a request may take when Python sets no timeout; the host's own
/// limits (the request's timeout under `pycomponent serve`) come first.
const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// The most one body write carries (`blocking-write-and-flush` takes at most 4096 bytes).
const WRITE_CHUNK: usize = 4096;

/// How much one body read asks for.
const READ_CHUNK: u64 = 64 << 10;

/// Sends `request` through the host and reads the whole response.
pub(crate) fn send(request: Request) -> Result<Response, Failure> {
    let label = format!("{} {}", request.method, request.url);
    let fail = |kind: &'static str, what: String| Failure { kind, message: format!("{label}: {what}") };
    let (scheme, authority, path) = split_url(&request.url).ok_or_else(|| {
        fail("invalid", "only absolute http and https URLs with a host can be requested".into())
    })?;
    let grant = format!("{}://{authority}", if matches!(scheme, Scheme::Https) { "https" } else { "http" });
    let error = |code: ErrorCode| error(&label, &grant, code);
    let headers = Fields::new();
    for (name, value) in &request.headers {
        if is_connection_header(name) {
            continue;
        }
        headers.append(name, value).map_err(|e| fail("invalid", format!("header {name:?}: {e:?}")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let method = method(&request.method);
    let refused = |what: &str| fail("invalid", format!("the host refused the {what}"));
    outgoing.set_method(&method).map_err(|()| refused("method"))?;
    outgoing.set_scheme(Some(&scheme)).map_err(|()| refused("scheme"))?;
    outgoing.set_authority(Some(authority)).map_err(|()| refused("authority"))?;
    outgoing.set_path_with_query(Some(path)).map_err(|()| refused("path"))?;
    let body = outgoing.body().map_err(|()| refused("body"))?;
    let options = RequestOptions::new();
    let timeout_ns = request.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS).saturating_mul(1_000_000);
    // A host that cannot honour a timeout keeps its own.
    let _ = options.set_connect_timeout(Some(timeout_ns));
    let _ = options.set_first_byte_timeout(Some(timeout_ns));
    let _ = options.set_between_bytes_timeout(Some(timeout_ns));
    // The request goes out before its body is written: the host reads the
    // body as the request is sent.
    let future = outgoing_handler::handle(outgoing, Some(options)).map_err(error)?;
    {
        let stream = body.write().map_err(|()| refused("body"))?;
        for chunk in request.body.chunks(WRITE_CHUNK) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| fail("failed", format!("sending the body: {e:?}")))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(error)?;
    let incoming = loop {
        match future.get() {
            Some(answer) => break answer,
            None => future.subscribe().block(),
        }
    };
    let incoming =
        incoming.map_err(|()| fail("failed", "the response was already taken".into()))?.map_err(error)?;
    let status = incoming.status();
    let headers = incoming.headers().entries();
    let body = incoming.consume().map_err(|()| fail("failed", "the response has no body".into()))?;
    let mut content = Vec::new();
    {
        let stream = body.stream().map_err(|()| fail("failed", "the response body cannot be read".into()))?;
        loop {
            match stream.blocking_read(READ_CHUNK) {
                Ok(bytes) => {
                    if content.len() + bytes.len() > MAX_RESPONSE_BYTES {
                        return Err(fail(
                            "too-large",
                            format!("the response body is larger than the cap of {MAX_RESPONSE_BYTES} bytes"),
                        ));
                    }
                    content.extend_from_slice(&bytes);
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(fail(
                        "failed",
                        format!("reading the response body: {}", e.to_debug_string()),
                    ));
                }
            }
        }
    }
    drop(IncomingBody::finish(body));
    Ok(Response { status, reason: String::new(), headers, body: content })
}

/// The WIT error of a failed request, as the Python exception kind.
fn error(label: &str, grant: &str, code: ErrorCode) -> Failure {
    let (kind, what) = match &code {
        ErrorCode::HttpRequestDenied => (
            "denied",
            format!(
                "the host does not allow it (with `pycomponent serve`, grant it with `--allow-http {grant}`)"
            ),
        ),
        ErrorCode::ConnectionLimitReached => {
            ("too-many-requests", "the host allows no more requests in this call".into())
        }
        ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            ("timeout", "no complete response in time".into())
        }
        ErrorCode::HttpRequestMethodInvalid
        | ErrorCode::HttpRequestUriInvalid
        | ErrorCode::HttpRequestUriTooLong => ("invalid", format!("{code:?}")),
        ErrorCode::HttpResponseBodySize(_) => ("too-large", format!("{code:?}")),
        other => ("failed", format!("{other:?}")),
    };
    Failure { kind, message: format!("{label}: {what}") }
}

/// `(scheme, authority, path with query)` of an absolute http(s) URL; the
/// fragment is left out.
fn split_url(url: &str) -> Option<(Scheme, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        _ => return None,
    };
    let rest = rest.split('#').next().unwrap_or(rest);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some((scheme, authority, if path.is_empty() { "/" } else { path }))
}

fn method(name: &str) -> Method {
    match name {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_string()),
    }
}

/// Headers of one connection, which the host's client sets itself
/// (wasi:http refuses them as forbidden).
fn is_connection_header(name: &str) -> bool {
    ["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}
