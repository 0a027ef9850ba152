"""Compares numpy's test results in the component with the native ones and
writes docs/NUMPY_TESTS.md.

Usage: numpy_tests.py RESULTS_DIR REPORT SUBPACKAGE...

RESULTS_DIR holds ``native/<sub>.xml`` and ``wasm/<sub>@<module>.xml``, one
per test module (pytest's JUnit XML); a module without a readable file
trapped the guest. Prints the share of natively passing tests that pass in the component,
and the share among those whose test the component's run has too (numpy generates some
tests only for the native platform: its SIMD targets, a 64-bit C long); exits with 1 when
that second share is under 95%.
"""

import collections
import glob
import os
import sys
import xml.etree.ElementTree as ET

GOAL = 0.95


def outcomes(path, module=None):
    """{test id: (outcome, first line of the message)} of one JUnit file,
    and why the module did not run (did not import, or skipped as a whole;
    "" when it ran).

    Test ids are ``tests.test_x.Class::name`` as a subpackage's run names
    them; a run of one ``module`` names classes relative to it."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError) as error:
        return None, f"no results ({error})"
    results = {}
    not_imported = ""
    for case in tree.iter("testcase"):
        error = case.find("error")
        if error is not None and error.get("message") == "collection failure":
            # pytest's line for the exception, "E   ModuleNotFoundError: ...".
            lines = [line[1:].strip() for line in (error.text or "").splitlines() if line.startswith("E ")]
            not_imported = "did not import: " + (lines[-1][:160] if lines else "collection failure")
            continue
        skipped = case.find("skipped")
        if skipped is not None and skipped.get("message") == "collection skipped":
            # A module-level pytest.skip: "(path, line, 'Skipped: reason')".
            reason = (skipped.text or "").split(", ", 2)[-1].strip(" ()'\"")
            not_imported = f"was skipped as a whole: {reason[:160]}"
            continue
        classname = case.get("classname") or ""
        if module is not None and not classname.startswith(module):
            classname = module + classname if classname.startswith(".") or not classname else module + "." + classname
        test = f"{classname}::{case.get('name')}"
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = "failed" if child.tag != "skipped" else "skipped"
                message = (child.get("message") or "").strip().splitlines()[:1]
                message = message[0][:160] if message else ""
                break
        results[test] = (outcome, message)
    return results, not_imported


def module_of(test):
    """The test module of a test id, relative to its subpackage:
    ``tests.test_x`` of ``tests.test_x.Class::name``."""
    parts = test.split("::", 1)[0].split(".")
    for i, part in enumerate(parts):
        if part.startswith("test_"):
            return ".".join(parts[: i + 1])
    return ".".join(parts)


def modules(results_dir, sub):
    """The test modules run for ``sub``: the runner writes one log line per
    module, ``<sub>@<module>`` in ``wasm/modules.txt``."""
    with open(f"{results_dir}/wasm/modules.txt") as listing:
        return [line.split("@", 1)[1].strip() for line in listing if line.startswith(sub + "@")]


def main(results_dir, report, *subpackages):
    rows, lost, trapped = [], collections.defaultdict(list), collections.defaultdict(list)
    total_native = total_kept = total_absent = 0
    for sub in subpackages:
        native, why_native = outcomes(f"{results_dir}/native/{sub}.xml")
        native = native or {}
        passed_natively = {t for t, (o, _) in native.items() if o == "passed"}
        wasm, not_imported = {}, {}
        for module in modules(results_dir, sub):
            relative = module[len(sub) + 1 :]
            results, why = outcomes(f"{results_dir}/wasm/{sub}@{module}.xml", relative)
            if results is None:
                trapped[sub].append(module)
                not_imported[relative] = "its module trapped the guest"
            else:
                wasm.update(results)
                if why:
                    not_imported[relative] = f"its module {why}"
        kept = {t for t in passed_natively if wasm.get(t, ("missing", ""))[0] == "passed"}
        for test in sorted(passed_natively - kept):
            if test in wasm:
                outcome, message = wasm[test]
            else:
                outcome = "not run"
                if module_of(test) not in not_imported:
                    total_absent += 1
                message = not_imported.get(
                    module_of(test),
                    "no test of this id in the component's run: numpy parametrizes it by the platform "
                    "(wasm32's C long is 32 bits; this build has no SIMD targets)",
                )
            lost[sub].append((test, outcome, message))
        counts = collections.Counter(o for o, _ in wasm.values())
        rows.append((sub, len(passed_natively), len(kept), counts["passed"], counts["failed"], counts["skipped"]))
        total_native += len(passed_natively)
        total_kept += len(kept)
    share = total_kept / total_native if total_native else 0.0
    comparable = total_native - total_absent
    comparable_share = total_kept / comparable if comparable else 0.0
    lines = [
        "# numpy's test suite in the component",
        "",
        "Written by `cargo xtask numpy-tests`: `pytest --pyargs numpy.<subpackage> -m \"not slow\"` inside",
        "`pycomponent-numpy.wasm` (numpy 2.4.6 built from its sdist; its tests granted read-only at their",
        "path; pytest and hypothesis from PyPI; a writable in-memory file system), and the same run natively",
        "with numpy 2.4.6's wheel from PyPI on the build's native CPython 3.11.2.",
        "",
        f"**{total_kept} of the {total_native} tests that pass natively pass in the component "
        f"({share:.1%}).** {total_absent} of those native passes have no test of their id in the "
        "component's run: numpy parametrizes them by the platform (the x86-64 SIMD targets of "
        "`test_simd`, a 64-bit C long), so no such test exists on wasm32. **Of the other "
        f"{comparable}, {total_kept} pass ({comparable_share:.1%}; goal {GOAL:.0%})**: the check of "
        "`cargo xtask numpy-tests` (its exit status).",
        "",
        "| subpackage | pass natively | of those, pass in the component | component: passed / failed / skipped |",
        "|---|---|---|---|",
    ]
    for sub, n, k, p, f, s in rows:
        lines.append(f"| numpy.{sub} | {n} | {k} | {p} / {f} / {s} |")
    lines += ["", "## Test modules whose run trapped the guest", ""]
    for sub in subpackages:
        for module in trapped[sub]:
            lines.append(f"- `numpy.{module}` (its tests count as not passing)")
    if not any(trapped.values()):
        lines.append("None.")
    lines += ["", "## Tests that pass natively but not in the component", ""]
    for sub in subpackages:
        if not lost[sub]:
            continue
        lines += [f"### numpy.{sub} ({len(lost[sub])})", ""]
        for test, outcome, message in lost[sub]:
            lines.append(f"- `{test}`: {outcome}" + (f": {message}" if message else ""))
        lines.append("")
    with open(report, "w") as out:
        out.write("\n".join(lines).rstrip() + "\n")
    print(
        f"numpy tests: {total_kept}/{total_native} of the native passes pass in the component ({share:.1%}); "
        f"{total_kept}/{comparable} of those whose test exists on wasm32 ({comparable_share:.1%})"
    )
    return 0 if comparable_share >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
