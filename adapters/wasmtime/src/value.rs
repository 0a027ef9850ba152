//! Python values on the Rust side, and their encoding as the WIT node table
//! (root first, containers referring to their items by index).

use std::fmt;

use crate::component::wire;

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
    /// An object without a value mapping, as its type and `repr()`. It
    /// cannot be sent back into Python.
    Opaque {
        /// Qualified type name.
        type_name: String,
        /// `repr()` of the object.
        repr: String,
    },
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
    /// Formats the value as Python's `repr()` would (floats approximately).
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
            Value::Float(v) if v.is_nan() => f.write_str("nan"),
            Value::Float(v) if v.is_infinite() => f.write_str(if *v > 0.0 { "inf" } else { "-inf" }),
            Value::Float(v) if v.fract() == 0.0 && v.abs() < 1e16 => write!(f, "{v:.1}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "b{:?}", String::from_utf8_lossy(b)),
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
            Value::FrozenSet(items) => seq(f, "frozenset({", items, "})"),
            Value::Opaque { repr, .. } => f.write_str(repr),
        }
    }
}

/// Why a node table is not a valid value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed value from the guest: {0}")]
pub struct MalformedValue(pub String);

impl Value {
    /// Encodes the value as a node table, root first.
    pub(crate) fn to_wire(&self) -> wire::Value {
        let mut nodes = Vec::new();
        encode(self, &mut nodes);
        wire::Value { nodes }
    }

    /// Decodes a node table. Children must come after their parent, which
    /// also rules out cycles.
    pub(crate) fn from_wire(value: &wire::Value) -> Result<Value, MalformedValue> {
        if value.nodes.is_empty() {
            return Err(MalformedValue("no nodes".into()));
        }
        decode(&value.nodes, 0)
    }
}

fn encode(value: &Value, nodes: &mut Vec<wire::Node>) -> u32 {
    let index = nodes.len() as u32;
    nodes.push(wire::Node::None);
    let all = |items: &[Value], nodes: &mut Vec<wire::Node>| -> Vec<u32> {
        items.iter().map(|item| encode(item, nodes)).collect()
    };
    let node = match value {
        Value::None => wire::Node::None,
        Value::Bool(b) => wire::Node::Boolean(*b),
        Value::Int(v) => wire::Node::Int(*v),
        Value::BigInt(v) => wire::Node::BigInt(v.clone()),
        Value::Float(v) => wire::Node::Float(*v),
        Value::Str(s) => wire::Node::Str(s.clone()),
        Value::Bytes(b) => wire::Node::Bytes(b.clone()),
        Value::List(items) => wire::Node::List(all(items, nodes)),
        Value::Tuple(items) => wire::Node::Tuple(all(items, nodes)),
        Value::Set(items) => wire::Node::Set(all(items, nodes)),
        Value::FrozenSet(items) => wire::Node::Frozenset(all(items, nodes)),
        Value::Dict(pairs) => {
            wire::Node::Dict(pairs.iter().map(|(k, v)| (encode(k, nodes), encode(v, nodes))).collect())
        }
        Value::Opaque { type_name, repr } => {
            wire::Node::Opaque(wire::OpaqueObject { type_name: type_name.clone(), repr: repr.clone() })
        }
    };
    nodes[index as usize] = node;
    index
}

fn decode(nodes: &[wire::Node], index: u32) -> Result<Value, MalformedValue> {
    let node =
        nodes.get(index as usize).ok_or_else(|| MalformedValue(format!("index {index} out of range")))?;
    let child = |i: &u32| {
        if *i <= index {
            return Err(MalformedValue(format!("node {index} refers back to node {i}")));
        }
        decode(nodes, *i)
    };
    let all = |items: &[u32]| items.iter().map(child).collect::<Result<Vec<_>, _>>();
    Ok(match node {
        wire::Node::None => Value::None,
        wire::Node::Boolean(b) => Value::Bool(*b),
        wire::Node::Int(v) => Value::Int(*v),
        wire::Node::BigInt(v) => Value::BigInt(v.clone()),
        wire::Node::Float(v) => Value::Float(*v),
        wire::Node::Str(s) => Value::Str(s.clone()),
        wire::Node::Bytes(b) => Value::Bytes(b.clone()),
        wire::Node::List(items) => Value::List(all(items)?),
        wire::Node::Tuple(items) => Value::Tuple(all(items)?),
        wire::Node::Set(items) => Value::Set(all(items)?),
        wire::Node::Frozenset(items) => Value::FrozenSet(all(items)?),
        wire::Node::Dict(pairs) => {
            Value::Dict(pairs.iter().map(|(k, v)| Ok((child(k)?, child(v)?))).collect::<Result<_, _>>()?)
        }
        wire::Node::Opaque(o) => Value::Opaque { type_name: o.type_name.clone(), repr: o.repr.clone() },
    })
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
    fn round_trip_through_the_node_table() {
        let value = sample();
        let wire = value.to_wire();
        assert_eq!(Value::from_wire(&wire).unwrap(), value);
        assert!(matches!(wire.nodes[0], wire::Node::Dict(_)), "root first");
    }

    #[test]
    fn back_references_and_bad_indices_are_refused() {
        let cyclic = wire::Value { nodes: vec![wire::Node::List(vec![0])] };
        assert!(Value::from_wire(&cyclic).is_err());
        let dangling = wire::Value { nodes: vec![wire::Node::List(vec![5])] };
        assert!(Value::from_wire(&dangling).is_err());
        assert!(Value::from_wire(&wire::Value { nodes: vec![] }).is_err());
    }

    #[test]
    fn display_reads_like_python() {
        assert_eq!(
            sample().to_string(),
            "{\"a\": [1, inf, None], (1, 2): {b\"\\0\u{fffd}\"}, 3: -123456789012345678901234567890, True: frozenset({})}"
        );
        assert_eq!(Value::Tuple(vec![Value::Int(1)]).to_string(), "(1,)");
        assert_eq!(Value::Float(2.0).to_string(), "2.0");
    }
}
