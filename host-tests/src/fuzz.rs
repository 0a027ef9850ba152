//! The body of the fuzz target (`fuzz/fuzz_targets/adapter.rs`), shared with
//! the bounded test that CI runs: arbitrary bytes drive the adapter's public
//! calls with arbitrary values, names and code. Whatever the input, the host
//! must not panic or abort; every outcome is a value, a Python exception or
//! a typed error, and a value that comes back from Python comes back the
//! same a second time.

use std::sync::Mutex;
use std::time::Duration;

use pycomponent::{Error, HostModules, Instance, Limits, Runtime, Value};
use wasmtime::Trap;

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

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.byte() as usize).min(max);
        (0..n).map(|_| self.byte()).collect()
    }

    fn text(&mut self, max: usize) -> String {
        String::from_utf8_lossy(&self.bytes(max)).into_owned()
    }

    /// The rest of the input as text.
    fn rest(&mut self) -> String {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        self.pos = self.data.len();
        String::from_utf8_lossy(rest).into_owned()
    }

    fn value(&mut self, depth: u32) -> Value {
        let tag = self.byte() % if depth == 0 { 7 } else { 12 };
        let len = (self.byte() % 5) as usize;
        let items = |input: &mut Self| (0..len).map(|_| input.value(depth - 1)).collect::<Vec<_>>();
        match tag {
            0 => Value::None,
            1 => Value::Bool(self.byte() & 1 == 1),
            2 => Value::Int(i64::from_le_bytes(std::array::from_fn(|_| self.byte()))),
            3 => Value::Float(f64::from_le_bytes(std::array::from_fn(|_| self.byte()))),
            4 => Value::Str(self.text(40)),
            5 => Value::Bytes(self.bytes(40)),
            // Often malformed: the adapter must refuse it cleanly.
            6 => Value::BigInt(self.text(30)),
            7 => Value::List(items(self)),
            8 => Value::Tuple(items(self)),
            9 => Value::Set(items(self)),
            10 => Value::FrozenSet(items(self)),
            _ => Value::Dict((0..len).map(|_| (self.value(depth - 1), self.value(depth - 1))).collect()),
        }
    }
}

/// Sets come back in Python's order: compare values with sets sorted.
pub fn normalized(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        let sorted = |items: &[Value]| {
            let mut items: Vec<Value> = items.iter().map(sort).collect();
            items.sort_by_key(|i| i.to_string());
            items
        };
        match v {
            Value::List(items) => Value::List(items.iter().map(sort).collect()),
            Value::Tuple(items) => Value::Tuple(items.iter().map(sort).collect()),
            Value::Dict(pairs) => Value::Dict(pairs.iter().map(|(k, v)| (sort(k), sort(v))).collect()),
            Value::Set(items) => Value::Set(sorted(items)),
            Value::FrozenSet(items) => Value::FrozenSet(sorted(items)),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

/// A runtime with tight limits and one live instance, replaced after a trap.
pub struct Fuzzer {
    runtime: Runtime,
    instance: Mutex<Option<Instance>>,
}

impl std::fmt::Debug for Fuzzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fuzzer").finish_non_exhaustive()
    }
}

impl Default for Fuzzer {
    fn default() -> Self {
        Self::new()
    }
}

impl Fuzzer {
    pub fn new() -> Fuzzer {
        let limits = Limits {
            memory_bytes: 64 << 20,
            timeout: Some(Duration::from_millis(200)),
            max_instances: 4,
            ..Limits::default()
        };
        let runtime = Runtime::with_limits(&crate::component_path(), limits).expect("the component compiles");
        Fuzzer { runtime, instance: Mutex::new(None) }
    }

    fn fresh(&self) -> Instance {
        let host = HostModules::new().function("h", "echo", |args, _| Ok(Value::List(args.to_vec())));
        let mut py = self.runtime.instantiate(host).expect("a fresh instance");
        py.exec("def identity(x):\n    return x").unwrap().result.unwrap();
        py
    }

    /// Runs one input. Panics only when the host misbehaves.
    pub fn one_input(&self, data: &[u8]) {
        let mut slot = self.instance.lock().unwrap_or_else(|e| e.into_inner());
        // Out of the slot while it runs: an input that fails the fuzzer
        // leaves no retired instance behind for the next one.
        let mut instance = slot.take().unwrap_or_else(|| self.fresh());
        let py = &mut instance;
        let mut input = Input { data, pos: 0 };
        let trapped = match input.byte() % 6 {
            0 => {
                let value = input.value(6);
                round_trip(py, &value)
            }
            1 => outcome(py.exec(&input.rest()).map(drop)),
            2 => match py.eval(&input.rest()) {
                Ok(reply) => {
                    if let Ok(value) = reply.result {
                        // Display and JSON never panic, whatever came back.
                        let _ = (value.to_string(), value.to_json());
                    }
                    false
                }
                Err(e) => is_trap(&e),
            },
            3 => {
                let name = input.text(30);
                let args: Vec<Value> = (0..input.byte() % 3).map(|_| input.value(3)).collect();
                let kwargs: Vec<(String, Value)> =
                    (0..input.byte() % 2).map(|_| (input.text(10), input.value(2))).collect();
                let kwargs: Vec<(&str, Value)> =
                    kwargs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                outcome(py.call(&name, &args, &kwargs).map(drop))
            }
            4 => {
                let name = input.text(20);
                let package = input.byte() & 1 == 1;
                let source = input.rest();
                let added = outcome(py.add_module(&name, &source, package).map(drop));
                added || outcome(py.import_module(&name).map(drop))
            }
            _ => {
                let value = input.value(4);
                outcome(py.call("h.echo", &[value], &[]).map(drop))
            }
        };
        if !trapped {
            *slot = Some(instance);
        }
    }
}

/// A value Python sent back is sent back the same the second time.
fn round_trip(py: &mut Instance, value: &Value) -> bool {
    let first = match py.call("identity", std::slice::from_ref(value), &[]) {
        Ok(reply) => match reply.result {
            Ok(v) => v,
            Err(_) => return false, // e.g. an unhashable dict key: a Python error, fine
        },
        Err(Error::InvalidInput(_)) => return false,
        Err(e) => return is_trap(&e),
    };
    match py.call("identity", std::slice::from_ref(&first), &[]) {
        Ok(reply) => {
            let second = reply.result.unwrap_or_else(|e| panic!("{first} went in once but not twice: {e}"));
            assert_eq!(normalized(&second), normalized(&first), "a value changed on its second trip");
            false
        }
        Err(e) => is_trap(&e),
    }
}

fn outcome(result: Result<(), Error>) -> bool {
    result.err().is_some_and(|e| is_trap(&e))
}

/// Whether the instance is done: the timeout, the memory cap or the wasm
/// stack, the limits hostile code may run into. Refusals of bad input are
/// not; any other trap (`unreachable`, which is how a Rust panic in the
/// guest ends, or a fault) and every other error is a bug, and fails.
fn is_trap(error: &Error) -> bool {
    match error {
        Error::Timeout(_) | Error::MemoryLimit(_) => true,
        Error::Trap(source) => match source.downcast_ref::<Trap>() {
            Some(Trap::StackOverflow) => true,
            _ => panic!("the guest crashed on fuzz input: {error}"),
        },
        Error::InvalidInput(_) => false,
        other => panic!("the adapter failed on fuzz input: {other}"),
    }
}

/// Writes inputs in the format [`Fuzzer::one_input`] reads.
#[derive(Debug)]
struct Writer(Vec<u8>);

impl Writer {
    fn op(op: u8) -> Writer {
        Writer(vec![op])
    }

    fn byte(mut self, b: u8) -> Writer {
        self.0.push(b);
        self
    }

    fn text(mut self, text: &str, max: usize) -> Writer {
        assert!(text.len() <= max, "{text:?} is longer than {max} bytes");
        self.0.push(text.len() as u8);
        self.0.extend_from_slice(text.as_bytes());
        self
    }

    fn rest(mut self, text: &str) -> Writer {
        self.0.extend_from_slice(text.as_bytes());
        self
    }

    fn value(mut self, value: &Value, depth: u32) -> Writer {
        let items = |w: Writer, tag: u8, items: &[Value]| {
            assert!(depth > 0 && items.len() < 5, "a container too deep or too long for the input format");
            items.iter().fold(w.byte(tag).byte(items.len() as u8), |w, item| w.value(item, depth - 1))
        };
        match value {
            Value::None => self.byte(0).byte(0),
            Value::Bool(b) => self.byte(1).byte(0).byte(u8::from(*b)),
            Value::Int(v) => {
                self.0.extend([2, 0].iter().chain(&v.to_le_bytes()));
                self
            }
            Value::Float(v) => {
                self.0.extend([3, 0].iter().chain(&v.to_le_bytes()));
                self
            }
            Value::Str(s) => self.byte(4).byte(0).text(s, 40),
            Value::Bytes(b) => {
                assert!(b.len() <= 40, "bytes longer than 40");
                self.0.extend([5, 0, b.len() as u8].iter().chain(b));
                self
            }
            Value::BigInt(s) => self.byte(6).byte(0).text(s, 30),
            Value::List(v) => items(self, 7, v),
            Value::Tuple(v) => items(self, 8, v),
            Value::Set(v) => items(self, 9, v),
            Value::FrozenSet(v) => items(self, 10, v),
            Value::Dict(pairs) => {
                assert!(depth > 0 && pairs.len() < 5, "a dict too deep or too long for the input format");
                let w = self.byte(11).byte(pairs.len() as u8);
                pairs.iter().fold(w, |w, (k, v)| w.value(k, depth - 1).value(v, depth - 1))
            }
            Value::Object(_) | Value::HostObject(_) => panic!("the fuzzer sends no live objects"),
        }
    }
}

/// The seed corpus of the `adapter` target (checked in as
/// `fuzz/seeds/adapter/`): inputs for each kind of call, with values of
/// every kind, code that raises, prints, loops and allocates.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let s = Value::from;
    let list = Value::List;
    let values = [
        ("none", Value::None),
        ("bool", Value::Bool(true)),
        ("int", Value::Int(i64::MIN)),
        ("float", Value::Float(-0.0)),
        ("float-nan", Value::Float(f64::NAN)),
        ("str", s("héllo\n\u{0}")),
        ("bytes", Value::Bytes(vec![0, 0xff, b'\''])),
        ("big-int", Value::BigInt("-12345678901234567890123456789".into())),
        ("big-int-malformed", Value::BigInt("12x".into())),
        ("list", list(vec![Value::Int(1), s("a"), Value::None])),
        ("tuple", Value::Tuple(vec![Value::Tuple(vec![])])),
        ("set", Value::Set(vec![Value::Int(1), Value::Float(1.5), s("x")])),
        ("frozenset", Value::FrozenSet(vec![Value::Bytes(vec![1])])),
        ("dict", Value::Dict(vec![(s("k"), list(vec![])), (Value::Int(2), Value::None)])),
        ("dict-unhashable-key", Value::Dict(vec![(list(vec![]), Value::None)])),
        ("nested", list(vec![list(vec![list(vec![list(vec![list(vec![list(vec![Value::Int(6)])])])])])])),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> =
        values.iter().map(|(name, v)| (format!("round-trip-{name}"), Writer::op(0).value(v, 6).0)).collect();
    let code = [
        ("exec-json", 1, "import json\njson.loads('[1, 2, {\"a\": null}]')"),
        ("exec-syntax-error", 1, "def f(:\n"),
        ("exec-raises", 1, "raise ValueError('no')"),
        ("exec-prints", 1, "import sys\nprint('out')\nprint('err', file=sys.stderr)"),
        ("exec-endless-loop", 1, "while True: pass"),
        ("exec-memory-bomb", 1, "x = [bytes(10**6) for _ in range(10**4)]"),
        ("eval-comprehension", 2, "[i * i for i in range(10)]"),
        ("eval-literal", 2, "{1: (2, 3), 'x': {4, 5}, None: b'\\xff'}"),
        ("eval-big-int", 2, "2 ** 200"),
        ("eval-objects", 2, "[object(), range(3)]"),
        ("eval-zero-division", 2, "1 / 0"),
        ("eval-too-large", 2, "'x' * (65 << 20)"),
    ];
    seeds.extend(code.iter().map(|&(name, op, code)| (name.to_string(), Writer::op(op).rest(code).0)));
    let call = |function: &str, args: &[Value], kwargs: &[(&str, Value)]| {
        let w = Writer::op(3).text(function, 30).byte(args.len() as u8);
        let w = args.iter().fold(w, |w, arg| w.value(arg, 3)).byte(kwargs.len() as u8);
        kwargs.iter().fold(w, |w, (name, value)| w.text(name, 10).value(value, 2)).0
    };
    seeds.extend(
        [
            ("call-math", call("math.hypot", &[Value::Int(3), Value::Float(4.0)], &[])),
            ("call-keyword", call("int", &[s("ff")], &[("base", Value::Int(16))])),
            ("call-identity", call("identity", &[Value::Dict(vec![(s("a"), list(vec![Value::None]))])], &[])),
            ("call-missing", call("nonexistent.function", &[], &[])),
            ("call-bad-keyword", call("len", &[s("abc")], &[("nope", Value::None)])),
        ]
        .map(|(name, input)| (name.to_string(), input)),
    );
    let module = |name: &str, package: bool, source: &str| {
        Writer::op(4).text(name, 20).byte(u8::from(package)).rest(source).0
    };
    seeds.extend(
        [
            ("module", module("fuzzmod", false, "def f():\n    return 1\n")),
            ("module-package", module("fuzzpkg", true, "x = 1\n")),
            ("module-syntax-error", module("fuzzbad", false, "def (\n")),
            ("module-raises", module("fuzzraise", false, "raise ImportError('no')\n")),
        ]
        .map(|(name, input)| (name.to_string(), input)),
    );
    let echo = [
        ("echo-int", Value::Int(7)),
        ("echo-nested", Value::Dict(vec![(Value::Tuple(vec![Value::Int(1)]), Value::Set(vec![s("x")]))])),
        ("echo-big-int", Value::BigInt("99999999999999999999".into())),
    ];
    seeds.extend(echo.iter().map(|(name, v)| (name.to_string(), Writer::op(5).value(v, 4).0)));
    seeds
}
