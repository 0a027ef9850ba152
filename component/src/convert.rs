//! Converting between Python objects and WIT values (a flat table of nodes,
//! root first, containers referring to their items by index). Plain data is
//! copied; other objects cross by handle (`crate::objects` holds Python's,
//! `crate::host_objects` wraps the embedder's).

use pyo3_ffi as ffi;

use crate::py::{self, ExceptionKind, Owned, PyErr, PyResult};
use crate::pycomponent::python::types::{Node, ObjectTraits, PythonObject, Value};

/// The most nodes a value may have when it crosses the boundary.
pub const MAX_NODES: usize = 1_000_000;

/// The most bytes of text, bytes and big-int digits a value may carry when
/// it leaves the guest. With [`MAX_NODES`] this bounds what the host must
/// allocate for one value, whatever Python builds.
pub const MAX_PAYLOAD: usize = 64 << 20;

/// How deep a value may nest, in either direction; deeper values are
/// refused rather than risking the guest's stack.
pub const MAX_DEPTH: usize = 1_000;

/// What a conversion copies.
#[derive(Clone, Copy)]
pub struct CopyRules {
    /// Whether subclasses of the containers (an `OrderedDict`, a named
    /// tuple) are copied as their base type; otherwise only the exact
    /// types are, and other objects cross by handle.
    pub subclasses: bool,
    /// How many levels of containers are copied; deeper ones cross by
    /// handle. None copies all (up to [`MAX_DEPTH`]).
    pub depth: Option<usize>,
}

/// The rules of `types.value`: exact built-in types copied, all of them.
const PLAIN_DATA: CopyRules = CopyRules { subclasses: false, depth: None };

/// Converts a Python object to a value: plain data copied, other objects
/// held by handle. Fails when the object is too large or too deep, when
/// the embedder holds too many handles, or when Python raises while it is
/// read.
pub fn to_value(obj: &Owned) -> PyResult<Value> {
    to_value_with(obj, PLAIN_DATA)
}

/// Converts a Python object to a value by `rules`.
pub fn to_value_with(obj: &Owned, rules: CopyRules) -> PyResult<Value> {
    let mut table = Table { nodes: Vec::new(), payload: 0, held: Vec::new(), rules };
    match push(obj, &mut table, 0) {
        Ok(_) => Ok(Value { nodes: table.nodes }),
        Err(err) => {
            // The embedder never sees these handles: they are not its to release.
            crate::objects::release(&table.held);
            Err(err)
        }
    }
}

/// The handles of Python objects that a value holds.
#[cfg(not(feature = "http"))]
pub fn handles_in(value: &Value) -> impl Iterator<Item = u64> + '_ {
    value.nodes.iter().filter_map(|node| match node {
        Node::Object(o) => Some(o.handle),
        _ => None,
    })
}

/// The object as a value that is one handle, whatever its type.
pub fn to_handle(obj: &Owned) -> PyResult<Value> {
    Ok(Value { nodes: vec![Node::Object(object_node(obj)?)] })
}

/// The `object` node of `obj`: a new handle, with its type and traits.
fn object_node(obj: &Owned) -> PyResult<PythonObject> {
    let type_name = py::type_name(obj)?;
    let ptr = obj.as_ptr();
    let mut traits = ObjectTraits::empty();
    // SAFETY: each check reads the object's type slots; none runs Python code.
    unsafe {
        let ty = ffi::Py_TYPE(ptr);
        if ffi::PyCallable_Check(ptr) != 0 {
            traits = traits | ObjectTraits::CALLABLE;
        }
        if (*ty).tp_iter.is_some() || ffi::PySequence_Check(ptr) != 0 {
            traits = traits | ObjectTraits::ITERABLE;
        }
        let async_slots = (*ty).tp_as_async;
        if !async_slots.is_null() && (*async_slots).am_await.is_some() {
            traits = traits | ObjectTraits::AWAITABLE;
        }
    }
    Ok(PythonObject { handle: crate::objects::hold(obj)?, type_name, traits })
}

/// The nodes built so far, the payload bytes they hold, and the handles
/// taken for them.
struct Table {
    nodes: Vec<Node>,
    payload: usize,
    held: Vec<u64>,
    rules: CopyRules,
}

fn too_large() -> PyErr {
    PyErr::new(
        ExceptionKind::Value,
        &format!("the value is too large to convert: more than {} MiB of text and bytes", MAX_PAYLOAD >> 20),
    )
}

/// Refuses a str or bytes of `len` units whose length alone would pass
/// [`MAX_PAYLOAD`], before copying it: a copy of a huge string could
/// exhaust the guest's memory (UTF-8 is at least one byte per character).
fn reserve(table: &Table, len: ffi::Py_ssize_t) -> PyResult<()> {
    if len < 0 {
        return Err(PyErr::fetch());
    }
    if table.payload + len as usize > MAX_PAYLOAD {
        return Err(too_large());
    }
    Ok(())
}

/// Appends the node of `obj` (and its children after it); returns its index.
fn push(obj: &Owned, table: &mut Table, depth: usize) -> PyResult<u32> {
    if depth > MAX_DEPTH {
        return Err(PyErr::new(ExceptionKind::Value, "the value nests too deeply to convert"));
    }
    if table.nodes.len() >= MAX_NODES {
        return Err(PyErr::new(
            ExceptionKind::Value,
            &format!("the value is too large to convert: more than {MAX_NODES} items"),
        ));
    }
    let index = table.nodes.len() as u32;
    table.nodes.push(Node::None);
    let node = node_of(obj, table, depth)?;
    table.payload += match &node {
        Node::Str(text) | Node::BigInt(text) => text.len(),
        Node::Bytes(bytes) => bytes.len(),
        Node::Object(o) => o.type_name.len(),
        _ => 0,
    };
    if table.payload > MAX_PAYLOAD {
        return Err(too_large());
    }
    table.nodes[index as usize] = node;
    Ok(index)
}

/// What kind of node an object becomes. Decided from type flags and exact
/// types only: no `isinstance`, which could run a metaclass's Python code.
enum Kind {
    None,
    Bool,
    Int,
    Float,
    Str,
    Bytes,
    List,
    Tuple,
    Dict,
    Set,
    FrozenSet,
    /// One of the embedder's objects that Python holds.
    HostObject,
    /// Anything else: crosses by handle.
    Object,
}

fn kind_of(obj: &Owned, subclasses: bool) -> Kind {
    let ptr = obj.as_ptr();
    // SAFETY: each check reads only the object's type (its flags, its
    // address, or for floats the type's MRO tuple); none runs Python code.
    unsafe {
        if obj.is_none() {
            Kind::None
        } else if ffi::PyBool_Check(ptr) != 0 {
            Kind::Bool
        } else if ffi::PyLong_Check(ptr) != 0 {
            Kind::Int
        } else if ffi::PyFloat_Check(ptr) != 0 {
            Kind::Float
        } else if ffi::PyUnicode_Check(ptr) != 0 {
            Kind::Str
        } else if ffi::PyBytes_CheckExact(ptr) != 0 || ffi::PyByteArray_CheckExact(ptr) != 0 {
            Kind::Bytes
        } else if ffi::PyList_CheckExact(ptr) != 0 || (subclasses && ffi::PyList_Check(ptr) != 0) {
            Kind::List
        } else if ffi::PyTuple_CheckExact(ptr) != 0 || (subclasses && ffi::PyTuple_Check(ptr) != 0) {
            Kind::Tuple
        } else if ffi::PyDict_CheckExact(ptr) != 0 || (subclasses && ffi::PyDict_Check(ptr) != 0) {
            Kind::Dict
        } else if ffi::PySet_CheckExact(ptr) != 0 || (subclasses && ffi::PySet_Check(ptr) != 0) {
            Kind::Set
        } else if ffi::PyFrozenSet_CheckExact(ptr) != 0 || (subclasses && ffi::PyFrozenSet_Check(ptr) != 0) {
            Kind::FrozenSet
        } else if crate::host_objects::is_host_object(obj) {
            Kind::HostObject
        } else {
            Kind::Object
        }
    }
}

fn node_of(obj: &Owned, table: &mut Table, depth: usize) -> PyResult<Node> {
    let ptr = obj.as_ptr();
    let kind = match kind_of(obj, table.rules.subclasses) {
        // Containers below the copied depth cross by handle.
        Kind::List | Kind::Tuple | Kind::Dict | Kind::Set | Kind::FrozenSet
            if table.rules.depth.is_some_and(|copied| depth >= copied) =>
        {
            Kind::Object
        }
        kind => kind,
    };
    Ok(match kind {
        Kind::None => Node::None,
        // SAFETY: `Py_True` is the singleton's address.
        Kind::Bool => Node::Boolean(ptr == unsafe { ffi::Py_True() }),
        Kind::Int => match py::int_value(obj)? {
            Some(v) => Node::Int(v),
            None => Node::BigInt(py::int_decimal(obj)?),
        },
        Kind::Float => {
            // SAFETY: a float (or subclass): reads its value, runs no Python code.
            let v = unsafe { ffi::PyFloat_AsDouble(ptr) };
            Node::Float(v)
        }
        Kind::Str => {
            // SAFETY: a str (or subclass): its length in code points, no Python code.
            reserve(table, unsafe { ffi::PyUnicode_GetLength(ptr) })?;
            Node::Str(py::unicode_text_of(obj)?)
        }
        Kind::Bytes => {
            // SAFETY: an exact bytes or bytearray: `len()` is the C slot.
            reserve(table, unsafe { ffi::PyObject_Size(ptr) })?;
            Node::Bytes(py::bytes_of(obj)?)
        }
        Kind::List | Kind::Tuple => {
            let is_list = matches!(kind, Kind::List);
            let mut items = Vec::new();
            // Re-read the length for every item: converting an item may run
            // Python code (a type's `__module__`), which may shrink the list.
            for i in 0.. {
                // SAFETY: an exact list or tuple; GetItem is bounds-checked
                // and gives a borrowed reference, of which we take our own.
                let item = unsafe {
                    let len = if is_list { ffi::PyList_Size(ptr) } else { ffi::PyTuple_Size(ptr) };
                    if i >= len {
                        break;
                    }
                    Owned::from_borrowed(if is_list {
                        ffi::PyList_GetItem(ptr, i)
                    } else {
                        ffi::PyTuple_GetItem(ptr, i)
                    })?
                };
                items.push(push(&item, table, depth + 1)?);
            }
            if is_list { Node::List(items) } else { Node::Tuple(items) }
        }
        Kind::Dict => {
            let mut pairs = Vec::new();
            let mut pos: ffi::Py_ssize_t = 0;
            loop {
                let (mut key, mut value) = (std::ptr::null_mut(), std::ptr::null_mut());
                // SAFETY: an exact dict; PyDict_Next bounds-checks `pos`
                // against the current table (a dict changed meanwhile is
                // read as it is now) and gives borrowed
                // references, of which we take our own at once.
                let (key, value) = unsafe {
                    if ffi::PyDict_Next(ptr, &mut pos, &mut key, &mut value) == 0 {
                        break;
                    }
                    (Owned::from_borrowed(key)?, Owned::from_borrowed(value)?)
                };
                let k = push(&key, table, depth + 1)?;
                let v = push(&value, table, depth + 1)?;
                pairs.push((k, v));
            }
            Node::Dict(pairs)
        }
        kind @ (Kind::Set | Kind::FrozenSet) => {
            // SAFETY: the iterator of an exact set; each item is a new reference.
            let iter = unsafe { Owned::from_owned(ffi::PyObject_GetIter(ptr))? };
            let mut items = Vec::new();
            loop {
                // SAFETY: a live iterator; NULL ends it, with an exception set on failure.
                let item = unsafe { ffi::PyIter_Next(iter.as_ptr()) };
                if item.is_null() {
                    // SAFETY: reading the error indicator.
                    if unsafe { !ffi::PyErr_Occurred().is_null() } {
                        return Err(PyErr::fetch());
                    }
                    break;
                }
                // SAFETY: PyIter_Next returned a new reference.
                let item = unsafe { Owned::from_owned(item)? };
                items.push(push(&item, table, depth + 1)?);
            }
            if matches!(kind, Kind::Set) { Node::Set(items) } else { Node::Frozenset(items) }
        }
        Kind::HostObject => Node::HostObject(crate::host_objects::handle_of(obj)?),
        Kind::Object => {
            let node = object_node(obj)?;
            table.held.push(node.handle);
            Node::Object(node)
        }
    })
}

/// Why a value could not be turned into a Python object.
#[derive(Debug)]
pub enum FromValueError {
    /// The value breaks the WIT contract (the message says how).
    Malformed(String),
    /// Python raised while the object was made (a `MemoryError`, or an
    /// unhashable dict key or set item).
    Python(PyErr),
}

impl From<PyErr> for FromValueError {
    fn from(err: PyErr) -> FromValueError {
        FromValueError::Python(err)
    }
}

impl FromValueError {
    /// The error as a Python exception: a contract violation is a
    /// `ValueError` whose message starts with `context`.
    pub fn into_py_err(self, context: &str) -> PyErr {
        match self {
            FromValueError::Malformed(message) => {
                PyErr::new(ExceptionKind::Value, &format!("{context}: {message}"))
            }
            FromValueError::Python(err) => err,
        }
    }
}

/// Converts a value to a new Python object. The table must be a tree
/// stored root first: every child after its parent, used once.
pub fn from_value(value: &Value) -> Result<Owned, FromValueError> {
    let malformed = |message: String| Err(FromValueError::Malformed(message));
    if value.nodes.is_empty() {
        return malformed("a value needs at least one node".into());
    }
    if value.nodes.len() > MAX_NODES {
        return malformed(format!("a value may have at most {MAX_NODES} nodes"));
    }
    let mut used = vec![false; value.nodes.len()];
    used[0] = true;
    build(&value.nodes, 0, 0, &mut used)
}

fn build(nodes: &[Node], index: u32, depth: usize, used: &mut [bool]) -> Result<Owned, FromValueError> {
    let malformed = |message: String| Err(FromValueError::Malformed(message));
    if depth > MAX_DEPTH {
        return malformed(format!("value nests deeper than {MAX_DEPTH} levels"));
    }
    let node = &nodes[index as usize];
    let mut child = |i: u32| -> Result<Owned, FromValueError> {
        if i <= index || i as usize >= nodes.len() {
            return malformed(format!("node {index} refers to node {i}: children come after their parent"));
        }
        if std::mem::replace(&mut used[i as usize], true) {
            return malformed(format!("node {i} has more than one parent"));
        }
        build(nodes, i, depth + 1, used)
    };
    Ok(match node {
        Node::None => py::none(),
        Node::Boolean(b) => py::bool(*b)?,
        Node::Int(v) => py::int(*v)?,
        Node::BigInt(text) => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return malformed(format!("big-int {text:?} is not decimal digits"));
            }
            let text = std::ffi::CString::new(text.as_str()).expect("digits hold no NUL");
            // SAFETY: NUL-terminated decimal digits; a new reference or NULL.
            unsafe { Owned::from_owned(ffi::PyLong_FromString(text.as_ptr(), std::ptr::null_mut(), 10))? }
        }
        // SAFETY: a new reference or NULL.
        Node::Float(v) => unsafe { Owned::from_owned(ffi::PyFloat_FromDouble(*v))? },
        Node::Str(s) => py::str(s)?,
        Node::Bytes(b) => py::bytes(b)?,
        Node::List(items) | Node::Tuple(items) | Node::Set(items) | Node::Frozenset(items) => {
            let items = items.iter().map(|&i| child(i)).collect::<Result<Vec<_>, _>>()?;
            match node {
                Node::List(_) => py::list(items.into_iter())?,
                Node::Tuple(_) => py::tuple(items.into_iter())?,
                _ => set_of(items, matches!(node, Node::Frozenset(_)))?,
            }
        }
        Node::Dict(pairs) => {
            let dict = py::dict()?;
            for &(k, v) in pairs {
                let (k, v) = (child(k)?, child(v)?);
                py::dict_set(&dict, &k, &v)?;
            }
            dict
        }
        Node::Object(o) => crate::objects::get(o.handle).map_err(FromValueError::Python)?,
        Node::HostObject(handle) => crate::host_objects::wrap(*handle).map_err(FromValueError::Python)?,
    })
}

/// A new `set` or `frozenset` of these items (an unhashable one raises `TypeError`).
fn set_of(items: Vec<Owned>, frozen: bool) -> PyResult<Owned> {
    // SAFETY: a new empty set; Add borrows each item; FrozenSet_New copies the set.
    unsafe {
        let set = Owned::from_owned(ffi::PySet_New(std::ptr::null_mut()))?;
        for item in &items {
            py::check(ffi::PySet_Add(set.as_ptr(), item.as_ptr()))?;
        }
        if frozen { Owned::from_owned(ffi::PyFrozenSet_New(set.as_ptr())) } else { Ok(set) }
    }
}
