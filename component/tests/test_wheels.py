"""bootstrap.py: ``install_wheel``, a pure-Python wheel installed into a
running interpreter, in memory."""

import importlib.metadata
import importlib.resources
import io
import zipfile

from guest import GuestTestCase


def wheel(files, purelib="true"):
    """The bytes of a wheel holding ``files`` (path -> text) and a
    dist-info for project demo-pkg 1.0."""
    files = {
        "demo_pkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n",
        "demo_pkg-1.0.dist-info/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: {purelib}\nTag: py3-none-any\n",
        "demo_pkg-1.0.dist-info/entry_points.txt": "[console_scripts]\ndemo = demo_pkg:main\n",
        **files,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return out.getvalue()


PURE = {
    "demo_pkg/__init__.py": "from importlib.metadata import version\nVERSION = version('demo-pkg')\n"
    "def main():\n    return 'main'\n",
    "demo_pkg/core.py": "def fail():\n    raise RuntimeError('from the wheel')\n",
    "demo_pkg/data/greeting.txt": "hello from a resource\n",
    "demo_pkg/plain/module.py": "WHERE = __name__\n",
    "demo_pkg-1.0.data/purelib/demo_extra.py": "EXTRA = True\n",
    "demo_pkg-1.0.data/scripts/demo": "#!python\n",
}


class InstallWheelTest(GuestTestCase):
    def test_a_pure_wheel_imports_with_its_metadata_and_resources(self):
        self.assertEqual(self.boot.install_wheel(wheel(PURE), "demo_pkg-1.0-py3-none-any.whl"), ("demo-pkg", "1.0"))
        self.assertEqual(self.boot.run("import demo_pkg\ndemo_pkg.VERSION"), "1.0")
        self.assertEqual(self.boot.run("demo_pkg.__file__"), "/usr/local/lib/python3.11/site-packages/demo_pkg/__init__.py")
        self.assertEqual(self.boot.run("import demo_pkg.plain.module\ndemo_pkg.plain.module.WHERE"), "demo_pkg.plain.module")
        self.assertIs(self.boot.run("import demo_extra\ndemo_extra.EXTRA"), True)
        self.assertEqual(importlib.metadata.version("demo_pkg"), "1.0")
        self.assertEqual(importlib.metadata.version("Demo.__Pkg"), "1.0", "names compare as PEP 503 says")
        (entry_point,) = importlib.metadata.entry_points(group="console_scripts", name="demo")
        self.assertEqual(entry_point.load()(), "main")
        text = importlib.resources.files("demo_pkg").joinpath("data/greeting.txt").read_text(encoding="utf-8")
        self.assertEqual(text, "hello from a resource\n")
        _, _, tb = self.error("run", "import demo_pkg.core\ndemo_pkg.core.fail()")
        self.assertIn(
            'File "/usr/local/lib/python3.11/site-packages/demo_pkg/core.py", line 2, in fail\n'
            "    raise RuntimeError('from the wheel')",
            tb,
        )

    def test_native_code_is_refused_naming_the_file(self):
        native = wheel({"fast/__init__.py": "", "fast/_speedups.cpython-311-x86_64-linux-gnu.so": "\x7fELF"})
        name, message, _ = self.error("install_wheel", native, "fast-1.0-cp311-cp311-linux_x86_64.whl")
        self.assertEqual(name, "ValueError")
        self.assertIn("fast/_speedups.cpython-311-x86_64-linux-gnu.so", message)
        self.assertIn("fast-1.0-cp311-cp311-linux_x86_64.whl", message)
        name, message, _ = self.error("install_wheel", wheel({"x.py": ""}, purelib="false"), "x.whl")
        self.assertIn("Root-Is-Purelib", message)
        self.assertEqual(self.error("run", "import fast")[0], "ModuleNotFoundError")

    def test_paths_outside_site_packages_are_never_served(self):
        traversal = wheel({"../evil.py": "X = 1\n", "/abs.py": "X = 1\n", "ok/../../up.py": "X = 1\n", "fine.py": ""})
        self.boot.install_wheel(traversal, "t.whl")
        for name in ("evil", "abs", "up"):
            self.assertEqual(self.error("run", f"import {name}")[0], "ModuleNotFoundError", name)
        self.assertIsNotNone(self.boot.run("import fine\nfine"))

    def test_what_is_not_a_wheel_is_refused(self):
        self.assertEqual(self.error("install_wheel", b"not a zip", "a.whl")[:2], ("ValueError", "a.whl: not a wheel: File is not a zip file"))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("module.py", "")
        self.assertIn("exactly one *.dist-info", self.error("install_wheel", out.getvalue(), "b.whl")[1])
