"""Outgoing HTTP over the embedder's client (module ``_pycomponent_http``).

WASI preview 1 has no sockets, so the standard library cannot connect
anywhere. Here the embedder's HTTP client (WIT ``http-client``) makes every
request, under the embedder's policy:

- ``http.client`` gets connections (``install_http_client``, run when it is
  imported) whose socket collects the request that ``http.client`` writes,
  hands it to the host whole when the response is read, and serves the
  response from memory. So ``http.client.HTTPConnection`` and
  ``HTTPSConnection`` (TLS is the host's), ``urllib.request`` and the code
  built on them run unchanged, redirects included: each hop is a request of
  its own, which the host checks again.
- ``fetch`` is the asynchronous API (``pycomponent.http.fetch``): in an
  asynchronous call of the embedder the request runs while Python waits.

The host's errors become exceptions of the classes below, which derive from
the built-in ones code already catches (``PermissionError``,
``TimeoutError``, ``ConnectionError``, all ``OSError``).
"""

import io
import json
import sys
import urllib.error
import urllib.parse

import _pycomponent

__all__ = [
    "HTTPClientError",
    "HTTPDenied",
    "HTTPTimeout",
    "HTTPConnectionFailed",
    "InvalidRequest",
    "ResponseTooLarge",
    "TooManyRequests",
    "FetchResponse",
    "fetch",
    "request",
]


class HTTPClientError(urllib.error.URLError):
    """A request the host's HTTP client did not complete: a
    ``urllib.error.URLError`` (so an ``OSError``), which is what urllib
    raises natively when a connection fails, so code that catches either
    catches these. Its message is the host's, without URLError's
    ``<urlopen error ...>`` around it."""

    def __init__(self, message):
        super().__init__(message)

    def __str__(self):
        return str(self.reason)


class HTTPDenied(HTTPClientError, PermissionError):
    """The host's policy does not allow the URL (grant it on the host)."""


class HTTPTimeout(HTTPClientError, TimeoutError):
    """The request took longer than it may."""


class HTTPConnectionFailed(HTTPClientError, ConnectionError):
    """The connection failed: name resolution, refused, reset, TLS, or a
    malformed response."""


class InvalidRequest(HTTPClientError, ValueError):
    """The host refused the request as malformed (URL, method, header)."""


class ResponseTooLarge(HTTPClientError):
    """The response body is larger than the host's cap."""


class TooManyRequests(HTTPClientError):
    """The call has made as many requests as the host allows per call."""


# The WIT error cases (http_client.rs gives their names).
_ERRORS = {
    "denied": HTTPDenied,
    "invalid": InvalidRequest,
    "timeout": HTTPTimeout,
    "too-large": ResponseTooLarge,
    "too-many-requests": TooManyRequests,
    "failed": HTTPConnectionFailed,
}


# The classes are public as pycomponent.http's (the module that re-exports them).
for _public in (HTTPClientError, HTTPDenied, HTTPTimeout, HTTPConnectionFailed, InvalidRequest, ResponseTooLarge, TooManyRequests):
    _public.__module__ = "pycomponent.http"
del _public


def _checked(answer):
    error, payload = answer
    if error is not None:
        raise _ERRORS[error](payload)
    return payload


def _timeout_ms(timeout):
    import socket

    if timeout is socket._GLOBAL_DEFAULT_TIMEOUT:
        timeout = socket.getdefaulttimeout()
    if timeout is None:
        return None
    if timeout < 0:
        raise ValueError("timeout must be non-negative")
    return int(timeout * 1000)


def _entry(name):
    # The world `http-app` has no `http-client` import (yet): no transport.
    entry = getattr(_pycomponent, name, None)
    if entry is None:
        raise HTTPConnectionFailed("this component has no HTTP client: outgoing requests cannot be made here")
    return entry


def _header_list(headers):
    """``[(name, bytes)]`` from a mapping or pairs; values are ``str``
    (ISO-8859-1, as ``http.client`` sends them) or ``bytes``."""
    if headers is None:
        return []
    items = headers.items() if hasattr(headers, "items") else headers
    result = []
    for name, value in items:
        if isinstance(value, str):
            value = value.encode("latin-1")
        result.append((str(name), bytes(value)))
    return result


def request(method, url, headers=None, body=b"", timeout=None):
    """Sends one request through the host and waits for the whole response:
    ``(status, reason, [(name, bytes)], body)``. No redirect is followed."""
    answer = _entry("_http_send")(method, url, _header_list(headers), bytes(body or b""), _timeout_ms(timeout))
    return _with_reason(_checked(answer))


def _with_reason(response):
    """The response with its status's standard reason phrase when the host
    gave none (HTTP/2, wasi:http)."""
    status, reason, headers, content = response
    if not reason:
        import http

        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            pass
    return status, reason, headers, content


async def _request_async(method, url, headers, body, timeout):
    """``request`` without blocking: in an asynchronous call of the embedder
    the host runs it while Python waits; in any other event loop (a plain
    ``asyncio.run`` in a synchronous call) it blocks that loop."""
    import asyncio

    driven = sys.modules.get("_pycomponent_asyncio")
    loop = asyncio.get_running_loop()
    if driven is None or loop is not driven._driven_loop or driven._run is None:
        return request(method, url, headers, body, timeout)
    args = (method, url, _header_list(headers), bytes(body or b""), _timeout_ms(timeout))
    call_id = _checked(_entry("_http_start")(*args))
    await driven.host_call_future(call_id, f"fetch {url}")
    return _with_reason(_checked(_entry("_http_finish")(call_id)))


_REDIRECTS = {301, 302, 303, 307, 308}


class FetchResponse:
    """The response of ``fetch``, whole: ``status``, ``reason``, ``headers``
    (a case-insensitive ``email.message.Message``, as ``http.client``
    gives), ``url`` (after redirects), ``redirected``, ``ok`` and the
    body as ``content``; ``await bytes()``, ``text()`` and ``json()`` as in
    Pyodide's ``pyfetch``."""

    def __init__(self, url, status, reason, headers, content, redirected):
        import http.client

        self.url = url
        self.status = status
        self.reason = reason
        self.headers = http.client.HTTPMessage()
        for name, value in headers:
            self.headers[name] = value.decode("latin-1")
        self.content = content
        self.redirected = redirected

    @property
    def ok(self):
        return 200 <= self.status < 300

    @property
    def status_text(self):
        return self.reason

    def _charset(self):
        return self.headers.get_content_charset() or "utf-8"

    async def bytes(self):
        return self.content

    async def text(self):
        return self.content.decode(self._charset(), errors="replace")

    async def json(self):
        return json.loads(self.content)

    def raise_for_status(self):
        """Raises ``urllib.error.HTTPError`` for a 4xx or 5xx status."""
        if self.status >= 400:
            import urllib.error

            raise urllib.error.HTTPError(self.url, self.status, self.reason, self.headers, io.BytesIO(self.content))
        return self

    def __repr__(self):
        return f"<FetchResponse [{self.status}] {self.url}>"


FetchResponse.__module__ = "pycomponent.http"


async def fetch(url, *, method="GET", headers=None, body=None, timeout=None, follow_redirects=True, max_redirects=20):
    """Sends a request through the host and returns its ``FetchResponse``.

    ``body`` is ``bytes`` or ``str`` (sent as UTF-8); ``timeout`` is in
    seconds. Redirects are followed (each hop is checked by the host's
    policy again), up to ``max_redirects``; 303, and 301 or 302 after a
    POST, go on as a GET without the body, as browsers do.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    method = method.upper()
    headers = _header_list(headers)
    redirected = False
    for _ in range(max_redirects + 1):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidRequest(f"fetch needs an absolute http or https URL, not {url!r}")
        status, reason, response_headers, content = await _request_async(method, url, headers, body, timeout)
        location = next((v for n, v in response_headers if n.lower() == "location"), None)
        if not follow_redirects or status not in _REDIRECTS or location is None:
            return FetchResponse(url, status, reason, response_headers, content, redirected)
        url = urllib.parse.urljoin(url, location.decode("latin-1"))
        redirected = True
        if status == 303 or (status in (301, 302) and method == "POST"):
            if method != "HEAD":
                method = "GET"
            body = None
            headers = [(n, v) for n, v in headers if n.lower() not in ("content-type", "content-length")]
    raise HTTPConnectionFailed(f"fetch {url}: more than {max_redirects} redirects")


# --- http.client over the host ---------------------------------------------


class _HostSocket:
    """The socket of a connection: what ``http.client`` writes is the next
    request; reading its response (``makefile``) sends that request to the
    host, whole, and serves the host's response from memory. A connection
    can send request after request (keep-alive), each one a host request."""

    def __init__(self, scheme, host, port, default_port, timeout):
        self.scheme = scheme
        self.authority = f"[{host}]" if ":" in host else host
        if port != default_port:
            self.authority += f":{port}"
        self.timeout = timeout
        self.outgoing = bytearray()
        self.closed = False

    def sendall(self, data):
        if self.closed:
            raise OSError("the connection is closed")
        self.outgoing += data

    def send(self, data):
        self.sendall(data)
        return len(data)

    def makefile(self, mode="r", *args, **kwargs):
        if "w" in mode:
            raise io.UnsupportedOperation("a connection to the host's HTTP client is read through http.client")
        raw, self.outgoing = bytes(self.outgoing), bytearray()
        method, url, headers, body = _parse_request(raw, self.scheme, self.authority)
        status, reason, response_headers, content = request(method, url, headers, body, self.timeout)
        return io.BytesIO(_response_bytes(method, status, reason, response_headers, content))

    def settimeout(self, timeout):
        self.timeout = timeout

    def gettimeout(self):
        return self.timeout

    def setsockopt(self, *args):
        pass

    def shutdown(self, how):
        pass

    def close(self):
        self.closed = True


# Headers of one hop of the connection, not of the request: the host's
# client sets its own.
_HOP_HEADERS = {b"host", b"content-length", b"transfer-encoding", b"connection", b"keep-alive"}


def _parse_request(raw, scheme, authority):
    """``(method, url, headers, body)`` of one HTTP/1.1 request as
    ``http.client`` writes it (a body by length or chunked)."""
    head, separator, rest = raw.partition(b"\r\n\r\n")
    if not separator:
        raise HTTPConnectionFailed("the request is incomplete: no end of headers was written")
    lines = head.split(b"\r\n")
    try:
        method, target, _version = lines[0].decode("latin-1").split(" ", 2)
    except ValueError:
        raise InvalidRequest(f"malformed request line {lines[0][:200]!r}") from None
    headers, length, chunked = [], None, False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise InvalidRequest(f"malformed header line {line[:200]!r}")
        key, value = name.strip().lower(), value.strip()
        if key == b"content-length":
            length = int(value)
        elif key == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        if key not in _HOP_HEADERS:
            headers.append((name.strip().decode("latin-1"), value))
    body = _dechunk(rest) if chunked else rest if length is None else rest[:length]
    if length is not None and len(body) < length:
        raise HTTPConnectionFailed(f"the request body is incomplete: {len(body)} of {length} bytes were written")
    # The absolute form is a proxy's; any other target is a path.
    url = target if target.startswith(("http://", "https://")) else f"{scheme}://{authority}{target}"
    return method, url, headers, body


def _dechunk(data):
    body, position = bytearray(), 0
    while True:
        end = data.find(b"\r\n", position)
        if end < 0:
            raise HTTPConnectionFailed("the chunked request body is incomplete")
        size = int(data[position:end].split(b";")[0], 16)
        if size == 0:
            return bytes(body)
        body += data[end + 2 : end + 2 + size]
        position = end + 4 + size


def _response_bytes(method, status, reason, headers, content):
    """The response as ``http.client`` reads it from a socket: the host's
    client has taken it off the wire already, so the body goes by its
    length (a HEAD response keeps the server's length, for its body is not
    sent)."""
    reason = reason.replace("\r", " ").replace("\n", " ")
    out = [f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1")]
    for name, value in headers:
        key = name.lower()
        if key in ("transfer-encoding", "connection", "keep-alive") or (key == "content-length" and method != "HEAD"):
            continue
        value = value.replace(b"\r", b" ").replace(b"\n", b" ")
        out.append(name.encode("latin-1") + b": " + value + b"\r\n")
    if method != "HEAD":
        out.append(b"Content-Length: %d\r\n" % len(content))
    out.append(b"\r\n")
    out.append(content)
    return b"".join(out)


def install_http_client(client):
    """Puts connections over the host into module ``http.client`` (called
    when it is imported, before any code uses it)."""
    import socket

    class HTTPConnection(client.HTTPConnection):
        _scheme = "http"

        def connect(self):
            if self._tunnel_host:
                raise HTTPConnectionFailed(
                    "proxy tunnels (CONNECT) are not supported: the host's HTTP client makes the connection"
                )
            self.sock = _HostSocket(self._scheme, self.host, self.port, self.default_port, self.timeout)

    class HTTPSConnection(HTTPConnection):
        """An HTTPS connection: the host's client does TLS and checks the
        certificate; ``context``, ``key_file`` and ``cert_file`` are
        accepted and not used."""

        default_port = client.HTTPS_PORT
        _scheme = "https"

        def __init__(
            self,
            host,
            port=None,
            key_file=None,
            cert_file=None,
            timeout=socket._GLOBAL_DEFAULT_TIMEOUT,
            source_address=None,
            *,
            context=None,
            check_hostname=None,
            blocksize=8192,
        ):
            super().__init__(host, port, timeout, source_address, blocksize=blocksize)
            self.key_file = key_file
            self.cert_file = cert_file
            self._context = context

    for cls in (HTTPConnection, HTTPSConnection):
        cls.__module__ = client.__name__
    client.HTTPConnection = HTTPConnection
    client.HTTPSConnection = HTTPSConnection
    if "HTTPSConnection" not in client.__all__:
        client.__all__.append("HTTPSConnection")


def _library_error(library_class, error, **kwargs):
    """``error`` (one of the classes above) raised as ``library_class`` of
    a client library too, so that both ``except requests.ConnectionError``
    and ``except PermissionError`` catch a denied request."""
    key = (library_class, type(error))
    combined = _LIBRARY_ERRORS.get(key)
    if combined is None:
        combined = type(type(error).__name__, (library_class, type(error)), {"__module__": "pycomponent.http"})
        _LIBRARY_ERRORS[key] = combined
    return combined(str(error), **kwargs)


_LIBRARY_ERRORS = {}


def _body_bytes(body):
    """A request body as bytes: ``None``, ``str``, bytes-like, a file or an
    iterable of chunks (the host's client takes the body whole)."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return b"".join(chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk) for chunk in body)


def install_requests(adapters):
    """Makes ``requests`` send through the host (called when
    ``requests.adapters`` is imported): ``HTTPAdapter.send`` hands each
    request to the host's client instead of urllib3's connection pool.
    Sessions, cookies, redirects (each hop a request of its own, checked by
    the host again), authentication, ``raise_for_status`` and content
    decoding are requests' own and run unchanged; ``stream=True`` gets the
    body read whole, and proxies and client certificates are not used: the
    host's client connects."""
    import http.client

    import requests.exceptions as errors
    import urllib3

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        try:
            status, reason, headers, content = _send(
                request.method, request.url, request.headers.items(), _body_bytes(request.body), _requests_timeout(timeout)
            )
        except HTTPTimeout as error:
            raise _library_error(errors.ReadTimeout, error, request=request) from None
        except InvalidRequest as error:
            raise _library_error(errors.InvalidURL, error, request=request) from None
        except HTTPClientError as error:
            raise _library_error(errors.ConnectionError, error, request=request) from None
        message = http.client.HTTPMessage()
        for name, value in headers:
            message[name] = value.decode("latin-1")
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(content),
            headers=urllib3.HTTPHeaderDict(message.items()),
            status=status,
            version=11,
            reason=reason,
            preload_content=False,
            decode_content=False,
            # requests reads cookies from the response's message, here.
            original_response=_OriginalResponse(message),
            request_method=request.method,
            request_url=request.url,
        )
        return self.build_response(request, raw)

    adapters.HTTPAdapter.send = send


class _OriginalResponse:
    """What requests' cookie jar reads of an ``http.client`` response."""

    def __init__(self, msg):
        self.msg = msg

    def isclosed(self):
        return True

    def close(self):
        pass


def _requests_timeout(timeout):
    """requests' ``timeout``: seconds, ``(connect, read)`` or a urllib3
    ``Timeout``; the host's limit is on the whole request, so the larger."""
    if isinstance(timeout, tuple):
        values = [t for t in timeout if t is not None]
        return max(values) if values else None
    if timeout is not None and not isinstance(timeout, (int, float)):
        values = [t for t in (getattr(timeout, "total", None), getattr(timeout, "_read", None), getattr(timeout, "_connect", None)) if isinstance(t, (int, float))]
        return max(values) if values else None
    return timeout


def _send(method, url, headers, body, timeout):
    """``request`` for a client library."""
    return request(method, url, _library_headers(headers), body, timeout)


def _library_headers(headers):
    """A client library's headers without the hop's own, which the host's
    client sets (and wasi:http refuses); names as ``str``."""
    result = []
    for name, value in headers:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if name.lower().encode("latin-1") not in _HOP_HEADERS:
            result.append((name, value))
    return result


def install_httpx(transports):
    """Makes ``httpx`` send through the host (called when its default
    transports are imported): ``HTTPTransport`` and ``AsyncHTTPTransport``
    hand each request to the host's client instead of httpcore's pool (the
    asynchronous one without blocking, in an asynchronous call of the
    embedder). Everything above the transport (clients, redirects, cookies,
    authentication, content decoding) is httpx's own; response bodies come
    whole, and proxies and client certificates are not used."""
    import httpx

    def response(request, answer):
        status, reason, headers, content = answer
        return httpx.Response(
            status,
            headers=[(name, value) for name, value in headers],
            stream=httpx.ByteStream(content),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason.encode("latin-1", "replace")},
            request=request,
        )

    def failure(request, error):
        if isinstance(error, HTTPTimeout):
            return _library_error(httpx.ReadTimeout, error, request=request)
        if isinstance(error, InvalidRequest):
            return _library_error(httpx.UnsupportedProtocol, error, request=request)
        return _library_error(httpx.ConnectError, error, request=request)

    def handle_request(self, request):
        try:
            answer = _send(request.method, str(request.url), request.headers.raw, request.read(), _httpx_timeout(request))
        except HTTPClientError as error:
            raise failure(request, error) from None
        return response(request, answer)

    async def handle_async_request(self, request):
        body = await request.aread()
        try:
            headers = _library_headers(request.headers.raw)
            answer = await _request_async(request.method, str(request.url), headers, body, _httpx_timeout(request))
        except HTTPClientError as error:
            raise failure(request, error) from None
        return response(request, answer)

    transports.HTTPTransport.handle_request = handle_request
    transports.AsyncHTTPTransport.handle_async_request = handle_async_request


def _httpx_timeout(request):
    """httpx's per-phase timeouts; the host's limit is on the whole request, so the largest."""
    values = [t for t in (request.extensions.get("timeout") or {}).values() if t is not None]
    return max(values) if values else None
