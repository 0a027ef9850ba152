"""host_objects.py: the embedder's objects as Python sees them, over a
stand-in host (the Rust entry points replaced by Python functions)."""

import asyncio
import gc
import importlib

from guest import GuestTestCase


class StandInHost:
    """A host with one object per handle: dicts of attributes, where a
    callable value is reported as a method."""

    def __init__(self, boot):
        self.objects = {}
        self.released = []
        self.calls = []
        boot._host_object_get = self.get
        boot._host_object_set = self.set
        boot._host_object_call = self.call
        boot._host_object_release = self.released.append

    def get(self, handle, name):
        attributes = self.objects[handle]
        if name not in attributes:
            return ("missing", None)
        if callable(attributes[name]):
            return ("method", None)
        return ("value", attributes[name])

    def set(self, handle, name, value):
        self.objects[handle][name] = value

    def call(self, handle, method, args, kwargs):
        self.calls.append((handle, method, args, kwargs))
        target = self.objects[handle]
        return target[method](*args, **kwargs) if method else target["__call__"](*args, **kwargs)


class HostObjectTest(GuestTestCase):
    def setUp(self):
        super().setUp()
        self.host = StandInHost(self.boot)
        self.objects = importlib.import_module("_pycomponent_objects")

    def wrap(self, handle, **attributes):
        self.host.objects[handle] = attributes
        return self.objects._wrap(handle)

    def test_attributes_and_methods_go_to_the_host(self):
        doc = self.wrap(1, title="draft", shout=lambda text, times=1: text.upper() * times)
        self.assertEqual(doc.title, "draft")
        doc.title = "final"
        self.assertEqual(self.host.objects[1]["title"], "final")
        method = doc.shout
        self.assertEqual((type(method).__name__, method.__name__), ("HostMethod", "shout"))
        self.assertEqual(method("a", times=2), "AA")
        self.assertEqual(self.host.calls[-1], (1, "shout", ("a",), {"times": 2}))
        with self.assertRaisesRegex(AttributeError, "has no attribute 'nope'"):
            doc.nope
        self.assertEqual(repr(doc), "<HostObject 1>")
        self.assertEqual(type(doc).__module__, "pycomponent")

    def test_python_protocols_never_ask_the_host(self):
        doc = self.wrap(2, __len__=lambda: 3)
        self.assertFalse(hasattr(doc, "__len__"))
        with self.assertRaises(TypeError):
            len(doc)
        self.assertEqual(self.host.calls, [])

    def test_a_host_function_is_called_and_awaited(self):
        function = self.wrap(3, __call__=lambda x: x + 1)
        self.assertEqual(function(41), 42)
        self.assertEqual(self.host.calls, [(3, None, (41,), {})])

        async def later():
            return "done"

        promise = self.wrap(4, __await__=lambda: later())
        self.assertEqual(asyncio.run(self.awaiting(promise)), "done")

    async def awaiting(self, awaitable):
        return await awaitable

    def test_dropping_the_last_reference_releases_the_handle(self):
        doc = self.wrap(5)
        del doc
        gc.collect()
        self.assertEqual(self.host.released, [5])

    def test_host_objects_come_only_from_the_host(self):
        with self.assertRaisesRegex(TypeError, "come from the host"):
            self.objects.HostObject()
        with self.assertRaises(TypeError):
            del self.wrap(6, x=1).x

    def test_a_host_error_carries_the_hosts_stack_as_a_note(self):
        error = self.objects._host_error("TypeError", "bad", "at f (page.js:3)")
        self.assertIsInstance(error, RuntimeError)
        self.assertEqual((error.type_name, error.message, str(error)), ("TypeError", "bad", "TypeError: bad"))
        self.assertEqual(error.__notes__, ["raised by the host at:\nat f (page.js:3)"])
        self.assertFalse(hasattr(self.objects._host_error("Error", "no stack", ""), "__notes__"))
