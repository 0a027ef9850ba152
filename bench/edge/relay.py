"""The relay app of the edge benchmark: one outgoing request per request.
`?url=` names the upstream (the bench starts one on loopback); the app reads
its body with the standard library and answers with it. The same WSGI
callable runs in the component (`pycomponent serve`, `wasmtime serve`) and
under gunicorn with native CPython."""

import urllib.request


def app(environ, start_response):
    url = environ["QUERY_STRING"].partition("url=")[2]
    with urllib.request.urlopen(url, timeout=10) as upstream:
        body = b"upstream said: " + upstream.read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
