import json


def route(environ):
    if environ["PATH_INFO"] == "/environ":
        keys = ["REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_X_CUSTOM", "wsgi.url_scheme"]
        body = environ["wsgi.input"].read().decode()
        data = {key: environ.get(key) for key in keys}
        data["body"] = body
        return "200 OK", json.dumps(data).encode(), "application/json"
    if environ["PATH_INFO"] == "/broken":
        return "200 OK", "not bytes", "text/plain"
    return "404 Not Found", b"nothing here\n", "text/plain"
