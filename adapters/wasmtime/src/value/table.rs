//! The node table, the form in which a [`Value`] crosses the boundary, and
//! the rules a table from the guest must pass before it becomes a value.
//!
//! The guest is not trusted: a table is decoded without recursion, and only
//! when it is a tree stored root first (every node but the root the item of
//! exactly one earlier node) within [`MAX_NODES`], [`MAX_PAYLOAD`] and
//! [`MAX_DEPTH`]. Sharing would let forty nodes stand for 2^40 values;
//! recursion would let a deep chain overflow the host's stack.

use super::Value;
use crate::bindings::wire;
use crate::objects::Objects;

/// The most nodes (values, counting every item of every container) one
/// value may carry across the boundary, in either direction. The guest
/// enforces the same limits on what Python sends out.
pub const MAX_NODES: usize = 1_000_000;

/// The most bytes of strings, bytes, big-int digits and objects' type
/// names one value may carry across the boundary, in either direction
/// (source code, too, has this limit).
pub const MAX_PAYLOAD: usize = 64 << 20;

/// How deep a value may nest (the root is at depth 0), in either
/// direction: the guest's limit, too.
pub const MAX_DEPTH: usize = 1_000;

/// Why a node table from the guest is not a value: the rule it breaks and
/// the node (an index into the table) where it does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedValue {
    /// The table has no nodes; a value has at least its root.
    #[error("the value has no nodes")]
    Empty,
    /// The table has more than [`MAX_NODES`] nodes.
    #[error("the value has {count} nodes, more than {MAX_NODES}")]
    TooManyNodes {
        /// How many it has.
        count: usize,
    },
    /// A container refers to an item past the end of the table.
    #[error("node {node} refers to node {child}, which is out of range")]
    OutOfRange {
        /// The container.
        node: u32,
        /// The index it holds.
        child: u32,
    },
    /// A container refers to itself or to an earlier node: the table would
    /// not be a tree stored root first.
    #[error("node {node} refers to node {child}, which does not come after it")]
    BackReference {
        /// The container.
        node: u32,
        /// The index it holds.
        child: u32,
    },
    /// A node is the item of more than one container, or twice the item of
    /// one: the table would not be a tree.
    #[error("node {child} is an item of more than one place (again of node {node})")]
    SharedChild {
        /// The container that refers to it a second time.
        node: u32,
        /// The shared node.
        child: u32,
    },
    /// A node is the item of no container: nothing reaches it from the root.
    #[error("node {node} is not reachable from the root")]
    Unreachable {
        /// The node.
        node: u32,
    },
    /// A node nests deeper than [`MAX_DEPTH`].
    #[error("node {node} nests deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// The node.
        node: u32,
    },
    /// The nodes up to this one carry more than [`MAX_PAYLOAD`] bytes.
    #[error("the text and bytes up to node {node} pass {} MiB", MAX_PAYLOAD >> 20)]
    TooLarge {
        /// The node that passes the limit.
        node: u32,
    },
    /// A big-int is not an optional `-` followed by decimal digits.
    #[error("node {node} is a big-int that is not an optional `-` and decimal digits")]
    BadBigInt {
        /// The node.
        node: u32,
    },
    /// A host object whose handle the host never gave, or took back.
    #[error("node {node} is host object {handle}, which Python does not hold")]
    UnknownHostObject {
        /// The node.
        node: u32,
        /// The handle.
        handle: u64,
    },
}

/// Checks that `values`, sent together, stay within [`MAX_NODES`],
/// [`MAX_PAYLOAD`] and [`MAX_DEPTH`]; the error says which limit they pass.
pub(crate) fn check_size<'a>(values: impl IntoIterator<Item = &'a Value>) -> Result<(), String> {
    let (mut nodes, mut payload) = (0usize, 0usize);
    let mut stack: Vec<(&Value, usize)> = values.into_iter().map(|v| (v, 0)).collect();
    while let Some((value, depth)) = stack.pop() {
        nodes += 1;
        if depth > MAX_DEPTH {
            return Err(format!("the value nests deeper than {MAX_DEPTH} levels"));
        }
        let items = |items: &'a [Value]| items.iter().map(move |item| (item, depth + 1));
        match value {
            Value::Str(s) | Value::BigInt(s) => payload += s.len(),
            Value::Bytes(b) => payload += b.len(),
            Value::Object(object) => payload += object.type_name().len(),
            Value::List(v) | Value::Tuple(v) | Value::Set(v) | Value::FrozenSet(v) => stack.extend(items(v)),
            Value::Dict(pairs) => {
                stack.extend(pairs.iter().flat_map(|(k, v)| [(k, depth + 1), (v, depth + 1)]))
            }
            Value::None | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::HostObject(_) => {}
        }
        if nodes > MAX_NODES {
            return Err(format!("the value is too large: more than {MAX_NODES} items"));
        }
        if payload > MAX_PAYLOAD {
            return Err(format!(
                "the value is too large: more than {} MiB of text and bytes",
                MAX_PAYLOAD >> 20
            ));
        }
    }
    Ok(())
}

impl Value {
    /// Encodes the value as a node table, root first; the items of each
    /// container take consecutive indices after it. Iterative, like the
    /// decoder; callers check the value with [`check_size`] first. Host
    /// objects get handles in `objects`; a Python object of another
    /// instance is an error.
    pub(crate) fn to_wire(&self, objects: &mut Objects) -> Result<wire::Value, crate::Error> {
        let mut nodes = vec![wire::Node::None];
        let mut stack: Vec<(&Value, usize)> = vec![(self, 0)];
        while let Some((value, index)) = stack.pop() {
            let mut item = |item| -> u32 {
                let at = nodes.len();
                nodes.push(wire::Node::None);
                stack.push((item, at));
                at as u32
            };
            let node = match value {
                Value::None => wire::Node::None,
                Value::Bool(b) => wire::Node::Boolean(*b),
                Value::Int(v) => wire::Node::Int(*v),
                Value::BigInt(v) => wire::Node::BigInt(v.clone()),
                Value::Float(v) => wire::Node::Float(*v),
                Value::Str(s) => wire::Node::Str(s.clone()),
                Value::Bytes(b) => wire::Node::Bytes(b.clone()),
                Value::List(items) => wire::Node::List(items.iter().map(item).collect()),
                Value::Tuple(items) => wire::Node::Tuple(items.iter().map(item).collect()),
                Value::Set(items) => wire::Node::Set(items.iter().map(item).collect()),
                Value::FrozenSet(items) => wire::Node::Frozenset(items.iter().map(item).collect()),
                Value::Dict(pairs) => {
                    wire::Node::Dict(pairs.iter().map(|(k, v)| (item(k), item(v))).collect())
                }
                Value::Object(object) => wire::Node::Object(objects.python_node(object)?),
                Value::HostObject(object) => wire::Node::HostObject(objects.hold_host(object)),
            };
            nodes[index] = node;
        }
        Ok(wire::Value { nodes })
    }

    /// Decodes a node table from the guest: checks every rule of
    /// [`MalformedValue`] in one pass over the table, then builds the value
    /// from the last node to the first (items before their containers),
    /// moving each node's payload instead of copying it.
    pub(crate) fn from_wire(value: wire::Value, objects: &Objects) -> Result<Value, MalformedValue> {
        check(&value.nodes, objects)?;
        let mut built: Vec<Option<Value>> = Vec::new();
        built.resize_with(value.nodes.len(), || None);
        for (index, node) in value.nodes.into_iter().enumerate().rev() {
            // `check` proved that each item comes after its container and
            // belongs to it alone: it is built, and taken exactly once.
            let mut take = |i: u32| built[i as usize].take().expect("a checked item is built and unused");
            let mut all = |items: Vec<u32>| items.into_iter().map(&mut take).collect::<Vec<_>>();
            let value = match node {
                wire::Node::None => Value::None,
                wire::Node::Boolean(b) => Value::Bool(b),
                wire::Node::Int(v) => Value::Int(v),
                wire::Node::BigInt(v) => Value::BigInt(v),
                wire::Node::Float(v) => Value::Float(v),
                wire::Node::Str(s) => Value::Str(s),
                wire::Node::Bytes(b) => Value::Bytes(b),
                wire::Node::List(items) => Value::List(all(items)),
                wire::Node::Tuple(items) => Value::Tuple(all(items)),
                wire::Node::Set(items) => Value::Set(all(items)),
                wire::Node::Frozenset(items) => Value::FrozenSet(all(items)),
                wire::Node::Dict(pairs) => {
                    Value::Dict(pairs.into_iter().map(|(k, v)| (take(k), take(v))).collect())
                }
                wire::Node::Object(o) => Value::Object(objects.python_object(o)),
                wire::Node::HostObject(handle) => {
                    Value::HostObject(objects.host_object(handle).expect("`check` found it held"))
                }
            };
            built[index] = Some(value);
        }
        Ok(built.swap_remove(0).expect("the root is built"))
    }
}

/// The items a node refers to, keys and values of a dict alike.
fn items(node: &wire::Node) -> Box<dyn Iterator<Item = u32> + '_> {
    match node {
        wire::Node::List(items)
        | wire::Node::Tuple(items)
        | wire::Node::Set(items)
        | wire::Node::Frozenset(items) => Box::new(items.iter().copied()),
        wire::Node::Dict(pairs) => Box::new(pairs.iter().flat_map(|&(k, v)| [k, v])),
        _ => Box::new(std::iter::empty()),
    }
}

/// Checks the rules of [`MalformedValue`] in one pass, in index order.
/// Visiting a node, its container (which comes earlier) has been visited,
/// so the node's depth is known and a node nobody claimed is unreachable.
fn check(nodes: &[wire::Node], objects: &Objects) -> Result<(), MalformedValue> {
    if nodes.is_empty() {
        return Err(MalformedValue::Empty);
    }
    if nodes.len() > MAX_NODES {
        return Err(MalformedValue::TooManyNodes { count: nodes.len() });
    }
    // The depth of each node once its container claimed it; 0 for the root
    // and for nodes nobody claimed (yet): an item is never at depth 0.
    let mut depth = vec![0u16; nodes.len()];
    let mut payload = 0usize;
    for (index, node) in nodes.iter().enumerate() {
        let node_index = index as u32;
        if index > 0 && depth[index] == 0 {
            return Err(MalformedValue::Unreachable { node: node_index });
        }
        if usize::from(depth[index]) > MAX_DEPTH {
            return Err(MalformedValue::TooDeep { node: node_index });
        }
        payload += match node {
            wire::Node::Str(s) => s.len(),
            wire::Node::Bytes(b) => b.len(),
            wire::Node::BigInt(digits) => {
                let unsigned = digits.strip_prefix('-').unwrap_or(digits);
                if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(MalformedValue::BadBigInt { node: node_index });
                }
                digits.len()
            }
            wire::Node::Object(o) => o.type_name.len(),
            wire::Node::HostObject(handle) => {
                if objects.host_object(*handle).is_none() {
                    return Err(MalformedValue::UnknownHostObject { node: node_index, handle: *handle });
                }
                0
            }
            _ => 0,
        };
        if payload > MAX_PAYLOAD {
            return Err(MalformedValue::TooLarge { node: node_index });
        }
        for child in items(node) {
            let at = child as usize;
            if at >= nodes.len() {
                return Err(MalformedValue::OutOfRange { node: node_index, child });
            }
            if at <= index {
                return Err(MalformedValue::BackReference { node: node_index, child });
            }
            if depth[at] != 0 {
                return Err(MalformedValue::SharedChild { node: node_index, child });
            }
            // At most MAX_DEPTH + 1: the node's own depth was checked above.
            depth[at] = depth[index] + 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::Node;

    fn table(nodes: Vec<Node>) -> wire::Value {
        wire::Value { nodes }
    }

    fn decode(nodes: Vec<Node>) -> Result<Value, MalformedValue> {
        Value::from_wire(table(nodes), &Objects::default())
    }

    fn encode(value: &Value) -> wire::Value {
        value.to_wire(&mut Objects::default()).unwrap()
    }

    /// A list nested `levels` deep around `None`, one node per level.
    fn chain(levels: usize) -> Vec<Node> {
        let mut nodes: Vec<Node> = (1..=levels as u32).map(|i| Node::List(vec![i])).collect();
        nodes.push(Node::None);
        nodes
    }

    fn every_kind() -> Value {
        Value::Dict(vec![
            (Value::from("a"), Value::List(vec![Value::Int(1), Value::Float(f64::INFINITY), Value::None])),
            (
                Value::Tuple(vec![Value::Int(1), Value::Bool(false)]),
                Value::Set(vec![Value::Bytes(b"\x00\xff".to_vec())]),
            ),
            (Value::Int(3), Value::BigInt("-123456789012345678901234567890".into())),
            (Value::Bool(true), Value::FrozenSet(vec![Value::Float(-0.5)])),
            (Value::from("f"), Value::function(|_, _| Ok(Value::None))),
            (Value::from("empty"), Value::List(vec![Value::Tuple(vec![]), Value::Dict(vec![])])),
        ])
    }

    #[test]
    fn every_kind_round_trips_through_the_node_table() {
        let value = every_kind();
        // The host object goes out by handle and comes back as itself.
        let mut objects = Objects::default();
        let wire = value.to_wire(&mut objects).unwrap();
        assert!(matches!(wire.nodes[0], Node::Dict(_)), "root first");
        assert_eq!(wire.nodes.len(), 22, "one node per value");
        assert_eq!(Value::from_wire(wire, &objects).unwrap(), value);
        for leaf in [Value::None, Value::Int(i64::MIN), Value::BigInt("18446744073709551616".into())] {
            assert_eq!(decode(encode(&leaf).nodes).unwrap(), leaf);
        }
    }

    #[test]
    fn any_tree_order_is_accepted() {
        // Root first, but items out of encoding order: [[None], 1].
        let nodes = vec![Node::List(vec![2, 1]), Node::Int(1), Node::List(vec![3]), Node::None];
        let expected = Value::List(vec![Value::List(vec![Value::None]), Value::Int(1)]);
        assert_eq!(decode(nodes).unwrap(), expected);
    }

    #[test]
    fn an_empty_table_is_refused() {
        assert_eq!(decode(vec![]), Err(MalformedValue::Empty));
    }

    #[test]
    fn a_shared_child_is_refused() {
        let twice = vec![Node::List(vec![1, 1]), Node::None];
        assert_eq!(decode(twice), Err(MalformedValue::SharedChild { node: 0, child: 1 }));
        let two_parents =
            vec![Node::Tuple(vec![1, 2]), Node::List(vec![3]), Node::Dict(vec![(3, 3)]), Node::None];
        assert_eq!(decode(two_parents), Err(MalformedValue::SharedChild { node: 2, child: 3 }));
        // Forty nodes, each the two items of the one before: 2^40 values if shared.
        let mut doubling: Vec<Node> = (1..40).map(|i| Node::List(vec![i, i])).collect();
        doubling.push(Node::None);
        assert_eq!(decode(doubling), Err(MalformedValue::SharedChild { node: 0, child: 1 }));
    }

    #[test]
    fn a_back_reference_is_refused() {
        let nodes = vec![Node::List(vec![1]), Node::List(vec![0])];
        assert_eq!(decode(nodes), Err(MalformedValue::BackReference { node: 1, child: 0 }));
    }

    #[test]
    fn a_self_reference_is_refused() {
        assert_eq!(
            decode(vec![Node::List(vec![0])]),
            Err(MalformedValue::BackReference { node: 0, child: 0 })
        );
        let dict = vec![Node::List(vec![1]), Node::Dict(vec![(1, 1)])];
        assert_eq!(decode(dict), Err(MalformedValue::BackReference { node: 1, child: 1 }));
    }

    #[test]
    fn an_index_out_of_range_is_refused() {
        let nodes = vec![Node::List(vec![1, 5]), Node::None];
        assert_eq!(decode(nodes), Err(MalformedValue::OutOfRange { node: 0, child: 5 }));
        let huge = vec![Node::Set(vec![u32::MAX])];
        assert_eq!(decode(huge), Err(MalformedValue::OutOfRange { node: 0, child: u32::MAX }));
    }

    #[test]
    fn an_unreachable_node_is_refused() {
        let nodes = vec![Node::List(vec![2]), Node::Int(1), Node::None];
        assert_eq!(decode(nodes), Err(MalformedValue::Unreachable { node: 1 }));
        assert_eq!(decode(vec![Node::None, Node::None]), Err(MalformedValue::Unreachable { node: 1 }));
    }

    #[test]
    fn depth_is_capped_at_the_guests_limit() {
        let deepest = decode(chain(MAX_DEPTH)).expect("MAX_DEPTH levels below the root");
        assert!(matches!(deepest, Value::List(_)));
        assert_eq!(decode(chain(MAX_DEPTH + 1)), Err(MalformedValue::TooDeep { node: MAX_DEPTH as u32 + 1 }));
    }

    #[test]
    fn a_million_deep_chain_is_refused_without_recursion() {
        // A million nodes, each the one item of the one before. 256 KiB of stack: a recursive decoder would overflow it long before
        // a million levels (and before the depth cap, were it checked late).
        let refused = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| decode(chain(MAX_NODES - 1)))
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert_eq!(refused, Err(MalformedValue::TooDeep { node: MAX_DEPTH as u32 + 1 }));
        // The deepest accepted value decodes, encodes and drops on it too.
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| decode(encode(&decode(chain(MAX_DEPTH)).unwrap()).nodes).unwrap())
            .unwrap()
            .join()
            .expect("no stack overflow");
    }

    #[test]
    fn the_node_count_is_capped() {
        let mut nodes = vec![Node::List((1..=MAX_NODES as u32).collect())];
        nodes.extend((0..MAX_NODES).map(|_| Node::None));
        assert_eq!(decode(nodes), Err(MalformedValue::TooManyNodes { count: MAX_NODES + 1 }));
        let mut nodes = vec![Node::List((1..MAX_NODES as u32).collect())];
        nodes.extend((1..MAX_NODES).map(|_| Node::None));
        assert!(matches!(decode(nodes), Ok(Value::List(items)) if items.len() == MAX_NODES - 1));
    }

    #[test]
    fn the_payload_is_capped_for_every_kind_that_carries_one() {
        let half = || "7".repeat(MAX_PAYLOAD / 2);
        let with = |last: Node| decode(vec![Node::List(vec![1, 2]), Node::Str(half()), last]);
        assert!(with(Node::Bytes(vec![0; MAX_PAYLOAD / 2])).is_ok(), "exactly MAX_PAYLOAD");
        for last in [
            Node::Str(half() + "x"),
            Node::Bytes(vec![0; MAX_PAYLOAD / 2 + 1]),
            Node::BigInt(half() + "7"),
            Node::Object(wire::PythonObject {
                handle: 1,
                type_name: half() + "x",
                traits: wire::ObjectTraits::empty(),
            }),
        ] {
            assert_eq!(with(last), Err(MalformedValue::TooLarge { node: 2 }));
        }
    }

    #[test]
    fn a_host_object_must_be_one_python_holds() {
        let mut objects = Objects::default();
        let held = objects.hold_host(&(std::sync::Arc::new(Unit) as std::sync::Arc<dyn crate::HostObject>));
        assert!(Value::from_wire(table(vec![Node::HostObject(held)]), &objects).is_ok());
        assert_eq!(
            Value::from_wire(table(vec![Node::HostObject(held + 1)]), &objects),
            Err(MalformedValue::UnknownHostObject { node: 0, handle: held + 1 })
        );
        objects.release_host(&[held]);
        assert!(Value::from_wire(table(vec![Node::HostObject(held)]), &objects).is_err());
    }

    struct Unit;
    impl crate::HostObject for Unit {}

    #[test]
    fn a_python_object_goes_back_only_to_its_instance() {
        let (mut mine, mut other) = (Objects::default(), Objects::default());
        let node =
            wire::PythonObject { handle: 7, type_name: "f".into(), traits: wire::ObjectTraits::CALLABLE };
        let Value::Object(object) = Value::from_wire(table(vec![Node::Object(node)]), &mine).unwrap() else {
            panic!("an object")
        };
        assert!(object.is_callable());
        let value = Value::Object(object);
        assert!(matches!(value.to_wire(&mut mine).unwrap().nodes[0], Node::Object(ref o) if o.handle == 7));
        assert!(matches!(value.to_wire(&mut other), Err(crate::Error::ForeignObject(_))));
        drop(value);
        assert_eq!(mine.take_released(), vec![7], "released when the last clone drops");
        assert!(mine.take_released().is_empty());
    }

    #[test]
    fn a_big_int_must_be_decimal_digits() {
        for good in ["0", "-1", "123456789012345678901234567890", "-00"] {
            assert_eq!(decode(vec![Node::BigInt(good.into())]), Ok(Value::BigInt(good.into())), "{good}");
        }
        for bad in ["", "-", "+1", "1e9", " 1", "1_000", "0x10", "١", "--1", "1-"] {
            assert_eq!(
                decode(vec![Node::BigInt(bad.into())]),
                Err(MalformedValue::BadBigInt { node: 0 }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn sizes_sent_to_the_guest_are_checked_too() {
        let mut deep = Value::None;
        for _ in 0..=MAX_DEPTH {
            deep = Value::List(vec![deep]);
        }
        assert!(check_size([&deep]).unwrap_err().contains("deeper than"));
        let Value::List(mut inner) = deep else { unreachable!() };
        assert_eq!(check_size([&inner[0]]), Ok(()));
        let _ = inner.pop();
        assert!(check_size([&Value::Str("x".repeat(MAX_PAYLOAD + 1))]).unwrap_err().contains("MiB"));
    }

    #[test]
    fn errors_name_the_node_and_the_rule() {
        let text = MalformedValue::SharedChild { node: 2, child: 3 }.to_string();
        assert_eq!(text, "node 3 is an item of more than one place (again of node 2)");
        assert_eq!(
            MalformedValue::TooLarge { node: 9 }.to_string(),
            "the text and bytes up to node 9 pass 64 MiB"
        );
    }
}
