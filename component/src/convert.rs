//! Converting between Python objects and WIT values (a flat table of nodes,
//! root first, containers referring to their items by index).

use std::ffi::{CString, c_char, c_int};

use crate::pycomponent::python::types::{Node, OpaqueObject, Value};
use crate::ffi::{self, PyObject};
use crate::pyobj::Owned;

/// Why a value could not be turned into a Python object.
pub type ConvertError = String;

/// Converts a Python object (borrowed) to a value. Fails only when Python
/// raises while the object is read (e.g. a dict mutated by `__eq__`); the
/// Python error is left set.
pub fn to_value(obj: *mut PyObject) -> Result<Value, ()> {
    let mut table = Table { nodes: Vec::new(), payload: 0 };
    push(obj, &mut table, 0)?;
    Ok(Value { nodes: table.nodes })
}

/// The most nodes a value may have when it leaves the guest.
pub const MAX_NODES: usize = 1_000_000;

/// The most bytes of text, bytes and big-int digits a value may carry when
/// it leaves the guest. With [`MAX_NODES`] this bounds what the host must
/// allocate for one value, whatever Python builds.
pub const MAX_PAYLOAD: usize = 64 << 20;

/// The nodes built so far and the payload bytes they hold.
struct Table {
    nodes: Vec<Node>,
    payload: usize,
}

fn value_error(message: &str) -> Result<u32, ()> {
    let message = CString::new(message).unwrap_or_default();
    unsafe { ffi::PyErr_SetString(ffi::PyExc_ValueError, message.as_ptr()) };
    Err(())
}

/// Refuses a str or bytes whose length alone would pass [`MAX_PAYLOAD`],
/// before copying it: a copy of a huge string could exhaust the guest's
/// memory (UTF-8 is at least one byte per character).
fn reserve(table: &Table, obj: *mut PyObject) -> Result<(), ()> {
    let len = unsafe { ffi::PyObject_Size(obj) };
    if len < 0 {
        return Err(());
    }
    if table.payload + len as usize > MAX_PAYLOAD {
        return value_error(&format!(
            "the value is too large to convert: more than {} MiB of text and bytes",
            MAX_PAYLOAD >> 20
        ))
        .map(drop);
    }
    Ok(())
}

/// Appends the node of `obj` (and its children after it); returns its index.
fn push(obj: *mut PyObject, table: &mut Table, depth: usize) -> Result<u32, ()> {
    if depth > MAX_DEPTH {
        return value_error("the value nests too deeply to convert");
    }
    if table.nodes.len() >= MAX_NODES {
        return value_error(&format!("the value is too large to convert: more than {MAX_NODES} items"));
    }
    let index = table.nodes.len() as u32;
    table.nodes.push(Node::None);
    let node = unsafe { node_of(obj, table, depth)? };
    table.payload += match &node {
        Node::Str(text) | Node::BigInt(text) => text.len(),
        Node::Bytes(bytes) => bytes.len(),
        Node::Opaque(o) => o.type_name.len() + o.repr.len(),
        _ => 0,
    };
    if table.payload > MAX_PAYLOAD {
        return value_error(&format!(
            "the value is too large to convert: more than {} MiB of text and bytes",
            MAX_PAYLOAD >> 20
        ));
    }
    table.nodes[index as usize] = node;
    Ok(index)
}

unsafe fn node_of(obj: *mut PyObject, table: &mut Table, depth: usize) -> Result<Node, ()> {
    unsafe {
        let ty = ffi::type_of(obj);
        if obj == ffi::none() {
            return Ok(Node::None);
        }
        if ty == &raw mut ffi::PyBool_Type {
            return Ok(Node::Boolean(obj == &raw mut ffi::_Py_TrueStruct));
        }
        if ty == &raw mut ffi::PyLong_Type || is_instance(obj, &raw mut ffi::PyLong_Type) {
            let mut overflow: c_int = 0;
            let v = ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow);
            if overflow == 0 {
                if v == -1 && !ffi::PyErr_Occurred().is_null() {
                    return Err(());
                }
                return Ok(Node::Int(v));
            }
            return Ok(Node::BigInt(text_of(Owned::new(ffi::PyObject_Str(obj))?.ptr())?));
        }
        if ty == &raw mut ffi::PyFloat_Type || is_instance(obj, &raw mut ffi::PyFloat_Type) {
            return Ok(Node::Float(ffi::PyFloat_AsDouble(obj)));
        }
        if ty == &raw mut ffi::PyUnicode_Type || is_instance(obj, &raw mut ffi::PyUnicode_Type) {
            reserve(table, obj)?;
            return Ok(Node::Str(text_of(obj)?));
        }
        if ty == &raw mut ffi::PyBytes_Type || ty == &raw mut ffi::PyByteArray_Type {
            reserve(table, obj)?;
            let bytes = Owned::new(ffi::PyBytes_FromObject(obj))?;
            return Ok(Node::Bytes(bytes_of(bytes.ptr())?));
        }
        if ty == &raw mut ffi::PyList_Type || ty == &raw mut ffi::PyTuple_Type {
            let is_list = ty == &raw mut ffi::PyList_Type;
            let mut items = Vec::new();
            let mut i = 0;
            // Re-read the length each time: an item's conversion runs no
            // Python code, but a list may still not be as long as first seen.
            loop {
                let len = if is_list { ffi::PyList_Size(obj) } else { ffi::PyTuple_Size(obj) };
                if i >= len {
                    break;
                }
                let item = if is_list { ffi::PyList_GetItem(obj, i) } else { ffi::PyTuple_GetItem(obj, i) };
                let item = Owned::borrowed(item)?;
                items.push(push(item.ptr(), table, depth + 1)?);
                i += 1;
            }
            return Ok(if is_list { Node::List(items) } else { Node::Tuple(items) });
        }
        if ty == &raw mut ffi::PyDict_Type {
            let mut pairs = Vec::new();
            let mut pos: ffi::Py_ssize_t = 0;
            let mut key = std::ptr::null_mut();
            let mut value = std::ptr::null_mut();
            while ffi::PyDict_Next(obj, &mut pos, &mut key, &mut value) != 0 {
                let (key, value) = (Owned::borrowed(key)?, Owned::borrowed(value)?);
                let k = push(key.ptr(), table, depth + 1)?;
                let v = push(value.ptr(), table, depth + 1)?;
                pairs.push((k, v));
            }
            return Ok(Node::Dict(pairs));
        }
        if ty == &raw mut ffi::PySet_Type || ty == &raw mut ffi::PyFrozenSet_Type {
            let iter = Owned::new(ffi::PyObject_GetIter(obj))?;
            let mut items = Vec::new();
            loop {
                let item = ffi::PyIter_Next(iter.ptr());
                if item.is_null() {
                    if !ffi::PyErr_Occurred().is_null() {
                        return Err(());
                    }
                    break;
                }
                let item = Owned::new(item)?;
                items.push(push(item.ptr(), table, depth + 1)?);
            }
            return Ok(if ty == &raw mut ffi::PySet_Type { Node::Set(items) } else { Node::Frozenset(items) });
        }
        let repr = Owned::new(ffi::PyObject_Repr(obj))?;
        Ok(Node::Opaque(OpaqueObject { type_name: type_name(obj)?, repr: text_of(repr.ptr())? }))
    }
}

unsafe fn is_instance(obj: *mut PyObject, ty: *mut ffi::PyTypeObject) -> bool {
    unsafe { ffi::PyObject_IsInstance(obj, ty.cast()) == 1 }
}

/// The qualified type name of an object: `module.QualName`, or just
/// `QualName` for builtins.
pub fn type_name(obj: *mut PyObject) -> Result<String, ()> {
    unsafe {
        let ty: *mut PyObject = ffi::type_of(obj).cast();
        let qualname = Owned::new(ffi::PyObject_GetAttrString(ty, c"__qualname__".as_ptr()))?;
        let qualname = text_of(qualname.ptr())?;
        let module = Owned::new(ffi::PyObject_GetAttrString(ty, c"__module__".as_ptr()));
        let module = match module {
            Ok(m) => text_of(m.ptr()).unwrap_or_default(),
            Err(()) => {
                ffi::PyErr_Clear();
                String::new()
            }
        };
        Ok(if module.is_empty() || module == "builtins" { qualname } else { format!("{module}.{qualname}") })
    }
}

/// A `str` (borrowed) as Rust text; each lone surrogate becomes U+FFFD.
pub fn text_of(obj: *mut PyObject) -> Result<String, ()> {
    unsafe {
        // "surrogatepass" encodes a lone surrogate as its 3-byte form, which
        // is not UTF-8; `replace_surrogates` turns each into one U+FFFD.
        let encoded =
            Owned::new(ffi::PyUnicode_AsEncodedString(obj, c"utf-8".as_ptr(), c"surrogatepass".as_ptr()))?;
        Ok(replace_surrogates(&bytes_of(encoded.ptr())?))
    }
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
                let skip = if rest.len() >= 3 && rest[0] == 0xED { 3 } else { e.error_len().unwrap_or(rest.len()) };
                bytes = &rest[skip.min(rest.len())..];
            }
        }
    }
}

/// The contents of a `bytes` (borrowed).
pub fn bytes_of(obj: *mut PyObject) -> Result<Vec<u8>, ()> {
    unsafe {
        let mut buf: *mut c_char = std::ptr::null_mut();
        let mut len: ffi::Py_ssize_t = 0;
        if ffi::PyBytes_AsStringAndSize(obj, &mut buf, &mut len) != 0 {
            return Err(());
        }
        Ok(std::slice::from_raw_parts(buf.cast::<u8>(), len as usize).to_vec())
    }
}

/// Converts a value to a new Python object. On failure the returned message
/// says what is wrong with the value (no Python error is set).
pub fn from_value(value: &Value) -> Result<Owned, ConvertError> {
    if value.nodes.is_empty() {
        return Err("a value needs at least one node".into());
    }
    build(&value.nodes, 0, 0)
}

/// How deep a value may nest; deeper values are refused rather than risking
/// the guest's stack.
pub const MAX_DEPTH: usize = 1_000;

fn build(nodes: &[Node], index: u32, depth: usize) -> Result<Owned, ConvertError> {
    if depth > MAX_DEPTH {
        return Err(format!("value nests deeper than {MAX_DEPTH} levels"));
    }
    let node = nodes.get(index as usize).ok_or_else(|| format!("node index {index} is out of range"))?;
    let child = |i: u32| -> Result<Owned, ConvertError> {
        if i <= index {
            return Err(format!("node {index} refers to node {i}: children must come after their parent"));
        }
        build(nodes, i, depth + 1)
    };
    let py_err = |what: &str| format!("Python could not create {what}");
    unsafe {
        let obj = match node {
            Node::None => Owned::borrowed(ffi::none()).map_err(|()| py_err("None"))?,
            Node::Boolean(b) => Owned::new(ffi::PyBool_FromLong(*b as _)).map_err(|()| py_err("a bool"))?,
            Node::Int(v) => Owned::new(ffi::PyLong_FromLongLong(*v)).map_err(|()| py_err("an int"))?,
            Node::BigInt(text) => {
                let digits = text.strip_prefix('-').unwrap_or(text);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("big-int {text:?} is not decimal digits"));
                }
                let c = CString::new(text.as_str()).map_err(|e| e.to_string())?;
                Owned::new(ffi::PyLong_FromString(c.as_ptr(), std::ptr::null_mut(), 10)).map_err(|()| {
                    ffi::PyErr_Clear();
                    format!("big-int {text:?} is not an integer")
                })?
            }
            Node::Float(v) => Owned::new(ffi::PyFloat_FromDouble(*v)).map_err(|()| py_err("a float"))?,
            Node::Str(s) => Owned::new(ffi::PyUnicode_FromStringAndSize(s.as_ptr().cast(), s.len() as _))
                .map_err(|()| py_err("a str"))?,
            Node::Bytes(b) => Owned::new(ffi::PyBytes_FromStringAndSize(b.as_ptr().cast(), b.len() as _))
                .map_err(|()| py_err("bytes"))?,
            Node::List(items) => {
                let list = Owned::new(ffi::PyList_New(items.len() as _)).map_err(|()| py_err("a list"))?;
                for (i, item) in items.iter().enumerate() {
                    ffi::PyList_SetItem(list.ptr(), i as _, child(*item)?.into_raw());
                }
                list
            }
            Node::Tuple(items) => {
                let tuple = Owned::new(ffi::PyTuple_New(items.len() as _)).map_err(|()| py_err("a tuple"))?;
                for (i, item) in items.iter().enumerate() {
                    ffi::PyTuple_SetItem(tuple.ptr(), i as _, child(*item)?.into_raw());
                }
                tuple
            }
            Node::Dict(pairs) => {
                let dict = Owned::new(ffi::PyDict_New()).map_err(|()| py_err("a dict"))?;
                for (k, v) in pairs {
                    let (k, v) = (child(*k)?, child(*v)?);
                    if ffi::PyDict_SetItem(dict.ptr(), k.ptr(), v.ptr()) != 0 {
                        ffi::PyErr_Clear();
                        return Err("a dict key is not hashable".into());
                    }
                }
                dict
            }
            Node::Set(items) | Node::Frozenset(items) => {
                let set = Owned::new(ffi::PySet_New(std::ptr::null_mut())).map_err(|()| py_err("a set"))?;
                for item in items {
                    let item = child(*item)?;
                    if ffi::PySet_Add(set.ptr(), item.ptr()) != 0 {
                        ffi::PyErr_Clear();
                        return Err("a set item is not hashable".into());
                    }
                }
                if matches!(node, Node::Frozenset(_)) {
                    Owned::new(ffi::PyFrozenSet_New(set.ptr())).map_err(|()| py_err("a frozenset"))?
                } else {
                    set
                }
            }
            Node::Opaque(o) => {
                return Err(format!("an opaque {} ({}) cannot be sent back into Python", o.type_name, o.repr));
            }
        };
        Ok(obj)
    }
}
