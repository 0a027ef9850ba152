"""bootstrap.py: ``run``, ``run_script``, ``call``, ``describe`` and the
capture of output, as the interpreter interface of wit/python.wit uses them."""

import sys
import traceback

from guest import GuestTestCase


class RunTest(GuestTestCase):
    def test_the_value_of_a_final_expression_is_returned(self):
        self.assertEqual(self.boot.run("x = 2\nx * 21"), 42)
        self.assertEqual(self.main["x"], 2)

    def test_only_the_last_statement_is_the_result(self):
        self.assertEqual(self.boot.run("1\n2"), 2)
        self.assertEqual(self.boot.run("a = 1; a + 1"), 2)
        self.assertEqual(self.boot.run("'a docstring-like string'"), "a docstring-like string")

    def test_without_a_final_expression_the_result_is_none(self):
        self.assertIsNone(self.boot.run(""))
        self.assertIsNone(self.boot.run("y = 1"))
        self.assertIsNone(self.boot.run("if True:\n    z = 3\n"))
        self.assertEqual((self.main["y"], self.main["z"]), (1, 3))

    def test_statements_run_before_the_final_expression(self):
        self.assertEqual(self.boot.run("print('first')\nprint('second') or 5"), 5)
        self.assertEqual(self.output(), ("first\nsecond\n", ""))

    def test_state_stays_in_main_between_runs(self):
        self.boot.run("def double(n):\n    return 2 * n\n")
        self.assertEqual(self.boot.run("double(21)"), 42)
        self.assertEqual(self.boot.run("__name__"), "__main__")

    def test_a_cell_may_await_at_top_level(self):
        self.assertEqual(self.boot.run("import asyncio\nawait asyncio.sleep(0)\n41 + 1"), 42)
        self.assertEqual(self.boot.run("task = asyncio.ensure_future(asyncio.sleep(0, result=5))\nawait task"), 5)
        self.assertIsNone(self.boot.run("x = await asyncio.sleep(0, result=3)"))
        self.assertEqual(self.main["x"], 3)
        self.assertNotIn("__pycomponent_cell_value__", self.main)
        name, _, tb = self.error("run", "async def f():\n    raise KeyError('in a coroutine')\nawait f()")
        self.assertEqual(name, "KeyError")
        self.assertIn('File "<string>", line 2, in f', tb)

    def test_a_syntax_error_names_the_string(self):
        name, _, tb = self.error("run", "x = (1 +")
        self.assertEqual(name, "SyntaxError")
        self.assertIn('File "<string>", line 1', tb)
        self.assertNotIn("in run", tb)

    def test_the_traceback_starts_at_the_users_code(self):
        source = "def f():\n    raise ValueError('boom')\nf()\n"
        self.assertEqual(
            self.error("run", source),
            (
                "ValueError",
                "boom",
                "Traceback (most recent call last):\n"
                '  File "<string>", line 3, in <module>\n'
                '  File "<string>", line 2, in f\n'
                "ValueError: boom\n",
            ),
        )

    def test_an_error_in_the_final_expression(self):
        name, message, tb = self.error("run", "x = 1\nx / 0")
        self.assertEqual((name, message), ("ZeroDivisionError", "division by zero"))
        self.assertIn('File "<string>", line 2, in <module>', tb)


class RunScriptTest(GuestTestCase):
    def test_argv_and_file_are_set(self):
        self.boot.run_script("import sys\nargs = sys.argv\n", "/work/job.py", ["job.py", "--fast"])
        self.assertEqual(self.main["args"], ["job.py", "--fast"])
        self.assertEqual(self.main["__file__"], "/work/job.py")

    def test_the_traceback_names_the_script(self):
        _, _, tb = self.error("run_script", "x = 1\nraise KeyError(x)\n", "/work/job.py", ["job.py"])
        self.assertIn('File "/work/job.py", line 2, in <module>', tb)
        self.assertTrue(tb.endswith("KeyError: 1\n"), tb)


class RunMainTest(GuestTestCase):
    """``run_main``: the exit status of ``SystemExit`` as CPython's
    command line gives it."""

    def status(self, mode, source):
        return self.boot.run_main(mode, source, "<string>", ["-c"])

    def test_no_exit_gives_no_status_and_the_value(self):
        self.assertEqual(self.status("script", "x = 1"), (None, None))
        self.assertEqual(self.main["__file__"], "<string>")
        self.assertEqual(self.status("command", "import sys; argv = sys.argv"), (None, None))
        self.assertEqual(self.main["argv"], ["-c"])
        self.assertEqual(self.status("eval", "6 * 7"), (None, 42))
        self.assertEqual(self.status("run", "y = 2\ny + 1"), (None, 3))

    def test_integer_codes_are_the_status(self):
        self.assertEqual(self.status("script", "raise SystemExit(3)"), (3, None))
        self.assertEqual(self.status("command", "raise SystemExit(4)"), (4, None))
        self.assertEqual(self.status("script", "import sys; sys.exit(0)"), (0, None))
        self.assertEqual(self.status("script", "raise SystemExit"), (0, None))
        self.assertEqual(self.status("script", "raise SystemExit(None)"), (0, None))
        self.assertEqual(self.status("script", "raise SystemExit(True)"), (1, None))
        self.assertEqual(self.status("script", "raise SystemExit(256 + 7)"), (7, None))
        self.assertEqual(self.status("script", "raise SystemExit(-1)"), (255, None))
        self.assertEqual(self.status("script", "raise SystemExit(10**30)"), (255, None))
        self.assertEqual(self.output(), ("", ""))

    def test_other_codes_are_printed_and_give_1(self):
        self.assertEqual(self.status("script", "raise SystemExit('3')"), (1, None))
        self.assertEqual(self.output(), ("", "3\n"))
        self.assertEqual(self.status("eval", "__import__('sys').exit('bye')"), (1, None))
        self.assertEqual(self.output(), ("", "bye\n"))
        self.assertEqual(self.status("run", "import sys\nsys.exit([1])"), (1, None))
        self.assertEqual(self.output(), ("", "[1]\n"))

    def test_other_exceptions_propagate(self):
        self.assertEqual(self.error("run_main", "script", "1/0", "<string>", ["-c"])[0], "ZeroDivisionError")


class CallTest(GuestTestCase):
    def test_a_function_of_main(self):
        self.boot.run("def add(a, b=10):\n    return a + b\n")
        self.assertEqual(self.boot.call("add", (1,), {}), 11)
        self.assertEqual(self.boot.call("add", (1,), {"b": 2}), 3)

    def test_an_attribute_of_a_global_of_main(self):
        self.boot.run("class Shapes:\n    @staticmethod\n    def square(n):\n        return n * n\n")
        self.assertEqual(self.boot.call("Shapes.square", (4,), {}), 16)
        self.boot.run("import os")
        self.assertEqual(self.boot.call("os.path.basename", ("/a/b.txt",), {}), "b.txt")

    def test_a_builtin(self):
        self.assertEqual(self.boot.call("len", ([1, 2, 3],), {}), 3)
        self.assertEqual(self.boot.call("sorted", ([3, 1, 2],), {"reverse": True}), [3, 2, 1])

    def test_a_global_of_main_comes_before_a_builtin(self):
        self.boot.run("def len(x):\n    return 'mine'\n")
        self.assertEqual(self.boot.call("len", ([],), {}), "mine")

    def test_a_module_function_imports_the_module(self):
        self.assertEqual(self.boot.call("os.path.join", ("a", "b"), {}), "a/b")
        sys.modules.pop("colorsys", None)
        self.assertEqual(self.boot.call("colorsys.rgb_to_hsv", (1.0, 0.0, 0.0), {}), (0.0, 1.0, 1.0))
        self.assertIn("colorsys", sys.modules)

    def test_a_class_attribute_in_a_module(self):
        # `collections.OrderedDict` is no module: the shorter prefix is.
        result = self.boot.call("collections.OrderedDict.fromkeys", ("ab",), {})
        self.assertEqual(list(result), ["a", "b"])

    def test_a_function_of_an_added_module(self):
        self.boot.add_module("calc", "def mul(a, b):\n    return a * b\n", False)
        self.assertEqual(self.boot.call("calc.mul", (6, 7), {}), 42)

    def test_an_unknown_name(self):
        name, message, tb = self.error("call", "no_such_function", (), {})
        self.assertEqual((name, message), ("NameError", "name 'no_such_function' is not defined"))
        # Only the guest's own frames were there: no traceback header.
        self.assertEqual(tb, "NameError: name 'no_such_function' is not defined\n")

    def test_an_unknown_module(self):
        name, message, _ = self.error("call", "no_such_module.f", (), {})
        self.assertEqual((name, message), ("ModuleNotFoundError", "No module named 'no_such_module'"))

    def test_an_unknown_attribute(self):
        name, message, _ = self.error("call", "os.no_such_function", (), {})
        self.assertEqual((name, message), ("AttributeError", "module 'os' has no attribute 'no_such_function'"))

    def test_invalid_names(self):
        for dotted in ("", "a..b", ".a", "a."):
            with self.subTest(dotted=dotted):
                name, message, _ = self.error("call", dotted, (), {})
                self.assertEqual((name, message), ("ValueError", f"invalid function name {dotted!r}"))

    def test_a_missing_dependency_of_the_module_is_reported_as_itself(self):
        # Not "No module named 'needs'": the module exists, its import failed.
        self.boot.add_module("needs", "import no_such_dependency\ndef f():\n    pass\n", False)
        name, message, tb = self.error("call", "needs.f", (), {})
        self.assertEqual((name, message), ("ModuleNotFoundError", "No module named 'no_such_dependency'"))
        self.assertIn('File "<needs>", line 1, in <module>', tb)

    def test_a_missing_submodule_is_an_attribute_of_its_package(self):
        self.boot.add_module("pkg", "", True)
        name, _, _ = self.error("call", "pkg.missing.f", (), {})
        self.assertEqual(name, "AttributeError")

    def test_an_error_in_the_function_starts_the_traceback_there(self):
        self.boot.add_module("calc", "def div(a, b):\n    return a / b\n", False)
        self.assertEqual(
            self.error("call", "calc.div", (1, 0), {}),
            (
                "ZeroDivisionError",
                "division by zero",
                "Traceback (most recent call last):\n"
                '  File "<calc>", line 2, in div\n'
                "ZeroDivisionError: division by zero\n",
            ),
        )


class DescribeTest(GuestTestCase):
    def test_builtin_and_main_types_are_not_qualified(self):
        self.assertEqual(self.error("run", "raise KeyError('k')")[:2], ("KeyError", "'k'"))
        self.assertEqual(
            self.error("run", "class MyError(Exception):\n    pass\nraise MyError('m')")[:2], ("MyError", "m")
        )

    def test_other_types_are_qualified_with_their_module(self):
        self.assertEqual(self.error("run", "import json\njson.loads('{')")[0], "json.decoder.JSONDecodeError")
        self.boot.add_module("errors", "class Outer:\n    class Inner(Exception):\n        pass\n", False)
        self.assertEqual(self.error("run", "import errors\nraise errors.Outer.Inner()")[:2], ("errors.Outer.Inner", ""))

    def test_base_exceptions(self):
        self.assertEqual(self.error("run", "raise SystemExit(3)")[:2], ("SystemExit", "3"))
        self.assertEqual(self.error("run", "raise KeyboardInterrupt")[:2], ("KeyboardInterrupt", ""))

    def test_an_exception_without_traceback(self):
        self.assertEqual(self.boot.describe(ValueError("plain")), ("ValueError", "plain", "ValueError: plain\n"))

    def test_notes_and_causes_are_in_the_traceback(self):
        source = (
            "try:\n"
            "    {}['k']\n"
            "except KeyError as e:\n"
            "    err = ValueError('bad config')\n"
            "    err.add_note('see the docs')\n"
            "    raise err from e\n"
        )
        _, _, tb = self.error("run", source)
        self.assertIn("KeyError: 'k'\n", tb)
        self.assertIn("The above exception was the direct cause of the following exception:", tb)
        self.assertTrue(tb.endswith("ValueError: bad config\nsee the docs\n"), tb)

    def test_no_frame_of_the_guest_inside_the_traceback(self):
        # Importing an added module runs it from the bootstrap's exec_module,
        # whose file is "<string>" too: it would read as a line of the user's.
        self.boot.add_module("broken", "x = 1\nraise KeyError('k')\n", False)
        _, _, tb = self.error("run", "import broken")
        self.assertIn('File "<broken>", line 2, in <module>', tb)
        self.assertNotIn("exec_module", tb)
        self.assertEqual(tb.count('File "<string>"'), 1, tb)


class OutputTest(GuestTestCase):
    def test_print_is_captured_per_stream(self):
        self.boot.run("import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.stdout.write('more')")
        self.assertEqual(self.output(), ("out\nmore", "err\n"))

    def test_taking_clears(self):
        self.boot.run("print('once')")
        self.output()
        self.assertEqual(self.output(), ("", ""))

    def test_the_streams_are_files_on_descriptors_0_1_2(self):
        self.assertIs(sys.__stdout__, sys.stdout)
        self.assertIs(sys.__stderr__, sys.stderr)
        self.assertIs(sys.__stdin__, sys.stdin)
        self.assertEqual([s.fileno() for s in (sys.stdin, sys.stdout, sys.stderr)], [0, 1, 2])
        self.assertEqual((sys.stdout.name, sys.stderr.name, sys.stdin.name), ("<stdout>", "<stderr>", "<stdin>"))
        self.assertTrue(sys.stdout.writable())
        self.assertEqual((sys.stdout.encoding, sys.stderr.encoding), ("utf-8", "utf-8"))

    def test_lone_surrogates_are_written_as_replacement_characters(self):
        self.boot.run("import sys\nprint('a\\ud800b')\nprint('\\udcff', file=sys.stderr)")
        self.assertEqual(self.output(), ("a\ufffdb\n", "\ufffd\n"))

    def test_a_stream_works_as_a_file(self):
        self.assertEqual(sys.stdout.write("héllo"), 5)
        sys.stdout.writelines(["a\n", "b\n"])
        sys.stdout.flush()
        traceback.print_exception(ValueError("shown"), file=sys.stderr)
        self.assertEqual(self.output(), ("hélloa\nb\n", "ValueError: shown\n"))

    def test_writes_to_the_descriptors_are_captured_in_order(self):
        self.boot.run("import os, sys\nprint('a')\nos.write(1, b'b\\n')\nprint('c')\nos.write(2, b'e')")
        self.assertEqual(self.output(), ("a\nb\nc\n", "e"))

    def test_a_buffered_replacement_is_flushed_when_the_call_ends(self):
        self.boot.run("import sys\nsys.stdout = open(1, 'w', closefd=False)\nprint('late')")
        self.assertEqual(self.output()[0], "late\n")

    def test_only_text_is_written(self):
        _, message, _ = self.error("run", "import sys\nsys.stdout.write(b'bytes')")
        self.assertEqual(message, "write() argument must be str, not bytes")

