//! The Python component through the Wasmtime adapter: values, state, errors,
//! output, imports, user modules and host calls.

use std::sync::OnceLock;

use pycomponent::{HostModules, Instance, Runtime, Value};

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(&host_tests::component_path()).expect("the component compiles"))
}

fn instance() -> Instance {
    runtime().instantiate(HostModules::new()).expect("instantiates")
}

fn eval(instance: &mut Instance, expression: &str) -> Value {
    let reply = instance.eval(expression).expect("no trap");
    reply.result.unwrap_or_else(|e| panic!("{expression}: {e}\n{}", e.traceback))
}

#[test]
fn values_come_back_losslessly() {
    let mut py = instance();
    assert_eq!(eval(&mut py, "1 + 1"), Value::Int(2));
    assert_eq!(eval(&mut py, "None"), Value::None);
    assert_eq!(eval(&mut py, "2**100"), Value::BigInt("1267650600228229401496703205376".into()));
    assert_eq!(eval(&mut py, "-2**63"), Value::Int(i64::MIN));
    assert_eq!(eval(&mut py, "'é' * 2"), Value::Str("éé".into()));
    assert_eq!(eval(&mut py, "b'\\x00\\xff'"), Value::Bytes(vec![0, 255]));
    assert!(matches!(eval(&mut py, "float('nan')"), Value::Float(f) if f.is_nan()));
    assert_eq!(eval(&mut py, "float('-inf')"), Value::Float(f64::NEG_INFINITY));
    assert_eq!(
        eval(&mut py, "{(1, 2): [True, {3}], None: frozenset()}"),
        Value::Dict(vec![
            (
                Value::Tuple(vec![Value::Int(1), Value::Int(2)]),
                Value::List(vec![Value::Bool(true), Value::Set(vec![Value::Int(3)])])
            ),
            (Value::None, Value::FrozenSet(vec![])),
        ])
    );
    assert_eq!(
        eval(&mut py, "__import__('datetime').date(2026, 11, 25)"),
        Value::Opaque { type_name: "datetime.date".into(), repr: "datetime.date(2026, 11, 25)".into() }
    );
}

#[test]
fn values_go_in_losslessly() {
    let mut py = instance();
    py.exec("def describe(*args, **kwargs): return [repr(a) for a in args], sorted(kwargs.items())")
        .unwrap()
        .result
        .unwrap();
    let args = [
        Value::BigInt("-98765432109876543210".into()),
        Value::Tuple(vec![Value::Bytes(b"x".to_vec())]),
        Value::Dict(vec![(Value::Int(1), Value::FrozenSet(vec![Value::from("a")]))]),
    ];
    let reply = py.call("describe", &args, &[("flag", Value::Bool(false))]).unwrap();
    assert_eq!(
        reply.result.unwrap().to_string(),
        r#"(['-98765432109876543210', "(b'x',)", "{1: frozenset({'a'})}"], [('flag', False)])"#
    );
}

#[test]
fn state_persists_between_calls() {
    let mut py = instance();
    py.exec("import json\ncounter = 41").unwrap().result.unwrap();
    py.exec("counter += 1").unwrap().result.unwrap();
    assert_eq!(eval(&mut py, "json.dumps({'n': counter})"), Value::Str("{\"n\": 42}".into()));
}

#[test]
fn exceptions_are_values_and_the_instance_stays_usable() {
    let mut py = instance();
    let err = py.eval("1 / 0").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ZeroDivisionError");
    assert_eq!(err.message, "division by zero");
    assert!(err.traceback.contains("Traceback (most recent call last)"), "{}", err.traceback);
    let err = py.exec("import json\njson.loads('{')").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "json.decoder.JSONDecodeError");
    let err = py.exec("def f(:").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "SyntaxError");
    let err = py.exec("raise SystemExit(3)").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "SystemExit");
    assert_eq!(eval(&mut py, "'still here'"), Value::Str("still here".into()));
}

#[test]
fn output_is_captured_per_call() {
    let mut py = instance();
    let reply = py.exec("import sys\nprint('hello')\nprint('oops', file=sys.stderr)").unwrap();
    assert_eq!(reply.output.stdout, "hello\n");
    assert_eq!(reply.output.stderr, "oops\n");
    let reply = py.eval("print('again') or 7").unwrap();
    assert_eq!(reply.output.stdout, "again\n");
    assert_eq!(reply.result.unwrap(), Value::Int(7));
    let reply = py.exec("print('before'); raise KeyError('k')").unwrap();
    assert_eq!(reply.output.stdout, "before\n", "output is kept when the call fails");
}

/// The standard library is inside the component: modules the snapshot did
/// not import load at run time without any file system.
#[test]
fn stdlib_modules_import_at_run_time_without_files() {
    let mut py = instance();
    let preloaded = eval(
        &mut py,
        "sorted(m for m in ('json', 're', 'sqlite3', 'email.mime.text') if m in __import__('sys').modules)",
    );
    assert_eq!(preloaded.to_string(), "['json', 're']");
    for name in [
        "sqlite3",
        "decimal",
        "email.mime.text",
        "xml.etree.ElementTree",
        "zoneinfo",
        "asyncio",
        "unittest.mock",
    ] {
        py.import_module(name).unwrap().result.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let rows = eval(&mut py, "__import__('sqlite3').connect(':memory:').execute('select 6*7').fetchall()");
    assert_eq!(rows.to_string(), "[(42,)]");
    let err = py.exec("open('/usr/local/lib/python3.11/os.py')").unwrap().result.unwrap_err();
    assert!(err.type_name.ends_with("Error"), "no file system: {err}");
    let err = py.import_module("no_such_module").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ModuleNotFoundError");
}

#[test]
fn user_modules_and_packages() {
    let mut py = instance();
    py.add_module("shapes", "", true).unwrap().result.unwrap();
    py.add_module("shapes.square", "def area(side):\n    return side * side\n", false)
        .unwrap()
        .result
        .unwrap();
    py.add_module("greet", "def hello(name, punct='!'):\n    return f'hello {name}{punct}'\n", false)
        .unwrap()
        .result
        .unwrap();
    let reply = py.call("shapes.square.area", &[Value::Int(7)], &[]).unwrap();
    assert_eq!(reply.result.unwrap(), Value::Int(49));
    let reply = py.call("greet.hello", &[Value::from("wasm")], &[("punct", Value::from("?"))]).unwrap();
    assert_eq!(reply.result.unwrap(), Value::from("hello wasm?"));
    let err = py.add_module("broken", "def f(:\n", false).unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "SyntaxError");
    let err = py.call("no_such_module.f", &[], &[]).unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ModuleNotFoundError");
    assert_eq!(py.call("len", &[Value::from("abc")], &[]).unwrap().result.unwrap(), Value::Int(3));
}

#[test]
fn python_calls_host_functions() {
    let host = HostModules::new()
        .function("kv", "get", |args, _| match args {
            [Value::Str(key)] if key == "user:1" => Ok(Value::from("ada")),
            [Value::Str(key)] => Err(format!("no key {key}")),
            _ => Err("get(key) takes one string".into()),
        })
        .function("kv", "echo", |args, kwargs| {
            Ok(Value::Tuple(vec![
                Value::List(args.to_vec()),
                Value::Dict(kwargs.iter().map(|(k, v)| (Value::from(k.as_str()), v.clone())).collect()),
            ]))
        })
        .function("kv", "explode", |_, _| panic!("host bug"));
    let mut py = runtime().instantiate(host).unwrap();
    assert_eq!(eval(&mut py, "__import__('kv').get('user:1')"), Value::from("ada"));
    py.exec("import kv\ntry:\n    kv.get('user:2')\nexcept RuntimeError as e:\n    caught = str(e)")
        .unwrap()
        .result
        .unwrap();
    assert_eq!(eval(&mut py, "caught"), Value::from("no key user:2"));
    assert_eq!(eval(&mut py, "kv.echo(1, [2.5], b=None)").to_string(), "([1, [2.5]], {'b': None})");
    let err = py.eval("kv.explode()").unwrap().result.unwrap_err();
    assert_eq!(
        (err.type_name.as_str(), err.message.as_str()),
        ("RuntimeError", "host function kv.explode panicked")
    );
    assert_eq!(eval(&mut py, "1"), Value::Int(1));
}

/// Instances made from one snapshot do not share random state.
#[test]
fn instances_get_their_own_random_seed() {
    let draw = "__import__('random').getrandbits(64)";
    let (mut a, mut b) = (instance(), instance());
    assert_ne!(eval(&mut a, draw), eval(&mut b, draw));
}
