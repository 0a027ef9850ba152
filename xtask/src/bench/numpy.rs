//! numpy's variant next to the default component and native numpy: sizes,
//! instantiate + first eval, `import numpy` in a fresh instance, and the
//! programs of `bench/numpy-workloads` against numpy's wheel from PyPI on
//! the native CPython of the same source.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::measure::{self, NUMPY_WORKLOADS, Workloads};
use super::stats::Summary;
use super::{Effort, file_sizes};
use crate::{cache, component, shell, tools, versions, workspace_root};

/// What one run measured of numpy's variant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NumpyFigures {
    /// numpy's version, in both the variant and the native wheel.
    pub version: String,
    /// `(raw, gzip, brotli)` bytes: `default component`, `numpy variant`.
    pub sizes: BTreeMap<String, (u64, u64, u64)>,
    /// Milliseconds: `<component>: instantiate + first eval`,
    /// `<component>: import numpy` (a fresh instance, after its first
    /// eval) and `native: import numpy` (a fresh process, timed inside).
    pub startup: BTreeMap<String, Summary>,
    /// The programs by runtime: `native numpy`, `numpy variant`.
    pub workloads: BTreeMap<String, Workloads>,
}

/// The runtimes of the numpy workload table, in report order.
pub const NUMPY_RUNTIMES: &[&str] = &["native numpy", "numpy variant"];

/// Measures the variant (building what is missing).
pub fn measure(effort: Effort, native_python: &Path) -> Result<NumpyFigures> {
    let lean = component::build()?;
    let variant = component::build_variant(component::variant("numpy")?)?;
    let wheel = tools::unpacked(versions::NUMPY_NATIVE, &cache::root()?)?;
    let bench_dir = workspace_root().join("bench");
    let runs = effort.process_runs.to_string();

    eprintln!("==> bench: numpy variant, fresh instances ({runs} each)");
    let mut startup = BTreeMap::new();
    for (label, path, statement) in
        [("default component", &lean, None), ("numpy variant", &variant, Some("import numpy"))]
    {
        let mut args = vec![path.as_os_str(), runs.as_ref()];
        args.extend(statement.map(std::ffi::OsStr::new));
        let times = measure::cargo_example("instances", &args)?;
        let summary = |key: &str| {
            let samples: Vec<f64> =
                times[key].as_array().into_iter().flatten().filter_map(|v| v.as_f64()).collect();
            Summary::of(&samples).with_context(|| format!("the instances example gave no {key}"))
        };
        startup
            .insert(format!("{label}: instantiate + first eval"), summary("instantiate_and_first_eval_ms")?);
        if statement.is_some() {
            startup.insert(format!("{label}: import numpy"), summary("statement_ms")?);
        }
    }
    startup
        .insert("native: import numpy".into(), native_import_ms(native_python, &wheel, effort.process_runs)?);

    eprintln!("==> bench: numpy workloads (repeat {})", effort.repeat);
    let mut workloads = BTreeMap::new();
    let python_path = wheel.to_string_lossy().into_owned();
    workloads.insert(
        "native numpy".to_string(),
        measure::workloads_by_command(
            || {
                let mut c = Command::new(native_python);
                c.env("PYTHONPATH", &python_path);
                c
            },
            &bench_dir,
            &bench_dir.to_string_lossy(),
            effort.repeat,
            "native numpy",
            NUMPY_WORKLOADS,
        )?,
    );
    workloads.insert(
        "numpy variant".to_string(),
        measure::component_workloads(&variant, &bench_dir, effort.repeat, true, NUMPY_WORKLOADS)?,
    );

    let mut sizes = BTreeMap::new();
    sizes.insert("default component".to_string(), file_sizes(&lean)?);
    sizes.insert("numpy variant".to_string(), file_sizes(&variant)?);
    Ok(NumpyFigures { version: versions::NUMPY_NATIVE.version.to_string(), sizes, startup, workloads })
}

/// Milliseconds of `import numpy` in fresh native processes, timed inside
/// each (one untimed run first, which also warms the file cache).
fn native_import_ms(python: &Path, wheel: &Path, runs: usize) -> Result<Summary> {
    let mut samples = Vec::with_capacity(runs);
    for run in 0..=runs {
        let text = shell::output(Command::new(python).env("PYTHONPATH", wheel).args([
            "-c",
            "import time\nt = time.perf_counter()\nimport numpy\nprint((time.perf_counter() - t) * 1e3)",
        ]))?;
        let ms: f64 = text.trim().parse().with_context(|| format!("native import printed {text:?}"))?;
        if run > 0 {
            samples.push(ms);
        }
    }
    Summary::of(&samples).context("no runs")
}
