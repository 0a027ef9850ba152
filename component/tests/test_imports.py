"""bootstrap.py: what ``import`` finds in the guest. Added modules
(``add_module``), the host's modules (the ``_host_modules``/``_host_call``
stand-ins the Rust side replaces) and the standard library held in memory
(``embed_stdlib``)."""

import compileall
import gc
import importlib
import importlib.resources
import importlib.machinery
import os
import random
import shutil
import sys
import tempfile
import zipfile

from guest import GuestTestCase


class AddModuleTest(GuestTestCase):
    def test_an_added_module_imports(self):
        self.boot.add_module("greet", "def hello(name):\n    return f'hello {name}'\n", False)
        self.assertEqual(self.boot.run("import greet\ngreet.hello('you')"), "hello you")
        self.assertFalse(hasattr(sys.modules["greet"], "__path__"))

    def test_a_package_with_submodules(self):
        self.boot.add_module("shop", "from .prices import total\n", True)
        self.boot.add_module("shop.prices", "def total(items):\n    return sum(items)\n", False)
        self.boot.add_module("shop.tax", "RATE = 0.25\n", False)
        self.assertEqual(self.boot.run("import shop\nshop.total([1, 2])"), 3)
        self.assertEqual(self.boot.run("from shop import tax\ntax.RATE"), 0.25)
        self.assertEqual(sys.modules["shop"].__path__, [])
        self.assertEqual(sys.modules["shop.prices"].__package__, "shop")

    def test_import_module(self):
        self.boot.add_module("lazy", "LOADED = True\n", False)
        # The module itself: WIT objects.import-object gives it to the host.
        self.assertIs(self.boot.import_module("lazy"), sys.modules["lazy"])
        self.assertTrue(sys.modules["lazy"].LOADED)

    def test_a_submodule_needs_an_added_package(self):
        self.boot.add_module("plain", "", False)
        for name, parent in (("plain.sub", "plain"), ("nowhere.sub", "nowhere")):
            with self.subTest(name=name):
                self.assertEqual(
                    self.error("add_module", name, "", False)[:2],
                    ("ModuleNotFoundError", f"cannot add {name!r}: {parent!r} is not an added package"),
                )

    def test_a_syntax_error_is_reported_when_added(self):
        name, _, tb = self.error("add_module", "typo", "def f(:\n", False)
        self.assertEqual(name, "SyntaxError")
        self.assertIn('File "<typo>", line 1', tb)
        self.assertEqual(self.error("run", "import typo")[0], "ModuleNotFoundError")

    def test_adding_again_replaces_the_source_for_later_imports(self):
        self.boot.add_module("version", "N = 1\n", False)
        self.boot.run("import version as first")
        self.boot.add_module("version", "N = 2\n", False)
        self.assertNotIn("version", sys.modules)
        self.assertEqual(self.boot.run("import version\nversion.N"), 2)
        # A module imported before keeps what it had.
        self.assertEqual(self.boot.run("first.N"), 1)

    def test_replacing_a_submodule(self):
        self.boot.add_module("pkg", "", True)
        self.boot.add_module("pkg.mod", "N = 1\n", False)
        self.boot.run("import pkg.mod")
        self.boot.add_module("pkg.mod", "N = 2\n", False)
        self.assertEqual(self.boot.run("import pkg.mod\npkg.mod.N"), 2)

    def test_an_added_module_comes_before_the_standard_library(self):
        self.boot.add_module("colorsys", "MINE = True\n", False)
        self.assertTrue(self.boot.run("import colorsys\ncolorsys.MINE"))

    def test_an_error_at_import_names_the_module(self):
        self.boot.add_module("fails", "x = 1\nraise RuntimeError('at import')\n", False)
        name, _, tb = self.error("run", "import fails")
        self.assertEqual(name, "RuntimeError")
        self.assertIn('File "<fails>", line 2, in <module>', tb)
        self.assertNotIn("fails", sys.modules)


class HostModuleTest(GuestTestCase):
    """The Rust side replaces ``_host_modules`` and ``_host_call``; an HTTP
    app keeps the stand-ins. The host is asked only once an instance runs
    (``on_instance_start``), never while the snapshot is made."""

    def setUp(self):
        super().setUp()
        self.modules = [("kv", ["get", "put"])]
        self.asked = 0
        self.calls = []

        def host_modules():
            self.asked += 1
            return list(self.modules)

        def host_call(module, function, args, kwargs):
            self.calls.append((module, function, args, kwargs))
            return f"{module}.{function}"

        self.host_modules, self.host_call = host_modules, host_call

    def install_host(self):
        self.boot._host_modules = self.host_modules
        self.boot._host_call = self.host_call

    def test_the_host_is_not_asked_while_the_snapshot_is_made(self):
        self.install_host()
        self.assertEqual(self.error("run", "import kv")[:2], ("ModuleNotFoundError", "No module named 'kv'"))
        self.assertEqual(self.asked, 0)

    def test_host_functions_call_the_host(self):
        self.install_host()
        self.boot.on_instance_start()
        self.assertEqual(self.boot.run("import kv\nkv.get('a', default=1)"), "kv.get")
        self.assertEqual(self.calls, [("kv", "get", ("a",), {"default": 1})])
        self.assertEqual(self.boot.run("from kv import put\nput()"), "kv.put")
        get = sys.modules["kv"].get
        self.assertEqual((get.__name__, get.__qualname__, get.__module__), ("get", "get", "kv"))
        self.assertEqual(get.__doc__, "Calls the host function kv.get.")
        self.assertEqual(self.error("run", "kv.delete")[0], "AttributeError")

    def test_a_host_error_is_a_runtime_error_python_can_catch(self):
        def refuse(module, function, args, kwargs):
            raise RuntimeError("get(key) takes one str")

        self.install_host()
        self.boot._host_call = refuse
        self.boot.on_instance_start()
        source = "import kv\ntry:\n    kv.get(1)\nexcept RuntimeError as e:\n    caught = str(e)\ncaught"
        self.assertEqual(self.boot.run(source), "get(key) takes one str")
        _, _, tb = self.error("run", "kv.get(1)")
        # From the user's call straight to the host (here a Python stand-in
        # for the Rust entry point): the guest's wrapper is left out.
        self.assertIn('  File "<string>", line 1, in <module>\n', tb)
        self.assertNotIn("call_host", tb)

    def test_the_stand_ins_have_no_host(self):
        self.boot.on_instance_start()
        self.assertEqual(self.error("run", "import kv")[:2], ("ModuleNotFoundError", "No module named 'kv'"))
        # A module listed by a host whose calls are not wired raises.
        self.boot._host_modules = self.host_modules
        self.assertEqual(
            self.error("run", "import kv\nkv.get()")[:2], ("RuntimeError", "host calls are not available")
        )

    def test_a_module_the_host_adds_later_is_found(self):
        # A JS page registers modules at any time.
        self.install_host()
        self.boot.on_instance_start()
        self.assertEqual(self.error("run", "import page")[0], "ModuleNotFoundError")
        self.modules.append(("page", ["title"]))
        self.assertEqual(self.boot.run("import page\npage.title()"), "page.title")

    def test_standard_library_names_do_not_ask_again(self):
        self.install_host()
        self.boot.on_instance_start()
        self.boot.run("import kv")
        asked = self.asked
        finder = self.boot._finder
        self.boot._stdlib.modules["embedded_module"] = (False, "/lib/embedded_module.py", b"")
        self.assertIsNone(finder.find_spec(sys.builtin_module_names[0]))
        self.assertIsNone(finder.find_spec("embedded_module"))
        self.assertEqual(self.asked, asked)
        self.assertIsNone(finder.find_spec("not_a_host_module"))
        self.assertEqual(self.asked, asked + 1)

    def test_an_added_module_comes_before_a_host_module(self):
        self.install_host()
        self.boot.on_instance_start()
        self.boot.add_module("kv", "LOCAL = True\n", False)
        self.assertTrue(self.boot.run("import kv\nkv.LOCAL"))


class InstanceStartTest(GuestTestCase):
    def test_random_gets_a_fresh_seed(self):
        # Every instance of a snapshot would otherwise draw the same numbers.
        random.seed(1234)
        seeded = random.random()
        random.seed(1234)
        self.boot.on_instance_start()
        self.assertNotEqual(random.random(), seeded)


class EmbedStdlibTest(GuestTestCase):
    """``embed_stdlib`` over a small tree compiled as the build compiles the
    real standard library (a ``__pycache__`` next to each module)."""

    def setUp(self):
        super().setUp()
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        self.write("embedded_a.py", "VALUE = 'a'\n")
        self.write("embedded_pkg/__init__.py", "from . import mod\n")
        self.write("embedded_pkg/mod.py", "def where():\n    return __name__\n")
        # As `make install` does, into a staging directory: the code objects
        # name files under the build's prefix, not where they are served.
        self.assertTrue(compileall.compile_dir(self.root, quiet=1, ddir="/build/staging"))
        # embed_stdlib ends with gc.freeze(), as a snapshot does.
        self.addCleanup(gc.unfreeze)
        self.write("not_compiled.py", "")

        # Packages as pip lays them out: tzdata's shape, in small.
        self.packages = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.packages, ignore_errors=True)
        for relative, data in [
            ("tzpkg/__init__.py", b"VERSION = '1'\n"),
            ("tzpkg/zones", b"Europe/Paris\nUTC\n"),
            ("tzpkg/zoneinfo/__init__.py", b""),
            ("tzpkg/zoneinfo/UTC", b"TZif utc"),
            ("tzpkg/zoneinfo/Europe/__init__.py", b""),
            ("tzpkg/zoneinfo/Europe/Paris", b"TZif\x00paris"),
            ("tzpkg/notapackage/data", b"left out"),
            ("tzpkg-1.dist-info/METADATA", b"Name: tzpkg\n"),
            ("toplevel.py", b"def where():\n    return __file__\n"),
        ]:
            path = os.path.join(self.packages, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)

    def write(self, relative, text):
        path = os.path.join(self.root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def test_modules_are_served_from_memory(self):
        self.assertEqual(self.boot.embed_stdlib(self.root, self.packages, ["embedded_a"]), 3 + 4)
        preloaded = sys.modules["embedded_a"]
        self.assertIs(preloaded.__spec__.loader, self.boot._stdlib)
        self.assertEqual(preloaded.__file__, os.path.join(self.root, "embedded_a.py"))
        shutil.rmtree(self.root)
        self.assertEqual(self.boot.run("import embedded_pkg\nembedded_pkg.mod.where()"), "embedded_pkg.mod")
        self.assertTrue(self.boot._stdlib.is_package("embedded_pkg"))
        self.assertEqual(self.error("run", "import not_compiled")[0], "ModuleNotFoundError")

    def test_the_packages_metadata_answers_importlib_metadata(self):
        self.boot.embed_stdlib(self.root, self.packages, [])
        self.assertEqual(self.boot.run("import importlib.metadata\nimportlib.metadata.metadata('TZPkg')['Name']"), "tzpkg")
        self.assertEqual(self.error("run", "importlib.metadata.version('absent')")[0], "importlib.metadata.PackageNotFoundError")

    def test_sources_come_from_the_zip_a_host_provides(self):
        self.boot.embed_stdlib(self.root, self.packages, ["embedded_a"])
        self.boot.STDLIB = self.root
        self.boot.STDLIB_SOURCES = os.path.join(self.packages, "python311.zip")
        self.assertIsNone(self.boot._stdlib.get_source("embedded_pkg.mod"), "no zip: no source")
        source = "def where():\n    return __name__\n"
        with zipfile.ZipFile(self.boot.STDLIB_SOURCES, "w") as archive:
            archive.writestr("embedded_pkg/mod.py", source)
        self.assertEqual(self.boot._stdlib.get_source("embedded_pkg.mod"), source)
        self.assertIsNone(self.boot._stdlib.get_source("embedded_a"), "not in the zip")
        with self.assertRaises(ImportError):
            self.boot._stdlib.get_source("not_embedded")
        # Tracebacks (through linecache) and inspect read them through the loader.
        self.assertEqual(
            self.boot.run("import linecache, embedded_pkg.mod as m\nlinecache.getline(m.__file__, 2, m.__dict__)"),
            "    return __name__\n",
        )
        self.assertEqual(self.boot.run("import inspect, embedded_pkg.mod as m\ninspect.getsource(m.where)"), source)

    def test_sysconfig_data_names_no_build_machine_directory(self):
        build = "/home/ci/.cache/pycomponent/cpython/abc.partial"
        self.write(
            "_sysconfigdata__test.py",
            f"build_time_vars = {{'abs_srcdir': '{build}/source', 'CC': 'clang --sysroot=/home/ci/.cache/pycomponent/wasi-sysroot', "
            f"'prefix': '/usr/local', 'SIZEOF_INT': 4}}\n",
        )
        self.assertTrue(compileall.compile_dir(self.root, quiet=1, ddir="/build/staging"))
        self.boot.embed_stdlib(self.root, self.packages, [])
        variables = self.boot.run("import _sysconfigdata__test\n_sysconfigdata__test.build_time_vars")
        self.assertEqual(
            variables,
            {
                "abs_srcdir": "/build/cpython/source",
                "CC": "clang --sysroot=/build/wasi-sysroot",
                "prefix": "/usr/local",
                "SIZEOF_INT": 4,
            },
        )

    def test_the_snapshot_keeps_only_home_in_the_environment(self):
        self.boot.embed_stdlib(self.root, self.packages, [])
        self.assertEqual(dict(os.environ), {"HOME": "/home/user"})

    def test_the_path_finder_searches_only_what_is_put_on_sys_path(self):
        self.boot.embed_stdlib(self.root, self.packages, [])
        self.assertEqual(sys.path, [])
        adapted, finder, stdlib = sys.meta_path[:3]
        self.assertEqual((type(adapted).__name__, finder, stdlib), ("_AdaptedImports", self.boot._finder, self.boot._stdlib))
        # The path finder, and the finder of distributions that answers
        # importlib.metadata (it finds no module).
        self.assertEqual(sys.meta_path[-2:], [importlib.machinery.PathFinder, self.boot._distributions])
        elsewhere = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, elsewhere)
        for name in ("on_disk.py", "embedded_a.py"):
            with open(os.path.join(elsewhere, name), "w", encoding="utf-8") as f:
                f.write(f"WHERE = {name!r}\n")
        self.assertEqual(self.error("run", "import on_disk")[0], "ModuleNotFoundError")
        sys.path.append(elsewhere)
        self.assertEqual(self.boot.run("import on_disk\non_disk.WHERE"), "on_disk.py")
        # A module of the embedded library is not shadowed by a file.
        self.assertIs(self.boot.run("import embedded_a\nembedded_a").__spec__.loader, self.boot._stdlib)
        # Added modules still import.
        self.boot.add_module("added", "N = 1\n", False)
        self.assertEqual(self.boot.run("import added\nadded.N"), 1)

    def test_code_objects_name_the_path_modules_are_served_at(self):
        self.boot.embed_stdlib(self.root, self.packages, ["embedded_pkg"])
        mod = sys.modules["embedded_pkg.mod"]
        expected = os.path.join(self.root, "embedded_pkg", "mod.py")
        self.assertEqual(mod.__file__, expected)
        self.assertEqual(mod.where.__code__.co_filename, expected, "nested code objects too")
        self.assertEqual(self.boot._stdlib.get_code("embedded_a").co_filename, os.path.join(self.root, "embedded_a.py"))

    def test_packages_and_their_data_files_are_served_from_memory(self):
        self.boot.embed_stdlib(self.root, self.packages, [])
        shutil.rmtree(self.packages)
        self.assertEqual(self.boot.run("import tzpkg\ntzpkg.VERSION"), "1")
        toplevel = self.boot.run("import toplevel\ntoplevel")
        self.assertEqual(toplevel.where(), os.path.join(self.packages, "toplevel.py"))
        self.assertIs(toplevel.__spec__.loader, self.boot._stdlib)
        self.assertEqual(self.error("run", "import tzpkg.notapackage")[0], "ModuleNotFoundError")
        files = importlib.resources.files
        self.assertEqual(files("tzpkg.zoneinfo.Europe").joinpath("Paris").read_bytes(), b"TZif\x00paris")
        self.assertEqual((files("tzpkg") / "zoneinfo/Europe/Paris").read_bytes(), b"TZif\x00paris")
        with files("tzpkg").joinpath("zones").open("r", encoding="utf-8") as f:
            self.assertEqual(f.read().split(), ["Europe/Paris", "UTC"])
        zoneinfo = files("tzpkg.zoneinfo")
        self.assertEqual(sorted(p.name for p in zoneinfo.iterdir()), ["Europe", "UTC"])
        self.assertTrue(zoneinfo.joinpath("Europe").is_dir())
        self.assertTrue(zoneinfo.joinpath("UTC").is_file())
        missing = zoneinfo.joinpath("Europe/Atlantis")
        self.assertFalse(missing.is_file() or missing.is_dir())
        with self.assertRaises(FileNotFoundError):
            missing.open("rb")
        with self.assertRaises(FileNotFoundError):
            zoneinfo.joinpath("UTC/below").read_bytes()
        with self.assertRaises(ValueError):
            zoneinfo.joinpath("UTC").open("w")

    def test_the_snapshot_ends_with_empty_path_caches(self):
        # Directory listings of the build machine must not reach an
        # instance; they are dropped once, at the snapshot's end, so that
        # an instance's first call need not.
        sys.path_importer_cache["/build/machine/dir"] = None
        self.boot.embed_stdlib(self.root, self.packages, [])
        self.assertEqual(sys.path_importer_cache, {})

    def test_the_snapshot_ends_with_its_objects_frozen(self):
        self.boot.embed_stdlib(self.root, self.packages, [])
        self.assertGreater(gc.get_freeze_count(), 0)

    def test_bytecode_of_another_python_is_refused(self):
        cache = os.path.join(self.root, "__pycache__")
        filename = next(n for n in os.listdir(cache) if n.startswith("embedded_a."))
        with open(os.path.join(cache, filename), "r+b") as f:
            f.write(b"\0\0\r\n")
        self.assertEqual(
            self.error("embed_stdlib", self.root, self.packages, [])[:2],
            ("ImportError", f"{filename}: bytecode of another Python version"),
        )


class AdaptedImportsTest(GuestTestCase):
    def test_an_adapter_runs_after_its_module_wherever_it_comes_from(self):
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        with open(os.path.join(directory, "adapted_demo.py"), "w", encoding="utf-8") as f:
            f.write("STATE = 'as written'\n")
        self.boot.add_module("adapter_of_demo", "def adapt(module):\n    module.STATE += ', adapted'\n", False)
        self.boot.ADAPTERS["adapted_demo"] = ("adapter_of_demo", "adapt")
        sys.path.insert(0, directory)
        module = importlib.import_module("adapted_demo")
        self.assertEqual(module.STATE, "as written, adapted")
        self.assertEqual(module.__spec__.loader.get_source("adapted_demo"), "STATE = 'as written'\n")
        self.assertEqual(module.__file__, os.path.join(directory, "adapted_demo.py"))
