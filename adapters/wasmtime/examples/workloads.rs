//! Runs the workload programs of `bench/workloads/` inside the component and
//! prints, as one JSON object, each program's checksum and timed runs (the
//! timing happens inside Python, by `bench/harness.py`, exactly as for native
//! CPython, python.wasm, Node and Pyodide). A fresh instance per program.
//!
//! Run: `cargo run --release -p pycomponent --example workloads -- COMPONENT BENCH_DIR REPEAT [--no-timeout]`
//! (`cargo xtask bench` does). By default instances have a (generous)
//! timeout, as untrusted code needs; `--no-timeout` measures the engine
//! without interruption checks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use pycomponent::{HostModules, Limits, Runtime, Value};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (component, bench_dir, repeat, timeout) = match args.as_slice() {
        [c, b, r] => (c, b, r, Some(Duration::from_secs(600))),
        [c, b, r, flag] if flag == "--no-timeout" => (c, b, r, None),
        _ => bail!("usage: workloads COMPONENT BENCH_DIR REPEAT [--no-timeout]"),
    };
    let repeat: i64 = repeat.parse().context("REPEAT is a number")?;
    let bench_dir = PathBuf::from(bench_dir);
    let harness = std::fs::read_to_string(bench_dir.join("harness.py")).context("reading harness.py")?;
    let limits = Limits { memory_bytes: 1 << 30, timeout, ..Limits::default() };
    let runtime = Runtime::with_limits(Path::new(component), limits)?;
    let mut results = serde_json::Map::new();
    for (name, source) in workloads(&bench_dir)? {
        let mut py = runtime.instantiate(HostModules::new())?;
        py.add_module("pycomponent_harness", &harness, false)?.result.map_err(|e| anyhow::anyhow!("{e}"))?;
        let reply = py.call(
            "pycomponent_harness.measure",
            &[Value::from(source), Value::from(name.clone()), Value::Int(repeat)],
            &[],
        )?;
        let measured = reply.result.map_err(|e| anyhow::anyhow!("{name}: {e}\n{}", e.traceback))?;
        eprintln!("component: {name} done");
        results.insert(name.clone(), measured.to_json().map_err(|e| anyhow::anyhow!("{name}: {e}"))?);
    }
    println!("{}", serde_json::Value::Object(results));
    Ok(())
}

/// `(name, source)` of every `bench/workloads/*.py`, by name.
fn workloads(bench_dir: &Path) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(bench_dir.join("workloads"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "py") {
            let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            found.push((name, std::fs::read_to_string(&path)?));
        }
    }
    found.sort();
    Ok(found)
}
