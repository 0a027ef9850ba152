//! The body of the fuzz target (`fuzz/fuzz_targets/adapter.rs`), shared with
//! the bounded test that CI runs: arbitrary bytes drive the adapter's public
//! calls with arbitrary values, names and code. Whatever the input, the host
//! must not panic or abort; every outcome is a value, a Python exception or
//! a typed error, and a value that comes back from Python comes back the
//! same a second time.

use std::sync::Mutex;
use std::time::Duration;

use pycomponent::{Error, HostModules, Instance, Limits, Runtime, Value};

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
        let limits =
            Limits { memory_bytes: 64 << 20, timeout: Some(Duration::from_millis(200)), max_instances: 4 };
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
        let py = slot.get_or_insert_with(|| self.fresh());
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
        if trapped {
            *slot = None;
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

/// Whether the instance is done (a trap, the timeout); other errors are
/// refusals of bad input, and anything else is a host bug.
fn is_trap(error: &Error) -> bool {
    match error {
        Error::Trap(_) | Error::Timeout(_) | Error::MemoryLimit(_) | Error::Trapped => true,
        Error::InvalidInput(_) => false,
        other => panic!("the adapter failed on fuzz input: {other}"),
    }
}
