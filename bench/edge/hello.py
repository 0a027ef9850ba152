"""The hello app of the edge benchmark: the same WSGI callable for
`pycomponent serve`, `wasmtime serve` (both run the component built from this
file) and gunicorn under native CPython."""


def app(environ, start_response):
    body = b"Hello, world!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
