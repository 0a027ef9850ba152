//! `cargo xtask bench`: measures pycomponent side by side with its
//! references in one run (native CPython from the same source, CPython's
//! python.wasm under the Wasmtime CLI, Pyodide in Node) and writes
//! docs/BENCHMARKS.md, the ratio chart docs/benchmarks/ratios.svg and the
//! machine-readable docs/benchmarks/results.json.

mod chart;
mod edge;
mod measure;
mod numpy;
mod report;
mod stats;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::{cache, component, cpython, js, shell, toolchain, tools, versions, workspace_root};
use measure::{Estimate, Workloads};
use stats::Summary;

/// How much to measure: `full` for the report, `quick` to try the pipeline.
#[derive(Debug, Clone, Copy)]
pub struct Effort {
    /// Timed calls per workload program and runtime.
    pub repeat: usize,
    /// Runs per start-up figure (whole processes).
    pub process_runs: usize,
    /// Fresh Node processes per JS start-up figure.
    pub node_runs: usize,
    /// Live instances for the memory figure.
    pub instances: usize,
    /// Seconds of `wrk` load per HTTP server.
    pub http_seconds: u32,
}

impl Effort {
    pub const FULL: Effort =
        Effort { repeat: 7, process_runs: 40, node_runs: 11, instances: 200, http_seconds: 10 };
    pub const QUICK: Effort =
        Effort { repeat: 2, process_runs: 5, node_runs: 3, instances: 20, http_seconds: 2 };
}

/// Everything one run measured; written as results.json and rendered as the report.
#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    pub date: String,
    pub machine: BTreeMap<String, String>,
    pub versions: BTreeMap<String, String>,
    /// Whole-process start-up, milliseconds.
    pub startup: BTreeMap<String, Summary>,
    /// criterion estimates of the Rust library, by bench id.
    pub library: BTreeMap<String, Estimate>,
    /// Workload programs by runtime, then by program.
    pub workloads: BTreeMap<String, Workloads>,
    /// Private memory per live idle instance, from the `memory` example.
    pub memory: serde_json::Value,
    /// Download sizes in bytes: `(raw, gzip, brotli)` by artifact.
    pub sizes: BTreeMap<String, (u64, u64, u64)>,
    /// Node start-up (import to first result), milliseconds, by project.
    pub node_startup: BTreeMap<String, Summary>,
    /// Host calls in Node, microseconds per call: `sync`, `awaited` (in a
    /// row) and `gathered` (`bench/host-calls.mjs`).
    #[serde(default)]
    pub node_host_calls: BTreeMap<String, f64>,
    /// PyProxy operations in Node, nanoseconds per operation, by project
    /// and operation (`attribute`, `call`; `bench/proxies.mjs`).
    #[serde(default)]
    pub node_proxies: BTreeMap<String, BTreeMap<String, f64>>,
    /// The hello app under load, by server (see `edge::SERVERS`).
    #[serde(default)]
    pub http: BTreeMap<String, edge::HttpLoad>,
    /// The relay app (one upstream request per request) under load, by server.
    #[serde(default)]
    pub http_upstream: BTreeMap<String, edge::HttpLoad>,
    /// numpy's variant next to the default component and native numpy.
    #[serde(default)]
    pub numpy: Option<numpy::NumpyFigures>,
}

/// The runtimes of the workload table, in report order, with their labels.
pub const RUNTIMES: &[(&str, &str)] = &[
    ("native", "native CPython"),
    ("component", "component (Wasmtime, Rust library)"),
    ("component, no timeout", "component without timeout checks"),
    ("python.wasm", "python.wasm (wasmtime CLI)"),
    ("node", "component in Node (jco)"),
    ("pyodide", "Pyodide in Node"),
];

pub fn run(effort: Effort) -> Result<()> {
    toolchain::ensure()?;
    let cpython = cpython::build(false)?;
    let component = component::build()?;
    let js_dir = js::build()?;
    crate::build_cli()?;
    let root = workspace_root();
    let bench_dir = root.join("bench");
    let native = cpython.dir.join("native/bin/python3.11");
    let wasmtime_cli = tools::ensure(versions::WASMTIME_CLI, &cache::root()?)?;

    eprintln!("==> bench: start-up of whole processes ({} runs each)", effort.process_runs);
    let cli = root.join("target/release/pycomponent");
    let mut startup = BTreeMap::new();
    startup.insert(
        "native -c pass".into(),
        measure::time_process(|| python(&native, &["-c", "pass"]), effort.process_runs)?,
    );
    startup.insert(
        "native -S -I -c pass".into(),
        measure::time_process(|| python(&native, &["-S", "-I", "-c", "pass"]), effort.process_runs)?,
    );
    startup.insert(
        "pycomponent eval 1".into(),
        measure::time_process(
            || {
                let mut c = Command::new(&cli);
                c.args(["eval", "1"]);
                c
            },
            effort.process_runs,
        )?,
    );

    eprintln!("==> bench: criterion benches of the Rust library");
    let library = measure::criterion(&component, &root.join("target"))?;

    eprintln!("==> bench: workload programs (repeat {})", effort.repeat);
    let mut workloads = BTreeMap::new();
    workloads.insert(
        "native".into(),
        measure::workloads_by_command(
            || python(&native, &[]),
            &bench_dir,
            &bench_dir.to_string_lossy(),
            effort.repeat,
            "native",
            measure::WORKLOADS,
        )?,
    );
    workloads.insert(
        "component".into(),
        measure::component_workloads(&component, &bench_dir, effort.repeat, true, measure::WORKLOADS)?,
    );
    workloads.insert(
        "component, no timeout".into(),
        measure::component_workloads(&component, &bench_dir, effort.repeat, false, measure::WORKLOADS)?,
    );
    workloads.insert(
        "python.wasm".into(),
        measure::workloads_by_command(
            || {
                let mut c = Command::new(&wasmtime_cli);
                c.arg("run")
                    .arg("--dir")
                    .arg(format!(
                        "{}::/usr/local/lib/python{}",
                        cpython.stdlib().display(),
                        versions::PYTHON_MAJOR_MINOR
                    ))
                    .arg("--dir")
                    .arg(format!("{}::/bench", bench_dir.display()))
                    .arg(cpython.python_wasm());
                c
            },
            &bench_dir,
            "/bench",
            effort.repeat,
            "python.wasm",
            measure::WORKLOADS,
        )?,
    );
    let (node, pyodide) = measure::node_workloads(&js_dir, effort.repeat)?;
    workloads.insert("node".into(), node);
    workloads.insert("pyodide".into(), pyodide);

    eprintln!("==> bench: memory per live instance ({} instances)", effort.instances);
    let memory =
        measure::cargo_example("memory", &[component.as_os_str(), effort.instances.to_string().as_ref()])?;

    eprintln!("==> bench: Node start-up and download sizes ({} processes each)", effort.node_runs);
    let node_figures = measure::node_startup(&js_dir, effort.node_runs)?;
    let mut node_startup = BTreeMap::new();
    let mut sizes = BTreeMap::new();
    for project in ["pycomponent", "pyodide"] {
        let figures = &node_figures["projects"][project];
        let s = &figures["startup"];
        node_startup.insert(
            project.into(),
            Summary {
                median: s["median"].as_f64().unwrap_or(f64::NAN),
                min: s["min"].as_f64().unwrap_or(f64::NAN),
                max: s["max"].as_f64().unwrap_or(f64::NAN),
                runs: s["runs"].as_u64().unwrap_or(0) as usize,
            },
        );
        let d = &figures["download"];
        let size = |k: &str| d[k].as_u64().unwrap_or(0);
        sizes.insert(
            if project == "pycomponent" { "js package" } else { "pyodide" }.to_string(),
            (size("raw"), size("gzip"), size("brotli")),
        );
    }
    sizes.insert("component".into(), file_sizes(&component)?);

    eprintln!("==> bench: host calls in Node, sync and awaited");
    let node_host_calls = measure::node_host_calls(&js_dir, effort.node_runs)?;
    eprintln!("==> bench: PyProxy attribute reads and calls in Node, next to Pyodide");
    let node_proxies = measure::node_proxies(&js_dir, effort.node_runs)?;

    let node_bin = js_dir.join("node_modules/.bin");
    let tools =
        edge::Tools { cli: &cli, wasmtime_cli: &wasmtime_cli, native_python: &native, node_bin: &node_bin };
    let http = edge::measure_hello(&tools, effort.http_seconds)?;
    let http_upstream = edge::measure_relay(&tools, effort.http_seconds)?;
    let numpy = numpy::measure(effort, &native)?;

    let results = Results {
        date: shell::output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))?.trim().to_string(),
        machine: machine()?,
        versions: tool_versions(&js_dir, &node_figures)?,
        startup,
        library,
        workloads,
        memory,
        sizes,
        node_startup,
        node_host_calls,
        node_proxies,
        http,
        http_upstream,
        numpy: Some(numpy),
    };
    let out = root.join("docs/benchmarks");
    fs::create_dir_all(&out)?;
    fs::write(out.join("results.json"), serde_json::to_string_pretty(&results)? + "\n")?;
    write_report(&results)
}

/// Measures the edge apps alone (both, each server in turn, in one run)
/// and puts their figures into docs/benchmarks/results.json, keeping the
/// others; then renders the report again.
pub fn edge_only(effort: Effort) -> Result<()> {
    toolchain::ensure()?;
    let cpython = cpython::build(false)?;
    component::build()?;
    crate::build_cli()?;
    let root = workspace_root();
    let path = root.join("docs/benchmarks/results.json");
    let text = fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run `cargo xtask bench` first)", path.display()))?;
    let mut results: Results = serde_json::from_str(&text).context("parsing results.json")?;
    let native = cpython.dir.join("native/bin/python3.11");
    let wasmtime_cli = tools::ensure(versions::WASMTIME_CLI, &cache::root()?)?;
    let cli = root.join("target/release/pycomponent");
    let node_bin = js::build()?.join("node_modules/.bin");
    let tools =
        edge::Tools { cli: &cli, wasmtime_cli: &wasmtime_cli, native_python: &native, node_bin: &node_bin };
    results.http = edge::measure_hello(&tools, effort.http_seconds)?;
    results.http_upstream = edge::measure_relay(&tools, effort.http_seconds)?;
    fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")?;
    write_report(&results)
}

/// Measures numpy's variant alone and puts its figures into
/// docs/benchmarks/results.json, keeping the others; then renders the
/// report again.
pub fn numpy_only(effort: Effort) -> Result<()> {
    toolchain::ensure()?;
    let cpython = cpython::build(false)?;
    let path = workspace_root().join("docs/benchmarks/results.json");
    let text = fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run `cargo xtask bench` first)", path.display()))?;
    let mut results: Results = serde_json::from_str(&text).context("parsing results.json")?;
    results.numpy = Some(numpy::measure(effort, &cpython.dir.join("native/bin/python3.11"))?);
    fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")?;
    write_report(&results)
}

/// Renders docs/BENCHMARKS.md and the chart again from docs/benchmarks/results.json
/// (after editing bench/notes.md, say), measuring nothing.
pub fn report_only() -> Result<()> {
    let path = workspace_root().join("docs/benchmarks/results.json");
    let text = fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run `cargo xtask bench` first)", path.display()))?;
    write_report(&serde_json::from_str(&text).context("parsing results.json")?)
}

fn write_report(results: &Results) -> Result<()> {
    let root = workspace_root();
    fs::write(root.join("docs/benchmarks/ratios.svg"), chart::svg(results))?;
    let notes = fs::read_to_string(root.join("bench/notes.md")).context("reading bench/notes.md")?;
    fs::write(root.join("docs/BENCHMARKS.md"), report::markdown(results, &notes))?;
    eprintln!(
        "==> bench: wrote docs/BENCHMARKS.md, docs/benchmarks/ratios.svg, docs/benchmarks/results.json"
    );
    Ok(())
}

fn python(binary: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary);
    cmd.args(args);
    cmd
}

/// `(raw, gzip -9, brotli -q 11)` bytes of a file.
fn file_sizes(path: &Path) -> Result<(u64, u64, u64)> {
    let raw = fs::metadata(path)?.len();
    let gzip = shell::output_bytes(Command::new("gzip").args(["-9", "-c"]).arg(path))?.len() as u64;
    let brotli = shell::output_bytes(Command::new("brotli").args(["-c", "-q", "11"]).arg(path))?.len() as u64;
    Ok((raw, gzip, brotli))
}

fn machine() -> Result<BTreeMap<String, String>> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']));
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let os = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let os =
        os.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).unwrap_or("?").trim_matches('"').to_string();
    let mut m = BTreeMap::new();
    m.insert("cpu".into(), cpu.unwrap_or("?").to_string());
    m.insert("cores".into(), std::thread::available_parallelism().map_or(0, |n| n.get()).to_string());
    m.insert("memory".into(), format!("{:.1} GiB", mem_kib as f64 / 1024.0 / 1024.0));
    m.insert("os".into(), os);
    m.insert("kernel".into(), shell::output(Command::new("uname").arg("-r"))?.trim().to_string());
    Ok(m)
}

fn tool_versions(js_dir: &Path, node_figures: &serde_json::Value) -> Result<BTreeMap<String, String>> {
    let root = workspace_root();
    let lock = fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let wasmtime = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"wasmtime\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .unwrap_or("?")
        .trim_matches('"')
        .to_string();
    let jco: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(js_dir.join("node_modules/@bytecodealliance/jco/package.json"))
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    let commit =
        shell::output(Command::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(&root))?;
    let dirty = !shell::output(Command::new("git").args(["status", "--porcelain"]).current_dir(&root))?
        .trim()
        .is_empty();
    let mut v = BTreeMap::new();
    v.insert(
        "pycomponent".into(),
        format!("{}{}", commit.trim(), if dirty { " (with uncommitted changes)" } else { "" }),
    );
    v.insert("CPython".into(), versions::PYTHON_UPSTREAM.to_string());
    v.insert("rustc".into(), shell::output(Command::new("rustc").arg("--version"))?.trim().to_string());
    v.insert("wasmtime crate".into(), wasmtime);
    v.insert("wasmtime CLI".into(), versions::WASMTIME_CLI.version.to_string());
    v.insert("node".into(), node_figures["versions"]["node"].as_str().unwrap_or("?").to_string());
    v.insert("jco".into(), jco["version"].as_str().unwrap_or("?").to_string());
    v.insert("pyodide".into(), node_figures["versions"]["pyodide"].as_str().unwrap_or("?").to_string());
    Ok(v)
}
