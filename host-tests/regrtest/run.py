"""Runs modules of CPython's own test suite (Lib/test) inside the component.

The component has no file-system imports; this script, run with the
CPython source tree's `Lib` directory mounted read-only at /cpython (and a writable /tmp),
puts the path finder back (last, after the embedded stdlib, so only the `test` package comes from the mount), runs each named module
with unittest and prints one JSON line per module:

    REGRTEST {"module": ..., "run": N, "skipped": N, "failed": {test id: why}, "error": text or null}

Usage (what `cargo xtask regrtest` and host-tests do):
    pycomponent run --mount CPYTHON_LIB:/cpython:ro --mount TMP:/tmp run.py test_json test_re ...
"""

import contextlib
import importlib.machinery
import io
import json
import os
import sys
import unittest

sys.path.insert(0, "/cpython")
sys.meta_path.append(importlib.machinery.PathFinder)
# Tests create their scratch files in the working directory: the writable mount.
os.chdir("/tmp")


def run_module(name):
    try:
        suite = unittest.defaultTestLoader.loadTestsFromName(f"test.{name}")
    except Exception as exc:  # an import failure is the module's result
        return {"module": name, "run": 0, "skipped": 0, "failed": {}, "error": f"{type(exc).__name__}: {exc}"}
    # Tests that print would mix with the result lines: their output is kept apart.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    failed = {test.id(): last_line(trace) for test, trace in result.failures + result.errors}
    failed.update({test.id(): "unexpected success" for test in result.unexpectedSuccesses})
    return {"module": name, "run": result.testsRun, "skipped": len(result.skipped), "failed": failed, "error": None}


def last_line(trace):
    """The exception line of a formatted traceback, shortened."""
    lines = [line for line in trace.strip().splitlines() if line and not line.startswith(" ")]
    return (lines[-1] if lines else "")[:200]


if __name__ == "__main__":
    for module in sys.argv[1:]:
        print("REGRTEST " + json.dumps(run_module(module)), flush=True)
