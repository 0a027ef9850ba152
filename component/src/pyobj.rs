//! An owned reference to a Python object, released when dropped.

use crate::ffi::{self, PyObject};

/// A strong reference. Constructors turn a NULL from the C API (which means
/// "a Python exception is set") into `Err(())`.
#[derive(Debug)]
pub struct Owned(*mut PyObject);

impl Owned {
    /// Takes over a new reference returned by the C API.
    pub fn new(ptr: *mut PyObject) -> Result<Owned, ()> {
        if ptr.is_null() { Err(()) } else { Ok(Owned(ptr)) }
    }

    /// Makes a new reference from a borrowed one.
    pub fn borrowed(ptr: *mut PyObject) -> Result<Owned, ()> {
        if ptr.is_null() {
            return Err(());
        }
        unsafe { ffi::Py_IncRef(ptr) };
        Ok(Owned(ptr))
    }

    /// The object, still owned by `self`.
    pub fn ptr(&self) -> *mut PyObject {
        self.0
    }

    /// Gives the reference away (to a C API function that steals it).
    pub fn into_raw(self) -> *mut PyObject {
        let ptr = self.0;
        std::mem::forget(self);
        ptr
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        unsafe { ffi::Py_DecRef(self.0) };
    }
}
