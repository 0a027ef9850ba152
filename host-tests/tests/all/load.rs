//! Load: a full pool of live instances and a clean capacity error past it;
//! a soak of many short calls across reused and fresh instances with the
//! process's memory flat at the end.

use std::time::Instant;

use pycomponent::{Error, HostModules, Limits, Runtime, Value};

/// Private resident bytes of this process (Private_Clean + Private_Dirty).
fn private_bytes() -> u64 {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").expect("smaps_rollup");
    text.lines()
        .filter_map(|l| l.strip_prefix("Private_Clean:").or_else(|| l.strip_prefix("Private_Dirty:")))
        .map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().expect("a number") * 1024)
        .sum()
}

#[test]
fn a_thousand_live_instances_then_a_clean_capacity_error() {
    const POOL: u32 = 1000;
    let limits = Limits { max_instances: POOL, ..Limits::default() };
    let runtime = Runtime::with_limits(&host_tests::component_path(), limits).expect("compiles");
    let started = Instant::now();
    let mut live = Vec::with_capacity(POOL as usize);
    for i in 0..POOL {
        let mut py = runtime.instantiate(HostModules::new()).expect("fits in the pool");
        py.exec(&format!("n = {i}")).unwrap().result.unwrap();
        live.push(py);
    }
    let err = runtime.instantiate(HostModules::new()).unwrap_err();
    assert!(matches!(err, Error::Capacity(_)), "{err}");
    // Every instance kept its own state.
    for (i, py) in live.iter_mut().enumerate().step_by(97) {
        assert_eq!(py.eval("n").unwrap().result.unwrap(), Value::Int(i as i64));
    }
    eprintln!("{POOL} live instances in {:?}", started.elapsed());
    live.truncate(10);
    let mut again = runtime.instantiate(HostModules::new()).expect("a freed slot is reused");
    assert_eq!(again.eval("6 * 7").unwrap().result.unwrap(), Value::Int(42));
}

/// Calls per soak; `PYCOMPONENT_SOAK_CALLS=100000` runs the long form by hand.
fn soak_calls() -> usize {
    std::env::var("PYCOMPONENT_SOAK_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

/// The soak measures the memory of its whole process, so it runs alone: in
/// a child process that runs only [`soak_in_this_process`].
#[test]
fn a_soak_of_short_calls_keeps_memory_flat() {
    let exe = std::env::current_exe().expect("the test binary");
    let output = std::process::Command::new(exe)
        .args(["load::soak_in_this_process", "--exact", "--nocapture", "--include-ignored"])
        .env("PYCOMPONENT_SOAK_CHILD", "1")
        .output()
        .expect("the test binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{}", stderr.lines().filter(|l| l.starts_with("soak:")).collect::<Vec<_>>().join("\n"));
    assert!(
        output.status.success(),
        "the soak failed:\n{}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(stderr.contains("soak:"), "the soak did not run:\n{stderr}");
}

#[test]
#[ignore = "run by a_soak_of_short_calls_keeps_memory_flat in a process of its own"]
fn soak_in_this_process() {
    if std::env::var_os("PYCOMPONENT_SOAK_CHILD").is_none() {
        return;
    }
    let limits = Limits { max_instances: 8, ..Limits::default() };
    let runtime = Runtime::with_limits(&host_tests::component_path(), limits).expect("compiles");
    let host = HostModules::new().function("h", "add", |args, _| match args {
        [Value::Int(a), Value::Int(b)] => Ok(Value::Int(a + b)),
        _ => Err("add(a, b) takes two ints".into()),
    });
    let calls = soak_calls();
    let mut py = runtime.instantiate(host.clone()).unwrap();
    let (mut baseline, started) = (0, Instant::now());
    for i in 0..calls {
        // A fresh instance every 100 calls; the others reuse a live one.
        if i % 100 == 0 {
            py = runtime.instantiate(host.clone()).unwrap();
            py.exec("import h, json\nstate = []").unwrap().result.unwrap();
        }
        let code = match i % 4 {
            0 => "h.add(1, 2)",
            1 => "json.dumps({'i': len(state)})",
            2 => "state.append(1) or len(state)",
            _ => "sum(range(100))",
        };
        py.eval(code).unwrap().result.unwrap();
        if i == calls / 10 {
            baseline = private_bytes();
        }
    }
    drop(py);
    let end = private_bytes();
    let growth = end as i64 - baseline as i64;
    eprintln!(
        "soak: {calls} calls in {:?}; private memory {:.1} MB after 10%, {:.1} MB at the end ({:+.1} MB)",
        started.elapsed(),
        baseline as f64 / 1e6,
        end as f64 / 1e6,
        growth as f64 / 1e6
    );
    assert!(growth < 32 << 20, "private memory grew by {growth} bytes over the soak");
}
