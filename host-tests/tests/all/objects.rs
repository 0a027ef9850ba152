//! Live objects across the boundary through the Wasmtime adapter: Python
//! objects the host holds ([`PyObject`]) and Rust objects Python holds
//! ([`HostObject`]), their errors, lifetimes and limits.

use std::sync::{Arc, Mutex};

use pycomponent::{
    Attribute, Error, HostError, HostModules, HostObject, Instance, Limits, PyObject, Runtime, Value,
};

use crate::component::runtime;

fn instance() -> Instance {
    runtime().instantiate(HostModules::new()).expect("instantiates")
}

fn ok<T>(reply: Result<pycomponent::Reply<T>, Error>) -> T {
    let reply = reply.expect("no trap");
    reply.result.unwrap_or_else(|e| panic!("{e}\n{}", e.traceback))
}

fn object(value: Value) -> PyObject {
    match value {
        Value::Object(object) => object,
        other => panic!("{other} is not a live object"),
    }
}

#[test]
fn a_function_defined_in_python_is_called_from_the_host() {
    let mut py = instance();
    let f = object(ok(py.run("def f(x):\n    return x * 2\nf")));
    assert_eq!((f.type_name(), f.is_callable()), ("function", true));
    assert_eq!(ok(f.call(&mut py, &[Value::Int(21)], &[])), Value::Int(42));
    let statistics = ok(py.import("statistics"));
    assert_eq!(statistics.type_name(), "module");
    let mean =
        ok(statistics.call_method(&mut py, "mean", &[Value::List(vec![1.into(), 2.into(), 3.into()])], &[]));
    assert_eq!(mean, Value::Int(2));
    // Keyword arguments, and a method read as an attribute then called.
    let json = ok(py.import("json"));
    let dumps = object(ok(json.getattr(&mut py, "dumps")));
    let text = ok(dumps.call(&mut py, &[Value::List(vec![1.into()])], &[("indent", Value::Int(1))]));
    assert_eq!(text, Value::from("[\n 1\n]"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_async_python_function_is_awaited_from_the_host() {
    let mut py = instance();
    let add = object(ok(
        py.run("import asyncio\nasync def add(x):\n    await asyncio.sleep(0.01)\n    return x + 1\nadd")
    ));
    assert_eq!(ok(add.call_async(&mut py, &[Value::Int(1)], &[]).await), Value::Int(2));
    // A plain function's value comes back as it is.
    let len = object(ok(py.eval("len")));
    assert_eq!(ok(len.call_async(&mut py, &[Value::from("abc")], &[]).await), Value::Int(3));
}

#[test]
fn attributes_items_length_and_iteration_act_on_the_live_object() {
    let mut py = instance();
    ok(py.exec("class Box:\n    size = 3\nbox = Box()\ncounts = {'a': 1}\nletters = ['x', 'y']"));
    let boxed = ok(py.global("box"));
    assert_eq!(boxed.type_name(), "__main__.Box");
    assert_eq!(ok(boxed.getattr(&mut py, "size")), Value::Int(3));
    ok(boxed.setattr(&mut py, "size", Value::Int(7)));
    assert_eq!(ok(py.eval("box.size")), Value::Int(7));
    let error = boxed.getattr(&mut py, "nope").unwrap().result.unwrap_err();
    assert_eq!(error.type_name, "AttributeError");

    // A global dict as a handle: changes are seen both ways.
    let counts = ok(py.global("counts"));
    assert_eq!(counts.type_name(), "dict");
    ok(counts.set_item(&mut py, &Value::from("b"), Value::Int(2)));
    assert_eq!(ok(py.eval("counts")), Value::Dict(vec![("a".into(), 1.into()), ("b".into(), 2.into())]));
    ok(py.exec("counts['c'] = 3"));
    assert_eq!(ok(counts.get_item(&mut py, &Value::from("c"))), Value::Int(3));
    assert_eq!(ok(counts.len(&mut py)), 3);
    let error = counts.get_item(&mut py, &Value::from("zz")).unwrap().result.unwrap_err();
    assert_eq!(error.type_name, "KeyError");

    let letters = ok(py.global("letters"));
    assert_eq!(ok(letters.items(&mut py)), vec![Value::from("x"), Value::from("y")]);
    let many = object(ok(py.eval("range(1000)")));
    assert!(many.is_iterable() && !many.is_callable());
    assert_eq!(ok(many.items(&mut py)).len(), 1000, "more items than one batch");
    assert_eq!(ok(many.repr(&mut py)), "range(0, 1000)");
    let date = object(ok(py.eval("__import__('datetime').date(2026, 12, 3)")));
    assert_eq!(ok(date.str(&mut py)), "2026-12-03");
    assert_eq!(ok(date.repr(&mut py)), "datetime.date(2026, 12, 3)");
}

#[test]
fn to_value_copies_containers_and_their_subclasses_down_to_a_depth() {
    let mut py = instance();
    ok(py.exec(
        "import collections\nordered = collections.OrderedDict(a=[1, [2]])\npoint = collections.namedtuple('P', 'x y')(1, 2)",
    ));
    let ordered = ok(py.global("ordered"));
    assert_eq!(
        ok(ordered.to_value(&mut py, None)),
        Value::Dict(vec![("a".into(), Value::List(vec![1.into(), Value::List(vec![2.into()])]))])
    );
    let Value::Dict(pairs) = ok(ordered.to_value(&mut py, Some(1))) else { panic!("a dict") };
    let Value::Object(inner) = &pairs[0].1 else { panic!("below the depth: live") };
    assert_eq!(inner.type_name(), "list");
    assert_eq!(ok(inner.to_value(&mut py, None)), Value::List(vec![1.into(), Value::List(vec![2.into()])]));
    assert_eq!(ok(ok(py.global("point")).to_value(&mut py, None)), Value::Tuple(vec![1.into(), 2.into()]));
    // The default rules copy exact types only: a named tuple stays live.
    assert!(matches!(ok(py.eval("point")), Value::Object(_)));
}

#[test]
fn a_python_object_sent_back_is_the_same_object() {
    let mut py = instance();
    let list = ok(py.to_py(&Value::List(vec![1.into()])));
    ok(py.exec("def keep(x):\n    global kept\n    kept = x\n    return x"));
    ok(py.call("keep", &[Value::Object(list.clone())], &[]));
    ok(py.exec("kept.append(2)"));
    assert_eq!(ok(list.to_value(&mut py, None)), Value::List(vec![1.into(), 2.into()]));
    let f = object(ok(py.eval("keep")));
    let back = object(ok(f.call(&mut py, &[Value::Object(f.clone())], &[])));
    assert_eq!(ok(py.call("id", &[Value::Object(back)], &[])), ok(py.eval("id(keep)")));
}

/// A Rust object with state, an attribute, a method and a setter.
#[derive(Default)]
struct Counter {
    count: Mutex<i64>,
}

impl HostObject for Counter {
    fn get(&self, name: &str) -> Result<Attribute, HostError> {
        Ok(match name {
            "count" => Attribute::Value(Value::Int(*self.count.lock().unwrap())),
            "add" | "fail" | "child" => Attribute::Method,
            _ => Attribute::Missing,
        })
    }

    fn set(&self, name: &str, value: Value) -> Result<(), HostError> {
        match (name, value) {
            ("count", Value::Int(n)) => {
                *self.count.lock().unwrap() = n;
                Ok(())
            }
            (name, value) => Err(HostError::new("TypeError", format!("cannot set {name} to {value}"))),
        }
    }

    fn call_method(
        &self,
        name: &str,
        args: &[Value],
        kwargs: &[(String, Value)],
    ) -> Result<Value, HostError> {
        match (name, args) {
            ("add", [Value::Int(n)]) => {
                let by = kwargs.iter().find(|(k, _)| k == "times").map_or(1, |(_, v)| match v {
                    Value::Int(t) => *t,
                    _ => 1,
                });
                let mut count = self.count.lock().unwrap();
                *count += n * by;
                Ok(Value::Int(*count))
            }
            ("fail", _) => Err(HostError {
                type_name: "CounterError".into(),
                message: "the counter refuses".into(),
                stack: "at Counter::fail (objects.rs)".into(),
            }),
            ("child", _) => Ok(Value::host_object(Counter::default())),
            _ => Err(HostError::new("TypeError", format!("bad call of {name}"))),
        }
    }
}

#[test]
fn python_calls_methods_and_reads_attributes_of_a_host_object() {
    let mut py = instance();
    let counter = Arc::new(Counter::default());
    let shared: Arc<dyn HostObject> = counter.clone();
    ok(py.exec("def use(c):\n    c.add(2)\n    c.add(1, times=3)\n    c.count += 10\n    return c.count"));
    assert_eq!(ok(py.call("use", &[Value::HostObject(shared.clone())], &[])), Value::Int(15));
    assert_eq!(*counter.count.lock().unwrap(), 15);
    // Python's errors and the host's, both ways.
    let code = "def attempt(c):\n    try:\n        c.fail()\n    except RuntimeError as e:\n        return [type(e).__name__, e.type_name, e.message, e.__notes__[0]]";
    ok(py.exec(code));
    let caught = ok(py.call("attempt", &[Value::HostObject(shared.clone())], &[]));
    assert_eq!(
        caught,
        Value::List(vec![
            "HostError".into(),
            "CounterError".into(),
            "the counter refuses".into(),
            "raised by the host at:\nat Counter::fail (objects.rs)".into(),
        ])
    );
    let error = py.call("use", &[Value::Int(1)], &[]).unwrap().result.unwrap_err();
    assert_eq!(error.type_name, "AttributeError");
    assert!(error.traceback.contains("line 2, in use"), "{}", error.traceback);
    ok(py.exec("def probe(c):\n    return c.nope"));
    let error = py.call("probe", &[Value::HostObject(shared.clone())], &[]).unwrap().result.unwrap_err();
    assert_eq!(
        (error.type_name.as_str(), error.message.as_str()),
        ("AttributeError", "host object has no attribute 'nope'")
    );
    // Sent back, it is the same Rust object.
    ok(py.exec("def same(x):\n    return x"));
    let Value::HostObject(back) = ok(py.call("same", &[Value::HostObject(shared.clone())], &[])) else {
        panic!("a host object")
    };
    assert!(*back == *shared);
}

#[test]
fn a_rust_function_is_a_callback_python_calls() {
    let mut py = instance();
    let double = Value::function(|args, _| match args {
        [Value::Int(n)] => Ok(Value::Int(n * 2)),
        _ => Err("double(n) takes an int".into()),
    });
    ok(py.exec("def apply(f, xs):\n    return [f(x) for x in xs]"));
    let doubled = ok(py.call("apply", &[double.clone(), Value::List(vec![1.into(), 2.into()])], &[]));
    assert_eq!(doubled, Value::List(vec![2.into(), 4.into()]));
    let error = py.call("apply", &[double, Value::List(vec!["x".into()])], &[]).unwrap().result.unwrap_err();
    assert_eq!(
        (error.type_name.as_str(), error.message.as_str()),
        ("pycomponent.HostError", "Error: double(n) takes an int")
    );
}

/// The plugin pattern: Python registers callbacks with a host function;
/// the host keeps them and calls them after the registering call returned.
#[test]
fn a_callback_python_registered_is_called_by_the_host_later() {
    let registered: Arc<Mutex<Vec<PyObject>>> = Arc::default();
    let keep = registered.clone();
    let host = HostModules::new().function("app", "on_save", move |args, _| match args {
        [Value::Object(callback)] if callback.is_callable() => {
            keep.lock().unwrap().push(callback.clone());
            Ok(Value::None)
        }
        _ => Err("on_save(callback) takes a function".into()),
    });
    let mut py = runtime().instantiate(host).unwrap();
    ok(py.exec(
        "import app\nsaved = []\ndef log(doc):\n    saved.append(doc)\n    return len(saved)\napp.on_save(log)\napp.on_save(lambda doc: doc.upper())",
    ));
    let callbacks = registered.lock().unwrap().clone();
    let results: Vec<Value> =
        callbacks.iter().map(|cb| ok(cb.call(&mut py, &[Value::from("draft")], &[]))).collect();
    assert_eq!(results, vec![Value::Int(1), Value::from("DRAFT")]);
    assert_eq!(ok(py.eval("saved")), Value::List(vec!["draft".into()]));
    let refused = py.exec("app.on_save(3)").unwrap().result.unwrap_err();
    assert_eq!(refused.message, "on_save(callback) takes a function");
}

#[test]
fn an_exception_in_a_proxied_call_is_a_value_with_its_traceback() {
    let mut py = instance();
    let f = object(ok(py.run("def explode(n):\n    return 1 // n\nexplode")));
    let error = f.call(&mut py, &[Value::Int(0)], &[]).unwrap().result.unwrap_err();
    assert_eq!(error.type_name, "ZeroDivisionError");
    assert!(error.traceback.contains("line 2, in explode"), "{}", error.traceback);
    assert_eq!(ok(f.call(&mut py, &[Value::Int(1)], &[])), Value::Int(1), "the instance goes on");
}

#[test]
fn an_object_of_another_or_a_dropped_instance_is_a_typed_error() {
    let mut first = instance();
    let mut second = instance();
    let f = object(ok(first.eval("len")));
    assert!(
        matches!(f.call(&mut second, &[Value::from("ab")], &[]), Err(Error::ForeignObject(t)) if t == "builtin_function_or_method")
    );
    assert!(matches!(second.call("len", &[Value::Object(f.clone())], &[]), Err(Error::ForeignObject(_))));
    drop(first);
    let mut third = instance();
    assert!(matches!(f.call(&mut third, &[], &[]), Err(Error::ForeignObject(_))));
    drop(f);
    assert_eq!(ok(third.eval("1")), Value::Int(1));
}

#[test]
fn the_handle_limit_is_a_python_error_and_the_host_goes_on() {
    let limits = Limits { python_objects: 3, max_instances: 2, ..Limits::default() };
    let runtime = Runtime::with_limits(&host_tests::component_path(), limits).unwrap();
    let mut py = runtime.instantiate(HostModules::new()).unwrap();
    let held: Vec<PyObject> = (0..3).map(|_| object(ok(py.eval("object()")))).collect();
    assert_eq!(py.python_objects().unwrap(), (3, 3));
    let error = py.eval("[object()]").unwrap().result.unwrap_err();
    assert_eq!(error.type_name, "MemoryError");
    assert!(error.message.contains("Limits::python_objects"), "{}", error.message);
    drop(held);
    assert!(matches!(ok(py.eval("object()")), Value::Object(_)), "released handles free the cap");
    assert_eq!(py.python_objects().unwrap(), (0, 3));
}

#[test]
fn a_hundred_thousand_handles_come_and_go_with_flat_memory() {
    let mut py = instance();
    ok(py.exec("import sys\ndef f(x):\n    return x"));
    let blocks = |py: &mut Instance| match ok(py.eval("sys.getallocatedblocks()")) {
        Value::Int(n) => n,
        other => panic!("{other}"),
    };
    // A warm-up first: the first rounds fill caches once (the handle
    // table, method caches), which is not a leak.
    for _ in 0..1_000 {
        drop(ok(py.global("f")));
    }
    let (handles_before, blocks_before) = (py.python_objects().unwrap().0, blocks(&mut py));
    for _ in 0..100_000 {
        let f = ok(py.global("f"));
        drop(f);
    }
    assert_eq!(py.python_objects().unwrap().0, handles_before);
    let grown = blocks(&mut py) - blocks_before;
    assert!(grown < 100, "{grown} more blocks after 100 000 rounds");
    // Host objects Python drops are released too.
    ok(py.exec("def churn(c, n):\n    for _ in range(n):\n        c.child()"));
    let counter = Value::host_object(Counter::default());
    ok(py.call("churn", &[counter, Value::Int(100_000)], &[]));
    ok(py.eval("None"));
    assert_eq!(py.host_objects(), 0, "every child was released");
}
