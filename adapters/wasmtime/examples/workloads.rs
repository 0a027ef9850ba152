//! Runs the workload programs of `bench/workloads/` inside the component and
//! prints, as one JSON object, each program's checksum and timed runs (the
//! timing happens inside Python, by `bench/harness.py`, exactly as for native
//! CPython, python.wasm, Node and Pyodide). A fresh instance per program.
//!
//! Run: `cargo run --release -p pycomponent --example workloads -- COMPONENT BENCH_DIR REPEAT [--no-timeout] [--set DIR]`
//! (`cargo xtask bench` does). By default instances have a (generous)
//! timeout, as untrusted code needs; `--no-timeout` measures the engine
//! without interruption checks. `--set` names another directory of
//! programs in BENCH_DIR than `workloads` (`numpy-workloads`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use pycomponent::{HostModules, Limits, Runtime, Value};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: workloads COMPONENT BENCH_DIR REPEAT [--no-timeout] [--set DIR]";
    let [component, bench_dir, repeat, options @ ..] = args.as_slice() else { bail!(usage) };
    let mut timeout = Some(Duration::from_secs(600));
    let mut set = "workloads";
    let mut options = options.iter();
    while let Some(option) = options.next() {
        match option.as_str() {
            "--no-timeout" => timeout = None,
            "--set" => set = options.next().context(usage)?,
            _ => bail!(usage),
        }
    }
    let repeat: i64 = repeat.parse().context("REPEAT is a number")?;
    let bench_dir = PathBuf::from(bench_dir);
    let harness = std::fs::read_to_string(bench_dir.join("harness.py")).context("reading harness.py")?;
    let limits = Limits { memory_bytes: 1 << 30, timeout, ..Limits::default() };
    let runtime = Runtime::with_limits(Path::new(component), limits)?;
    let mut results = serde_json::Map::new();
    for (name, source) in workloads(&bench_dir.join(set))? {
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

/// `(name, source)` of every `*.py` in `dir`, by name.
fn workloads(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "py") {
            let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            found.push((name, std::fs::read_to_string(&path)?));
        }
    }
    found.sort();
    Ok(found)
}
