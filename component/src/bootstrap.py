"""The Python side of the pycomponent guest.

Runs once, as module ``_pycomponent``, when the interpreter starts. It owns
what is easier to say in Python than in C: capturing output per call,
describing exceptions, finding user and host modules, and resolving the
dotted names of ``call``. The Rust side converts values and calls in.
"""

import builtins
import importlib
import importlib.abc
import importlib.util
import io
import sys
import traceback


class _Capture(io.TextIOBase):
    """A text stream that keeps what is written until the call ends."""

    def __init__(self, name):
        self._parts = []
        self._name = name

    @property
    def name(self):
        return self._name

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._parts.append(text)
        return len(text)

    def take(self):
        text = "".join(self._parts)
        self._parts.clear()
        return text


stdout = _Capture("<stdout>")
stderr = _Capture("<stderr>")
sys.stdout = sys.__stdout__ = stdout
sys.stderr = sys.__stderr__ = stderr


def take_output():
    """What the current call printed, as (stdout, stderr); clears both."""
    return stdout.take(), stderr.take()


def describe(exc):
    """(qualified type name, message, formatted traceback) of an exception."""
    cls = type(exc)
    name = cls.__qualname__
    if cls.__module__ not in ("builtins", "__main__"):
        name = f"{cls.__module__}.{name}"
    return name, str(exc), "".join(traceback.format_exception(exc))


class _SourceModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds modules added with ``add-module`` and the host's modules."""

    def __init__(self):
        self.sources = {}  # name -> (source, is_package)
        self.host = {}  # name -> tuple of function names

    def find_spec(self, name, path=None, target=None):
        if name in self.sources:
            return importlib.util.spec_from_loader(name, self, is_package=self.sources[name][1])
        if name in self.host:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__name__
        if name in self.sources:
            source, _ = self.sources[name]
            exec(compile(source, f"<{name}>", "exec"), module.__dict__)
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


_finder = _SourceModules()
sys.meta_path.insert(0, _finder)


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


def set_host_modules(modules):
    """Registers the host's modules: a list of (name, [function names])."""
    _finder.host = {name: tuple(functions) for name, functions in modules}


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


def import_module(name):
    importlib.import_module(name)
