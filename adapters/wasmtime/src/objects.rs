//! Live objects across the boundary: [`PyObject`], a Python object the host
//! holds (released when its last clone drops), and [`HostObject`], a Rust
//! object that Python holds and calls. [`Objects`] is one instance's side of
//! both: where released handles wait, and the host objects Python holds.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::bindings::wire;
use crate::value::Value;

/// A Python object that the host holds: a function to call later, a module,
/// an instance of a class. It stays alive in its [`Instance`](crate::Instance)
/// while a clone of it lives; the last one to drop releases it (at the
/// instance's next call). Calls on it take the instance it belongs to:
/// another instance (or one that was dropped) gives
/// [`Error::ForeignObject`](crate::Error::ForeignObject).
///
/// Python objects arrive as [`Value::Object`] inside values (results of
/// calls, arguments of host functions), and from [`Instance::global`](crate::Instance::global),
/// [`Instance::import`](crate::Instance::import) and [`Instance::to_py`](crate::Instance::to_py).
#[derive(Clone)]
pub struct PyObject(Arc<Held>);

struct Held {
    handle: u64,
    type_name: String,
    traits: wire::ObjectTraits,
    owner: Arc<Owner>,
}

/// The identity of an instance, and the handles released since its last call.
pub(crate) struct Owner {
    id: u64,
    released: Mutex<Vec<u64>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        // A poisoned lock only means another thread panicked while pushing.
        let mut released = self.owner.released.lock().unwrap_or_else(|p| p.into_inner());
        released.push(self.handle);
    }
}

impl PyObject {
    /// The qualified name of the object's type (`function`, `datetime.date`).
    pub fn type_name(&self) -> &str {
        &self.0.type_name
    }

    /// Whether the object can be called.
    pub fn is_callable(&self) -> bool {
        self.0.traits.contains(wire::ObjectTraits::CALLABLE)
    }

    /// Whether `iter()` takes the object.
    pub fn is_iterable(&self) -> bool {
        self.0.traits.contains(wire::ObjectTraits::ITERABLE)
    }

    /// Whether the object can be awaited (a coroutine).
    pub fn is_awaitable(&self) -> bool {
        self.0.traits.contains(wire::ObjectTraits::AWAITABLE)
    }

    /// The handle, for the instance it belongs to; the error names the object.
    pub(crate) fn handle_in(&self, instance: u64) -> Result<u64, crate::Error> {
        if self.0.owner.id != instance {
            return Err(crate::Error::ForeignObject(self.0.type_name.clone()));
        }
        Ok(self.0.handle)
    }
}

impl fmt::Debug for PyObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyObject")
            .field("type_name", &self.0.type_name)
            .field("handle", &self.0.handle)
            .finish()
    }
}

impl PartialEq for PyObject {
    /// The same handle of the same instance: the same reference (two
    /// handles of one Python object are not equal).
    fn eq(&self, other: &PyObject) -> bool {
        self.0.owner.id == other.0.owner.id && self.0.handle == other.0.handle
    }
}

/// What reading an attribute of a [`HostObject`] finds.
#[derive(Debug, Clone, PartialEq)]
pub enum Attribute {
    /// A value.
    Value(Value),
    /// A method: Python gets a bound method, whose calls reach
    /// [`HostObject::call_method`] with its name.
    Method,
    /// No such attribute: Python raises `AttributeError`.
    Missing,
}

/// An error of a host object, raised in Python as `pycomponent.HostError`
/// (a `RuntimeError`) with these fields as attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    /// The error's kind, e.g. `KeyError` or a Rust type name.
    pub type_name: String,
    /// Its message.
    pub message: String,
    /// Where it happened, if the host knows (shown as a note of the Python traceback).
    pub stack: String,
}

impl HostError {
    /// An error of kind `type_name` with `message`.
    pub fn new(type_name: impl Into<String>, message: impl Into<String>) -> HostError {
        HostError { type_name: type_name.into(), message: message.into(), stack: String::new() }
    }
}

impl From<String> for HostError {
    /// A plain message, of kind `Error`.
    fn from(message: String) -> HostError {
        HostError::new("Error", message)
    }
}

impl From<&str> for HostError {
    fn from(message: &str) -> HostError {
        HostError::from(message.to_string())
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.type_name, self.message)
    }
}

impl std::error::Error for HostError {}

/// A Rust object that Python holds and calls: pass it into Python as
/// [`Value::HostObject`] (an argument, a host function's result). Python
/// sees a `pycomponent.HostObject`: `obj.name` asks [`HostObject::get`],
/// `obj.name = v` [`HostObject::set`], `obj.method(...)` [`HostObject::call_method`]
/// and `obj(...)` [`HostObject::call`]. The object is shared (`&self`): use
/// interior mutability for state. Python releases it when it drops its last
/// reference; sent back to the host, it is the same object again.
///
/// The methods run while Python waits for them, with the instance in the
/// middle of a call: they cannot call into it (the component model forbids
/// re-entering an instance). Keep a [`PyObject`] they receive and call it
/// after the call returns.
pub trait HostObject: Send + Sync + 'static {
    /// The attribute `name`: a value, a method, or missing (the default).
    fn get(&self, name: &str) -> Result<Attribute, HostError> {
        let _ = name;
        Ok(Attribute::Missing)
    }

    /// Sets attribute `name` (by default, an error: read-only).
    fn set(&self, name: &str, value: Value) -> Result<(), HostError> {
        let _ = value;
        Err(HostError::new("AttributeError", format!("attribute {name:?} of this host object is read-only")))
    }

    /// Calls the object itself (by default, an error: not callable).
    fn call(&self, args: &[Value], kwargs: &[(String, Value)]) -> Result<Value, HostError> {
        let _ = (args, kwargs);
        Err(HostError::new("TypeError", "this host object is not callable"))
    }

    /// Calls method `name`, which [`HostObject::get`] reported as
    /// [`Attribute::Method`] (by default, an error).
    fn call_method(
        &self,
        name: &str,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Result<Value, HostError> {
        let _ = (args, kwargs);
        Err(HostError::new("AttributeError", format!("this host object has no method {name:?}")))
    }
}

impl fmt::Debug for dyn HostObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostObject@{:p}", self as *const dyn HostObject as *const ())
    }
}

impl PartialEq for dyn HostObject {
    /// The same object (not equal contents).
    fn eq(&self, other: &dyn HostObject) -> bool {
        std::ptr::addr_eq(self as *const dyn HostObject, other as *const dyn HostObject)
    }
}

/// A Rust function as a callable [`HostObject`] (see [`Value::function`]).
struct HostFunctionObject<F>(F);

impl<F> HostObject for HostFunctionObject<F>
where
    F: Fn(&[Value], &[(String, Value)]) -> Result<Value, HostError> + Send + Sync + 'static,
{
    fn call(&self, args: &[Value], kwargs: &[(String, Value)]) -> Result<Value, HostError> {
        (self.0)(args, kwargs)
    }
}

impl Value {
    /// A Rust function that Python can call, as a value to pass in (a
    /// callback, an entry of a dict of functions).
    pub fn function(
        f: impl Fn(&[Value], &[(String, Value)]) -> Result<Value, HostError> + Send + Sync + 'static,
    ) -> Value {
        Value::HostObject(Arc::new(HostFunctionObject(f)))
    }

    /// A host object, as a value to pass in.
    pub fn host_object(object: impl HostObject) -> Value {
        Value::HostObject(Arc::new(object))
    }
}

/// Ids of instances, for [`Owner`]: never reused in a process.
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// One instance's live objects: the identity its [`PyObject`]s carry, and
/// the host objects Python holds by handle.
pub(crate) struct Objects {
    owner: Arc<Owner>,
    host: HashMap<u64, Arc<dyn HostObject>>,
    next_host: u64,
}

impl Default for Objects {
    fn default() -> Objects {
        let id = NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed);
        Objects {
            owner: Arc::new(Owner { id, released: Mutex::default() }),
            host: HashMap::new(),
            next_host: 0,
        }
    }
}

impl Objects {
    /// The instance's id, which its [`PyObject`]s carry.
    pub(crate) fn instance(&self) -> u64 {
        self.owner.id
    }

    /// The handles of Python objects dropped since the last call; cleared.
    pub(crate) fn take_released(&self) -> Vec<u64> {
        std::mem::take(&mut *self.owner.released.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A Python object the guest sent.
    pub(crate) fn python_object(&self, node: wire::PythonObject) -> PyObject {
        PyObject(Arc::new(Held {
            handle: node.handle,
            type_name: node.type_name,
            traits: node.traits,
            owner: self.owner.clone(),
        }))
    }

    /// The node of a Python object going back to the guest.
    pub(crate) fn python_node(&self, object: &PyObject) -> Result<wire::PythonObject, crate::Error> {
        Ok(wire::PythonObject {
            handle: object.handle_in(self.owner.id)?,
            type_name: String::new(),
            traits: wire::ObjectTraits::empty(),
        })
    }

    /// Gives Python a host object: a new handle.
    pub(crate) fn hold_host(&mut self, object: &Arc<dyn HostObject>) -> u64 {
        self.next_host += 1;
        self.host.insert(self.next_host, object.clone());
        self.next_host
    }

    /// The host object behind a handle Python holds.
    pub(crate) fn host_object(&self, handle: u64) -> Option<Arc<dyn HostObject>> {
        self.host.get(&handle).cloned()
    }

    /// Python dropped these host objects.
    pub(crate) fn release_host(&mut self, handles: &[u64]) {
        for handle in handles {
            self.host.remove(handle);
        }
    }

    /// How many host objects Python holds.
    pub(crate) fn host_held(&self) -> usize {
        self.host.len()
    }
}
