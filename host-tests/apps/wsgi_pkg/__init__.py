"""A plain WSGI application in a package of two modules."""

from .views import route


def app(environ, start_response):
    status, body, content_type = route(environ)
    start_response(status, [("Content-Type", content_type), ("X-Path", environ["PATH_INFO"])])
    return [body]
