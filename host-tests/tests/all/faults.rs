//! The fault matrix: hostile code, bad input and faulty host functions
//! against the component through the Wasmtime adapter. Every case ends with
//! a canary call on a fresh instance, and none may take the host process
//! down. docs/SECURITY.md has one row per case.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pycomponent::{Error, HostModules, Instance, Limits, Mount, Reply, Runtime, Value};

const MEMORY_CAP: usize = 256 << 20;
const TIMEOUT: Duration = Duration::from_secs(1);

/// A runtime with the limits an edge platform would set (its own pool).
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let limits = Limits {
            memory_bytes: MEMORY_CAP,
            timeout: Some(TIMEOUT),
            max_instances: 16,
            ..Limits::default()
        };
        Runtime::with_limits(&host_tests::component_path(), limits).expect("the component compiles")
    })
}

fn fresh() -> Instance {
    runtime().instantiate(HostModules::new()).expect("instantiates")
}

/// A fresh instance still works: the fault did not damage the runtime.
fn canary() {
    assert_eq!(fresh().eval("6 * 7").unwrap().result.unwrap(), Value::Int(42), "canary");
}

/// What a run of hostile code ended in.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// A Python exception of this type; the instance stays usable.
    Raised(String),
    /// Stopped by the timeout.
    Timeout,
    /// Stopped by a trap other than the timeout (the instance is retired).
    Trap,
    /// Finished normally.
    Finished,
}

fn outcome(reply: Result<Reply<()>, Error>) -> Outcome {
    match reply {
        Ok(Reply { result: Ok(()), .. }) => Outcome::Finished,
        Ok(Reply { result: Err(e), .. }) => Outcome::Raised(e.type_name),
        Err(Error::Timeout(_)) => Outcome::Timeout,
        Err(Error::Trap(_)) | Err(Error::MemoryLimit(_)) => Outcome::Trap,
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// Runs `code` in a fresh instance, then the canary.
fn run(code: &str) -> Outcome {
    let started = Instant::now();
    let result = outcome(fresh().exec(code));
    assert!(started.elapsed() < TIMEOUT * 20, "{code}: took {:?}", started.elapsed());
    eprintln!("fault {code:?}: {result:?} after {:?}", started.elapsed());
    canary();
    result
}

fn raised(name: &str) -> Outcome {
    Outcome::Raised(name.into())
}

#[test]
fn cpu_bound_code_is_stopped_by_the_timeout() {
    for code in [
        "while True: pass",
        "try:\n    while True: pass\nexcept BaseException:\n    pass",
        "while True:\n    try:\n        while True: pass\n    finally:\n        pass",
        "x = 10**(10**8)",
        "import re\nre.match('(a+)+$', 'a' * 64 + 'b')",
    ] {
        assert_eq!(run(code), Outcome::Timeout, "{code}");
    }
    // A hundred million ints do not fit under the memory cap: whichever comes first.
    let sorted = run("sorted(range(10**8))");
    assert!(matches!(&sorted, Outcome::Timeout) || sorted == raised("MemoryError"), "{sorted:?}");
}

#[test]
fn recursion_ends_in_a_python_error_or_a_reported_trap() {
    let mut py = fresh();
    let reply = py.exec("def f(): f()\nf()").unwrap();
    assert_eq!(reply.result.unwrap_err().type_name, "RecursionError");
    assert_eq!(py.eval("'usable'").unwrap().result.unwrap(), Value::from("usable"), "the instance goes on");
    for code in [
        "import sys\nsys.setrecursionlimit(10**6)\ndef f(): f()\nf()",
        "import sys, json\nsys.setrecursionlimit(10**6)\njson.loads('[' * 10**6 + ']' * 10**6)",
        "import sys\nsys.setrecursionlimit(10**6)\neval('(' * 10**5 + ')' * 10**5)",
        "import sys, pickle\nsys.setrecursionlimit(10**6)\nx = []\nfor _ in range(10**5): x = [x]\npickle.dumps(x)",
        "import sys, copy\nsys.setrecursionlimit(10**6)\nx = []\nfor _ in range(10**5): x = [x]\nrepr(x)",
    ] {
        // Deep Python recursion takes no C stack in 3.11: it may also run into the timeout.
        let result = run(code);
        assert!(
            matches!(result, Outcome::Raised(_) | Outcome::Trap | Outcome::Timeout),
            "{code}: {result:?}"
        );
    }
}

#[test]
fn memory_bombs_end_in_memory_error() {
    assert_eq!(run("bytearray(1_900_000_000)"), raised("MemoryError"));
    assert_eq!(run("x = []\nwhile True: x.append(' ' * 10**6)"), raised("MemoryError"));
    let repeat = run("'a' * 10**10");
    assert!(repeat == raised("MemoryError") || repeat == raised("OverflowError"), "{repeat:?}");
    assert_eq!(run("b = bytes(10**8)\nc = [b + b'x' for _ in range(10)]"), raised("MemoryError"));
}

#[test]
fn huge_int_to_str_is_refused_and_the_timeout_is_the_backstop() {
    let mut py = fresh();
    let err = py.eval("str(10**100000)").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ValueError");
    assert!(err.message.contains("4300"), "{}", err.message);
    assert_eq!(run("import sys\nsys.set_int_max_str_digits(0)\ns = str(10**(10**6))"), Outcome::Timeout);
}

#[test]
fn unavailable_features_raise_python_exceptions() {
    for code in [
        "import threading\nthreading.Thread(target=print).start()",
        "import subprocess\nsubprocess.run(['ls'])",
        "import ctypes",
        "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', 80))",
        "import os\nos.system('ls')",
        "import os\nos.fork()",
        "import multiprocessing",
        "import signal\nsignal.alarm(1)",
    ] {
        let result = run(code);
        assert!(matches!(result, Outcome::Raised(_)), "{code}: {result:?}");
    }
}

#[test]
fn files_outside_granted_directories_are_unreachable() {
    let outside = std::env::temp_dir().join(format!("pycomponent-outside-{}", std::process::id()));
    let granted = std::env::temp_dir().join(format!("pycomponent-granted-{}", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(&granted).unwrap();
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    std::fs::write(granted.join("data.txt"), "data").unwrap();
    let link = granted.join("escape");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(outside.join("secret.txt"), &link).unwrap();
    let mount = Mount { host: granted.clone(), guest: "/data".into(), writable: false };
    let mut py = runtime().instantiate_with_mounts(HostModules::new(), &[mount]).unwrap();
    let read = |py: &mut Instance, path: &str| {
        py.eval(&format!("open({path:?}).read()")).unwrap().result.map_err(|e| e.type_name)
    };
    assert_eq!(read(&mut py, "/data/data.txt"), Ok(Value::from("data")));
    for path in ["/etc/passwd", "/data/../etc/passwd", "/data/../../../../etc/passwd", "/data/escape"] {
        assert!(read(&mut py, path).is_err(), "{path} must not be readable");
    }
    let secret_path = outside.join("secret.txt").display().to_string();
    assert!(read(&mut py, &secret_path).is_err(), "a host path is not a guest path");
    let write = py.exec("open('/data/new.txt', 'w').write('x')").unwrap().result.unwrap_err();
    assert!(["PermissionError", "OSError"].contains(&write.type_name.as_str()), "{}", write.type_name);
    assert!(!granted.join("new.txt").exists(), "a read-only mount is not written");
    let environ = py.eval("dict(__import__('os').environ)").unwrap().result.unwrap();
    assert_eq!(
        environ,
        Value::Dict(vec![(Value::from("HOME"), Value::from("/home/user"))]),
        "only the guest's own"
    );
    let root = py.eval("sorted(__import__('os').listdir('/'))").unwrap().result.unwrap();
    assert_eq!(root.to_string(), "['data', 'dev', 'home', 'tmp', 'usr']", "the instance's own tree");
    let _ = std::fs::remove_dir_all(&outside);
    let _ = std::fs::remove_dir_all(&granted);
    canary();
}

#[test]
fn faulty_host_functions_do_not_take_the_host_down() {
    let host = HostModules::new()
        .function("h", "fails", |_, _| Err("database unavailable".into()))
        .function("h", "panics", |_, _| panic!("a bug in the host function"))
        .function("h", "slow", |_, _| {
            std::thread::sleep(TIMEOUT + Duration::from_millis(500));
            Ok(Value::None)
        })
        .function("h", "huge", |_, _| Ok(Value::Str("x".repeat(100 << 20))))
        .function("h", "echo", |args, _| Ok(args.first().cloned().unwrap_or(Value::None)));
    let mut py = runtime().instantiate(host).unwrap();
    let caught = "import h\ntry:\n    h.{f}()\nexcept RuntimeError as e:\n    message = str(e)\nmessage";
    for (f, expected) in [("fails", "database unavailable"), ("panics", "panicked"), ("huge", "too large")] {
        let message = py.run(&caught.replace("{f}", f)).unwrap().result.unwrap();
        assert!(matches!(&message, Value::Str(m) if m.contains(expected)), "{f}: {message}");
    }
    // Strings crossing the boundary are valid UTF-8 both ways; a lone
    // surrogate is refused before the host function runs.
    let refused = py.eval("h.echo('a\\ud800b')").unwrap().result.unwrap_err();
    assert_eq!(refused.type_name, "ValueError", "{refused}");
    // A host function cannot be interrupted, but the call ends at the next check after it returns.
    let started = Instant::now();
    let slow = py.exec("import h\nh.slow()\nwhile True: pass").unwrap_err();
    assert!(matches!(slow, Error::Timeout(_)), "{slow}");
    assert!(started.elapsed() < TIMEOUT * 5, "{:?}", started.elapsed());
    canary();
}

#[test]
fn oversized_values_get_typed_errors() {
    let mut py = fresh();
    for expression in
        ["'x' * (100 << 20)", "[0] * 10**7", "b'x' * (65 << 20)", "{i: i for i in range(600_000)}"]
    {
        let err = py.eval(expression).unwrap().result.unwrap_err();
        assert_eq!(err.type_name, "ValueError", "{expression}");
        assert!(err.message.contains("too large"), "{expression}: {}", err.message);
    }
    assert_eq!(py.eval("len('x' * (60 << 20))").unwrap().result.unwrap(), Value::Int(60 << 20));
    let big = Value::List(vec![Value::Int(1); 2_000_000]);
    assert!(matches!(py.call("len", &[big], &[]), Err(Error::InvalidInput(_))));
    let long_source = format!("x = '{}'", "y".repeat(70 << 20));
    assert!(matches!(py.exec(&long_source), Err(Error::InvalidInput(_))));
    assert_eq!(py.eval("'still usable'").unwrap().result.unwrap(), Value::from("still usable"));
}

#[test]
fn an_output_flood_is_capped() {
    let mut py = fresh();
    let reply = py.exec("for _ in range(100): print('x' * 10**6)").unwrap();
    reply.result.unwrap();
    assert!(reply.output.stdout.len() < (8 << 20) + 200, "{}", reply.output.stdout.len());
    assert!(reply.output.stdout.ends_with("bytes of output dropped]\n"), "the cut is said");
    let next = py.exec("print('next call')").unwrap();
    assert_eq!(next.output.stdout, "next call\n", "the cap is per call");
}

#[test]
fn nothing_leaks_between_instances() {
    let mut a = fresh();
    a.exec(
        "import json, builtins, sys\njson.dumps = lambda *a, **k: 'patched'\nbuiltins.len = lambda x: -1\n\
         secret = 'a'\nsys.modules['planted'] = json",
    )
    .unwrap()
    .result
    .unwrap();
    let mut b = fresh();
    assert!(b.eval("secret").unwrap().result.is_err());
    assert_eq!(b.eval("__import__('json').dumps(1)").unwrap().result.unwrap(), Value::from("1"));
    assert_eq!(b.eval("len('ab')").unwrap().result.unwrap(), Value::Int(2));
    assert_eq!(b.eval("'planted' in __import__('sys').modules").unwrap().result.unwrap(), Value::Bool(false));
    assert_eq!(a.eval("len('ab')").unwrap().result.unwrap(), Value::Int(-1), "a keeps its own state");
}

/// WASI paths are strings: a path that is not UTF-8 (bytes, or a str with
/// a lone surrogate) is refused by CPython with `UnicodeDecodeError` (our
/// patch, xtask/patches/python3.11) instead of reaching the WASI adapter,
/// which could not hand it to the host and used to trap the instance.
#[test]
fn a_non_utf8_path_is_refused_with_a_python_error() {
    let dir = std::env::temp_dir().join(format!("pycomponent-paths-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mount = Mount { host: dir.clone(), guest: "/data".into(), writable: true };
    let mut py = runtime().instantiate_with_mounts(HostModules::new(), &[mount]).unwrap();
    py.exec("import os").unwrap().result.unwrap();
    for code in [
        "os.stat(b'/data/\\xff')",
        "open('/data/\\udcff', 'w')",
        "os.listdir(b'/data/\\xc3')",
        "os.chdir('/data')\nos.mkdir(b'\\xff')",
        "os.stat(b'/elsewhere/\\xff')",
    ] {
        let err = py.exec(code).unwrap_or_else(|e| panic!("{code}: {e}")).result.unwrap_err();
        assert_eq!(err.type_name, "UnicodeDecodeError", "{code}: {}", err.message);
    }
    py.exec("open('/data/ok-é.txt', 'w').write('x')").unwrap().result.unwrap();
    assert!(dir.join("ok-é.txt").exists(), "UTF-8 paths still work");
    let _ = std::fs::remove_dir_all(&dir);
    canary();
}
