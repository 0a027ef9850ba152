//! A safe layer over CPython's C API (pyo3-ffi): owned references, Python
//! exceptions as values, and the object operations the rest of the guest
//! needs. Everything `unsafe` about references and the error indicator lives
//! here; the other modules call safe functions.
//!
//! The guest is single-threaded and every function here runs with the
//! interpreter initialized (after `interp::ensure_started`), which is the
//! precondition the `SAFETY` comments below rely on.

use std::ffi::{CStr, CString, c_char};
use std::ptr::NonNull;

use pyo3_ffi as ffi;

pub use ffi::PyObject;

/// A strong reference to a Python object, released when dropped.
#[derive(Debug)]
pub struct Owned(NonNull<PyObject>);

/// A Python exception taken from the interpreter's error indicator: the
/// normalized exception object, with its traceback attached.
#[derive(Debug)]
pub struct PyErr {
    exception: Owned,
}

/// The result of a C-API operation: a value, or the exception it raised.
pub type PyResult<T> = Result<T, PyErr>;

impl Owned {
    /// Takes over a new reference returned by the C API. NULL means the
    /// call raised: the pending exception becomes the error.
    ///
    /// # Safety
    /// `ptr` is NULL or a new (owned) reference to a live object.
    pub unsafe fn from_owned(ptr: *mut PyObject) -> PyResult<Owned> {
        NonNull::new(ptr).map(Owned).ok_or_else(PyErr::fetch)
    }

    /// Makes a new reference from a borrowed one. NULL means the call that
    /// gave it raised: the pending exception becomes the error.
    ///
    /// # Safety
    /// `ptr` is NULL or a borrowed reference to a live object.
    pub unsafe fn from_borrowed(ptr: *mut PyObject) -> PyResult<Owned> {
        let owned = NonNull::new(ptr).map(Owned).ok_or_else(PyErr::fetch)?;
        // SAFETY: `ptr` is a live object; the new reference is the one `owned` releases.
        unsafe { ffi::Py_IncRef(ptr) };
        Ok(owned)
    }

    /// The object, still owned by `self`.
    pub fn as_ptr(&self) -> *mut PyObject {
        self.0.as_ptr()
    }

    /// Gives the reference away (to a caller that takes ownership of it).
    pub fn into_ptr(self) -> *mut PyObject {
        let ptr = self.as_ptr();
        std::mem::forget(self);
        ptr
    }

    /// The same object, with a reference of its own.
    pub fn clone_ref(&self) -> Owned {
        // SAFETY: `self` keeps the object alive; the new reference is the clone's.
        unsafe { ffi::Py_IncRef(self.as_ptr()) };
        Owned(self.0)
    }

    /// `getattr(self, name)`.
    pub fn getattr(&self, name: &CStr) -> PyResult<Owned> {
        // SAFETY: a live object and a NUL-terminated name; the result is a new reference or NULL.
        unsafe { Owned::from_owned(ffi::PyObject_GetAttrString(self.as_ptr(), name.as_ptr())) }
    }

    /// `setattr(self, name, value)`.
    pub fn setattr(&self, name: &CStr, value: &Owned) -> PyResult<()> {
        // SAFETY: live objects and a NUL-terminated name; the call does not steal `value`.
        check(unsafe { ffi::PyObject_SetAttrString(self.as_ptr(), name.as_ptr(), value.as_ptr()) })
    }

    /// `self(*args)`.
    pub fn call(&self, args: &[&Owned]) -> PyResult<Owned> {
        let args = tuple(args.iter().map(|arg| arg.clone_ref()))?;
        // SAFETY: live objects; NULL kwargs means none; the result is a new reference or NULL.
        unsafe { Owned::from_owned(ffi::PyObject_Call(self.as_ptr(), args.as_ptr(), std::ptr::null_mut())) }
    }

    /// `getattr(self, name)` for a name from the embedder.
    pub fn getattr_str(&self, name: &str) -> PyResult<Owned> {
        let name = str(name)?;
        // SAFETY: live objects; the result is a new reference or NULL.
        unsafe { Owned::from_owned(ffi::PyObject_GetAttr(self.as_ptr(), name.as_ptr())) }
    }

    /// `setattr(self, name, value)`, or `delattr(self, name)` for None.
    pub fn setattr_str(&self, name: &str, value: Option<&Owned>) -> PyResult<()> {
        let name = str(name)?;
        let value = value.map_or(std::ptr::null_mut(), Owned::as_ptr);
        // SAFETY: live objects (a NULL value deletes); the call does not steal references.
        check(unsafe { ffi::PyObject_SetAttr(self.as_ptr(), name.as_ptr(), value) })
    }

    /// `self[key]`.
    pub fn get_item(&self, key: &Owned) -> PyResult<Owned> {
        // SAFETY: live objects; the result is a new reference or NULL.
        unsafe { Owned::from_owned(ffi::PyObject_GetItem(self.as_ptr(), key.as_ptr())) }
    }

    /// `self[key] = value`, or `del self[key]` for None.
    pub fn set_item(&self, key: &Owned, value: Option<&Owned>) -> PyResult<()> {
        // SAFETY: live objects; neither call steals references.
        check(unsafe {
            match value {
                Some(value) => ffi::PyObject_SetItem(self.as_ptr(), key.as_ptr(), value.as_ptr()),
                None => ffi::PyObject_DelItem(self.as_ptr(), key.as_ptr()),
            }
        })
    }

    /// `key in self`.
    pub fn contains(&self, key: &Owned) -> PyResult<bool> {
        // SAFETY: live objects; -1 with an exception set on failure.
        let found = unsafe { ffi::PySequence_Contains(self.as_ptr(), key.as_ptr()) };
        if found < 0 { Err(PyErr::fetch()) } else { Ok(found == 1) }
    }

    /// `len(self)`.
    pub fn len(&self) -> PyResult<usize> {
        // SAFETY: a live object; -1 with an exception set on failure.
        let len = unsafe { ffi::PyObject_Size(self.as_ptr()) };
        if len < 0 { Err(PyErr::fetch()) } else { Ok(len as usize) }
    }

    /// `iter(self)`.
    pub fn iter(&self) -> PyResult<Owned> {
        // SAFETY: a live object; the result is a new reference or NULL.
        unsafe { Owned::from_owned(ffi::PyObject_GetIter(self.as_ptr())) }
    }

    /// `repr(self)`.
    pub fn repr(&self) -> PyResult<Owned> {
        // SAFETY: a live object; the result is a new reference or NULL.
        unsafe { Owned::from_owned(ffi::PyObject_Repr(self.as_ptr())) }
    }

    /// `str(self)`.
    pub fn str(&self) -> PyResult<Owned> {
        // SAFETY: a live object; the result is a new reference or NULL.
        unsafe { Owned::from_owned(ffi::PyObject_Str(self.as_ptr())) }
    }

    /// The object's exact type, as an object.
    pub fn type_object(&self) -> Owned {
        // SAFETY: a live object always has a live type; the new reference is ours.
        unsafe { Owned::from_borrowed(ffi::Py_TYPE(self.as_ptr()).cast()) }
            .expect("an object's type is never NULL")
    }

    /// Whether this is the `None` singleton.
    pub fn is_none(&self) -> bool {
        // SAFETY: `Py_None` only takes the address of the singleton.
        self.as_ptr() == unsafe { ffi::Py_None() }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: `self` holds one strong reference, given back here exactly once.
        unsafe { ffi::Py_DecRef(self.as_ptr()) };
    }
}

/// Turns a C-API status (0 for success, -1 with an exception set) into a result.
pub fn check(status: std::ffi::c_int) -> PyResult<()> {
    if status == 0 { Ok(()) } else { Err(PyErr::fetch()) }
}

/// The exception types the guest raises itself.
#[derive(Debug, Clone, Copy)]
pub enum ExceptionKind {
    /// `ValueError`.
    Value,
    /// `TypeError`.
    Type,
    /// `RuntimeError`.
    Runtime,
    /// `ConnectionError`: the peer of an HTTP exchange went away.
    #[cfg(feature = "http")]
    Connection,
    /// `SystemError`: a C-API call failed without saying why.
    System,
    /// `MemoryError`: a cap was reached.
    Memory,
    /// `ReferenceError`: a handle that is not held.
    Reference,
    /// `NameError`.
    Name,
    /// `AttributeError`.
    Attribute,
}

impl PyErr {
    /// Takes the pending exception, normalized and with its traceback
    /// attached. When none is pending (a C-API call failed without setting
    /// one, a bug), a `SystemError` saying so stands in.
    pub fn fetch() -> PyErr {
        match fetch_pending() {
            Some(exception) => PyErr { exception },
            None => {
                raise(ExceptionKind::System, "an operation failed without setting an exception");
                let exception = fetch_pending().expect("PyErr_SetString sets an exception");
                PyErr { exception }
            }
        }
    }

    /// A new exception of `kind` with `message` (NUL bytes are escaped).
    pub fn new(kind: ExceptionKind, message: &str) -> PyErr {
        raise(kind, message);
        PyErr::fetch()
    }

    /// Makes this the pending exception again: for a C function that is
    /// about to return NULL to the interpreter.
    pub fn restore(self) {
        let exception = self.exception.into_ptr();
        // SAFETY: the exception object is live; PyErr_Restore steals the type
        // and value references given to it (the type gets one of its own).
        unsafe {
            let kind = ffi::Py_TYPE(exception).cast::<PyObject>();
            ffi::Py_IncRef(kind);
            let traceback = ffi::PyException_GetTraceback(exception);
            ffi::PyErr_Restore(kind, exception, traceback);
        }
    }

    /// An exception object made elsewhere (by a Python helper), as an
    /// error to raise. It must be an instance of `BaseException`.
    #[cfg(not(feature = "http"))]
    pub fn from_exception(exception: Owned) -> PyErr {
        PyErr { exception }
    }

    /// The exception object.
    pub fn exception(&self) -> &Owned {
        &self.exception
    }

    /// Whether the exception is a `kind` (or a subclass of it).
    pub fn is_instance_of(&self, kind: ExceptionKind) -> bool {
        // SAFETY: a live exception and a type static; the check reads the MRO.
        unsafe { ffi::PyErr_GivenExceptionMatches(self.exception.as_ptr(), exception_type(kind)) != 0 }
    }
}

/// The exception type of `kind`.
fn exception_type(kind: ExceptionKind) -> *mut PyObject {
    // SAFETY: reading the exception type statics, which CPython initializes
    // before any guest call.
    unsafe {
        match kind {
            ExceptionKind::Value => ffi::PyExc_ValueError,
            ExceptionKind::Type => ffi::PyExc_TypeError,
            ExceptionKind::Runtime => ffi::PyExc_RuntimeError,
            #[cfg(feature = "http")]
            ExceptionKind::Connection => ffi::PyExc_ConnectionError,
            ExceptionKind::System => ffi::PyExc_SystemError,
            ExceptionKind::Memory => ffi::PyExc_MemoryError,
            ExceptionKind::Reference => ffi::PyExc_ReferenceError,
            ExceptionKind::Name => ffi::PyExc_NameError,
            ExceptionKind::Attribute => ffi::PyExc_AttributeError,
        }
    }
}

/// Sets the error indicator to a new `kind` exception with `message`.
fn raise(kind: ExceptionKind, message: &str) {
    let message = CString::new(message.replace('\0', "\\0")).expect("NUL bytes were escaped");
    // SAFETY: a live exception type and a NUL-terminated message.
    unsafe { ffi::PyErr_SetString(exception_type(kind), message.as_ptr()) };
}

/// Takes the pending exception off the error indicator, if there is one.
fn fetch_pending() -> Option<Owned> {
    let (mut kind, mut value, mut traceback) =
        (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: PyErr_Fetch hands over the three references (each may be
    // NULL); normalizing replaces them with new ones of the same kind.
    unsafe {
        ffi::PyErr_Fetch(&mut kind, &mut value, &mut traceback);
        if kind.is_null() {
            return None;
        }
        ffi::PyErr_NormalizeException(&mut kind, &mut value, &mut traceback);
        let (kind, value, traceback) = (NonNull::new(kind), NonNull::new(value), NonNull::new(traceback));
        drop(kind.map(Owned));
        let traceback = traceback.map(Owned);
        let exception = value.map(Owned)?;
        if let Some(traceback) = &traceback {
            // Setting a traceback object on an exception object cannot fail.
            let status = ffi::PyException_SetTraceback(exception.as_ptr(), traceback.as_ptr());
            debug_assert_eq!(status, 0);
        }
        Some(exception)
    }
}

/// A new `str`.
pub fn str(text: &str) -> PyResult<Owned> {
    // SAFETY: a valid UTF-8 buffer of that length; the result is a new reference or NULL.
    unsafe { Owned::from_owned(ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), text.len() as _)) }
}

/// A new `bytes`.
pub fn bytes(data: &[u8]) -> PyResult<Owned> {
    // SAFETY: a buffer of that length; the result is a new reference or NULL.
    unsafe {
        Owned::from_owned(ffi::PyBytes_FromStringAndSize(data.as_ptr().cast::<c_char>(), data.len() as _))
    }
}

/// A new `int`.
pub fn int(value: i64) -> PyResult<Owned> {
    // SAFETY: the result is a new reference or NULL.
    unsafe { Owned::from_owned(ffi::PyLong_FromLongLong(value)) }
}

/// A new `int` from an unsigned value.
pub fn uint(value: u64) -> PyResult<Owned> {
    // SAFETY: the result is a new reference or NULL.
    unsafe { Owned::from_owned(ffi::PyLong_FromUnsignedLongLong(value)) }
}

/// An `int` (or subclass) as a `u64`; an `OverflowError` when it does not
/// fit, a `TypeError` for another type.
pub fn uint_value(obj: &Owned) -> PyResult<u64> {
    // SAFETY: the type check reads the type's flags; for an int (or
    // subclass) the conversion reads its digits and runs no Python code.
    unsafe {
        if ffi::PyLong_Check(obj.as_ptr()) == 0 {
            return Err(PyErr::new(ExceptionKind::Type, "expected an int"));
        }
        let value = ffi::PyLong_AsUnsignedLongLong(obj.as_ptr());
        if value == u64::MAX && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErr::fetch());
        }
        Ok(value)
    }
}

/// `True` or `False`.
pub fn bool(value: bool) -> PyResult<Owned> {
    // SAFETY: the result is a new reference to a singleton.
    unsafe { Owned::from_owned(ffi::PyBool_FromLong(value.into())) }
}

/// `None`.
pub fn none() -> Owned {
    // SAFETY: `Py_None` is the immortal singleton's address.
    unsafe { Owned::from_borrowed(ffi::Py_None()) }.expect("None is never NULL")
}

/// A new `tuple` of these items.
pub fn tuple(items: impl ExactSizeIterator<Item = Owned>) -> PyResult<Owned> {
    // SAFETY: the result is a new reference or NULL.
    let tuple = unsafe { Owned::from_owned(ffi::PyTuple_New(items.len() as _))? };
    for (i, item) in items.enumerate() {
        // SAFETY: a new tuple of this length; SetItem steals the item's reference.
        check(unsafe { ffi::PyTuple_SetItem(tuple.as_ptr(), i as _, item.into_ptr()) })?;
    }
    Ok(tuple)
}

/// A new `list` of these items.
pub fn list(items: impl ExactSizeIterator<Item = Owned>) -> PyResult<Owned> {
    // SAFETY: the result is a new reference or NULL.
    let list = unsafe { Owned::from_owned(ffi::PyList_New(items.len() as _))? };
    for (i, item) in items.enumerate() {
        // SAFETY: a new list of this length; SetItem steals the item's reference.
        check(unsafe { ffi::PyList_SetItem(list.as_ptr(), i as _, item.into_ptr()) })?;
    }
    Ok(list)
}

/// A new, empty `dict`.
pub fn dict() -> PyResult<Owned> {
    // SAFETY: the result is a new reference or NULL.
    unsafe { Owned::from_owned(ffi::PyDict_New()) }
}

/// `dict[key] = value`.
pub fn dict_set(dict: &Owned, key: &Owned, value: &Owned) -> PyResult<()> {
    // SAFETY: live objects; SetItem does not steal.
    check(unsafe { ffi::PyDict_SetItem(dict.as_ptr(), key.as_ptr(), value.as_ptr()) })
}

/// Item `index` of a tuple (`tuple[index]`), checked.
pub fn tuple_item(tuple: &Owned, index: usize) -> PyResult<Owned> {
    // SAFETY: GetItem checks the type and the index, returning a borrowed reference or NULL.
    unsafe { Owned::from_borrowed(ffi::PyTuple_GetItem(tuple.as_ptr(), index as _)) }
}

/// The items of a `tuple` or `list` (exact types or subclasses), with
/// references of their own. Anything else is a `TypeError`.
pub fn sequence_items(seq: &Owned) -> PyResult<Vec<Owned>> {
    let obj = seq.as_ptr();
    // SAFETY: type checks by flags read only the type object; GetItem is
    // bounds-checked and returns a borrowed reference we take a new one of.
    unsafe {
        let (len, get): (_, unsafe extern "C" fn(*mut PyObject, ffi::Py_ssize_t) -> *mut PyObject) =
            if ffi::PyTuple_Check(obj) != 0 {
                (ffi::PyTuple_Size(obj), ffi::PyTuple_GetItem)
            } else if ffi::PyList_Check(obj) != 0 {
                (ffi::PyList_Size(obj), ffi::PyList_GetItem)
            } else {
                return Err(PyErr::new(ExceptionKind::Type, "expected a tuple or a list"));
            };
        (0..len).map(|i| Owned::from_borrowed(get(obj, i))).collect()
    }
}

/// The text of a `str` (or `str` subclass); each lone surrogate becomes
/// U+FFFD. For text shown to people (tracebacks, reprs, names); a `str`
/// value uses [`unicode_text_of`].
pub fn text_of(obj: &Owned) -> PyResult<String> {
    Ok(replace_surrogates(&surrogatepass_bytes(obj)?))
}

/// The text of a `str` (or `str` subclass) that crosses the boundary as a
/// value: a `ValueError` naming the first lone surrogate and its index, since
/// a WIT string holds Unicode text only and a silent U+FFFD would change it.
pub fn unicode_text_of(obj: &Owned) -> PyResult<String> {
    let bytes = surrogatepass_bytes(obj)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid_up_to = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let index = std::str::from_utf8(&bytes[..valid_up_to]).map_or(0, |text| text.chars().count());
        // "surrogatepass" writes U+D800..U+DFFF as ED A0..BF 80..BF.
        let unit = match bytes.get(valid_up_to..valid_up_to + 3) {
            Some(&[0xED, b1, b2]) => 0xD000 | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F),
            _ => 0xFFFD,
        };
        PyErr::new(
            ExceptionKind::Value,
            &format!(
                "a str with a lone surrogate ('\\u{unit:04x}' at index {index}) cannot cross to the host, \
                 which takes Unicode text only; send bytes instead, such as s.encode('utf-8', 'surrogatepass')"
            ),
        )
    })
}

/// A `str`'s UTF-8 bytes, lone surrogates written in their 3-byte form.
fn surrogatepass_bytes(obj: &Owned) -> PyResult<Vec<u8>> {
    // SAFETY: the type check reads the type's flags; the encoder is the C
    // UTF-8 codec, which runs no Python code, and returns a new reference.
    let encoded = unsafe {
        if ffi::PyUnicode_Check(obj.as_ptr()) == 0 {
            return Err(PyErr::new(ExceptionKind::Type, "expected a str"));
        }
        // "surrogatepass" encodes a lone surrogate as its 3-byte form, which
        // is not UTF-8; `replace_surrogates` turns each into one U+FFFD.
        Owned::from_owned(ffi::PyUnicode_AsEncodedString(
            obj.as_ptr(),
            c"utf-8".as_ptr(),
            c"surrogatepass".as_ptr(),
        ))?
    };
    bytes_of(&encoded)
}

/// UTF-8 with encoded surrogates (`ED A0..BF xx`) to text, one U+FFFD per surrogate.
fn replace_surrogates(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    loop {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                out.push_str(text);
                return out;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push('\u{fffd}');
                let skip =
                    if rest.len() >= 3 && rest[0] == 0xED { 3 } else { e.error_len().unwrap_or(rest.len()) };
                bytes = &rest[skip.min(rest.len())..];
            }
        }
    }
}

/// The contents of a `bytes` or `bytearray` (or a subclass of either).
pub fn bytes_of(obj: &Owned) -> PyResult<Vec<u8>> {
    let ptr = obj.as_ptr();
    // SAFETY: the type checks read the type's flags; the buffer pointer and
    // length describe the object's own storage, copied before anything else runs.
    unsafe {
        if ffi::PyByteArray_Check(ptr) != 0 {
            let (data, len) = (ffi::PyByteArray_AsString(ptr), ffi::PyByteArray_Size(ptr));
            return Ok(raw_bytes(data, len));
        }
        let mut data: *mut c_char = std::ptr::null_mut();
        let mut len: ffi::Py_ssize_t = 0;
        if ffi::PyBytes_Check(ptr) == 0 {
            return Err(PyErr::new(ExceptionKind::Type, "expected bytes"));
        }
        check(ffi::PyBytes_AsStringAndSize(ptr, &mut data, &mut len))?;
        Ok(raw_bytes(data, len))
    }
}

/// Copies `len` bytes from `data` (NULL or a zero length: none).
///
/// # Safety
/// `data` points to at least `len` readable bytes when `len > 0`.
unsafe fn raw_bytes(data: *const c_char, len: ffi::Py_ssize_t) -> Vec<u8> {
    if data.is_null() || len <= 0 {
        return Vec::new();
    }
    // SAFETY: the caller's promise.
    unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len as usize) }.to_vec()
}

/// An `int` (or subclass) as an `i64`; `None` when it does not fit.
pub fn int_value(obj: &Owned) -> PyResult<Option<i64>> {
    // SAFETY: the type check reads the type's flags; for an int (or
    // subclass) the conversion reads its digits and runs no Python code.
    unsafe {
        if ffi::PyLong_Check(obj.as_ptr()) == 0 {
            return Err(PyErr::new(ExceptionKind::Type, "expected an int"));
        }
        let mut overflow = 0;
        let value = ffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow);
        if overflow != 0 {
            return Ok(None);
        }
        if value == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErr::fetch());
        }
        Ok(Some(value))
    }
}

/// The decimal text of an `int` (or subclass), from int's own formatting:
/// a subclass's `__str__` or `__repr__` is not called.
pub fn int_decimal(obj: &Owned) -> PyResult<String> {
    // SAFETY: the type check reads the type's flags; PyNumber_ToBase turns
    // an int subclass into an exact int without calling `__index__` (the
    // object is an int already) and formats its digits; a new reference.
    let text = unsafe {
        if ffi::PyLong_Check(obj.as_ptr()) == 0 {
            return Err(PyErr::new(ExceptionKind::Type, "expected an int"));
        }
        Owned::from_owned(ffi::PyNumber_ToBase(obj.as_ptr(), 10))?
    };
    text_of(&text)
}

/// `_pycomponent`-style module lookup: the module named `name` in
/// `sys.modules`, created empty if missing.
pub fn add_module(name: &CStr) -> PyResult<Owned> {
    // SAFETY: a NUL-terminated name; AddModule returns a borrowed reference or NULL.
    unsafe { Owned::from_borrowed(ffi::PyImport_AddModule(name.as_ptr())) }
}

/// `import name`.
pub fn import(name: &CStr) -> PyResult<Owned> {
    // SAFETY: a NUL-terminated name; the result is a new reference or NULL.
    unsafe { Owned::from_owned(ffi::PyImport_ImportModule(name.as_ptr())) }
}

/// The `__dict__` of a module.
pub fn module_dict(module: &Owned) -> PyResult<Owned> {
    // SAFETY: PyModule_GetDict checks the type and returns a borrowed reference or NULL.
    unsafe { Owned::from_borrowed(ffi::PyModule_GetDict(module.as_ptr())) }
}

/// How `run_string` compiles its source.
#[derive(Debug, Clone, Copy)]
pub enum SourceKind {
    /// One expression; the result is its value.
    Expression,
    /// Statements; the result is `None`.
    Statements,
}

/// Compiles and runs `source` with `globals` as both globals and locals.
pub fn run_string(source: &str, kind: SourceKind, globals: &Owned) -> PyResult<Owned> {
    let source = CString::new(source)
        .map_err(|_| PyErr::new(ExceptionKind::Value, "source code cannot contain null bytes"))?;
    let start = match kind {
        SourceKind::Expression => ffi::Py_eval_input,
        SourceKind::Statements => ffi::Py_file_input,
    };
    // SAFETY: a NUL-terminated source, a live dict, no compiler flags; the
    // result is a new reference or NULL.
    unsafe {
        Owned::from_owned(ffi::PyRun_StringFlags(
            source.as_ptr(),
            start,
            globals.as_ptr(),
            globals.as_ptr(),
            std::ptr::null_mut(),
        ))
    }
}

/// The qualified name of an object's type: `module.QualName`, or just
/// `QualName` for builtins.
pub fn type_name(obj: &Owned) -> PyResult<String> {
    let ty = obj.type_object();
    // SAFETY: `ty` is a live type object; the result is a new reference or NULL.
    let qualname = unsafe { Owned::from_owned(ffi::PyType_GetQualName(ty.as_ptr().cast()))? };
    let qualname = text_of(&qualname)?;
    // A type without a usable `__module__` is named by its qualified name alone.
    let module = ty.getattr(c"__module__").and_then(|m| text_of(&m)).unwrap_or_default();
    Ok(if module.is_empty() || module == "builtins" { qualname } else { format!("{module}.{qualname}") })
}

/// A C function for `install_functions`: name, entry point, calling
/// convention (`METH_*`) and docstring.
pub(crate) type FunctionDef = (&'static CStr, ffi::PyCFunction, std::ffi::c_int, &'static CStr);

/// Sets each C function of `functions` as an attribute of `module`.
pub(crate) fn install_functions<const N: usize>(module: &Owned, functions: [FunctionDef; N]) -> PyResult<()> {
    for (name, meth, flags, doc) in functions {
        // CPython keeps a pointer to the definition for the function's
        // lifetime, which is the interpreter's: it is leaked on purpose.
        let def = Box::leak(Box::new(ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunction: meth },
            ml_flags: flags,
            ml_doc: doc.as_ptr(),
        }));
        // SAFETY: a definition that lives forever, whose flags match the
        // signature of its function; no self, no module. A new reference or NULL.
        let function = unsafe {
            Owned::from_owned(ffi::PyCFunction_NewEx(def, std::ptr::null_mut(), std::ptr::null_mut()))?
        };
        module.setattr(name, &function)?;
    }
    Ok(())
}

/// Runs `body` as the body of a C function called by the interpreter: a
/// value is returned as a new reference, an exception is set and NULL
/// returned.
pub(crate) fn c_function(body: impl FnOnce() -> PyResult<Owned>) -> *mut PyObject {
    match body() {
        Ok(result) => result.into_ptr(),
        Err(err) => {
            err.restore();
            std::ptr::null_mut()
        }
    }
}
