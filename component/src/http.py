"""The Python side of an HTTP app component (world ``http-app``).

Runs as module ``pycomponent.http``. ``load_app`` runs once, while
``pycomponent build`` makes the snapshot: it takes the user's code and its
dependencies into memory and imports the app. ``dispatch`` runs once per
request: the Rust side hands it the request and writes back what it returns.

An app is either a WSGI callable named ``app`` (PEP 3333: Flask, Bottle,
Falcon and plain WSGI functions) or a function ``handle(request)`` that
returns a ``Response``, a ``str``, ``bytes``, a ``dict`` or ``list`` (sent as
JSON), ``None`` (204) or a tuple ``(body, status[, headers])``.
"""

import gc
import importlib
import importlib.util
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

# The app, set by load_app: ("wsgi", callable) or ("handle", function).
_app = None


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
    imports it. Returns the largest request body to accept, in bytes."""
    global _app
    with open(os.path.join(root, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    for tree in ("site-packages", "src"):
        _add_tree(os.path.join(root, tree))
    _add_distributions(os.path.join(root, "site-packages"))
    module = importlib.import_module(config["entry"])
    app = getattr(module, "app", None)
    handle = getattr(module, "handle", None)
    if callable(app):
        _app = ("wsgi", app)
    elif callable(handle):
        _app = ("handle", handle)
    else:
        raise TypeError(
            f"{config['source']} defines neither `app` (a WSGI application) nor `handle(request)`"
        )
    # Everything alive now is in the snapshot, shared by all requests: the
    # garbage collector need not scan it again. Without this, a collection
    # during a request walks (and copies in, page by page) the whole heap.
    gc.collect()
    gc.freeze()
    return int(config["max_body"])


def _add_tree(top):
    """Adds every ``.py`` file under ``top`` as a module, in memory."""
    finder = _pycomponent._finder
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        rel = os.path.relpath(dirpath, top)
        package = [] if rel == "." else rel.split(os.sep)
        if any(not part.isidentifier() for part in package):
            continue  # not importable: *.dist-info, bin, __pycache__ ...
        for filename in sorted(filenames):
            stem, ext = os.path.splitext(filename)
            if ext != ".py" or not stem.isidentifier():
                continue
            path = os.path.join(dirpath, filename)
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
        files = {}
        for name in _pycomponent._Distributions.KEPT:
            try:
                with open(os.path.join(path, name), encoding="utf-8") as f:
                    files[name] = f.read()
            except FileNotFoundError:
                pass
        _pycomponent._distributions.add(path, files)


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
