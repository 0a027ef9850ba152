//! The decoder's fuzz entry (`fuzz/fuzz_targets/decode.rs`, and the bounded
//! run in host-tests): arbitrary bytes read as a node table, decoded as if
//! the guest had sent it. Behind the `fuzzing` feature, because the node
//! table is not public API; nothing here is stable.
//!
//! The byte format: a node count (u16, little-endian), then each node as a
//! tag byte (`% 14`: none, bool, int, float, big-int, str, bytes, list,
//! tuple, set, frozenset, dict, object, host-object) and its payload: a
//! byte for a bool, 8 bytes for an int, a float or a handle, a length byte
//! and that many bytes for text and bytes (an object has its handle, then
//! its type name), a length byte and that many u16 indices (pairs for a
//! dict) for a container. A short input reads as zeros. The decoder holds
//! no host objects, so every `host-object` node is malformed.

use super::{MAX_DEPTH, MalformedValue, Value};
use crate::bindings::wire::{self, Node};
use crate::objects::Objects;

/// Decodes `data` as a node table from the guest and checks the outcome:
/// a value, which re-encodes to a table of the same shape (as many nodes of
/// each kind) and decodes back to the same value; or a [`MalformedValue`]
/// that names a node of the table. Panics otherwise.
pub fn decode_one(data: &[u8]) {
    let table = table_of(data);
    let kinds = shape(&table);
    let mut objects = Objects::default();
    match Value::from_wire(table, &objects) {
        Ok(value) => {
            let encoded = value.to_wire(&mut objects).expect("its own instance's objects");
            assert_eq!(shape(&encoded), kinds, "the value re-encodes to another shape: {value}");
            let again = Value::from_wire(encoded.clone(), &objects)
                .unwrap_or_else(|e| panic!("the re-encoded value {value} is malformed: {e}"));
            // Tables compare floats by their bits: nan is nan.
            let encoded_again = again.to_wire(&mut objects).expect("its own instance's objects");
            assert!(same_table(&encoded_again, &encoded), "{value} decoded as {again}");
        }
        Err(malformed) => {
            let nodes = kinds.iter().sum::<usize>() as u32;
            let node = match malformed {
                MalformedValue::Empty | MalformedValue::TooManyNodes { .. } => None,
                MalformedValue::OutOfRange { node, .. }
                | MalformedValue::BackReference { node, .. }
                | MalformedValue::SharedChild { node, .. }
                | MalformedValue::Unreachable { node }
                | MalformedValue::TooDeep { node }
                | MalformedValue::TooLarge { node }
                | MalformedValue::BadBigInt { node }
                | MalformedValue::UnknownHostObject { node, .. } => Some(node),
            };
            assert!(node.is_none_or(|n| n < nodes), "{malformed} names no node of {nodes}");
            assert!(!malformed.to_string().is_empty());
        }
    }
}

/// The input (in the format above) that reads as `value`'s node table.
///
/// # Panics
/// When a text, bytes or container of the value is longer than 255.
pub fn input_of(value: &Value) -> Vec<u8> {
    input_of_table(&value.to_wire(&mut Objects::default()).expect("a value of no instance's objects"))
}

/// Seed inputs for the decoder: a value of every kind, nested values, the
/// deepest value allowed, and a table that breaks each rule.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let list = |items: Vec<u32>| Node::List(items);
    let chain = |levels: u32| {
        let mut nodes: Vec<Node> = (1..=levels).map(|i| list(vec![i])).collect();
        nodes.push(Node::None);
        nodes
    };
    let values = [
        ("none", Value::None),
        ("bool", Value::Bool(true)),
        ("int", Value::Int(-42)),
        ("float-nan", Value::Float(f64::NAN)),
        ("big-int", Value::BigInt("-123456789012345678901234567890".into())),
        ("str", Value::from("héllo")),
        ("bytes", Value::Bytes(vec![0, 255, 10])),
        ("list", Value::List(vec![Value::Int(1), Value::None])),
        ("tuple", Value::Tuple(vec![Value::from("a"), Value::Bool(false)])),
        ("set", Value::Set(vec![Value::Int(1), Value::Int(2)])),
        ("frozenset", Value::FrozenSet(vec![])),
        ("dict", Value::Dict(vec![(Value::from("k"), Value::List(vec![]))])),
        (
            "nested",
            Value::Dict(vec![
                (Value::Tuple(vec![Value::Int(1)]), Value::Set(vec![Value::Bytes(vec![1])])),
                (Value::Int(2), Value::List(vec![Value::List(vec![Value::Float(0.5)]), Value::Dict(vec![])])),
            ]),
        ),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> =
        values.iter().map(|(name, value)| (format!("ok-{name}"), input_of(value))).collect();
    let tables = [
        ("ok-deepest", chain(MAX_DEPTH as u32)),
        ("ok-items-out-of-order", vec![list(vec![2, 1]), Node::Int(1), list(vec![3]), Node::None]),
        ("bad-empty", vec![]),
        ("bad-shared-child", vec![list(vec![1, 1]), Node::None]),
        (
            "bad-two-parents",
            vec![Node::Tuple(vec![1, 2]), list(vec![3]), Node::Dict(vec![(3, 4)]), Node::None, Node::None],
        ),
        ("bad-back-reference", vec![list(vec![1]), list(vec![0])]),
        ("bad-self-reference", vec![list(vec![0])]),
        ("bad-out-of-range", vec![list(vec![1, 9]), Node::None]),
        ("bad-unreachable", vec![list(vec![2]), Node::Int(1), Node::None]),
        ("bad-too-deep", chain(MAX_DEPTH as u32 + 1)),
        ("bad-big-int", vec![list(vec![1]), Node::BigInt("1e9".into())]),
        (
            "ok-object",
            vec![
                list(vec![1]),
                Node::Object(wire::PythonObject {
                    handle: 1 << 32,
                    type_name: "datetime.date".into(),
                    traits: wire::ObjectTraits::empty(),
                }),
            ],
        ),
        ("bad-host-object", vec![list(vec![1]), Node::HostObject(7)]),
    ];
    seeds.extend(
        tables.into_iter().map(|(name, nodes)| (name.to_string(), input_of_table(&wire::Value { nodes }))),
    );
    seeds
}

/// How many nodes of each kind a table has.
fn shape(table: &wire::Value) -> [usize; 14] {
    let mut counts = [0; 14];
    for node in &table.nodes {
        counts[usize::from(tag(node))] += 1;
    }
    counts
}

fn tag(node: &Node) -> u8 {
    match node {
        Node::None => 0,
        Node::Boolean(_) => 1,
        Node::Int(_) => 2,
        Node::Float(_) => 3,
        Node::BigInt(_) => 4,
        Node::Str(_) => 5,
        Node::Bytes(_) => 6,
        Node::List(_) => 7,
        Node::Tuple(_) => 8,
        Node::Set(_) => 9,
        Node::Frozenset(_) => 10,
        Node::Dict(_) => 11,
        Node::Object(_) => 12,
        Node::HostObject(_) => 13,
    }
}

fn same_table(a: &wire::Value, b: &wire::Value) -> bool {
    a.nodes.len() == b.nodes.len() && a.nodes.iter().zip(&b.nodes).all(|pair| same_node(pair.0, pair.1))
}

fn same_node(a: &Node, b: &Node) -> bool {
    match (a, b) {
        (Node::None, Node::None) => true,
        (Node::Boolean(x), Node::Boolean(y)) => x == y,
        (Node::Int(x), Node::Int(y)) => x == y,
        (Node::Float(x), Node::Float(y)) => x.to_bits() == y.to_bits(),
        (Node::BigInt(x), Node::BigInt(y)) | (Node::Str(x), Node::Str(y)) => x == y,
        (Node::Bytes(x), Node::Bytes(y)) => x == y,
        (Node::List(x), Node::List(y))
        | (Node::Tuple(x), Node::Tuple(y))
        | (Node::Set(x), Node::Set(y))
        | (Node::Frozenset(x), Node::Frozenset(y)) => x == y,
        (Node::Dict(x), Node::Dict(y)) => x == y,
        // The host sends a Python object back as its handle alone.
        (Node::Object(x), Node::Object(y)) => x.handle == y.handle,
        (Node::HostObject(x), Node::HostObject(y)) => x == y,
        _ => false,
    }
}

/// Reads the input a byte at a time; zeros once it is used up.
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn eight(&mut self) -> [u8; 8] {
        std::array::from_fn(|_| self.byte())
    }

    fn bytes(&mut self) -> Vec<u8> {
        let n = self.byte();
        (0..n).map(|_| self.byte()).collect()
    }

    fn text(&mut self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    fn indices(&mut self) -> Vec<u32> {
        let n = self.byte();
        (0..n).map(|_| u32::from(self.u16())).collect()
    }
}

fn table_of(data: &[u8]) -> wire::Value {
    let mut input = Input { data, pos: 0 };
    let count = input.u16();
    let nodes = (0..count)
        .map(|_| match input.byte() % 14 {
            0 => Node::None,
            1 => Node::Boolean(input.byte() & 1 == 1),
            2 => Node::Int(i64::from_le_bytes(input.eight())),
            3 => Node::Float(f64::from_le_bytes(input.eight())),
            4 => Node::BigInt(input.text()),
            5 => Node::Str(input.text()),
            6 => Node::Bytes(input.bytes()),
            7 => Node::List(input.indices()),
            8 => Node::Tuple(input.indices()),
            9 => Node::Set(input.indices()),
            10 => Node::Frozenset(input.indices()),
            11 => {
                let n = input.byte();
                Node::Dict((0..n).map(|_| (u32::from(input.u16()), u32::from(input.u16()))).collect())
            }
            12 => {
                let handle = u64::from_le_bytes(input.eight());
                Node::Object(wire::PythonObject {
                    handle,
                    type_name: input.text(),
                    traits: wire::ObjectTraits::empty(),
                })
            }
            _ => Node::HostObject(u64::from_le_bytes(input.eight())),
        })
        .collect();
    wire::Value { nodes }
}

fn input_of_table(table: &wire::Value) -> Vec<u8> {
    fn length(n: usize) -> u8 {
        u8::try_from(n).expect("at most 255 bytes or items in a fuzz input")
    }
    fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        out.push(length(b.len()));
        out.extend_from_slice(b);
    }
    fn index(out: &mut Vec<u8>, i: u32) {
        out.extend_from_slice(&u16::try_from(i).expect("a u16 index").to_le_bytes());
    }
    let mut out = u16::try_from(table.nodes.len()).expect("at most 65535 nodes").to_le_bytes().to_vec();
    for node in &table.nodes {
        out.push(tag(node));
        match node {
            Node::None => {}
            Node::Boolean(b) => out.push(u8::from(*b)),
            Node::Int(v) => out.extend_from_slice(&v.to_le_bytes()),
            Node::Float(v) => out.extend_from_slice(&v.to_le_bytes()),
            Node::BigInt(s) | Node::Str(s) => bytes(&mut out, s.as_bytes()),
            Node::Bytes(b) => bytes(&mut out, b),
            Node::List(items) | Node::Tuple(items) | Node::Set(items) | Node::Frozenset(items) => {
                out.push(length(items.len()));
                items.iter().for_each(|&i| index(&mut out, i));
            }
            Node::Dict(pairs) => {
                out.push(length(pairs.len()));
                for &(k, v) in pairs {
                    index(&mut out, k);
                    index(&mut out, v);
                }
            }
            Node::Object(o) => {
                out.extend_from_slice(&o.handle.to_le_bytes());
                bytes(&mut out, o.type_name.as_bytes());
            }
            Node::HostObject(handle) => out.extend_from_slice(&handle.to_le_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_read_back_as_their_tables_and_pass_the_checks() {
        for (name, input) in seeds() {
            assert_eq!(input_of_table(&table_of(&input)), input, "{name}");
            decode_one(&input);
            let decoded = Value::from_wire(table_of(&input), &Objects::default());
            assert_eq!(decoded.is_ok(), name.starts_with("ok-"), "{name}");
        }
    }

    #[test]
    fn any_bytes_are_an_input() {
        for input in [&b""[..], b"\xff\xff", b"\x03\x00\x07\x01\x01\x00\x07\x01\x02\x00\x00", &[0xab; 64]] {
            decode_one(input);
        }
    }
}
