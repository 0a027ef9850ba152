"""The Python side of an HTTP app component (world ``http-app``).

Runs as module ``pycomponent.http``. ``load_app`` runs once, while
``pycomponent build`` makes the snapshot: it takes the user's code and its
dependencies into memory and imports the app. ``dispatch`` runs once per
request: the Rust side hands it the request and writes back what it returns.

An app is one of:

- an ASGI application named ``app`` (``async def app(scope, receive,
  send)`` or an object with an ``async def __call__``: Starlette, FastAPI,
  Django's ASGI handler). Its lifespan ``startup`` runs in ``load_app``, so
  what it prepares is in the snapshot; ``stream`` serves its requests,
  reading the body and writing the response through the host as the app
  goes, one event loop per instance;
- a WSGI callable named ``app`` (PEP 3333: Flask, Bottle, Falcon and plain
  WSGI functions);
- a function ``handle(request)`` that returns a ``Response``, a ``str``,
  ``bytes``, a ``dict`` or ``list`` (sent as JSON), ``None`` (204) or a
  tuple ``(body, status[, headers])``.

WSGI and ``handle`` apps get the body whole and give their response whole
(``dispatch``).
"""

import asyncio
import importlib
import importlib.util
import inspect
import io
import json
import os
import sys
import traceback
import urllib.parse

import _pycomponent
# Outgoing HTTP (fetch, request and their exceptions), as in the interpreter world.
from _pycomponent_http import *  # noqa: F401,F403

# Where ``pycomponent build`` mounts the app while the snapshot is made.
APP_ROOT = "/app"

# The app, set by load_app: ("asgi", app), ("wsgi", callable) or ("handle", function).
_app = None

# The largest request body to accept, in bytes (from the build's --max-body).
_max_body = 0

# The ASGI app's event loop, made with its lifespan in the snapshot: every
# request of the instance runs on it.
_loop = None

# How much of the request body one read of an ASGI app's ``receive`` asks for.
READ_CHUNK = 64 << 10


class Request:
    """One HTTP request, as ``handle(request)`` receives it."""

    def __init__(self, method, path, query, headers, body, scheme, authority):
        self.method = method
        self.path = path
        self.query = query
        # Lower-cased names; repeated headers are joined with ", " (RFC 9110).
        self.headers = {}
        for name, value in headers:
            name = name.lower()
            value = value.decode("latin-1")
            self.headers[name] = f"{self.headers[name]}, {value}" if name in self.headers else value
        self.body = body
        self.scheme = scheme
        self.authority = authority

    @property
    def args(self):
        """The query parameters; the first value of each name."""
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.query, keep_blank_values=True).items()}

    @property
    def text(self):
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")

    def json(self):
        """The body parsed as JSON."""
        return json.loads(self.body)

    @property
    def form(self):
        """An ``application/x-www-form-urlencoded`` body; the first value of each name."""
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.text, keep_blank_values=True).items()}

    def __repr__(self):
        return f"<Request {self.method} {self.path}>"


class Response:
    """What ``handle(request)`` may return: a body (``str``, ``bytes``, or a
    ``dict``/``list`` sent as JSON), a status and headers."""

    def __init__(self, body=b"", status=200, headers=None, content_type=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            content_type = content_type or "application/json"
        if isinstance(body, str):
            body = body.encode("utf-8")
            content_type = content_type or "text/plain; charset=utf-8"
        if not isinstance(body, (bytes, bytearray)):
            raise TypeError(f"a response body must be str, bytes, dict or list, not {type(body).__name__}")
        self.body = bytes(body)
        self.status = int(status)
        self.headers = list(headers.items() if isinstance(headers, dict) else headers or [])
        if content_type and not any(name.lower() == "content-type" for name, _ in self.headers):
            self.headers.append(("content-type", content_type))

    def __repr__(self):
        return f"<Response {self.status}, {len(self.body)} bytes>"


def load_app(root=APP_ROOT):
    """Loads the app staged under ``root`` (``entry``: the module name;
    ``src/`` the user's code; ``site-packages/`` its dependencies) and
    imports it. Returns the largest request body to accept, in bytes, and
    whether the app streams (ASGI)."""
    global _app, _max_body
    with open(os.path.join(root, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    for tree in ("site-packages", "src"):
        _add_tree(os.path.join(root, tree))
    _add_distributions(os.path.join(root, "site-packages"))
    module = importlib.import_module(config["entry"])
    app = getattr(module, "app", None)
    handle = getattr(module, "handle", None)
    if callable(app) and _is_asgi(app):
        _app = ("asgi", app)
        _Lifespan.start(app)
    elif callable(app):
        _app = ("wsgi", app)
    elif callable(handle):
        _app = ("handle", handle)
    else:
        raise TypeError(
            f"{config['source']} defines neither `app` (an ASGI or WSGI application) nor `handle(request)`"
        )
    _max_body = int(config["max_body"])
    _warm_up()
    _pycomponent.finish_snapshot()
    return _max_body, _app[0] == "asgi"


# Files in a package that are not its data: compiled code.
_NOT_DATA = (".pyc", ".pyo", ".so", ".pyd")


def _warm_up():
    """Does now, into the snapshot, the work that the standard library
    defers to its first use, for the modules the app imported: every
    request is a first use in its instance. Nothing changes but when it is
    done (urlopen builds and keeps the same opener on its first call)."""
    request = sys.modules.get("urllib.request")
    if request is not None:
        if request._opener is None:
            request.install_opener(request.build_opener())
        # Compiles urllib.parse's cached patterns (_splittype, _splithost).
        request.Request("http://localhost/")


def _add_tree(top):
    """Adds every ``.py`` file under ``top`` as a module, in memory, and
    the other files of its packages as their resources
    (``importlib.resources``: certifi's CA bundle, templates)."""
    finder = _pycomponent._finder
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        rel = os.path.relpath(dirpath, top)
        package = [] if rel == "." else rel.split(os.sep)
        if any(not part.isidentifier() for part in package):
            continue  # not importable: *.dist-info, bin, __pycache__ ...
        for filename in sorted(filenames):
            stem, ext = os.path.splitext(filename)
            path = os.path.join(dirpath, filename)
            if ext != ".py" or not stem.isidentifier():
                if package and not filename.endswith(_NOT_DATA):
                    with open(path, "rb") as f:
                        finder.resources.setdefault(".".join(package), {})[filename] = f.read()
                continue
            with open(path, "rb") as f:
                source = importlib.util.decode_source(f.read())
            is_package = stem == "__init__"
            name = ".".join(package if is_package else package + [stem])
            if not name:
                continue
            # A directory without __init__.py is a namespace package: give
            # it an empty one so that its modules import.
            parts = name.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent not in finder.files:
                    finder.add_file(parent, True, None, "")
            finder.add_file(name, is_package, path, source)


def _add_distributions(site_packages):
    for entry in sorted(os.listdir(site_packages)):
        path = os.path.join(site_packages, entry)
        if not (entry.endswith(".dist-info") and os.path.isdir(path)):
            continue
        _pycomponent._distributions.add(path, _pycomponent._read_dist_info(path))


def dispatch(method, path, query, headers, body, scheme, authority):
    """Runs the app for one request; returns (status, [(name, value)], body).
    An exception in the app is a 500 whose traceback goes to stderr."""
    try:
        if _app is None:
            raise RuntimeError("no app was loaded into this component")
        kind, app = _app
        if kind == "wsgi":
            return _run_wsgi(app, method, path, query, headers, body, scheme, authority)
        request = Request(method, path, query, headers, body, scheme, authority)
        return _as_response(app(request))
    except BaseException as exc:  # noqa: BLE001 - any failure of the app is a 500
        print(f"pycomponent: {method} {path}: the app raised", file=sys.stderr)
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        return 500, [("content-type", "text/plain; charset=utf-8")], b"Internal Server Error\n"


def _as_response(result):
    if isinstance(result, Response):
        response = result
    elif result is None:
        response = Response(b"", 204)
    elif isinstance(result, tuple) and 2 <= len(result) <= 3:
        response = Response(*result)
    else:
        response = Response(result)
    return response.status, [(str(k), str(v)) for k, v in response.headers], response.body


def _run_wsgi(app, method, path, query, headers, body, scheme, authority):
    host, colon, port = authority.rpartition(":")
    if not colon or "]" in port:  # no port, or the colon is inside an IPv6 address: "[::1]"
        host, port = authority, ""
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": urllib.parse.unquote(path, encoding="latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": host or "localhost",
        "SERVER_PORT": port or ("443" if scheme == "https" else "80"),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        value = value.decode("latin-1")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    environ.setdefault("CONTENT_LENGTH", str(len(body)))

    started = {}
    written = []

    def start_response(status, response_headers, exc_info=None):
        if exc_info is not None and started.get("body_begun"):
            raise exc_info[1].with_traceback(exc_info[2])
        started["status"] = status
        started["headers"] = list(response_headers)
        return write

    def write(data):
        if "status" not in started:
            raise AssertionError("write() called before start_response()")
        started["body_begun"] = True
        written.append(bytes(data))

    result = app(environ, start_response)
    try:
        for chunk in result:
            if not isinstance(chunk, (bytes, bytearray)):
                raise TypeError(f"a WSGI app must yield bytes, not {type(chunk).__name__}")
            if chunk:
                started["body_begun"] = True
                written.append(bytes(chunk))
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if "status" not in started:
        raise AssertionError("the WSGI app returned without calling start_response()")
    status = int(started["status"].split(" ", 1)[0])
    return status, [(str(k), str(v)) for k, v in started["headers"]], b"".join(written)


def _is_asgi(app):
    """An ASGI 3 application: a coroutine function, or an object whose
    ``__call__`` is one (a WSGI app's is a plain function)."""
    if inspect.iscoroutinefunction(app):
        return True
    if inspect.isfunction(app) or inspect.ismethod(app) or inspect.isclass(app):
        return False
    return inspect.iscoroutinefunction(getattr(type(app), "__call__", None))


class _Lifespan:
    """The app's lifespan (ASGI lifespan protocol), started while the
    snapshot is made. The task stays suspended in its ``receive`` for good:
    a ``shutdown`` would come when the server stops, and an instance ends
    with its request instead. ``state`` (``scope["state"]``) is what the
    startup stored there, copied into each request's scope."""

    task = None
    state = {}

    @classmethod
    def start(cls, app):
        global _loop
        _loop = asyncio.new_event_loop()
        cls.state = {}
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": cls.state}
        startup = _loop.create_future()
        received = []

        async def receive():
            if not received:
                received.append("lifespan.startup")
                return {"type": "lifespan.startup"}
            await _loop.create_future()  # shutdown: never, see above

        async def send(message):
            kind = message["type"]
            if startup.done():
                return
            if kind == "lifespan.startup.complete":
                startup.set_result(None)
            elif kind == "lifespan.startup.failed":
                startup.set_exception(RuntimeError(f"the app's lifespan startup failed: {message.get('message', '')}"))

        def ended(task):
            if startup.done():
                return
            # An app that does not speak the lifespan protocol returns or
            # raises (often on the scope's type): it runs without one, as
            # under uvicorn. A failed startup says so with its message.
            error = None if task.cancelled() else task.exception()
            if error is not None:
                print(
                    f"pycomponent: the app does not take the ASGI lifespan protocol ({type(error).__name__}: "
                    f"{error}); it runs without a lifespan",
                    file=sys.stderr,
                )
            startup.set_result(None)

        cls.task = _loop.create_task(app(scope, receive, send))
        cls.task.add_done_callback(ended)
        _loop.run_until_complete(startup)


def stream(method, path, query, headers, scheme, authority):
    """Runs the ASGI app for one request. The app reads the body and writes
    the response through the host as it goes; an exception before the
    response started is a 500 (a 413 for a body over the limit), after that
    the response is cut short. Either way its traceback goes to stderr."""
    global _loop
    app = _app[1]
    exchange = _Exchange(_scope(method, path, query, headers, scheme, authority))
    if _loop is None:
        _loop = asyncio.new_event_loop()
    try:
        _loop.run_until_complete(exchange.run(app))
    except BaseException as exc:  # noqa: BLE001 - any failure of the app is a 500
        if isinstance(exc, RequestBodyTooLarge) and not exchange.started:
            exchange.respond(413, f"Request body larger than {_max_body} bytes\n".encode())
            return
        print(f"pycomponent: {method} {path}: the app raised", file=sys.stderr)
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        if not exchange.started:
            exchange.respond(500, b"Internal Server Error\n")


class RequestBodyTooLarge(Exception):
    """The request body is larger than the app accepts (``--max-body``);
    raised by ``receive`` as it reads past the limit."""


def _scope(method, path, query, headers, scheme, authority):
    """The ASGI ``http`` scope of a request (ASGI spec 2.4)."""
    host, colon, port = authority.rpartition(":")
    if not colon or "]" in port:
        host, port = authority, ""
    default_port = 443 if scheme == "https" else 80
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": urllib.parse.unquote(path),
        "raw_path": path.encode("latin-1", "replace"),
        "query_string": query.encode("latin-1", "replace"),
        "root_path": "",
        "headers": [(name.lower().encode("latin-1"), bytes(value)) for name, value in headers],
        "client": None,
        "server": (host or "localhost", int(port) if port.isdigit() else default_port),
        "state": dict(_Lifespan.state),
        "extensions": {},
    }


class _Exchange:
    """One ASGI request: ``receive`` reads the body from the host in
    chunks, ``send`` writes the response to it. A response sent in one body
    message gets a ``content-length``; one sent in several is streamed."""

    def __init__(self, scope):
        self.scope = scope
        self.body_ended = False
        self.received = 0
        self.start = None  # the http.response.start message, until the first body message
        self.started = False
        self.ended = None  # a future, made when someone waits for the end

    async def run(self, app):
        await app(self.scope, self.receive, self.send)
        if not self.started and self.start is None:
            raise RuntimeError("the ASGI app returned without sending a response")
        if not self.is_complete():
            raise RuntimeError("the ASGI app returned before its response ended (more_body was still True)")

    def is_complete(self):
        return self.ended is not None and self.ended.done()

    def _ended_future(self):
        if self.ended is None:
            self.ended = asyncio.get_running_loop().create_future()
        return self.ended

    async def receive(self):
        if not self.body_ended:
            chunk = _pycomponent._http_body_read(READ_CHUNK)
            self.received += len(chunk)
            if self.received > _max_body:
                raise RequestBodyTooLarge(f"the request body is larger than {_max_body} bytes")
            self.body_ended = not chunk
            return {"type": "http.request", "body": chunk, "more_body": bool(chunk)}
        # The body is over: the client is gone once the response has ended.
        await asyncio.shield(self._ended_future())
        return {"type": "http.disconnect"}

    async def send(self, message):
        kind = message["type"]
        if kind == "http.response.start":
            if self.start is not None or self.started:
                raise RuntimeError("the ASGI app sent http.response.start twice")
            self.start = message
        elif kind == "http.response.body":
            if self.start is None and not self.started:
                raise RuntimeError("the ASGI app sent http.response.body before http.response.start")
            if self.is_complete():
                raise RuntimeError("the ASGI app sent http.response.body after the response ended")
            body = bytes(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if not self.started:
                headers = [(bytes(name).decode("latin-1"), bytes(value)) for name, value in self.start.get("headers", ())]
                _pycomponent._http_response_start(int(self.start["status"]), headers, None if more else len(body))
                self.started = True
            if body:
                _pycomponent._http_body_write(body)
            if not more:
                _pycomponent._http_response_end()
                future = self._ended_future()
                if not future.done():
                    future.set_result(None)
        else:
            raise RuntimeError(f"the ASGI app sent a message this server does not take: {kind!r}")

    def respond(self, status, text):
        """A whole plain-text response of the server's own."""
        headers = [("content-type", b"text/plain; charset=utf-8")]
        _pycomponent._http_response_start(status, headers, len(text))
        self.started = True
        _pycomponent._http_body_write(text)
        _pycomponent._http_response_end()
