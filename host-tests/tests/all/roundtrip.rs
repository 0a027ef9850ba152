//! Property test: random nested values survive a trip into Python and back
//! unchanged. The seed is fixed and printed, so a failure can be replayed.

use host_tests::Rng;
use host_tests::fuzz::normalized;
use pycomponent::{HostModules, Runtime, Value};

use super::component_runtime;

const SEED: u64 = 0x5eed_2026_1125;
const STRINGS: &[&str] = &["", "a", "é", "日本", "🐍 astral", "line\nbreak", "quote'\"", "\u{0}nul"];

fn scalar(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => Value::None,
        1 => Value::Bool(rng.below(2) == 1),
        2 => Value::Int(rng.next_u64() as i64 >> rng.below(63)),
        3 => Value::BigInt(format!(
            "{}{}",
            if rng.below(2) == 1 { "-" } else { "" },
            u128::MAX - rng.below(1000) as u128
        )),
        4 => Value::Float(match rng.below(6) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => -0.0,
            _ => f64::from_bits(rng.next_u64() & !(0x7ff << 52)) * 1e10,
        }),
        5 => Value::Str(STRINGS[rng.below(STRINGS.len() as u64) as usize].to_string()),
        6 => Value::Bytes((0..rng.below(5)).map(|_| rng.next_u64() as u8).collect()),
        _ => Value::Int(rng.below(10) as i64),
    }
}

fn value(rng: &mut Rng, depth: u32) -> Value {
    if depth == 0 || rng.below(3) == 0 {
        return scalar(rng);
    }
    let len = rng.below(4);
    // Keys and set items are distinct ints, strs and tuples of them (never
    // bools or floats, which compare equal to ints), so Python keeps them all.
    let pick = rng.below(3);
    let key = move |i: u64| match pick {
        0 => Value::Int(i as i64 - 1),
        1 => Value::Str(format!("k{i}")),
        _ => Value::Tuple(vec![Value::Int(i as i64), Value::Str(format!("k{i}"))]),
    };
    match rng.below(5) {
        0 => Value::List((0..len).map(|_| value(rng, depth - 1)).collect()),
        1 => Value::Tuple((0..len).map(|_| value(rng, depth - 1)).collect()),
        2 => Value::Dict((0..len).map(|i| (key(i), value(rng, depth - 1))).collect()),
        3 => Value::Set((0..len).map(key).collect()),
        _ => Value::FrozenSet((0..len).map(key).collect()),
    }
}

#[test]
fn random_values_round_trip_unchanged() {
    let runtime: &Runtime = component_runtime();
    let mut py = runtime.instantiate(HostModules::new()).unwrap();
    py.exec("def identity(x):\n    return x").unwrap().result.unwrap();
    let mut rng = Rng(SEED);
    for case in 0..300 {
        let input = value(&mut rng, 4);
        let reply = py.call("identity", std::slice::from_ref(&input), &[]).unwrap();
        let output = reply.result.unwrap_or_else(|e| panic!("seed {SEED:#x} case {case}: {e}"));
        assert_eq!(normalized(&output), normalized(&input), "seed {SEED:#x} case {case}");
    }
}

/// A `str` value holding a lone surrogate cannot become a WIT string: it is
/// refused with a `ValueError` that names the surrogate, never silently
/// changed. Text meant for people (output, tracebacks) shows U+FFFD.
#[test]
fn lone_surrogates_are_refused_with_a_clear_error() {
    let mut py = component_runtime().instantiate(HostModules::new()).unwrap();
    for expression in ["'ab\\ud800c'", "['ok', {'key': 'ab\\ud800c'}]", "{'ab\\ud800': 1}"] {
        let err = py.eval(expression).unwrap().result.unwrap_err();
        assert_eq!(err.type_name, "ValueError", "{expression}");
        assert!(
            err.message.contains("lone surrogate ('\\ud800' at index 2)"),
            "{expression}: {}",
            err.message
        );
    }
    let err = py.eval("'\\udcff'").unwrap().result.unwrap_err();
    assert!(err.message.contains("'\\udcff' at index 0"), "{}", err.message);
    let reply = py.exec("print('a\\ud800b')\nraise ValueError('k\\udfff')").unwrap();
    assert_eq!(reply.output.stdout, "a\u{fffd}b\n");
    assert!(reply.result.unwrap_err().message.contains('\u{fffd}'));
    // The value itself is fine inside Python, and crosses as bytes.
    let bytes = py.eval("'a\\ud800b'.encode('utf-8', 'surrogatepass')").unwrap().result.unwrap();
    assert_eq!(bytes, Value::Bytes(b"a\xed\xa0\x80b".to_vec()));
}
