"""http_client.py: ``http.client`` and ``fetch`` over a stand-in for the
host's client (the Rust entry points ``_pycomponent._http_send``), so that
what reaches the host and what Python reads back can be checked exactly."""

import asyncio
import http.client
import importlib
import importlib.util
import urllib.error

from guest import GuestTestCase


class Host:
    """Stands in for the host: records each request, answers from a list."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def send(self, method, url, headers, body, timeout_ms):
        self.requests.append((method, url, headers, body, timeout_ms))
        return self.answers.pop(0)


def ok(status=200, reason="OK", headers=(), body=b""):
    return (None, (status, reason, list(headers), body))


class HttpClientTest(GuestTestCase):
    def setUp(self):
        super().setUp()
        self.client_module = importlib.import_module("_pycomponent_http")
        # A private copy of http.client, patched as the guest patches its own.
        spec = importlib.util.spec_from_file_location("http.client", http.client.__file__)
        self.client = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.client)
        self.client_module.install_http_client(self.client)

    def host(self, *answers):
        host = Host(*answers)
        self.boot._http_send = host.send
        return host

    def test_a_request_reaches_the_host_whole_and_the_response_reads_back(self):
        host = self.host(ok(201, "Created", [("Transfer-Encoding", b"chunked"), ("X-A", b"\xe9")], b"done"))
        c = self.client.HTTPConnection("example.com", 8080, timeout=2.5)
        c.request("POST", "/p?q=1", body=b"abc", headers={"X-Token": "t", "Connection": "close"})
        r = c.getresponse()
        self.assertEqual((r.status, r.reason, r.read(), r.getheader("x-a")), (201, "Created", b"done", "\xe9"))
        self.assertIsNone(r.getheader("transfer-encoding"), "the host took the body off the wire")
        method, url, headers, body, timeout_ms = host.requests[0]
        self.assertEqual((method, url, body, timeout_ms), ("POST", "http://example.com:8080/p?q=1", b"abc", 2500))
        self.assertIn(("X-Token", b"t"), headers)
        names = {name.lower() for name, _ in headers}
        self.assertFalse(names & {"host", "content-length", "connection"}, "the host's client sets those")

    def test_a_connection_sends_request_after_request(self):
        host = self.host(ok(body=b"one"), ok(body=b"two"))
        c = self.client.HTTPConnection("example.com")
        bodies = []
        for path in ("/1", "/2"):
            c.request("GET", path)
            bodies.append(c.getresponse().read())
        self.assertEqual(bodies, [b"one", b"two"])
        self.assertEqual([r[1] for r in host.requests], ["http://example.com/1", "http://example.com/2"])

    def test_a_chunked_body_goes_to_the_host_decoded(self):
        host = self.host(ok())
        c = self.client.HTTPConnection("example.com")
        c.request("PUT", "/up", body=iter([b"ab", b"", b"cde"]), encode_chunked=True)
        c.getresponse().read()
        self.assertEqual(host.requests[0][3], b"abcde")

    def test_https_and_ipv6_urls(self):
        host = self.host(ok(), ok())
        c = self.client.HTTPSConnection("example.com", context=object())
        c.request("GET", "/")
        c.getresponse().read()
        c = self.client.HTTPConnection("::1", 8000)
        c.request("GET", "/x")
        c.getresponse().read()
        self.assertEqual([r[1] for r in host.requests], ["https://example.com/", "http://[::1]:8000/x"])
        self.assertIn("HTTPSConnection", self.client.__all__)

    def test_a_head_response_keeps_the_servers_length(self):
        self.host(ok(headers=[("Content-Length", b"1234")]))
        c = self.client.HTTPConnection("example.com")
        c.request("HEAD", "/")
        r = c.getresponse()
        self.assertEqual((r.getheader("content-length"), r.read()), ("1234", b""))

    def test_the_hosts_errors_are_the_builtin_exceptions_code_catches(self):
        cases = {
            "denied": PermissionError,
            "timeout": TimeoutError,
            "failed": ConnectionError,
            "invalid": ValueError,
            "too-large": OSError,
            "too-many-requests": OSError,
        }
        for kind, builtin in cases.items():
            self.host((kind, f"GET http://x/: {kind}"))
            c = self.client.HTTPConnection("x")
            c.request("GET", "/")
            with self.assertRaises(builtin) as raised:
                c.getresponse()
            self.assertEqual(str(raised.exception), f"GET http://x/: {kind}")
            # What urllib raises natively for a failed connection, too.
            self.assertIsInstance(raised.exception, urllib.error.URLError)
            self.assertEqual(type(raised.exception).__module__, "pycomponent.http")

    def test_a_tunnel_is_refused(self):
        c = self.client.HTTPConnection("proxy", 3128)
        c.set_tunnel("example.com", 443)
        with self.assertRaisesRegex(ConnectionError, "CONNECT"):
            c.request("GET", "/")

    def test_fetch_follows_redirects_as_browsers_do(self):
        host = self.host(
            ok(303, "See Other", [("Location", b"/after")]),
            ok(200, "OK", [("Content-Type", b"application/json; charset=utf-8")], b'{"a": [1]}'),
        )
        fetch = self.client_module.fetch

        async def main():
            r = await fetch("http://example.com/form", method="post", body="x=1", headers={"Content-Type": "text/plain"})
            return r, await r.json(), await r.text()

        response, data, text = asyncio.run(main())
        self.assertEqual((response.status, response.ok, response.redirected, data), (200, True, True, {"a": [1]}))
        self.assertEqual(response.url, "http://example.com/after")
        self.assertEqual(text, '{"a": [1]}')
        second = host.requests[1]
        self.assertEqual((second[0], second[1], second[3]), ("GET", "http://example.com/after", b""))
        self.assertNotIn("content-type", {name.lower() for name, _ in second[2]})

    def test_fetch_stops_after_too_many_redirects_and_refuses_other_schemes(self):
        self.host(*[ok(302, "Found", [("Location", b"/again")])] * 3)
        fetch = self.client_module.fetch
        with self.assertRaisesRegex(ConnectionError, "more than 2 redirects"):
            asyncio.run(fetch("http://example.com/", max_redirects=2))
        with self.assertRaises(ValueError):
            asyncio.run(fetch("file:///etc/passwd"))
        response = self.client_module.FetchResponse("http://x/", 404, "Not Found", [], b"gone", False)
        with self.assertRaises(Exception) as raised:
            response.raise_for_status()
        self.assertEqual(raised.exception.code, 404)
