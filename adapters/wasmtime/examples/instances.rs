//! Times fresh instances of a component: instantiate plus a first `eval`,
//! then (optionally) one statement in the same instance, such as `import
//! numpy`; prints the milliseconds of each run as one JSON object.
//!
//! Run: `cargo run --release -p pycomponent --example instances -- COMPONENT RUNS [STATEMENT]`
//! (`cargo xtask bench` does). The component is compiled once, before the
//! runs; one untimed run warms up.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use pycomponent::{HostModules, Runtime};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (component, runs, statement) = match args.as_slice() {
        [c, r] => (c, r, None),
        [c, r, s] => (c, r, Some(s.as_str())),
        _ => bail!("usage: instances COMPONENT RUNS [STATEMENT]"),
    };
    let runs: usize = runs.parse().context("RUNS is a number")?;
    let runtime = Runtime::new(Path::new(component))?;
    let mut first_eval = Vec::with_capacity(runs);
    let mut statement_ms = Vec::with_capacity(runs);
    for run in 0..=runs {
        let started = Instant::now();
        let mut py = runtime.instantiate(HostModules::new())?;
        py.eval("1")?.result.map_err(|e| anyhow!("{e}"))?;
        let evaluated = Instant::now();
        if let Some(code) = statement {
            py.run(code)?.result.map_err(|e| anyhow!("{code}: {e}"))?;
        }
        let done = Instant::now();
        if run > 0 {
            first_eval.push((evaluated - started).as_secs_f64() * 1e3);
            statement_ms.push((done - evaluated).as_secs_f64() * 1e3);
        }
    }
    let mut out = serde_json::json!({ "instantiate_and_first_eval_ms": first_eval });
    if statement.is_some() {
        out["statement_ms"] = serde_json::json!(statement_ms);
    }
    println!("{out}");
    Ok(())
}
