"""http.py: the WSGI adapter (PEP 3333) behind ``dispatch``. Apps run
under the standard library's ``wsgiref.validate`` checker, with its warnings
made errors, wherever the app itself is valid."""

import sys
import warnings
from wsgiref.validate import WSGIWarning, validator

from guest import HttpTestCase


class WsgiTestCase(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.enterContext(warnings.catch_warnings())
        warnings.simplefilter("error", WSGIWarning)
        self.results = []

    def serve(self, app):
        """Makes ``app``, checked by the validator, the loaded app. What the
        checker returned is kept, to see that the adapter closed it."""
        checked = validator(app)

        def recording(environ, start_response):
            result = checked(environ, start_response)
            self.results.append(result)
            return result

        self.serve_unchecked(recording)

    def serve_unchecked(self, app):
        # What load_app sets for a module with a WSGI `app`.
        self.http._app = ("wsgi", app)

    def ok(self, **request):
        """The response of a request that the app and the adapter got right:
        nothing on stderr, the app's result closed."""
        response = self.request(**request)
        self.assertEqual(self.output()[1], "")
        self.assertTrue(all(result.closed for result in self.results))
        return response

    def environ_of(self, **request):
        seen = {}

        def app(environ, start_response):
            seen.update(environ)
            seen["body"] = environ["wsgi.input"].read(1 << 20)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b""]

        self.serve(app)
        self.ok(**request)
        return seen


class EnvironTest(WsgiTestCase):
    def test_a_get(self):
        environ = self.environ_of(path="/items/7", query="sort=asc&page=2")
        expected = {
            "REQUEST_METHOD": "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": "/items/7",
            "QUERY_STRING": "sort=asc&page=2",
            "SERVER_NAME": "example.com",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_LENGTH": "0",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "body": b"",
        }
        self.assertEqual({key: environ[key] for key in expected}, expected)
        self.assertNotIn("CONTENT_TYPE", environ)

    def test_server_name_and_port_come_from_the_authority(self):
        cases = [
            ("http", "example.com:8080", "example.com", "8080"),
            ("http", "example.com", "example.com", "80"),
            ("https", "example.com", "example.com", "443"),
            ("http", "", "localhost", "80"),
            ("http", "example.com:", "example.com", "80"),
            ("http", "[::1]:8080", "[::1]", "8080"),
            ("https", "[::1]", "[::1]", "443"),
        ]
        for scheme, authority, name, port in cases:
            with self.subTest(authority=authority):
                environ = self.environ_of(scheme=scheme, authority=authority)
                self.assertEqual((environ["SERVER_NAME"], environ["SERVER_PORT"]), (name, port))
                self.assertEqual(environ["wsgi.url_scheme"], scheme)

    def test_the_path_is_percent_decoded_as_latin_1_and_the_query_is_not(self):
        # PEP 3333: native strings hold the request's bytes, one char each.
        environ = self.environ_of(path="/caf%C3%A9/a%20b", query="q=caf%C3%A9&x=1+2")
        self.assertEqual(environ["PATH_INFO"], "/caf\xc3\xa9/a b")
        self.assertEqual(environ["PATH_INFO"].encode("latin-1").decode("utf-8"), "/café/a b")
        self.assertEqual(environ["QUERY_STRING"], "q=caf%C3%A9&x=1+2")

    def test_headers(self):
        headers = [
            ("Content-Type", b"application/json"),
            ("user-agent", b"test/1.0"),
            ("X-Forwarded-For", b"10.0.0.1"),
            ("x-forwarded-for", b"10.0.0.2"),
            ("X-Name", "café".encode()),
        ]
        environ = self.environ_of(method="POST", headers=headers, body=b"{}")
        self.assertEqual(environ["CONTENT_TYPE"], "application/json")
        self.assertEqual(environ["HTTP_USER_AGENT"], "test/1.0")
        self.assertEqual(environ["HTTP_X_FORWARDED_FOR"], "10.0.0.1,10.0.0.2")
        self.assertEqual(environ["HTTP_X_NAME"], "caf\xc3\xa9")
        self.assertNotIn("HTTP_CONTENT_TYPE", environ)

    def test_the_body_and_its_length(self):
        body = b"line one\nline two\n" + bytes(range(256))
        environ = self.environ_of(method="POST", body=body)
        self.assertEqual((environ["body"], environ["CONTENT_LENGTH"]), (body, str(len(body))))
        # A declared length is the app's to see as it was sent.
        environ = self.environ_of(method="PUT", headers=[("Content-Length", b"3")], body=b"abc")
        self.assertEqual((environ["body"], environ["CONTENT_LENGTH"]), (b"abc", "3"))

    def test_the_input_reads_as_a_file(self):
        lines = []

        def app(environ, start_response):
            body = environ["wsgi.input"]
            lines.append(body.readline())
            lines.extend(body)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return []

        self.serve(app)
        self.ok(method="POST", body=b"a\nb\nc")
        self.assertEqual(lines, [b"a\n", b"b\n", b"c"])

    def test_errors_and_prints_go_to_the_guests_streams(self):
        def app(environ, start_response):
            environ["wsgi.errors"].write("a warning\n")
            environ["wsgi.errors"].writelines(["more\n"])
            print("a print")
            start_response("200 OK", [("Content-Type", "text/plain")])
            return []

        self.serve(app)
        self.request()
        self.assertEqual(self.output(), ("a print\n", "a warning\nmore\n"))

    def test_a_method_the_validator_does_not_know(self):
        seen = {}

        def app(environ, start_response):
            seen["method"] = environ["REQUEST_METHOD"]
            start_response("200 OK", [])
            return []

        self.serve_unchecked(app)
        self.assertEqual(self.request(method="PURGE")[0], 200)
        self.assertEqual(seen["method"], "PURGE")


class ResponseTest(WsgiTestCase):
    def test_status_headers_and_body(self):
        def app(environ, start_response):
            start_response("404 Not Found", [("Content-Type", "text/html"), ("X-Trace", "1"), ("X-Trace", "2")])
            return [b"<h1>", b"", b"missing", b"</h1>"]

        self.serve(app)
        self.assertEqual(
            self.ok(),
            (404, [("Content-Type", "text/html"), ("X-Trace", "1"), ("X-Trace", "2")], b"<h1>missing</h1>"),
        )

    def test_a_content_length_of_the_app_is_passed_on(self):
        # The Rust side replaces it with the length of the body it sends.
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
            return [b"hello"]

        self.serve(app)
        self.assertEqual(self.ok()[1], [("Content-Type", "text/plain"), ("Content-Length", "5")])

    def test_head_runs_the_app_as_a_get_would(self):
        # The Rust side sends no body for HEAD.
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [environ["REQUEST_METHOD"].encode()]

        self.serve(app)
        self.assertEqual(self.ok(method="HEAD"), (200, [("Content-Type", "text/plain")], b"HEAD"))

    def test_a_no_content_response(self):
        def app(environ, start_response):
            start_response("204 No Content", [])
            return []

        self.serve(app)
        self.assertEqual(self.ok(method="DELETE"), (204, [], b""))

    def test_an_iterable_with_close_is_closed(self):
        closed = []

        class Body:
            def __iter__(self):
                yield b"streamed "
                yield b"body"

            def close(self):
                closed.append(True)

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return Body()

        self.serve(app)
        self.assertEqual(self.ok()[2], b"streamed body")
        self.assertEqual(closed, [True])

    def test_a_generator_is_closed_when_it_fails(self):
        finished = []

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            try:
                yield b"partial"
                raise ValueError("in the body")
            finally:
                finished.append(True)

        self.serve(app)
        self.assertEqual(self.request()[0], 500)
        self.assertEqual(finished, [True])
        self.assertTrue(self.results[0].closed)
        self.assertIn("ValueError: in the body", self.output()[1])

    def test_write_comes_before_the_iterable(self):
        def app(environ, start_response):
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"written, ")
            write(b"")
            return [b"then returned"]

        self.serve(app)
        self.assertEqual(self.ok()[2], b"written, then returned")

    def test_an_error_page_before_the_body_replaces_the_response(self):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            try:
                raise KeyError("user")
            except KeyError:
                start_response("503 Service Unavailable", [("Content-Type", "text/html")], sys.exc_info())
            return [b"<p>try later</p>"]

        self.serve(app)
        self.assertEqual(self.ok(), (503, [("Content-Type", "text/html")], b"<p>try later</p>"))

    def test_an_error_page_after_the_body_began_raises_the_error(self):
        def app(environ, start_response):
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"half a page")
            try:
                raise KeyError("late")
            except KeyError:
                start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
            return [b"never sent"]

        self.serve(app)
        self.assertEqual(self.request()[::2], (500, b"Internal Server Error\n"))
        self.assertIn("KeyError: 'late'", self.output()[1])


class FailureTest(WsgiTestCase):
    def assert_internal_error(self, response, *in_stderr):
        self.assertEqual(response, (500, [("content-type", "text/plain; charset=utf-8")], b"Internal Server Error\n"))
        stderr = self.output()[1]
        for text in in_stderr:
            self.assertIn(text, stderr)

    def test_an_exception_of_the_app_is_a_500_with_the_traceback_on_stderr(self):
        def app(environ, start_response):
            raise RuntimeError("database down")

        self.serve(app)
        self.assert_internal_error(
            self.request(path="/boom"),
            "pycomponent: GET /boom: the app raised\n",
            "Traceback (most recent call last):",
            "RuntimeError: database down\n",
        )

    def test_system_exit_is_a_500(self):
        def app(environ, start_response):
            sys.exit(1)

        self.serve(app)
        self.assert_internal_error(self.request(), "SystemExit: 1")

    def test_returning_without_start_response(self):
        self.serve_unchecked(lambda environ, start_response: [])
        self.assert_internal_error(self.request(), "the WSGI app returned without calling start_response()")

    def test_a_body_of_text_is_refused(self):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return ["not bytes"]

        self.serve_unchecked(app)
        self.assert_internal_error(self.request(), "TypeError: a WSGI app must yield bytes, not str")

    def test_no_app_loaded(self):
        self.assert_internal_error(self.request(), "RuntimeError: no app was loaded into this component")
