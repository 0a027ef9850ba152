//! Python objects the embedder holds by handle (WIT `objects`): the table
//! of held objects, and the operations the embedder makes on them.
//!
//! A handle is a slot index in the low 32 bits and the slot's generation in
//! the high 32: releasing a slot bumps its generation, so a released handle
//! never names a later object. The table starts empty in every instance (the
//! snapshot holds none).

use std::cell::RefCell;

use pyo3_ffi as ffi;

use crate::convert::{self, CopyRules};
use crate::exports::pycomponent::python::interpreter::{Evaluation, Execution};
use crate::exports::pycomponent::python::objects::ResultForm;
use crate::interp::{self, describe};
use crate::py::{self, ExceptionKind, Owned, PyErr, PyResult};
use crate::pycomponent::python::types::{KeywordArgument, PythonError, Value};

/// How many handles the embedder may hold unless it sets another cap.
pub const DEFAULT_LIMIT: u32 = 100_000;

struct Slot {
    generation: u32,
    object: Option<Owned>,
}

struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    held: u32,
    limit: u32,
}

thread_local! {
    static TABLE: RefCell<Table> =
        const { RefCell::new(Table { slots: Vec::new(), free: Vec::new(), held: 0, limit: DEFAULT_LIMIT }) };
}

/// Holds `object` for the embedder and gives its handle; `MemoryError`
/// past the cap.
pub fn hold(object: &Owned) -> PyResult<u64> {
    TABLE.with_borrow_mut(|table| {
        if table.held >= table.limit {
            return Err(PyErr::new(
                ExceptionKind::Memory,
                &format!(
                    "the host holds {} Python objects, its limit: it must release some (or raise the \
                     limit: Limits::python_objects in Rust, pythonObjects in JS)",
                    table.limit
                ),
            ));
        }
        table.held += 1;
        let index = match table.free.pop() {
            Some(index) => index,
            None => {
                table.slots.push(Slot { generation: 1, object: None });
                table.slots.len() as u32 - 1
            }
        };
        let slot = &mut table.slots[index as usize];
        slot.object = Some(object.clone_ref());
        Ok(((slot.generation as u64) << 32) | index as u64)
    })
}

/// The object behind a handle; `ReferenceError` for one that is not held.
pub fn get(handle: u64) -> PyResult<Owned> {
    let held = TABLE.with_borrow(|table| {
        let slot = table.slots.get((handle & 0xffff_ffff) as usize)?;
        (slot.generation as u64 == handle >> 32).then(|| slot.object.as_ref().map(Owned::clone_ref))?
    });
    held.ok_or_else(|| {
        PyErr::new(
            ExceptionKind::Reference,
            &format!("Python object handle {handle:#x} is not held: it was released (destroyed), or it is of another instance"),
        )
    })
}

/// Drops the instance's reference of each held handle; others are ignored.
pub fn release(handles: &[u64]) {
    // The objects are dropped after the table is let go: a finalizer they
    // run may hold or release handles itself.
    let mut dropped = Vec::with_capacity(handles.len());
    TABLE.with_borrow_mut(|table| {
        for &handle in handles {
            let index = (handle & 0xffff_ffff) as u32;
            let Some(slot) = table.slots.get_mut(index as usize) else { continue };
            if slot.generation as u64 != handle >> 32 || slot.object.is_none() {
                continue;
            }
            dropped.push(slot.object.take());
            // A slot whose generation would wrap is retired, never reused.
            if let Some(next) = slot.generation.checked_add(1) {
                slot.generation = next;
                table.free.push(index);
            }
            table.held -= 1;
        }
    });
    drop(dropped);
}

/// Sets the cap on held handles.
pub fn set_limit(count: u32) {
    TABLE.with_borrow_mut(|table| table.limit = count);
}

/// Handles held, and the cap.
pub fn usage() -> (u32, u32) {
    TABLE.with_borrow(|table| (table.held, table.limit))
}

/// A call's value in the asked form.
fn give(object: PyResult<Owned>, form: ResultForm) -> Result<Value, PythonError> {
    object
        .and_then(|object| match form {
            ResultForm::Value => convert::to_value(&object),
            ResultForm::Handle => convert::to_handle(&object),
        })
        .map_err(describe)
}

/// Runs an operation that gives an object, with the call's output.
pub fn evaluate(form: ResultForm, run: impl FnOnce() -> PyResult<Owned>) -> Evaluation {
    crate::evaluation(|| give(run(), form))
}

/// Runs an operation that gives nothing, with the call's output.
pub fn execute(run: impl FnOnce() -> PyResult<()>) -> Execution {
    crate::execution(|| run().map_err(describe))
}

/// A value the embedder sent, as a Python object.
pub fn argument(value: &Value, what: &str) -> PyResult<Owned> {
    convert::from_value(value).map_err(|e| e.into_py_err(what))
}

/// `name` of `__main__`, else of `builtins`.
pub fn global(name: &str) -> PyResult<Owned> {
    let key = py::str(name)?;
    for namespace in
        [py::module_dict(&py::add_module(c"__main__")?)?, py::module_dict(&py::import(c"builtins")?)?]
    {
        // SAFETY: a live dict and key; a borrowed reference, or NULL when absent or on error.
        let found = unsafe { ffi::PyDict_GetItemWithError(namespace.as_ptr(), key.as_ptr()) };
        if !found.is_null() {
            // SAFETY: a borrowed reference from the dict.
            return unsafe { Owned::from_borrowed(found) };
        }
        // SAFETY: reading the error indicator.
        if unsafe { !ffi::PyErr_Occurred().is_null() } {
            return Err(PyErr::fetch());
        }
    }
    Err(PyErr::new(ExceptionKind::Name, &format!("name '{name}' is not defined")))
}

/// `import module`, the module itself for a dotted name.
pub fn import(module: &str) -> PyResult<Owned> {
    interp::call_helper("import_module", &[&py::str(module)?])
}

/// `object(*args, **kwargs)`, the arguments from the embedder.
pub fn call(object: &Owned, args: &[Value], kwargs: &[KeywordArgument]) -> PyResult<Owned> {
    let (args, kwargs) = interp::arguments(args, kwargs)?;
    // SAFETY: live objects: a tuple and a dict; a new reference or NULL.
    unsafe { Owned::from_owned(ffi::PyObject_Call(object.as_ptr(), args.as_ptr(), kwargs.as_ptr())) }
}

/// Up to `count` items of `iterator`, as a list.
pub fn next(iterator: &Owned, count: u32) -> PyResult<Owned> {
    let mut items = Vec::new();
    while items.len() < count as usize {
        // SAFETY: a live object; NULL ends the iteration, with an exception
        // set on failure (PyIter_Next checks that it is an iterator).
        let item = unsafe { ffi::PyIter_Next(iterator.as_ptr()) };
        if item.is_null() {
            // SAFETY: reading the error indicator.
            if unsafe { !ffi::PyErr_Occurred().is_null() } {
                return Err(PyErr::fetch());
            }
            break;
        }
        // SAFETY: PyIter_Next returned a new reference.
        items.push(unsafe { Owned::from_owned(item)? });
    }
    py::list(items.into_iter())
}

/// The deep copy of `to-value`.
pub fn to_value(object: &Owned, depth: Option<u32>) -> Result<Value, PythonError> {
    convert::to_value_with(object, CopyRules { subclasses: true, depth: depth.map(|d| d as usize) })
        .map_err(describe)
}
