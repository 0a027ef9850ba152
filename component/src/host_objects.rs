//! The embedder's objects that Python holds (WIT `host-object`): wrapping
//! a handle as a `pycomponent.HostObject` (host_objects.py), recognizing one
//! when it goes back, and sending the handles Python dropped back to the
//! embedder at the next safe moment.
//!
//! Only world `python` imports `host`; in `http-app` no host object exists
//! and a `host-object` node is refused.

use std::cell::RefCell;

#[cfg(feature = "http")]
use crate::py::{ExceptionKind, PyErr};
use crate::py::{Owned, PyResult};

thread_local! {
    /// `HostObject` and `_wrap` of `_pycomponent_objects`, set at start-up.
    static PYTHON_SIDE: RefCell<Option<(Owned, Owned)>> = const { RefCell::new(None) };
    /// Handles Python dropped, not yet sent to the embedder.
    #[cfg(not(feature = "http"))]
    static RELEASED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Keeps the Python side (`_pycomponent_objects`) for the conversions.
#[cfg(not(feature = "http"))]
pub(crate) fn install(module: &Owned) -> PyResult<()> {
    let class = module.getattr(c"HostObject")?;
    let wrap = module.getattr(c"_wrap")?;
    PYTHON_SIDE.set(Some((class, wrap)));
    Ok(())
}

/// Whether `obj` is a `HostObject` (exactly: the class has no subclasses).
pub fn is_host_object(obj: &Owned) -> bool {
    PYTHON_SIDE.with_borrow(|side| {
        side.as_ref().is_some_and(|(class, _)| obj.type_object().as_ptr() == class.as_ptr())
    })
}

/// The embedder's handle of a `HostObject`.
pub fn handle_of(obj: &Owned) -> PyResult<u64> {
    crate::py::uint_value(&obj.getattr(c"_handle")?)
}

/// A new `HostObject` for a handle the embedder sent.
#[cfg(not(feature = "http"))]
pub fn wrap(handle: u64) -> PyResult<Owned> {
    let wrap = PYTHON_SIDE.with_borrow(|side| side.as_ref().map(|(_, wrap)| wrap.clone_ref()));
    wrap.expect("host objects are installed at start-up").call(&[&crate::py::uint(handle)?])
}

/// An HTTP app has no host to hold objects of.
#[cfg(feature = "http")]
pub fn wrap(handle: u64) -> PyResult<Owned> {
    Err(PyErr::new(ExceptionKind::Type, &format!("host object {handle}: an HTTP app has no host objects")))
}

/// Notes that Python dropped its last reference to a host object.
#[cfg(not(feature = "http"))]
pub fn released(handle: u64) {
    RELEASED.with_borrow_mut(|released| released.push(handle));
}

/// Sends the handles Python dropped to the embedder. Called when a call
/// into the instance starts and before each call to the host: a handle
/// dropped then is in no value on its way (a value being sent holds its
/// host objects alive).
#[cfg(not(feature = "http"))]
pub fn send_released() {
    let handles = RELEASED.with_borrow_mut(std::mem::take);
    if !handles.is_empty() {
        crate::pycomponent::python::host::release_objects(&handles);
    }
}

/// An HTTP app holds no host objects: nothing to send.
#[cfg(feature = "http")]
pub fn send_released() {}
