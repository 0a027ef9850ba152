"""http.py: the ASGI server behind ``stream`` (the scope, receive and send,
lifespan), over a stand-in for the Rust side's streams (http_stream.rs):
the body to read and the response written are lists here."""

import asyncio
import json

from guest import HttpTestCase


class Streams:
    """Stands in for ``_pycomponent._http_body_read`` and the response calls."""

    def __init__(self, boot, body_chunks=()):
        self.body = list(body_chunks)
        self.start = None
        self.written = []
        self.ended = False
        boot._http_body_read = lambda size: self.body.pop(0) if self.body else b""
        boot._http_response_start = self.response_start
        boot._http_body_write = self.written.append
        boot._http_response_end = self.response_end

    def response_start(self, status, headers, content_length):
        assert self.start is None, "started twice"
        self.start = (status, headers, content_length)

    def response_end(self):
        self.ended = True


class AsgiTestCase(HttpTestCase):
    def serve(self, app, body_chunks=(), max_body=1 << 20, lifespan=True):
        self.http._app = ("asgi", app)
        self.http._max_body = max_body
        if lifespan:
            self.http._Lifespan.start(app)
            self.addCleanup(self.end_lifespan, self.http._Lifespan.task, self.http._loop)
        streams = Streams(self.boot, body_chunks)
        return streams

    def end_lifespan(self, task, loop):
        # The guest keeps the task in its snapshot for good; here it is
        # ended, so that the test leaves no pending task behind.
        task.cancel()
        loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
        loop.close()

    def stream(self, method="GET", path="/", query="", headers=(), scheme="http", authority="example.com"):
        self.boot.call("pycomponent.http.stream", (method, path, query, list(headers), scheme, authority), {})


async def echo_scope(scope, receive, send):
    if scope["type"] != "http":
        return
    data = {key: value for key, value in scope.items() if key not in ("headers", "raw_path", "query_string", "state")}
    data["headers"] = [[n.decode(), v.decode()] for n, v in scope["headers"]]
    data["raw_path"], data["query_string"] = scope["raw_path"].decode(), scope["query_string"].decode()
    data["state"] = dict(scope["state"])
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(data).encode()})


class ScopeTest(AsgiTestCase):
    def test_the_scope_of_a_request(self):
        streams = self.serve(echo_scope)
        self.stream("GET", "/caf%C3%A9/x%2Fy", "q=1&r", [("X-Token", b"t"), ("accept", b"*/*")], "https", "example.com:8443")
        self.assertEqual(streams.start, (200, [("content-type", b"application/json")], len(streams.written[0])))
        self.assertTrue(streams.ended)
        scope = json.loads(streams.written[0])
        self.assertEqual(
            scope,
            {
                "type": "http",
                "asgi": {"version": "3.0", "spec_version": "2.4"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "https",
                "path": "/café/x/y",
                "raw_path": "/caf%C3%A9/x%2Fy",
                "query_string": "q=1&r",
                "root_path": "",
                "headers": [["x-token", "t"], ["accept", "*/*"]],
                "client": None,
                "server": ["example.com", 8443],
                "state": {},
                "extensions": {},
            },
        )

    def test_the_server_of_ipv6_and_default_ports(self):
        for authority, scheme, server in (("[::1]:8000", "http", ["[::1]", 8000]), ("[::1]", "https", ["[::1]", 443]), ("", "http", ["localhost", 80])):
            streams = self.serve(echo_scope)
            self.stream(authority=authority, scheme=scheme)
            self.assertEqual(json.loads(streams.written[0])["server"], server, authority)

    def test_only_coroutine_callables_are_asgi(self):
        class Asgi:
            async def __call__(self, scope, receive, send):
                pass

        class Wsgi:
            def __call__(self, environ, start_response):
                pass

        def wsgi(environ, start_response):
            pass

        is_asgi = self.http._is_asgi
        self.assertEqual([is_asgi(echo_scope), is_asgi(Asgi()), is_asgi(Wsgi()), is_asgi(wsgi), is_asgi(Asgi)], [True, True, False, False, False])


class LifespanTest(AsgiTestCase):
    def test_the_startup_state_reaches_every_request_as_a_copy(self):
        runs = []

        async def app(scope, receive, send):
            if scope["type"] == "lifespan":
                self.assertEqual((await receive())["type"], "lifespan.startup")
                runs.append("startup")
                scope["state"]["db"] = "connected"
                await send({"type": "lifespan.startup.complete"})
                await receive()
                runs.append("shutdown")
                return
            runs.append(scope["state"]["db"])
            scope["state"]["db"] = "changed by a request"
            await echo_scope(scope, receive, send)

        self.serve(app)
        self.assertEqual(runs, ["startup"])
        self.stream()
        Streams(self.boot)
        self.stream()
        self.assertEqual(runs, ["startup", "connected", "connected"])
        self.assertEqual(self.http._Lifespan.state, {"db": "connected"}, "a request changes its own copy")
        self.assertNotIn("shutdown", runs, "the instance ends with its request")

    def test_an_app_without_lifespan_support_runs_without_one(self):
        async def app(scope, receive, send):
            if scope["type"] == "lifespan":
                raise ValueError("only http")
            await echo_scope(scope, receive, send)

        streams = self.serve(app)
        self.stream()
        self.assertEqual(streams.start[0], 200)

    def test_a_failed_startup_raises(self):
        async def app(scope, receive, send):
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "no database"})

        with self.assertRaisesRegex(RuntimeError, "lifespan startup failed: no database"):
            self.serve(app)

    def test_an_app_that_fails_on_the_lifespan_scope_runs_without_one(self):
        async def app(scope, receive, send):
            await receive()
            raise KeyError("more_body")

        self.serve(app)
        self.assertIn("does not take the ASGI lifespan protocol (KeyError", self.output()[1])


class BodyAndResponseTest(AsgiTestCase):
    def test_the_body_arrives_in_chunks_and_then_the_disconnect(self):
        seen = []

        async def app(scope, receive, send):
            while True:
                message = await receive()
                seen.append(message)
                if not message["more_body"]:
                    break
            late = asyncio.ensure_future(receive())
            await send({"type": "http.response.start", "status": 201, "headers": []})
            await send({"type": "http.response.body", "body": b"a", "more_body": True})
            self.assertFalse(late.done())
            await send({"type": "http.response.body", "body": b"b"})
            seen.append(await late)

        streams = self.serve(app, [b"ab", b"cd"], lifespan=False)
        self.stream("POST")
        self.assertEqual(
            seen,
            [
                {"type": "http.request", "body": b"ab", "more_body": True},
                {"type": "http.request", "body": b"cd", "more_body": True},
                {"type": "http.request", "body": b"", "more_body": False},
                {"type": "http.disconnect"},
            ],
        )
        self.assertEqual(streams.start, (201, [], None), "streamed: no length")
        self.assertEqual((streams.written, streams.ended), ([b"a", b"b"], True))

    def test_a_body_over_the_limit_is_a_413(self):
        async def app(scope, receive, send):
            while (await receive())["more_body"]:
                pass

        streams = self.serve(app, [b"x" * 6, b"x" * 6], max_body=10, lifespan=False)
        self.stream("POST")
        self.assertEqual(streams.start[0], 413)
        self.assertEqual(self.output()[1], "", "not the app's failure")

    def test_failures_before_the_response_are_500s_with_a_traceback(self):
        async def body_first(scope, receive, send):
            await send({"type": "http.response.body", "body": b"x"})

        async def no_response(scope, receive, send):
            pass

        async def unknown(scope, receive, send):
            await send({"type": "http.response.zerocopysend"})

        for app, message in ((body_first, "before http.response.start"), (no_response, "without sending a response"), (unknown, "does not take")):
            streams = self.serve(app, lifespan=False)
            self.stream()
            self.assertEqual(streams.start[0], 500, app.__name__)
            self.assertIn(message, self.output()[1])

    def test_a_failure_after_the_start_leaves_the_response_unended(self):
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"part", "more_body": True})
            raise RuntimeError("midway")

        streams = self.serve(app, lifespan=False)
        self.stream()
        self.assertEqual((streams.written, streams.ended), ([b"part"], False))
        self.assertIn("RuntimeError: midway", self.output()[1])


class SslTest(HttpTestCase):
    def test_contexts_configure_and_tls_is_refused_with_the_reason(self):
        import ssl

        self.assertEqual(ssl.__spec__.loader.__class__.__name__, "_SourceModules")
        context = ssl.create_default_context()
        self.assertEqual((context.verify_mode, context.check_hostname), (ssl.CERT_REQUIRED, True))
        context.set_alpn_protocols(["http/1.1"])
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        with self.assertRaisesRegex(ssl.SSLError, "host's HTTP client"):
            context.wrap_socket(object(), server_hostname="example.com")
        self.assertTrue(issubclass(ssl.SSLCertVerificationError, ValueError))
        der = ssl.PEM_cert_to_DER_cert(ssl.DER_cert_to_PEM_cert(b"\x30\x03abc"))
        self.assertEqual(der, b"\x30\x03abc")
