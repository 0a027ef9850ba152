//! Taking the measurements: processes timed from outside, the workload
//! programs in each runtime (timed inside Python by `bench/harness.py`),
//! criterion's estimates, memory per instance and Node's figures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::stats::Summary;
use crate::shell;

/// One workload program in one runtime: its checksum and call times
/// (seconds), or why it could not run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Workload {
    Ran { check: String, seconds: Summary },
    Failed { error: String },
}

impl Workload {
    /// The median seconds, if it ran.
    pub fn median(&self) -> Option<f64> {
        match self {
            Workload::Ran { seconds, .. } => Some(seconds.median),
            Workload::Failed { .. } => None,
        }
    }

    /// From the harness's JSON (`{"check", "times"}` or `{"error"}`).
    fn from_json(value: &serde_json::Value) -> Workload {
        if let Some(error) = value.get("error").and_then(|e| e.as_str()) {
            return Workload::Failed { error: error.to_string() };
        }
        let times: Vec<f64> = value["times"]
            .as_array()
            .map(|t| t.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default();
        match (value["check"].as_str(), Summary::of(&times)) {
            (Some(check), Some(seconds)) => Workload::Ran { check: check.to_string(), seconds },
            _ => Workload::Failed { error: format!("unexpected harness output: {value}") },
        }
    }
}

/// Results of one runtime, by program name.
pub type Workloads = BTreeMap<String, Workload>;

/// The programs of the standard workload set (`bench/workloads`).
pub const WORKLOADS: &str = "workloads";
/// numpy's programs, for its variant (`bench/numpy-workloads`).
pub const NUMPY_WORKLOADS: &str = "numpy-workloads";

/// The program names of workload set `set` (`bench/<set>/*.py`), sorted.
pub fn workload_names(bench_dir: &Path, set: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(bench_dir.join(set)).with_context(|| format!("reading bench/{set}"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "py") {
            names.push(path.file_stem().unwrap_or_default().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Wall-clock milliseconds of `runs` runs of a command (after one warm-up run).
pub fn time_process(make: impl Fn() -> Command, runs: usize) -> Result<Summary> {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..=runs {
        let mut cmd = make();
        let shown = shell::display_command(&cmd);
        let started = Instant::now();
        let status = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("starting {shown}"))?;
        let elapsed = started.elapsed().as_secs_f64() * 1e3;
        if !status.success() {
            bail!("{shown} failed ({status})");
        }
        if i > 0 {
            samples.push(elapsed);
        }
    }
    Summary::of(&samples).context("no runs")
}

/// Each workload run by a Python command line: `argv + [harness.py, workload.py, repeat]`
/// with paths as the command sees them (`guest_bench_dir`).
pub fn workloads_by_command(
    make: impl Fn() -> Command,
    bench_dir: &Path,
    guest_bench_dir: &str,
    repeat: usize,
    label: &str,
    set: &str,
) -> Result<Workloads> {
    let mut results = Workloads::new();
    for name in workload_names(bench_dir, set)? {
        let mut cmd = make();
        cmd.arg(format!("{guest_bench_dir}/harness.py"))
            .arg(format!("{guest_bench_dir}/{set}/{name}.py"))
            .arg(repeat.to_string());
        let result = match shell::output(&mut cmd) {
            Ok(text) => match serde_json::from_str::<serde_json::Value>(text.trim()) {
                Ok(value) => Workload::from_json(&value),
                Err(e) => Workload::Failed { error: format!("unreadable output: {e}") },
            },
            Err(e) => {
                Workload::Failed { error: format!("{e:#}").lines().last().unwrap_or("failed").to_string() }
            }
        };
        eprintln!(
            "    {label}: {name} {}",
            result.median().map_or("failed".into(), |s| format!("{:.1} ms", s * 1e3))
        );
        results.insert(name, result);
    }
    Ok(results)
}

/// Runs an example of the `pycomponent` crate in release mode and parses its JSON output.
pub fn cargo_example(name: &str, args: &[&std::ffi::OsStr]) -> Result<serde_json::Value> {
    let mut cmd = crate::cargo();
    cmd.args(["run", "--quiet", "--release", "--package", "pycomponent", "--example", name, "--"]).args(args);
    let text = shell::output(&mut cmd)?;
    serde_json::from_str(text.trim()).with_context(|| format!("example {name} printed no JSON: {text}"))
}

/// The workloads of set `set` inside the component, through the Rust
/// library; with the default timeout checks, or without (`timeout: false`).
pub fn component_workloads(
    component: &Path,
    bench_dir: &Path,
    repeat: usize,
    timeout: bool,
    set: &str,
) -> Result<Workloads> {
    let repeat = repeat.to_string();
    let mut args = vec![component.as_os_str(), bench_dir.as_os_str(), repeat.as_ref()];
    if !timeout {
        args.push("--no-timeout".as_ref());
    }
    args.extend([std::ffi::OsStr::new("--set"), std::ffi::OsStr::new(set)]);
    Ok(parse_workloads(&cargo_example("workloads", &args)?))
}

fn parse_workloads(value: &serde_json::Value) -> Workloads {
    value
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), Workload::from_json(v))).collect())
        .unwrap_or_default()
}

/// The workloads in Node: `(pycomponent, pyodide)`.
pub fn node_workloads(js_dir: &Path, repeat: usize) -> Result<(Workloads, Workloads)> {
    let text = shell::output(
        Command::new("node")
            .arg("bench/workloads.mjs")
            .arg(repeat.to_string())
            .current_dir(js_dir)
            .stderr(Stdio::inherit()),
    )?;
    let value: serde_json::Value =
        serde_json::from_str(text.trim()).context("bench/workloads.mjs printed no JSON")?;
    Ok((parse_workloads(&value["pycomponent"]), parse_workloads(&value["pyodide"])))
}

/// Node start-up and download sizes of pycomponent and Pyodide (`bench/startup.mjs --json`).
pub fn node_startup(js_dir: &Path, runs: usize) -> Result<serde_json::Value> {
    let text = shell::output(
        Command::new("node").args(["bench/startup.mjs", "--json"]).arg(runs.to_string()).current_dir(js_dir),
    )?;
    serde_json::from_str(text.trim()).context("bench/startup.mjs printed no JSON")
}

/// Microseconds per host call in Node, by kind (`bench/host-calls.mjs`).
pub fn node_host_calls(js_dir: &Path, runs: usize) -> Result<BTreeMap<String, f64>> {
    let text = shell::output(
        Command::new("node").arg("bench/host-calls.mjs").arg(runs.to_string()).current_dir(js_dir),
    )?;
    serde_json::from_str(text.trim()).context("bench/host-calls.mjs printed no JSON")
}

/// Nanoseconds per PyProxy operation in Node (`attribute`, `call`), by
/// project: pycomponent and Pyodide (`bench/proxies.mjs`).
pub fn node_proxies(js_dir: &Path, runs: usize) -> Result<BTreeMap<String, BTreeMap<String, f64>>> {
    let text = shell::output(
        Command::new("node").arg("bench/proxies.mjs").arg(runs.to_string()).current_dir(js_dir),
    )?;
    serde_json::from_str(text.trim()).context("bench/proxies.mjs printed no JSON")
}

/// One criterion estimate: the median time per iteration in nanoseconds with
/// its 95% confidence interval, and the elements per iteration if declared.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Estimate {
    pub median_ns: f64,
    pub lower_ns: f64,
    pub upper_ns: f64,
    pub elements: Option<f64>,
}

/// Runs the criterion benches and reads their estimates, by full id.
pub fn criterion(component: &Path, target_dir: &Path) -> Result<BTreeMap<String, Estimate>> {
    let out = target_dir.join("criterion");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    shell::run(
        crate::cargo()
            .args(["bench", "--package", "pycomponent", "--bench", "runtime"])
            .env("PYCOMPONENT_COMPONENT", component),
    )?;
    let mut estimates = BTreeMap::new();
    for bench in find_files(&out, "benchmark.json")? {
        if bench.parent().and_then(|p| p.file_name()).is_none_or(|n| n != "new") {
            continue;
        }
        let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&bench)?)?;
        let est: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(bench.with_file_name("estimates.json"))?)?;
        let median = &est["median"];
        let id = meta["full_id"].as_str().context("benchmark.json without full_id")?.to_string();
        estimates.insert(
            id,
            Estimate {
                median_ns: median["point_estimate"].as_f64().unwrap_or(f64::NAN),
                lower_ns: median["confidence_interval"]["lower_bound"].as_f64().unwrap_or(f64::NAN),
                upper_ns: median["confidence_interval"]["upper_bound"].as_f64().unwrap_or(f64::NAN),
                elements: meta["throughput"]["Elements"].as_f64(),
            },
        );
    }
    if estimates.is_empty() {
        bail!("criterion wrote no estimates under {}", out.display());
    }
    Ok(estimates)
}

fn find_files(dir: &Path, name: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == name) {
                found.push(path);
            }
        }
    }
    Ok(found)
}
