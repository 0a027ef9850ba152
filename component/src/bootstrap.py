"""The Python side of the pycomponent guest.

Runs once, as module ``_pycomponent``, when the interpreter starts. It owns
what is easier to say in Python than in C: the standard streams,
describing exceptions, finding user and host modules, and resolving the
dotted names of ``call``. The Rust side converts values and calls in.
"""

import _ast
import builtins
import codecs
import errno
import gc
import importlib
import importlib.abc
import importlib.machinery
import importlib.resources.abc
import importlib.util
import io
import marshal
import os
import stat
import sys
import traceback
import types


# Output crosses to the host as WIT strings, which hold Unicode text: what
# cannot be encoded (a lone surrogate) is written as U+FFFD, one for each.
# (The UTF-8 encoder takes a non-ASCII replacement only as bytes.)
codecs.register_error(
    "pycomponent.replace", lambda error: ("\ufffd".encode() * (error.end - error.start), error.end)
)


def _standard_stream(fd, name, writing):
    """A standard stream over descriptor ``fd``, as CPython makes it in
    UTF-8 mode, but unbuffered: the guest's file system captures what
    reaches descriptors 1 and 2 per call (so ``os.write(1, ...)`` and C code
    are captured too), and nothing waits in a buffer when a call ends."""
    raw = io.FileIO(fd, "w" if writing else "r", closefd=False)
    raw.name = name
    if writing:
        return io.TextIOWrapper(raw, encoding="utf-8", errors="pycomponent.replace", write_through=True)
    return io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8", errors="surrogateescape")


sys.stdin = sys.__stdin__ = _standard_stream(0, "<stdin>", False)
sys.stdout = sys.__stdout__ = _standard_stream(1, "<stdout>", True)
sys.stderr = sys.__stderr__ = _standard_stream(2, "<stderr>", True)


def flush_output():
    """Flushes ``sys.stdout`` and ``sys.stderr`` at the end of a call, for
    programs that put buffered streams in their place."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a broken stream must not fail the call
            pass


def describe(exc):
    """(qualified type name, message, formatted traceback) of an exception."""
    cls = type(exc)
    name = cls.__qualname__
    if cls.__module__ not in ("builtins", "__main__"):
        name = f"{cls.__module__}.{name}"
    # The frames of this module (``call``, ``run``, the import of an added
    # module) are ours, not the user's; their file is "<string>" too, which
    # would read as lines of the user's code.
    kept = []
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals is not globals():
            kept.append(tb)
        tb = tb.tb_next
    tb = None
    for entry in reversed(kept):
        tb = types.TracebackType(tb, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return name, str(exc), "".join(traceback.format_exception(cls, exc, tb))


class _SourceModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds modules added with ``add-module``, the modules of an app's
    files, and the host's modules."""

    def __init__(self):
        self.sources = {}  # name -> (source, is_package)
        # Modules from files (an app and its packages, see add_file):
        # name -> (is_package, path, marshalled code or None, source bytes),
        # kept uncompressed as the standard library is (_EmbeddedStdlib).
        self.files = {}
        # package name -> {file name: bytes}: data files of installed wheels.
        self.resources = {}
        # name -> tuple of function names; None: ask the host on first use.
        self.host = {}
        # False while the snapshot is made: the build has no host to ask.
        self.ask_host = False

    def add_file(self, name, is_package, path, source):
        """Keeps a module read from ``path``, compiled now so that importing
        it later (in a request, say) does not compile; source that does not
        compile is kept as it is and raises its SyntaxError when imported."""
        try:
            code = marshal.dumps(compile(source, path or f"<{name}>", "exec", dont_inherit=True))
        except SyntaxError:
            code = None
        self.files[name] = (bool(is_package), path, code, source.encode("utf-8", "surrogatepass"))
        if is_package:
            self.resources.setdefault(name, {})

    def get_resource_reader(self, fullname):
        if fullname in self.resources:
            return _MemoryResources(self.resources, fullname)
        return None

    def find_spec(self, name, path=None, target=None):
        if name in self.sources:
            return importlib.util.spec_from_loader(name, self, is_package=self.sources[name][1])
        if name in self.files:
            is_package, origin, _, _ = self.files[name]
            spec = importlib.util.spec_from_loader(name, self, origin=origin, is_package=is_package)
            # `__file__` is set from it: frameworks such as Flask find an
            # app's package by it.
            spec.has_location = origin is not None
            return spec
        # The host may register modules at any time (a JS page does), so a
        # name the cache lacks is asked again, unless it is a stdlib name.
        stdlib = name in _stdlib.modules or name in sys.builtin_module_names
        if self.ask_host and (self.host is None or (name not in self.host and not stdlib)):
            self.host = {module: tuple(functions) for module, functions in _host_modules()}
        if name in self.host:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return None

    def get_source(self, fullname):
        # linecache asks for it, so that tracebacks show source lines.
        if fullname in self.files:
            return self.files[fullname][3].decode("utf-8", "surrogatepass")
        entry = self.sources.get(fullname)
        return None if entry is None else entry[0]

    def exec_module(self, module):
        name = module.__name__
        if name in self.sources:
            source, _ = self.sources[name]
            exec(compile(source, f"<{name}>", "exec"), module.__dict__)
            return
        if name in self.files:
            _, path, code, _ = self.files[name]
            if code is None:
                code = compile(self.get_source(name), path or f"<{name}>", "exec", dont_inherit=True)
            else:
                code = marshal.loads(code)
            exec(code, module.__dict__)
            return
        for function in self.host[name]:
            setattr(module, function, _host_function(name, function))


def _host_function(module, function):
    def call_host(*args, **kwargs):
        return _host_call(module, function, args, kwargs)

    call_host.__name__ = call_host.__qualname__ = function
    call_host.__module__ = module
    call_host.__doc__ = f"Calls the host function {module}.{function}."
    return call_host


def _host_call(module, function, args, kwargs):
    # Replaced by the Rust side with the real entry point at start-up.
    raise RuntimeError("host calls are not available")


def _host_modules():
    # Replaced by the Rust side with the real entry point at start-up.
    return []


_finder = _SourceModules()
sys.meta_path.insert(0, _finder)


class _BuiltinSubmodules(importlib.abc.MetaPathFinder):
    """Finds the extension modules of native packages, linked in as built-in
    modules under dotted names (``numpy._core._multiarray_umath``): CPython
    3.11.2's BuiltinImporter finds only top-level names (gh-102700)."""

    def find_spec(self, name, path=None, target=None):
        if "." not in name or name not in sys.builtin_module_names:
            return None
        return importlib.machinery.ModuleSpec(name, importlib.machinery.BuiltinImporter, origin="built-in")


if any("." in name for name in sys.builtin_module_names):
    sys.meta_path.insert(sys.meta_path.index(importlib.machinery.BuiltinImporter) + 1, _BuiltinSubmodules())


# Modules that need the component's help on WASI, and the function that
# adapts each one right after it runs: (module of the function, its name).
ADAPTERS = {
    # No selector loop: asyncio.run gets the component's (event_loop.py,
    # added by interp.rs as _pycomponent_asyncio).
    "asyncio": ("_pycomponent_asyncio", "install"),
    # No threads: anyio's worker threads (Starlette's sync endpoints) run inline.
    "anyio._backends._asyncio": ("_pycomponent_asyncio", "run_anyio_threads_inline"),
    # No sockets: connections go through the host's HTTP client
    # (http_client.py, added by interp.rs as _pycomponent_http).
    "http.client": ("_pycomponent_http", "install_http_client"),
    "requests.adapters": ("_pycomponent_http", "install_requests"),
    "httpx._transports.default": ("_pycomponent_http", "install_httpx"),
}


class _AdaptedImports(importlib.abc.MetaPathFinder):
    """Finds the modules of ``ADAPTERS`` with the other finders and gives
    them a loader that runs the adapter after the module, wherever the
    module comes from (the embedded stdlib, an app's files, a directory on
    ``sys.path``)."""

    def find_spec(self, name, path=None, target=None):
        adapter = ADAPTERS.get(name)
        if adapter is None:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                if hasattr(spec.loader, "exec_module"):
                    spec.loader = _AdaptingLoader(spec.loader, adapter)
                return spec
        return None


class _AdaptingLoader(importlib.abc.Loader):
    """A module's own loader, followed by its adapter; everything else
    (sources, resources) is the own loader's."""

    def __init__(self, loader, adapter):
        self.loader, self.adapter = loader, adapter

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        adapter_module, function = self.adapter
        getattr(importlib.import_module(adapter_module), function)(module)


sys.meta_path.insert(0, _AdaptedImports())


def add_module(name, source, is_package):
    """Registers source for ``import name``; compiles it first so that a
    syntax error is reported now, not at import."""
    compile(source, f"<{name}>", "exec")
    parent = name.rpartition(".")[0]
    if parent and not (parent in _finder.sources and _finder.sources[parent][1]):
        raise ModuleNotFoundError(f"cannot add {name!r}: {parent!r} is not an added package", name=parent)
    _finder.sources[name] = (source, bool(is_package))
    sys.modules.pop(name, None)
    importlib.invalidate_caches()


# Where the standard library's modules appear to be (``__file__``,
# tracebacks), and where a host may put their sources: a zip of the .py
# files by their paths below STDLIB (``json/decoder.py``), built beside the
# component as python311.zip, CPython's name for a zipped standard library.
STDLIB = "/usr/local/lib/python3.11"
STDLIB_SOURCES = "/usr/local/lib/python311.zip"


class _EmbeddedStdlib(importlib.abc.MetaPathFinder, importlib.abc.InspectLoader):
    """Serves the standard library from memory: the compiled modules are read
    once, when the snapshot is made, so that imports at run time need no file
    system.

    The marshalled code is kept uncompressed: the snapshot travels compressed
    as a whole (brotli or gzip over the component file), and compression
    over all modules at once shrinks it by a third more than zlib module by
    module, whose output transport compression cannot shrink. Memory holds
    the bytes once, shared by every instance (copy-on-write), and an import
    no longer inflates them."""

    def __init__(self):
        self.modules = {}  # name -> (is_package, origin path, marshalled code)
        # package name -> {file name: bytes}: the data files of packages
        # (tzdata's time zones), read with importlib.resources.
        self.resources = {}

    def load(self, root):
        tag = f".{sys.implementation.cache_tag}.pyc"
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            if os.path.basename(dirpath) != "__pycache__":
                continue
            package_dir = os.path.dirname(dirpath)
            rel = os.path.relpath(package_dir, root)
            package = [] if rel == "." else rel.split(os.sep)
            for filename in sorted(filenames):
                if not filename.endswith(tag):
                    continue
                stem = filename[: -len(tag)]
                with open(os.path.join(dirpath, filename), "rb") as f:
                    data = f.read()
                if data[:4] != importlib.util.MAGIC_NUMBER:
                    raise ImportError(f"{filename}: bytecode of another Python version")
                is_package = stem == "__init__"
                name = ".".join(package if is_package else package + [stem])
                if name:
                    origin = os.path.join(package_dir, stem + ".py")
                    # A .pyc is a 16-byte header, then the marshalled code.
                    code = marshal.loads(data[16:])
                    if code.co_filename != origin:
                        # Compiled by `make install` in the build's staging
                        # directory: tracebacks name the path it is served at.
                        code = _with_filename(code, origin)
                    self.modules[name] = (is_package, origin, marshal.dumps(code))

    def neutralize_build_paths(self):
        """``_sysconfigdata_*`` names the build machine's directories in its
        variables (compiler flags, configure's arguments): they are rewritten
        under ``/build``, so that nothing of the build machine shows in an
        instance."""
        for name, (is_package, origin, data) in list(self.modules.items()):
            if not name.startswith("_sysconfigdata_"):
                continue
            namespace = {}
            exec(marshal.loads(data), namespace)
            variables = namespace.get("build_time_vars", {})
            # <cache>/cpython/<key>/source: the build's directory, and the
            # cache root that also holds the wasi sysroot.
            build = os.path.dirname(variables.get("abs_srcdir", ""))
            cache = os.path.dirname(os.path.dirname(build))
            if len(cache) < 2 or not cache.startswith("/"):
                continue

            def neutral(value):
                if isinstance(value, str):
                    return value.replace(build, "/build/cpython").replace(cache, "/build")
                return value

            rewritten = {key: neutral(value) for key, value in variables.items()}
            code = compile(f"build_time_vars = {rewritten!r}\n", origin, "exec", dont_inherit=True)
            self.modules[name] = (is_package, origin, marshal.dumps(code))

    def load_packages(self, root):
        """Adds the pure-Python packages installed under ``root`` (as pip
        lays them out): modules are compiled now, other files of a package
        are kept as its resources; the ``*.dist-info`` directories answer
        ``importlib.metadata``."""
        for dirpath, dirnames, filenames in os.walk(root):
            if dirpath == root:
                for name in sorted(d for d in dirnames if d.endswith(".dist-info")):
                    _distributions.add(os.path.join(root, name), _read_dist_info(os.path.join(root, name)))
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.endswith(".dist-info"))
            rel = os.path.relpath(dirpath, root)
            top = rel == "."
            if not top and "__init__.py" not in filenames:
                dirnames[:] = []  # not a package (namespace packages are not carried)
                continue
            package = None if top else rel.replace(os.sep, ".")
            for filename in sorted(filenames):
                path = os.path.join(dirpath, filename)
                if not filename.endswith(".py"):
                    if not top:
                        with open(path, "rb") as f:
                            self.resources.setdefault(package, {})[filename] = f.read()
                    continue
                with open(path, "rb") as f:
                    code = compile(f.read(), path, "exec", dont_inherit=True)
                is_package = filename == "__init__.py"
                stem = filename[:-3]
                name = package if is_package else stem if top else f"{package}.{stem}"
                self.modules[name] = (is_package, path, marshal.dumps(code))
            if not top:
                self.resources.setdefault(package, {})

    def get_resource_reader(self, fullname):
        if fullname in self.resources:
            return _MemoryResources(self.resources, fullname)
        return None

    def find_spec(self, name, path=None, target=None):
        entry = self.modules.get(name)
        if entry is None:
            return None
        is_package, origin, _ = entry
        spec = importlib.machinery.ModuleSpec(name, self, origin=origin, is_package=is_package)
        spec.has_location = True
        if is_package:
            # A package's directory, as on disk: submodules that are not in
            # memory are looked for there (a package's tests, granted at
            # its path), as CPython's path finder would.
            spec.submodule_search_locations = [os.path.dirname(origin)]
        return spec

    def get_code(self, fullname):
        return marshal.loads(self.modules[fullname][2])

    def get_source(self, fullname):
        """The module's source, from the zipped sources a host may provide
        (``STDLIB_SOURCES``); None without them. Read only when a traceback
        or ``inspect`` asks, so the sources cost nothing until then."""
        entry = self.modules.get(fullname)
        if entry is None:
            raise ImportError(f"no module named {fullname!r}", name=fullname)
        prefix = STDLIB + "/"
        if not entry[1].startswith(prefix):
            return None
        import zipfile

        try:
            with zipfile.ZipFile(STDLIB_SOURCES) as archive:
                data = archive.read(entry[1][len(prefix) :])
        except (OSError, KeyError, zipfile.BadZipFile):
            return None
        return importlib.util.decode_source(data)

    def is_package(self, fullname):
        return self.modules[fullname][0]

    def exec_module(self, module):
        exec(self.get_code(module.__spec__.name), module.__dict__)


class _MemoryResources:
    """``importlib.resources`` reader of a package kept in memory."""

    def __init__(self, resources, package):
        self.resources, self.package = resources, package

    def files(self):
        return _MemoryTraversable(self.resources, self.package, None)


class _MemoryTraversable(importlib.resources.abc.Traversable):
    """A package directory (``filename`` None) or one data file in it, of a
    package kept in memory; ``resources`` maps each package to its data
    files, and subpackages are its subdirectories."""

    def __init__(self, resources, package, filename):
        self.resources, self.package, self.filename = resources, package, filename

    @property
    def name(self):
        return self.filename if self.filename is not None else self.package.rpartition(".")[2]

    def is_dir(self):
        return self.filename is None and self.package in self.resources

    def is_file(self):
        return self.filename is not None and self.filename in self.resources.get(self.package, {})

    def iterdir(self):
        if not self.is_dir():
            raise NotADirectoryError(self.name)
        prefix = self.package + "."
        for name in self.resources[self.package]:
            yield _MemoryTraversable(self.resources, self.package, name)
        for package in self.resources:
            if package.startswith(prefix) and "." not in package[len(prefix) :]:
                yield _MemoryTraversable(self.resources, package, None)

    def joinpath(self, *descendants):
        node = self
        for part in (p for d in descendants for p in str(d).split("/") if p):
            if not node.is_dir():
                raise FileNotFoundError(f"{node.name}/{part}")
            child = f"{node.package}.{part}"
            if child in self.resources:
                node = _MemoryTraversable(self.resources, child, None)
            else:
                node = _MemoryTraversable(self.resources, node.package, part)
        return node

    def open(self, mode="r", *args, **kwargs):
        if not self.is_file():
            raise FileNotFoundError(f"{self.package.replace('.', '/')}/{self.filename}")
        stream = io.BytesIO(self.resources[self.package][self.filename])
        if mode == "rb":
            return stream
        if mode != "r":
            raise ValueError(f"resources open only for reading, not {mode!r}")
        return io.TextIOWrapper(stream, *args, **kwargs)


def _with_filename(code, filename):
    """``code`` with ``co_filename`` set to ``filename``, in the code objects
    nested in it (functions, classes, comprehensions) too."""
    consts = tuple(_with_filename(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


_stdlib = _EmbeddedStdlib()


def embed_stdlib(root, packages_root, preload):
    """Called once, when the snapshot is made: loads the standard library at
    ``root`` into memory and imports the ``preload`` modules from there.

    The standard path finder stays, after the in-memory finders, for the
    directories and zip files an embedder puts on ``sys.path`` (a script's
    directory, a granted directory). ``sys.path`` starts empty, so a name no
    in-memory finder knows costs no file-system lookup unless a program asks
    for one; the path finder's caches are emptied in every instance."""
    # Kept in the snapshot: the only environment variable an instance has,
    # the home directory of its file system (vfs/fs.rs).
    os.environ.clear()
    os.environ["HOME"] = HOME
    _stdlib.load(root)
    _stdlib.neutralize_build_paths()
    _stdlib.load_packages(packages_root)
    sys.meta_path.insert(sys.meta_path.index(_finder) + 1, _stdlib)
    sys.path.clear()
    sys.path_importer_cache.clear()
    for name in preload:
        importlib.import_module(name)
    finish_snapshot()
    return len(_stdlib.modules)


def finish_snapshot():
    """The last step of a snapshot (the component's, or an app's): what an
    instance must not inherit from the build is dropped here, once, rather
    than in every instance's first call, which then writes fewer pages."""
    # Directory listings cached while the snapshot was made describe the
    # build machine, not an instance's files.
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    # What the snapshot holds stays out of the collector's full passes: a
    # pass writes to every object it visits, which would turn the shared
    # snapshot pages of an instance that runs long into private copies.
    gc.collect()
    gc.freeze()


# The writable home directory and working directory (vfs/fs.rs makes it).
HOME = "/home/user"


def on_instance_start():
    """Runs once in each instance, at its first call: what must differ
    between instances made from one snapshot."""
    # Fresh seeds: the snapshot would otherwise give every instance the
    # same random sequence.
    if "random" in sys.modules:
        sys.modules["random"].seed()
    _finder.host = None
    _finder.ask_host = True


def _file_stat(path):
    status = os.stat(path)
    kind = 0 if stat.S_ISREG(status.st_mode) else 1 if stat.S_ISDIR(status.st_mode) else 2
    return kind, status.st_size, status.st_mtime_ns


def _write_file(path, data):
    with open(path, "wb") as file:
        file.write(data)


def _read_file(path):
    with open(path, "rb") as file:
        return file.read()


def _make_directory(path, parents):
    if parents:
        os.makedirs(path, exist_ok=True)
    else:
        os.mkdir(path)


_FILE_OPERATIONS = {
    "write": _write_file,
    "read": _read_file,
    "mkdir": _make_directory,
    "list": lambda path: sorted(os.listdir(path)),
    "stat": _file_stat,
    "unlink": os.unlink,
    "rmdir": os.rmdir,
    "rename": os.replace,
}


def file_operation(operation, args):
    """One call of the ``files`` interface (files.rs), through the paths
    Python code uses: ``(None, result)``, or ``(code, message)`` when it
    fails, with the POSIX name of the error."""
    try:
        return None, _FILE_OPERATIONS[operation](*args)
    except OSError as exc:
        code = errno.errorcode.get(exc.errno, "EIO") if exc.errno else "EIO"
        return code, str(exc)
    except ValueError as exc:
        # An embedded NUL, say.
        return "EINVAL", str(exc)


# Where installed wheels' files appear to be (``__file__``, tracebacks),
# as pip would put them; nothing is written there.
SITE_PACKAGES = "/usr/local/lib/python3.11/site-packages"


class _Distributions(importlib.abc.MetaPathFinder):
    """Answers ``importlib.metadata`` (``version("flask")``, entry points)
    for packages kept in memory (installed wheels, an app's requirements):
    packages read their own version at import time, and no path finder
    sees them."""

    # The files of a dist-info directory that importlib.metadata reads.
    KEPT = ("METADATA", "entry_points.txt", "top_level.txt", "INSTALLER")

    def __init__(self):
        # [path, files, Distribution or None]: the objects are made when
        # importlib.metadata first asks, so that registering one (in the
        # snapshot) does not import it; it is not small.
        self.entries = []

    def find_spec(self, name, path=None, target=None):
        return None

    def add(self, path, files):
        """Registers the distribution whose ``*.dist-info`` is at ``path``
        with these files (name -> text)."""
        self.entries.append([path, files, None])
        if self not in sys.meta_path:
            sys.meta_path.append(self)

    @staticmethod
    def _make(path, files):
        import importlib.metadata

        class Distribution(importlib.metadata.Distribution):
            def read_text(self, filename):
                return files.get(filename)

            def locate_file(self, name):
                return os.path.join(os.path.dirname(path), name)

        return Distribution()

    def find_distributions(self, context=None):
        wanted = getattr(context, "name", None)
        for entry in self.entries:
            if entry[2] is None:
                entry[2] = self._make(entry[0], entry[1])
            distribution = entry[2]
            if not wanted or _normalize(distribution.metadata["Name"] or "") == _normalize(wanted):
                yield distribution


def _read_dist_info(path):
    """The files of the ``*.dist-info`` directory at ``path`` that
    importlib.metadata reads (name -> text)."""
    files = {}
    for name in _Distributions.KEPT:
        try:
            with open(os.path.join(path, name), encoding="utf-8") as f:
                files[name] = f.read()
        except FileNotFoundError:
            pass
    return files


def _metadata_field(text, field):
    """The value of header ``field`` of a METADATA file (its first block)."""
    for line in text.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        if key.strip().lower() == field.lower():
            return value.strip()
    return None


def _normalize(name):
    """A project name as PEP 503 compares them."""
    import re  # preloaded in the snapshot: no cost at run time

    return re.sub(r"[-_.]+", "-", name).lower()


_distributions = _Distributions()


def install_wheel(data, filename):
    """Installs a pure-Python wheel (its bytes; ``filename`` names it in
    errors) into this interpreter, in memory, as pip would into
    site-packages: its modules import (a module already imported stays as
    it is), its data files are package resources, and ``importlib.metadata``
    sees it. A wheel with native code is refused. Returns (name, version)."""
    import zipfile

    try:
        wheel = zipfile.ZipFile(io.BytesIO(data))
        names = [n for n in wheel.namelist() if not n.endswith("/")]
    except zipfile.BadZipFile as error:
        raise ValueError(f"{filename}: not a wheel: {error}") from None
    dist_infos = sorted({n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")})
    if len(dist_infos) != 1 or f"{dist_infos[0]}/WHEEL" not in names:
        raise ValueError(f"{filename}: not a wheel: it needs exactly one *.dist-info directory with a WHEEL file")
    dist_info = dist_infos[0]
    tags = dict(
        line.split(":", 1) for line in wheel.read(f"{dist_info}/WHEEL").decode("utf-8").splitlines() if ":" in line
    )
    native = [n for n in names if n.endswith((".so", ".pyd", ".dylib", ".dll"))]
    if native or tags.get("Root-Is-Purelib", "").strip().lower() != "true":
        what = native[0] if native else "its WHEEL file says Root-Is-Purelib is not true"
        raise ValueError(
            f"{filename}: the wheel has native code ({what}); only pure-Python wheels install in the sandbox"
        )
    data_dir = dist_info[: -len(".dist-info")] + ".data/"
    files = {}
    for name in names:
        path = name
        if name.startswith(data_dir):
            # purelib and platlib go to site-packages; scripts, headers and
            # data have no place in an interpreter without a file system.
            kind, _, path = name[len(data_dir) :].partition("/")
            if kind not in ("purelib", "platlib") or not path:
                continue
        files[path] = name
    if f"{dist_info}/METADATA" not in files:
        raise ValueError(f"{filename}: not a wheel: {dist_info} has no METADATA")
    metadata = {}
    for kept in _Distributions.KEPT:
        if f"{dist_info}/{kept}" in files:
            metadata[kept] = wheel.read(files[f"{dist_info}/{kept}"]).decode("utf-8")
    for path, name in sorted(files.items()):
        *package, leaf = path.split("/")
        if not all(part.isidentifier() for part in package):
            continue  # *.dist-info, and anything else that is not importable
        content = wheel.read(name)
        stem = leaf[:-3] if leaf.endswith(".py") else None
        if stem is None or not stem.isidentifier():
            if package:
                _finder.resources.setdefault(".".join(package), {})[leaf] = content
            continue
        is_package = stem == "__init__"
        module = ".".join(package if is_package else package + [stem])
        for i in range(1, len(package) + (0 if is_package else 1)):
            parent = ".".join(package[:i])
            # A directory without __init__.py: an empty package stands in.
            if parent not in _finder.files and f"{'/'.join(package[:i])}/__init__.py" not in files:
                _finder.add_file(parent, True, None, "")
        _finder.add_file(module, is_package, f"{SITE_PACKAGES}/{path}", importlib.util.decode_source(content))
    _distributions.add(f"{SITE_PACKAGES}/{dist_info}", metadata)
    importlib.invalidate_caches()
    return (_metadata_field(metadata["METADATA"], "Name"), _metadata_field(metadata["METADATA"], "Version"))


def resolve(dotted):
    """The object a dotted name refers to: a global of ``__main__`` (or a
    builtin) and its attributes, or an importable module and its attributes."""
    parts = dotted.split(".")
    if not all(parts):
        raise ValueError(f"invalid function name {dotted!r}")
    main = sys.modules["__main__"].__dict__
    if parts[0] in main or (len(parts) == 1 and hasattr(builtins, parts[0])):
        obj = main[parts[0]] if parts[0] in main else getattr(builtins, parts[0])
        rest = parts[1:]
    else:
        for cut in range(len(parts) - 1, 0, -1):
            attempted = ".".join(parts[:cut])
            try:
                obj = importlib.import_module(attempted)
            except ModuleNotFoundError as error:
                # Only "this prefix is not a module" means: try a shorter one.
                if error.name and (attempted == error.name or attempted.startswith(error.name + ".")):
                    continue
                raise
            rest = parts[cut:]
            break
        else:
            if len(parts) == 1:
                raise NameError(f"name {parts[0]!r} is not defined")
            raise ModuleNotFoundError(f"No module named {parts[0]!r}", name=parts[0])
    for attr in rest:
        obj = getattr(obj, attr)
    return obj


def call(function, args, kwargs):
    """Calls a function by dotted name."""
    return resolve(function)(*args, **kwargs)


# Code may ``await`` at top level, as in a notebook cell or IPython: such
# code compiles to a coroutine, which runs to its end on the component's
# event loop (event_loop.py). The flag changes nothing for other code.
_TOP_LEVEL_AWAIT = _ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing inspect
# Where a cell with top-level await leaves its last value for ``run``.
_CELL_VALUE = "__pycomponent_cell_value__"


def _compile(source, filename, mode):
    return compile(source, filename, mode, _TOP_LEVEL_AWAIT, dont_inherit=True)


def _execute(code, namespace):
    """Runs compiled code and gives what it gives; code that awaits at top
    level is run to its end on the event loop."""
    result = eval(code, namespace)
    if code.co_flags & _CO_COROUTINE:
        import asyncio

        result = asyncio.run(result)
    return result


def _cell(source):
    """A cell compiled: ``(body, value)`` for code without top-level
    ``await`` (statements, then the last expression or None), or
    ``(coroutine_code, None)`` for code with it: one coroutine for the whole
    cell, so that its tasks share a loop, whose last expression becomes an
    assignment to ``_CELL_VALUE``."""
    # _ast is built in: no import of ast.py at run time.
    tree = compile(source, "<string>", "exec", _ast.PyCF_ONLY_AST)
    last = None
    if tree.body and isinstance(tree.body[-1], _ast.Expr):
        last = tree.body.pop().value
    body = _compile(tree, "<string>", "exec")
    value = None if last is None else _compile(_ast.Expression(last), "<string>", "eval")
    if not (body.co_flags | (value.co_flags if value else 0)) & _CO_COROUTINE:
        return (body, value)
    if last is not None:
        target = _ast.Name(_CELL_VALUE, _ast.Store())
        assign = _ast.Assign([target], last, None)
        for node in (target, assign):
            for field in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
                setattr(node, field, getattr(last, field))
        tree.body.append(assign)
    return (_compile(tree, "<string>", "exec"), None)


def run(source):
    """Runs statements in ``__main__``; when the last one is an expression,
    returns its value, else None (a notebook cell, Pyodide's runPython).
    The cell may ``await`` at top level."""
    main = sys.modules["__main__"].__dict__
    body, value = _cell(source)
    if body.co_flags & _CO_COROUTINE:
        _execute(body, main)
        return main.pop(_CELL_VALUE, None)
    exec(body, main)
    return None if value is None else eval(value, main)


def _event_loop():
    # asyncio first: importing it installs the component's loop module.
    if "_pycomponent_asyncio" not in sys.modules:
        importlib.import_module("asyncio")
    return sys.modules["_pycomponent_asyncio"]


def run_async(source):
    """``run`` as an asynchronous call (WIT ``run-async``): a cell with
    top-level ``await`` runs on the driven event loop, in steps. Gives the
    first step's progress (see ``_pycomponent_asyncio.AsyncRun``)."""
    main = sys.modules["__main__"].__dict__
    body, value = _cell(source)
    if not body.co_flags & _CO_COROUTINE:
        exec(body, main)
        return ("done", None if value is None else eval(value, main))
    return _event_loop().start(eval(body, main), lambda _: main.pop(_CELL_VALUE, None))


def call_async(function, args, kwargs):
    """``call`` as an asynchronous call (WIT ``call-async``): an awaitable
    result is awaited on the driven event loop."""
    result = resolve(function)(*args, **kwargs)
    if hasattr(type(result), "__await__"):
        return _event_loop().start(result)
    return ("done", result)


def call_async_object(obj, args, kwargs, await_object):
    """WIT ``objects.call-async``: ``obj(*args, **kwargs)``, or ``obj``
    itself when ``await_object``; an awaitable is awaited on the driven
    event loop."""
    result = obj if await_object else obj(*args, **kwargs)
    if hasattr(type(result), "__await__"):
        return _event_loop().start(result)
    return ("done", result)


def host_call_future(call_id, label, value=None, ready=False):
    """The awaitable of an asynchronous host call (host_bridge.rs)."""
    return _event_loop().host_call_future(call_id, label, value, ready)


def resume_async(completions):
    return _event_loop().resume(completions)


def cancel_async():
    return _event_loop().cancel()


def run_script(source, filename, argv):
    """Runs a script as ``__main__``: ``sys.argv`` set, tracebacks naming
    ``filename``; when ``filename`` is an absolute path, its directory goes
    first on ``sys.path``, as ``python3 DIR/main.py`` does, so that the
    script imports the modules beside it."""
    sys.argv = list(argv)
    main = sys.modules["__main__"].__dict__
    main["__file__"] = filename
    if os.path.isabs(filename):
        sys.path.insert(0, os.path.dirname(filename))
    _execute(_compile(source, filename, "exec"), main)


def run_main(mode, source, filename, argv):
    """Runs code as CPython's command line does (top-level ``await``
    allowed, as in a notebook): ``mode`` is "script" (a
    file: ``__file__`` is ``filename``), "command" (``-c`` code), "eval" (one
    expression) or "run" (an interactive input, whose last expression gives
    the value). Returns ``(None, value)``, or ``(status, None)`` when the
    code raised ``SystemExit``: the exit status CPython's ``python`` would
    end with."""
    try:
        if mode == "script":
            run_script(source, filename, argv)
            return (None, None)
        if mode == "command":
            sys.argv = list(argv)
            _execute(_compile(source, filename, "exec"), sys.modules["__main__"].__dict__)
            return (None, None)
        if mode == "eval":
            main = sys.modules["__main__"].__dict__
            return (None, _execute(_compile(source, filename, "eval"), main))
        if mode == "run":
            return (None, run(source))
        raise ValueError(f"unknown mode {mode!r}")
    except SystemExit as exit:
        return (exit_status(exit), None)


def exit_status(exit):
    """The process exit status for ``SystemExit``, by CPython's rules: no
    code is 0, an int is itself (modulo 256, as the OS keeps it; 255 when it
    does not fit a C long), anything else is printed to stderr and gives 1."""
    code = exit.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if -(2**63) <= code < 2**63 else 0xFF
    print(code, file=sys.stderr)
    return 1


def import_module(name):
    return importlib.import_module(name)
