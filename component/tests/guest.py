"""Loads the guest's Python files into this interpreter as the guest does,
and puts the interpreter back after each test.

The guest (component/src/interp.rs) runs bootstrap.py in a fresh module
``_pycomponent`` whose code is named ``<string>``; the HTTP build
(component/src/http.rs) then adds ``pycomponent`` and ``pycomponent.http``
with ``add_module`` and calls into them with ``call``. Loading the
bootstrap takes over ``sys.stdin``, ``sys.stdout``, ``sys.stderr`` and
``sys.meta_path`` of this process, so every test gets a fresh copy and its
own ``__main__``, and everything is restored when it ends. In the guest,
the file system captures what reaches descriptors 1 and 2 (vfs/fs.rs); here
they are pointed at temporary files for the length of a test.
"""

import builtins
import gc
import importlib
import os
import sys
import tempfile
import types
import unittest

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def source(name):
    with open(os.path.join(SRC, name), encoding="utf-8") as f:
        return f.read()


def load_bootstrap():
    """A fresh ``_pycomponent``: what ``interp::ensure_started`` makes."""
    module = types.ModuleType("_pycomponent")
    module.__builtins__ = builtins
    sys.modules["_pycomponent"] = module
    exec(compile(source("bootstrap.py"), "<string>", "exec"), module.__dict__)
    module.add_module("_pycomponent_asyncio", source("event_loop.py"), False)
    module.add_module("_pycomponent_http", source("http_client.py"), False)
    module.add_module("ssl", source("ssl.py"), False)
    module.add_module("_pycomponent_objects", source("host_objects.py"), False)
    return module


def load_http(boot):
    """``pycomponent.http``, added the way ``http::load_app`` adds it."""
    boot.add_module("pycomponent", "", True)
    boot.add_module("pycomponent.http", source("http.py"), False)
    return importlib.import_module("pycomponent.http")


class GuestTestCase(unittest.TestCase):
    """A test with a fresh bootstrap in ``self.boot`` and a fresh
    ``__main__``; ``self.main`` is the latter's namespace."""

    def setUp(self):
        saved = {
            name: getattr(sys, name)
            for name in ("stdin", "stdout", "stderr", "__stdin__", "__stdout__", "__stderr__", "argv")
        }
        self.captured = self.capture_descriptors()
        saved_path, saved_meta_path = sys.path[:], sys.meta_path[:]
        saved_environ = dict(os.environ)
        saved_importer_cache, saved_modules = dict(sys.path_importer_cache), dict(sys.modules)

        def restore():
            os.environ.clear()
            os.environ.update(saved_environ)
            for name, value in saved.items():
                setattr(sys, name, value)
            sys.path[:], sys.meta_path[:] = saved_path, saved_meta_path
            sys.path_importer_cache.clear()
            sys.path_importer_cache.update(saved_importer_cache)
            for name in [name for name in sys.modules if name not in saved_modules]:
                del sys.modules[name]
            sys.modules.update(saved_modules)
            importlib.invalidate_caches()
            # load_app freezes what is alive, as it would in the snapshot.
            gc.unfreeze()

        self.addCleanup(restore)
        main = types.ModuleType("__main__")
        main.__builtins__ = builtins
        sys.modules["__main__"] = main
        self.main = main.__dict__
        self.boot = load_bootstrap()

    def error(self, helper, *args):
        """What the Rust side gets when ``_pycomponent.<helper>(*args)``
        raises: the ``describe`` triple. The guest calls helpers from C, so
        the traceback loses this frame, as it has no Python caller there."""
        try:
            getattr(self.boot, helper)(*args)
        except BaseException as exc:  # noqa: BLE001 - the guest reports any exception
            exc.__traceback__ = exc.__traceback__.tb_next
            return self.boot.describe(exc)
        self.fail(f"{helper}{args!r} raised nothing")

    def capture_descriptors(self):
        """Points descriptors 1 and 2 at temporary files until the test ends."""
        sys.stdout.flush()
        sys.stderr.flush()
        captured = []
        for fd in (1, 2):
            saved = os.dup(fd)
            file = tempfile.TemporaryFile()
            os.dup2(file.fileno(), fd)
            self.addCleanup(file.close)
            self.addCleanup(os.close, saved)
            self.addCleanup(os.dup2, saved, fd)
            captured.append(file)
        return captured

    def output(self):
        """What the code under test printed since the last call: (stdout, stderr),
        as the guest's ``take_output`` gives it."""
        self.boot.flush_output()
        texts = []
        for file in self.captured:
            file.seek(0)
            texts.append(file.read().decode("utf-8", "replace"))
            file.seek(0)
            file.truncate()
        return tuple(texts)


class HttpTestCase(GuestTestCase):
    """A test with ``pycomponent.http`` loaded into the fresh guest, in
    ``self.http``."""

    def setUp(self):
        super().setUp()
        self.http = load_http(self.boot)

    def request(self, method="GET", path="/", query="", headers=(), body=b"", scheme="http", authority="example.com"):
        """Runs ``dispatch`` as ``http::dispatch`` does (by ``call``) and
        checks the types the Rust side reads back."""
        args = (method, path, query, list(headers), body, scheme, authority)
        status, response_headers, response_body = self.boot.call("pycomponent.http.dispatch", args, {})
        self.assertIs(type(status), int)
        self.assertIs(type(response_headers), list)
        for pair in response_headers:
            self.assertEqual([type(part) for part in pair], [str, str], pair)
        self.assertIs(type(response_body), bytes)
        return status, response_headers, response_body
