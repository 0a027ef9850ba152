"""Times one workload inside whichever Python runs this file, so that every
runtime (native, the component, python.wasm, Node, Pyodide) is measured the
same way: `bench()` once as a warm-up (its result is the checksum every run
must repeat), then `repeat` timed calls with time.perf_counter.

As a script: python harness.py WORKLOAD.py REPEAT  -> one line of JSON."""

import json
import sys
import time
import types


def measure(source, name, repeat):
    """{"check": repr of bench()'s result, "times": seconds per call}."""
    # A real module, so that pickle finds the workload's classes.
    module = types.ModuleType(f"workload_{name}")
    sys.modules[module.__name__] = module
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)
    bench = module.bench
    check = bench()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = bench()
        times.append(time.perf_counter() - start)
        if result != check:
            raise AssertionError(f"{name}: bench() gave {result!r}, then {check!r}")
    return {"check": repr(check), "times": times}


if __name__ == "__main__":
    path, repeat = sys.argv[1], int(sys.argv[2])
    with open(path) as f:
        source = f.read()
    name = path.rsplit("/", 1)[-1].removesuffix(".py")
    print(json.dumps(measure(source, name, repeat)))
