"""Objects of the embedder that Python holds (WIT ``host-object``).

Added by interp.rs as module ``_pycomponent_objects``; ``pycomponent``
exports its public names. A ``HostObject`` is what Pyodide calls a
``JsProxy``: a JS function or object given to Python (or a Rust host
object) whose attribute reads, attribute writes and calls go back to the
embedder (host_bridge.rs: ``_host_object_get``, ``_set``, ``_call``).
"""

import _pycomponent

__all__ = ["HostError", "HostObject", "HostMethod"]


class HostError(RuntimeError):
    """An error raised by the embedder's code that Python called through a
    host object: a thrown JS ``Error``, a Rust host object's error.

    ``type_name`` is the error's class name (``TypeError``), ``message`` its
    message, ``stack`` where it was raised, as the embedder formats it (a JS
    stack), also shown as a note of the traceback.
    """

    __module__ = "pycomponent"

    def __init__(self, type_name, message, stack=""):
        super().__init__(f"{type_name}: {message}" if type_name else message)
        self.type_name = type_name
        self.message = message
        self.stack = stack
        if stack:
            self.add_note(f"raised by the host at:\n{stack.rstrip()}")


def _host_error(type_name, message, stack):
    """The exception for a WIT ``host-error`` (made by host_bridge.rs)."""
    return HostError(type_name, message, stack)


class HostObject:
    """An object of the embedder (Pyodide's ``JsProxy``).

    ``obj.name`` reads the attribute from the embedder: plain data arrives
    as a copy, functions and other objects as host objects, and a method as
    a ``HostMethod`` that calls it on ``obj``. ``obj.name = value`` sets it
    there; ``obj(...)`` calls a host function; ``await obj`` awaits a JS
    Promise (in an asynchronous call). Errors of the embedder's code raise
    ``HostError``. Sent back to the embedder, it is the same object again.
    Python's special names (``__len__``, ``__iter__``...) are never asked of
    the embedder, so the usual protocols see a plain object.
    """

    __module__ = "pycomponent"
    __slots__ = ("_handle", "__weakref__")

    def __init__(self, *args, **kwargs):
        raise TypeError("host objects come from the host: a value it passes in, or an attribute of another")

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        kind, value = _pycomponent._host_object_get(self._handle, name)
        if kind == "method":
            return HostMethod(self, name)
        if kind == "missing":
            raise AttributeError(f"host object has no attribute {name!r}")
        return value

    def __setattr__(self, name, value):
        _pycomponent._host_object_set(self._handle, name, value)

    def __delattr__(self, name):
        raise TypeError("host objects' attributes cannot be deleted from Python")

    def __call__(self, *args, **kwargs):
        return _pycomponent._host_object_call(self._handle, None, args, kwargs)

    def __await__(self):
        return _pycomponent._host_object_call(self._handle, "__await__", (), {}).__await__()

    def __repr__(self):
        return f"<HostObject {self._handle}>"

    def __del__(self):
        _pycomponent._host_object_release(self._handle)


class HostMethod:
    """A method of a host object, bound to it: calling it calls the method
    with the object as its receiver (``this`` in JS)."""

    __module__ = "pycomponent"
    __slots__ = ("__self__", "__name__")

    def __init__(self, owner, name):
        self.__self__ = owner
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        return _pycomponent._host_object_call(self.__self__._handle, self.__name__, args, kwargs)

    def __repr__(self):
        return f"<HostMethod {self.__name__} of {self.__self__!r}>"


def _wrap(handle):
    """The host object for a handle the embedder sent (made by convert.rs)."""
    obj = object.__new__(HostObject)
    object.__setattr__(obj, "_handle", handle)
    return obj
