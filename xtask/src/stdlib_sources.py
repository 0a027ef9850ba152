"""Zips the sources of the modules the component embeds, by their paths
under the standard library directory (`json/decoder.py`,
`site-packages/tzdata/__init__.py`), for tracebacks and `inspect`: the
guest reads them from /usr/local/lib/python311.zip when a host provides
it. Run by `cargo xtask component` with the native CPython of the same
build: python stdlib_sources.py STDLIB SITE_PACKAGES OUT. The archive is
the same for the same inputs (fixed times, sorted entries)."""

import os
import sys
import zipfile


def embedded_sources(stdlib):
    """The .py file of every module the guest embeds: those compiled into
    a __pycache__ (component/src/bootstrap.py, _EmbeddedStdlib.load)."""
    tag = f".{sys.implementation.cache_tag}.pyc"
    for dirpath, dirnames, filenames in os.walk(stdlib):
        dirnames.sort()
        if os.path.basename(dirpath) != "__pycache__":
            continue
        package_dir = os.path.dirname(dirpath)
        for filename in sorted(filenames):
            source = os.path.join(package_dir, filename[: -len(tag)] + ".py")
            # _sysconfigdata_* names the build machine's directories (the
            # guest rewrites them), and has no lines a traceback shows.
            if filename.startswith("_sysconfigdata_"):
                continue
            if filename.endswith(tag) and os.path.isfile(source):
                yield os.path.relpath(source, stdlib), source


def package_sources(site_packages):
    """The .py files of the packages the guest carries
    (_EmbeddedStdlib.load_packages)."""
    for dirpath, dirnames, filenames in os.walk(site_packages):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.endswith(".dist-info"))
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                source = os.path.join(dirpath, filename)
                yield os.path.join("site-packages", os.path.relpath(source, site_packages)), source


def main(stdlib, site_packages, out):
    entries = sorted([*embedded_sources(stdlib), *package_sources(site_packages)])
    partial = out + ".partial"
    with zipfile.ZipFile(partial, "w") as archive:
        for name, source in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(source, "rb") as file:
                archive.writestr(info, file.read(), compresslevel=9)
    os.replace(partial, out)
    print(f"{len(entries)} sources")


if __name__ == "__main__":
    main(*sys.argv[1:4])
