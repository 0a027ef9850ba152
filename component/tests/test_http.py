"""http.py: ``load_app`` over a staged app (as ``pycomponent build`` stages
it, see adapters/wasmtime/src/app.rs) and ``handle(request)`` apps."""

import gc
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile

from guest import HttpTestCase

TEXT = ("content-type", "text/plain; charset=utf-8")


class HttpAppTestCase(HttpTestCase):
    def stage(self, files, entry="app", max_body=1024):
        """A stage directory: ``config.json``, ``src/`` and ``site-packages/``;
        ``files`` maps paths under it to their text (or bytes)."""
        root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        for tree in ("src", "site-packages"):
            os.makedirs(os.path.join(root, tree))
        config = {"entry": entry, "source": f"{entry}.py", "max_body": max_body}
        files = {"config.json": json.dumps(config), **files}
        for relative, content in files.items():
            path = os.path.join(root, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content if isinstance(content, bytes) else content.encode())
        return root

    def load(self, files, **config):
        """Stages ``files`` and loads them, as ``http::load_app`` does."""
        root = self.stage(files, **config)
        return root, self.boot.call("pycomponent.http.load_app", (root,), {})

    def handle(self, source):
        """Loads an app from the source of its single module; returns the
        module. The guest loads one app per snapshot; a test that loads more
        gives each its own name, since the first stays imported."""
        self.apps = getattr(self, "apps", 0) + 1
        entry = f"app{self.apps}"
        self.load({f"src/{entry}.py": source}, entry=entry)
        return sys.modules[entry]


class LoadAppTest(HttpAppTestCase):
    def test_a_handle_app(self):
        _, max_body = self.load({"src/app.py": "def handle(request):\n    return 'hi'\n"}, max_body=4096)
        self.assertEqual(max_body, (4096, False), "the limit; not streaming")
        self.assertEqual(self.request(), (200, [TEXT], b"hi"))

    def test_work_the_stdlib_defers_to_first_use_is_done_at_load(self):
        import urllib.request

        self.addCleanup(urllib.request.install_opener, urllib.request._opener)
        urllib.request.install_opener(None)
        self.load({"src/app.py": "import urllib.request\ndef handle(request):\n    return 'hi'\n"})
        self.assertIsNotNone(urllib.request._opener, "urlopen's opener is in the snapshot")

    def test_a_wsgi_app_comes_before_handle(self):
        source = (
            "def app(environ, start_response):\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
            "    return [b'wsgi']\n"
            "def handle(request):\n"
            "    return 'handle'\n"
        )
        self.load({"src/app.py": source})
        self.assertEqual(self.request()[2], b"wsgi")

    def test_an_app_without_either(self):
        root = self.stage({"src/app.py": "app = 'not callable'\n"})
        self.assertEqual(
            self.error("call", "pycomponent.http.load_app", (root,), {})[:2],
            ("TypeError", "app.py defines neither `app` (an ASGI or WSGI application) nor `handle(request)`"),
        )

    def test_a_package_with_dependencies(self):
        files = {
            "src/webapp/__init__.py": "from .views import handle\n",
            "src/webapp/views.py": "import greeting\ndef handle(request):\n    return greeting.hello()\n",
            "site-packages/greeting/__init__.py": "def hello():\n    return 'hello'\n",
            "site-packages/greeting-1.0.dist-info/METADATA": "Name: greeting\nVersion: 1.0\n",
            "site-packages/greeting/data.txt": "not a module\n",
        }
        root, _ = self.load(files, entry="webapp")
        self.assertEqual(self.request()[2], b"hello")
        self.assertEqual(sys.modules["webapp.views"].__file__, os.path.join(root, "src/webapp/views.py"))
        self.assertNotIn("greeting.data", self.boot._finder.files)

    def test_a_directory_without_init_is_a_namespace_package(self):
        self.load({
            "src/app.py": "from parts.deep import answer\ndef handle(request):\n    return str(answer)\n",
            "src/parts/deep.py": "answer = 42\n",
        })
        self.assertEqual(self.request()[2], b"42")

    def test_a_source_encoding_is_honoured(self):
        source = "# -*- coding: latin-1 -*-\ndef handle(request):\n    return 'café'\n".encode("latin-1")
        self.load({"src/app.py": source})
        self.assertEqual(self.request()[2], "café".encode())

    def test_the_metadata_of_the_requirements(self):
        metadata = "Metadata-Version: 2.1\nName: Example_Dist\nVersion: 1.2.3\n"
        entry_points = "[console_scripts]\nexample = example_dist:main\n"
        self.load({
            "src/app.py": "def handle(request):\n    return ''\n",
            "site-packages/example_dist-1.2.3.dist-info/METADATA": metadata,
            "site-packages/example_dist-1.2.3.dist-info/entry_points.txt": entry_points,
            "site-packages/example_dist-1.2.3.dist-info/RECORD": "not kept\n",
        })
        self.assertEqual(importlib.metadata.version("example-dist"), "1.2.3")
        self.assertEqual(importlib.metadata.version("EXAMPLE.dist"), "1.2.3")
        distribution = importlib.metadata.distribution("example_dist")
        self.assertEqual([ep.value for ep in distribution.entry_points], ["example_dist:main"])
        self.assertIsNone(distribution.read_text("RECORD"))

    def test_tracebacks_show_the_apps_lines_once_the_stage_is_gone(self):
        root, _ = self.load({"src/app.py": "def handle(request):\n    raise ValueError('from the app')\n"})
        shutil.rmtree(root)
        self.assertEqual(self.request()[0], 500)
        stderr = self.output()[1]
        self.assertIn(f'File "{os.path.join(root, "src/app.py")}", line 2, in handle', stderr)
        self.assertIn("    raise ValueError('from the app')\n", stderr)

    def test_a_module_that_does_not_compile_fails_when_imported(self):
        self.load({
            "src/app.py": "def handle(request):\n    import broken\n",
            "src/broken.py": "def oops(:\n",
        })
        self.assertEqual(self.request()[0], 500)
        self.assertIn("SyntaxError", self.output()[1])

    def test_what_is_alive_after_loading_is_frozen(self):
        self.handle("def handle(request):\n    return ''\n")
        self.assertGreater(gc.get_freeze_count(), 0)


class RequestTest(HttpAppTestCase):
    def setUp(self):
        super().setUp()
        self.app = self.handle("seen = []\ndef handle(request):\n    seen.append(request)\n")

    def received(self, **request):
        self.assertEqual(self.request(**request), (204, [], b""))
        return self.app.seen[-1]

    def test_the_fields(self):
        request = self.received(
            method="POST", path="/a%20b", query="x=1", body=b"data", scheme="https", authority="example.com:8443"
        )
        self.assertIsInstance(request, self.http.Request)
        self.assertEqual(
            (request.method, request.path, request.query, request.body, request.scheme, request.authority),
            ("POST", "/a%20b", "x=1", b"data", "https", "example.com:8443"),
        )
        self.assertEqual(repr(request), "<Request POST /a%20b>")

    def test_headers_are_lower_case_and_joined(self):
        request = self.received(headers=[
            ("Accept", b"text/html"), ("accept", b"application/json"), ("X-Name", "café".encode()),
        ])
        self.assertEqual(request.headers, {"accept": "text/html, application/json", "x-name": "caf\xc3\xa9"})

    def test_query_arguments(self):
        request = self.received(query="q=caf%C3%A9&q=second&empty=&plus=a+b")
        self.assertEqual(request.args, {"q": "café", "empty": "", "plus": "a b"})

    def test_body_as_text_json_and_form(self):
        self.assertEqual(self.received(body="héllo".encode()).text, "héllo")
        self.assertEqual(self.received(body=b'{"n": [1, 2]}').json(), {"n": [1, 2]})
        self.assertEqual(self.received(body=b"name=J%C3%B8rn&tag=a&tag=b").form, {"name": "Jørn", "tag": "a"})


class HandleResultTest(HttpAppTestCase):
    def returning(self, expression):
        self.handle(f"from pycomponent.http import Response\ndef handle(request):\n    return {expression}\n")
        return self.request()

    def test_text(self):
        self.assertEqual(self.returning("'héllo'"), (200, [TEXT], "héllo".encode()))

    def test_bytes(self):
        self.assertEqual(self.returning("b'\\x00\\xff'"), (200, [], b"\x00\xff"))

    def test_json(self):
        json_type = ("content-type", "application/json")
        self.assertEqual(self.returning("{'a': [1, None]}"), (200, [json_type], b'{"a": [1, null]}'))
        self.assertEqual(self.returning("[1, 'two']"), (200, [json_type], b'[1, "two"]'))

    def test_none_is_no_content(self):
        self.assertEqual(self.returning("None"), (204, [], b""))

    def test_tuples(self):
        self.assertEqual(self.returning("('made', 201)"), (201, [TEXT], b"made"))
        self.assertEqual(
            self.returning("('moved', 302, {'Location': '/new'})"), (302, [("Location", "/new"), TEXT], b"moved")
        )
        self.assertEqual(self.returning("(b'', '304', [('ETag', 'x')])"), (304, [("ETag", "x")], b""))

    def test_a_response(self):
        self.assertEqual(
            self.returning("Response('<p>', status=404, content_type='text/html')"),
            (404, [("content-type", "text/html")], b"<p>"),
        )
        self.assertEqual(self.returning("Response(bytearray(b'ab'))"), (200, [], b"ab"))

    def test_a_content_type_of_the_app_is_kept(self):
        self.assertEqual(
            self.returning("Response('x', headers={'Content-Type': 'text/csv'})"),
            (200, [("Content-Type", "text/csv")], b"x"),
        )

    def test_header_values_become_text(self):
        self.assertEqual(self.returning("(b'', 200, [('X-Count', 3)])")[1], [("X-Count", "3")])

    def test_what_is_not_a_response_is_a_500(self):
        cases = {
            "42": "TypeError: a response body must be str, bytes, dict or list, not int",
            "('a', 'b')": "ValueError: invalid literal for int() with base 10: 'b'",
            "(1, 2, 3, 4)": "TypeError: a response body must be str, bytes, dict or list, not tuple",
        }
        for expression, error in cases.items():
            with self.subTest(expression=expression):
                self.assertEqual(self.returning(expression), (500, [TEXT], b"Internal Server Error\n"))
                self.assertIn(error, self.output()[1])

    def test_an_exception_is_a_500(self):
        self.handle("def handle(request):\n    raise LookupError('no such item')\n")
        self.assertEqual(self.request(path="/item"), (500, [TEXT], b"Internal Server Error\n"))
        stderr = self.output()[1]
        self.assertTrue(stderr.startswith("pycomponent: GET /item: the app raised\nTraceback"), stderr)
        self.assertTrue(stderr.endswith("LookupError: no such item\n"), stderr)
