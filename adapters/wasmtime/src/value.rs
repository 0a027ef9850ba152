//! Python values on the Rust side: [`Value`], its `repr()` and its JSON
//! form; the `table` module encodes it as the WIT node table and decodes
//! (and checks) the tables the guest sends.

use std::fmt;

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod table;

pub(crate) use table::check_size;
pub use table::{MAX_DEPTH, MAX_NODES, MAX_PAYLOAD, MalformedValue};

/// A Python value that crosses the boundary.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `bool`.
    Bool(bool),
    /// `int` within the signed 64-bit range.
    Int(i64),
    /// `int` outside the signed 64-bit range, as decimal text.
    BigInt(String),
    /// `float` (nan and the infinities included).
    Float(f64),
    /// `str`.
    Str(String),
    /// `bytes`.
    Bytes(Vec<u8>),
    /// `list`.
    List(Vec<Value>),
    /// `tuple`.
    Tuple(Vec<Value>),
    /// `dict`, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// `set`.
    Set(Vec<Value>),
    /// `frozenset`.
    FrozenSet(Vec<Value>),
    /// Any other Python object, live: a function, a module, an instance of
    /// a class. Sent back into Python, it is the same object.
    Object(crate::PyObject),
    /// A Rust object that Python holds and calls (see [`HostObject`](crate::HostObject)).
    HostObject(std::sync::Arc<dyn crate::HostObject>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Str(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(v)
    }
}

impl fmt::Display for Value {
    /// Formats the value as Python's `repr()` does (sets and dicts in the
    /// order they arrived).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(f: &mut fmt::Formatter<'_>, open: &str, items: &[Value], close: &str) -> fmt::Result {
            f.write_str(open)?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            f.write_str(close)
        }
        match self {
            Value::None => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(v) => write!(f, "{v}"),
            Value::BigInt(v) => f.write_str(v),
            Value::Float(v) => f.write_str(&float_repr(*v)),
            Value::Str(s) => f.write_str(&str_repr(s)),
            Value::Bytes(b) => f.write_str(&bytes_repr(b)),
            Value::List(items) => seq(f, "[", items, "]"),
            Value::Tuple(items) if items.len() == 1 => write!(f, "({},)", items[0]),
            Value::Tuple(items) => seq(f, "(", items, ")"),
            Value::Dict(pairs) => {
                f.write_str("{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Value::Set(items) if items.is_empty() => f.write_str("set()"),
            Value::Set(items) => seq(f, "{", items, "}"),
            Value::FrozenSet(items) if items.is_empty() => f.write_str("frozenset()"),
            Value::FrozenSet(items) => seq(f, "frozenset({", items, "})"),
            Value::Object(object) => write!(f, "<{} object>", object.type_name()),
            Value::HostObject(_) => f.write_str("<HostObject>"),
        }
    }
}

/// Python's `repr()` of a float: the shortest text that reads back the same.
fn float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Rust writes `1e16` and `1.5e-7`; Python writes `1e+16` and `1.5e-07`.
        let text = format!("{v:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let (sign, digits) = exponent.strip_prefix('-').map_or(("+", exponent), |d| ("-", d));
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    let text = format!("{v}");
    if text.contains('.') { text } else { format!("{text}.0") }
}

/// Python's `repr()` of a str.
fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of bytes.
fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') { b'"' } else { b'\'' };
    let mut out = String::from("b");
    out.push(quote as char);
    for &byte in b {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(byte as char),
            _ => out.push_str(&format!("\\x{byte:02x}")),
        }
    }
    out.push(quote as char);
    out
}

/// Why a value has no JSON form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} has no lossless JSON form")]
pub struct NotJson(pub String);

impl Value {
    /// The JSON form of the value, where it is lossless: `None`, bools,
    /// `int`s within 64 bits, finite floats, strs, lists, and dicts with str
    /// keys. Tuples, sets, bytes, big ints, nan/inf and other dict keys have
    /// none (JSON would turn them into something else).
    pub fn to_json(&self) -> Result<serde_json::Value, NotJson> {
        use serde_json::Value as J;
        Ok(match self {
            Value::None => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(v) => J::from(*v),
            Value::Float(v) => {
                J::Number(serde_json::Number::from_f64(*v).ok_or_else(|| NotJson(float_repr(*v)))?)
            }
            Value::Str(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect::<Result<_, _>>()?),
            Value::Dict(pairs) => {
                let mut map = serde_json::Map::new();
                for (k, v) in pairs {
                    let Value::Str(key) = k else { return Err(NotJson(format!("a dict with key {k}"))) };
                    map.insert(key.clone(), v.to_json()?);
                }
                J::Object(map)
            }
            other => return Err(NotJson(other.to_string())),
        })
    }

    /// The value of a JSON document: null, bools, numbers (integers within
    /// 64 signed bits become `int`, others `float`), strings, arrays as
    /// lists, objects as dicts.
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::None,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => match n.as_u64() {
                    Some(u) => Value::BigInt(u.to_string()),
                    None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            J::Object(map) => {
                Value::Dict(map.iter().map(|(k, v)| (Value::Str(k.clone()), Value::from_json(v))).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        Value::Dict(vec![
            (Value::from("a"), Value::List(vec![Value::Int(1), Value::Float(f64::INFINITY), Value::None])),
            (
                Value::Tuple(vec![Value::Int(1), Value::Int(2)]),
                Value::Set(vec![Value::Bytes(b"\x00\xff".to_vec())]),
            ),
            (Value::Int(3), Value::BigInt("-123456789012345678901234567890".into())),
            (Value::Bool(true), Value::FrozenSet(vec![])),
        ])
    }

    #[test]
    fn display_reads_like_python() {
        assert_eq!(
            sample().to_string(),
            "{'a': [1, inf, None], (1, 2): {b'\\x00\\xff'}, 3: -123456789012345678901234567890, True: frozenset()}"
        );
        assert_eq!(Value::Tuple(vec![Value::Int(1)]).to_string(), "(1,)");
        assert_eq!(Value::Float(2.0).to_string(), "2.0");
        assert_eq!(Value::Float(1e16).to_string(), "1e+16");
        assert_eq!(Value::Float(1.5e-7).to_string(), "1.5e-07");
        assert_eq!(Value::Float(0.1).to_string(), "0.1");
        assert_eq!(Value::from("it's").to_string(), "\"it's\"");
        assert_eq!(Value::from("a'\"\n").to_string(), "'a\\'\"\\n'");
    }

    #[test]
    fn json_only_where_lossless() {
        let v = Value::Dict(vec![(
            Value::from("n"),
            Value::List(vec![Value::Int(1), Value::Float(0.5), Value::None]),
        )]);
        let json = v.to_json().unwrap();
        assert_eq!(json.to_string(), r#"{"n":[1,0.5,null]}"#);
        assert_eq!(Value::from_json(&json), v);
        for lossy in [
            Value::Tuple(vec![]),
            Value::Bytes(vec![1]),
            Value::Float(f64::NAN),
            Value::BigInt("1".repeat(30)),
            Value::Dict(vec![(Value::Int(1), Value::None)]),
        ] {
            assert!(lossy.to_json().is_err(), "{lossy}");
        }
    }
}
