//! Per-instance limits: the timeout stops a runaway call, the memory cap
//! stops a memory bomb, the pool refuses instances past its size; the host
//! survives each and a new instance works.

use std::sync::OnceLock;
use std::time::Duration;

use pycomponent::{Error, HostModules, Limits, Runtime, Value};

const MEMORY_CAP: usize = 128 << 20;
const POOL: u32 = 4;

/// A runtime with tight limits (its own pool, separate from the other tests).
fn strict() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let limits = Limits {
            memory_bytes: MEMORY_CAP,
            timeout: Some(Duration::from_millis(300)),
            max_instances: POOL,
            ..Limits::default()
        };
        Runtime::with_limits(&host_tests::component_path(), limits).expect("the component compiles")
    })
}

/// Serializes the tests of this module: they share a pool of four slots.
fn pool_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn canary(runtime: &Runtime) {
    let mut py = runtime.instantiate(HostModules::new()).expect("a fresh instance after the failure");
    assert_eq!(py.eval("6 * 7").unwrap().result.unwrap(), Value::Int(42));
}

#[test]
fn timeout_stops_an_endless_loop_even_inside_try() {
    let _pool = pool_lock();
    for code in ["while True: pass", "try:\n    while True: pass\nexcept BaseException:\n    pass"] {
        let mut py = strict().instantiate(HostModules::new()).unwrap();
        let err = py.exec(code).unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{code}: {err}");
        assert!(matches!(py.eval("1"), Err(Error::Trapped)), "a trapped instance refuses calls");
        canary(strict());
    }
}

#[test]
fn timeout_stops_an_asyncio_sleep_and_a_busy_task() {
    let _pool = pool_lock();
    for code in [
        "import asyncio\nasyncio.run(asyncio.sleep(60))",
        "import asyncio\nasync def spin():\n    while True: pass\nasyncio.run(spin())",
    ] {
        let mut py = strict().instantiate(HostModules::new()).unwrap();
        let started = std::time::Instant::now();
        let err = py.exec(code).unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{code}: {err}");
        assert!(started.elapsed() < Duration::from_secs(10), "{code}: stopped near the timeout");
        canary(strict());
    }
}

#[test]
fn memory_cap_gives_memory_error_and_the_host_survives() {
    let _pool = pool_lock();
    let mut py = strict().instantiate(HostModules::new()).unwrap();
    let err = py.eval("bytearray(1_900_000_000)").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "MemoryError");
    let reply = py.exec("chunks = []\ntry:\n    while True: chunks.append(bytes(10**6))\nexcept MemoryError:\n    n = len(chunks)\n    chunks = None").unwrap();
    reply.result.unwrap();
    let n = py.eval("n").unwrap().result.unwrap();
    assert!(matches!(n, Value::Int(n) if n > 10 && (n as usize) < MEMORY_CAP >> 20), "{n}");
    assert_eq!(py.eval("'usable'").unwrap().result.unwrap(), Value::from("usable"));
    canary(strict());
}

#[test]
fn the_pool_refuses_instances_beyond_its_size() {
    let _pool = pool_lock();
    let live: Vec<_> = (0..POOL).map(|_| strict().instantiate(HostModules::new()).unwrap()).collect();
    let err = strict().instantiate(HostModules::new()).unwrap_err();
    assert!(matches!(err, Error::Capacity(_)), "{err}");
    drop(live);
    canary(strict());
}

/// Without a timeout the engine compiles no interruption checks (faster
/// code); the runtime still works, memory cap included.
#[test]
fn a_runtime_without_timeout_runs_and_caps_memory() {
    let limits = Limits { memory_bytes: MEMORY_CAP, timeout: None, max_instances: 2, ..Limits::default() };
    let runtime = Runtime::with_limits(&host_tests::component_path(), limits).expect("compiles");
    let mut py = runtime.instantiate(HostModules::new()).expect("instantiates");
    assert_eq!(py.eval("sum(range(10**6))").unwrap().result.unwrap(), Value::Int(499999500000));
    let err = py.exec("x = bytearray(512 << 20)").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "MemoryError");
}

/// A runtime made from bytes whose SHA-256 was computed ahead of time (as
/// the CLI does at build time) is the same runtime.
#[test]
fn a_runtime_from_bytes_with_a_precomputed_digest() {
    let path = host_tests::component_path();
    let bytes = std::fs::read(&path).expect("reads the component");
    let digest = std::process::Command::new("sha256sum").arg(&path).output().expect("sha256sum runs");
    let hex = String::from_utf8(digest.stdout).expect("hex");
    let mut sha256 = [0u8; 32];
    for (i, byte) in sha256.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex digit");
    }
    let runtime = Runtime::from_bytes_with_digest(&bytes, &sha256, Limits::default()).expect("compiles");
    let mut py = runtime.instantiate(HostModules::new()).expect("instantiates");
    assert_eq!(py.eval("6 * 7").unwrap().result.unwrap(), Value::Int(42));
}
