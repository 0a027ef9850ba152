//! Calls on live Python objects (WIT `objects`): [`Instance::global`],
//! [`Instance::import`] and [`Instance::to_py`] give [`PyObject`]s, and a
//! [`PyObject`]'s methods act on it in the instance it belongs to.

use crate::Error;
use crate::bindings::exports::pycomponent::python::interpreter::Evaluation;
use crate::bindings::exports::pycomponent::python::objects::ResultForm;
use crate::objects::PyObject;
use crate::runtime::{Instance, Reply};
use crate::value::Value;

/// How many items [`PyObject::items`] asks for at a time.
const ITEMS_PER_CALL: u32 = 256;

impl Instance {
    /// A global of `__main__` (or a builtin), as a live object whatever its
    /// type: a function defined by earlier code, a class, even a `list` (so
    /// that changes to it are seen both ways). `NameError` when there is none.
    pub fn global(&mut self, name: &str) -> Result<Reply<PyObject>, Error> {
        self.object_call(|i| {
            i.python.pycomponent_python_objects().call_global(&mut i.store, name, ResultForm::Handle)
        })
    }

    /// Imports a module (a dotted name gives the submodule) and gives it.
    pub fn import(&mut self, module: &str) -> Result<Reply<PyObject>, Error> {
        self.object_call(|i| i.python.pycomponent_python_objects().call_import_object(&mut i.store, module))
    }

    /// A new Python object made from `value` (a `dict` for
    /// [`Value::Dict`], and so on), as a live object.
    pub fn to_py(&mut self, value: &Value) -> Result<Reply<PyObject>, Error> {
        self.guard()?;
        let value = self.wire_arguments(std::slice::from_ref(value), &[])?.0.remove(0);
        let r =
            self.in_guest(|i| i.python.pycomponent_python_objects().call_from_value(&mut i.store, &value))?;
        self.object_reply(r)
    }

    /// How many Python objects the host holds (handles not yet released,
    /// counting the [`PyObject`]s dropped since the last call), and the
    /// limit ([`Limits::python_objects`](crate::Limits::python_objects)).
    pub fn python_objects(&mut self) -> Result<(u32, u32), Error> {
        self.guard()?;
        self.in_guest(|i| i.python.pycomponent_python_objects().call_usage(&mut i.store))
    }

    /// How many host objects ([`HostObject`](crate::HostObject)s given to
    /// Python) Python holds now; it releases them as it drops them.
    pub fn host_objects(&self) -> usize {
        self.store.data().host.objects.host_held()
    }

    /// Sets the most Python objects the host may hold at once.
    pub(crate) fn set_python_object_limit(&mut self, count: u32) -> Result<(), Error> {
        self.in_guest(|i| i.python.pycomponent_python_objects().call_set_limit(&mut i.store, count))
    }

    /// Runs a call that gives one object, always by handle.
    fn object_call(
        &mut self,
        call: impl FnOnce(&mut Instance) -> wasmtime::Result<Evaluation> + Send,
    ) -> Result<Reply<PyObject>, Error> {
        self.guard()?;
        let r = self.in_guest(call)?;
        self.object_reply(r)
    }

    /// The reply of a call that gives a handle.
    fn object_reply(&mut self, evaluation: Evaluation) -> Result<Reply<PyObject>, Error> {
        let reply = self.evaluation(evaluation)?;
        let result = match reply.result {
            Ok(Value::Object(object)) => Ok(object),
            Ok(other) => return Err(Error::UnexpectedValue(other.to_string())),
            Err(error) => Err(error),
        };
        Ok(Reply { result, output: reply.output })
    }

    /// The handle of `object` in this instance.
    pub(crate) fn handle_of(&self, object: &PyObject) -> Result<u64, Error> {
        object.handle_in(self.store.data().host.objects.instance())
    }

    /// Runs a call on `object` that gives a value.
    fn on_object(
        &mut self,
        object: &PyObject,
        call: impl FnOnce(&mut Instance, u64) -> wasmtime::Result<Evaluation> + Send,
    ) -> Result<Reply<Value>, Error> {
        let handle = self.handle_of(object)?;
        self.guard()?;
        let r = self.in_guest(|i| call(i, handle))?;
        self.evaluation(r)
    }

    /// Runs a call on `object` that gives a value with an argument.
    fn on_object_with(
        &mut self,
        object: &PyObject,
        values: &[Value],
        call: impl FnOnce(&mut Instance, u64, Vec<crate::bindings::wire::Value>) -> wasmtime::Result<Evaluation>
        + Send,
    ) -> Result<Reply<Value>, Error> {
        let handle = self.handle_of(object)?;
        self.guard()?;
        let (values, _) = self.wire_arguments(values, &[])?;
        let r = self.in_guest(|i| call(i, handle, values))?;
        self.evaluation(r)
    }
}

/// A reply whose value must be `T`; anything else is the guest misbehaving.
fn expect<T>(reply: Reply<Value>, take: impl FnOnce(Value) -> Result<T, Value>) -> Result<Reply<T>, Error> {
    let result = match reply.result {
        Ok(value) => Ok(take(value).map_err(|other| Error::UnexpectedValue(other.to_string()))?),
        Err(error) => Err(error),
    };
    Ok(Reply { result, output: reply.output })
}

impl PyObject {
    /// `getattr(self, name)`: plain data copied, other objects live.
    pub fn getattr(&self, py: &mut Instance, name: &str) -> Result<Reply<Value>, Error> {
        py.on_object(self, |i, h| {
            i.python.pycomponent_python_objects().call_get_attribute(&mut i.store, h, name, ResultForm::Value)
        })
    }

    /// `setattr(self, name, value)`.
    pub fn setattr(&self, py: &mut Instance, name: &str, value: Value) -> Result<Reply<()>, Error> {
        let reply = py.on_object_with(self, std::slice::from_ref(&value), |i, h, mut values| {
            let value = values.remove(0);
            let execution =
                i.python.pycomponent_python_objects().call_set_attribute(&mut i.store, h, name, &value)?;
            Ok(Evaluation { result: execution.result.map(|()| none()), output: execution.output })
        })?;
        Ok(Reply { result: reply.result.map(drop), output: reply.output })
    }

    /// `self(*args, **kwargs)`.
    pub fn call(
        &self,
        py: &mut Instance,
        args: &[Value],
        kwargs: &[(&str, Value)],
    ) -> Result<Reply<Value>, Error> {
        self.invoke(py, None, args, kwargs)
    }

    /// `self.name(*args, **kwargs)`.
    pub fn call_method(
        &self,
        py: &mut Instance,
        name: &str,
        args: &[Value],
        kwargs: &[(&str, Value)],
    ) -> Result<Reply<Value>, Error> {
        self.invoke(py, Some(name), args, kwargs)
    }

    /// Calls the object, or its method `method`.
    fn invoke(
        &self,
        py: &mut Instance,
        method: Option<&str>,
        args: &[Value],
        kwargs: &[(&str, Value)],
    ) -> Result<Reply<Value>, Error> {
        let handle = py.handle_of(self)?;
        py.guard()?;
        let (args, kwargs) = py.wire_arguments(args, kwargs)?;
        let r = py.in_guest(|i| {
            let objects = i.python.pycomponent_python_objects();
            match method {
                Some(name) => objects.call_call_method(&mut i.store, handle, name, &args, &kwargs),
                None => objects.call_call(&mut i.store, handle, &args, &kwargs),
            }
        })?;
        py.evaluation(r)
    }

    /// Calls the object like [`PyObject::call`]; when the result is
    /// awaitable (an `async def` function's coroutine), runs it on the
    /// event loop as [`Instance::call_async`] does. Must be awaited inside
    /// a tokio runtime with its time driver enabled.
    pub async fn call_async(
        &self,
        py: &mut Instance,
        args: &[Value],
        kwargs: &[(&str, Value)],
    ) -> Result<Reply<Value>, Error> {
        let handle = py.handle_of(self)?;
        let (args, kwargs) = py.wire_arguments(args, kwargs)?;
        py.drive(|i| {
            i.python.pycomponent_python_objects().call_call_async(&mut i.store, handle, &args, &kwargs, false)
        })
        .await
    }

    /// `self[key]`.
    pub fn get_item(&self, py: &mut Instance, key: &Value) -> Result<Reply<Value>, Error> {
        py.on_object_with(self, std::slice::from_ref(key), |i, h, values| {
            i.python.pycomponent_python_objects().call_get_item(
                &mut i.store,
                h,
                &values[0],
                ResultForm::Value,
            )
        })
    }

    /// `self[key] = value`.
    pub fn set_item(&self, py: &mut Instance, key: &Value, value: Value) -> Result<Reply<()>, Error> {
        let reply = py.on_object_with(self, &[key.clone(), value], |i, h, values| {
            let execution = i.python.pycomponent_python_objects().call_set_item(
                &mut i.store,
                h,
                &values[0],
                &values[1],
            )?;
            Ok(Evaluation { result: execution.result.map(|()| none()), output: execution.output })
        })?;
        Ok(Reply { result: reply.result.map(drop), output: reply.output })
    }

    /// `len(self)`.
    pub fn len(&self, py: &mut Instance) -> Result<Reply<u64>, Error> {
        let reply =
            py.on_object(self, |i, h| i.python.pycomponent_python_objects().call_length(&mut i.store, h))?;
        expect(reply, |value| match value {
            Value::Int(n) if n >= 0 => Ok(n as u64),
            other => Err(other),
        })
    }

    /// `list(self)`: every item of an iterable, by the rules of [`Value`].
    pub fn items(&self, py: &mut Instance) -> Result<Reply<Vec<Value>>, Error> {
        let reply =
            py.on_object(self, |i, h| i.python.pycomponent_python_objects().call_iterate(&mut i.store, h))?;
        let mut output = reply.output;
        let iterator = match reply.result {
            Ok(Value::Object(iterator)) => iterator,
            Ok(other) => return Err(Error::UnexpectedValue(other.to_string())),
            Err(error) => return Ok(Reply { result: Err(error), output }),
        };
        let mut items = Vec::new();
        loop {
            let reply = py.on_object(&iterator, |i, h| {
                i.python.pycomponent_python_objects().call_next(&mut i.store, h, ITEMS_PER_CALL)
            })?;
            output.stdout.push_str(&reply.output.stdout);
            output.stderr.push_str(&reply.output.stderr);
            match reply.result {
                Ok(Value::List(batch)) => {
                    let done = batch.len() < ITEMS_PER_CALL as usize;
                    items.extend(batch);
                    if done {
                        return Ok(Reply { result: Ok(items), output });
                    }
                }
                Ok(other) => return Err(Error::UnexpectedValue(other.to_string())),
                Err(error) => return Ok(Reply { result: Err(error), output }),
            }
        }
    }

    /// `repr(self)`.
    pub fn repr(&self, py: &mut Instance) -> Result<Reply<String>, Error> {
        let reply =
            py.on_object(self, |i, h| i.python.pycomponent_python_objects().call_repr(&mut i.store, h))?;
        expect(reply, text)
    }

    /// `str(self)`.
    pub fn str(&self, py: &mut Instance) -> Result<Reply<String>, Error> {
        let reply =
            py.on_object(self, |i, h| i.python.pycomponent_python_objects().call_str(&mut i.store, h))?;
        expect(reply, text)
    }

    /// A deep copy as plain data: lists, tuples, dicts, sets and their
    /// subclasses (an `OrderedDict`, a named tuple) down to `depth` levels
    /// (all when `None`); other objects, and containers deeper than
    /// `depth`, stay live.
    pub fn to_value(&self, py: &mut Instance, depth: Option<u32>) -> Result<Reply<Value>, Error> {
        py.on_object(self, |i, h| i.python.pycomponent_python_objects().call_to_value(&mut i.store, h, depth))
    }
}

/// `None`, in wire form: the value of a call that gives nothing.
fn none() -> crate::bindings::wire::Value {
    crate::bindings::wire::Value { nodes: vec![crate::bindings::wire::Node::None] }
}

fn text(value: Value) -> Result<String, Value> {
    match value {
        Value::Str(text) => Ok(text),
        other => Err(other),
    }
}
