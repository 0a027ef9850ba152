"""Runs modules of CPython's own test suite (Lib/test) inside the component.

The component has no file-system imports; this script, run with the
`test` package mounted read-only at /cpython/test (and a writable /tmp),
puts the path finder back for that directory only, runs each named module
with unittest and prints one JSON line per module:

    {"module": ..., "run": N, "skipped": N, "failed": [test ids], "error": text or null}

Usage (what `cargo xtask regrtest` and host-tests do):
    pycomponent run --mount LIB_TEST:/cpython/test:ro --mount TMP:/tmp run.py test_json test_re ...
"""

import importlib.machinery
import io
import json
import sys
import unittest

sys.path.insert(0, "/cpython")
sys.meta_path.append(importlib.machinery.PathFinder)


def run_module(name):
    try:
        suite = unittest.defaultTestLoader.loadTestsFromName(f"test.{name}")
    except Exception as exc:  # an import failure is the module's result
        return {"module": name, "run": 0, "skipped": 0, "failed": [], "error": f"{type(exc).__name__}: {exc}"}
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    broken = [test for test, _ in result.failures + result.errors] + list(result.unexpectedSuccesses)
    failed = sorted({test.id() for test in broken})
    return {"module": name, "run": result.testsRun, "skipped": len(result.skipped), "failed": failed, "error": None}


if __name__ == "__main__":
    for module in sys.argv[1:]:
        print(json.dumps(run_module(module)), flush=True)
