//! Measures the memory a live, idle instance costs: the process's private
//! resident pages (`/proc/self/smaps_rollup`, Private_Clean + Private_Dirty)
//! before and after N instances that each ran a first `eval`. Copy-on-write
//! pages of the memory image that an instance only reads are shared and do
//! not count. Prints one JSON object.
//!
//! Run: `cargo run --release -p pycomponent --example memory -- COMPONENT [N]`

use std::path::Path;

use anyhow::{Context, Result, bail};
use pycomponent::{HostModules, Limits, Runtime};

/// Private resident bytes of this process.
fn private_bytes() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").context("reading smaps_rollup")?;
    let mut kib = 0;
    for line in text.lines() {
        if let Some(rest) =
            line.strip_prefix("Private_Clean:").or_else(|| line.strip_prefix("Private_Dirty:"))
        {
            kib += rest.trim().trim_end_matches("kB").trim().parse::<u64>()?;
        }
    }
    Ok(kib * 1024)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (component, count) = match args.as_slice() {
        [c] => (c.clone(), 200),
        [c, n] => (c.clone(), n.parse().context("N is a number")?),
        _ => bail!("usage: memory COMPONENT [N]"),
    };
    let limits = Limits { max_instances: count as u32 + 1, ..Limits::default() };
    let runtime = Runtime::with_limits(Path::new(&component), limits)?;
    // One instance first, so that process-wide first-use costs are not counted.
    runtime.instantiate(HostModules::new())?.eval("1+1")?.result?;
    let before = private_bytes()?;
    let mut live = Vec::with_capacity(count);
    for _ in 0..count {
        let mut py = runtime.instantiate(HostModules::new())?;
        py.eval("1+1")?.result?;
        live.push(py);
    }
    let after = private_bytes()?;
    let per_instance = (after.saturating_sub(before)) as f64 / count as f64;
    println!(
        "{}",
        serde_json::json!({
            "instances": count,
            "private_bytes_before": before,
            "private_bytes_after": after,
            "private_bytes_per_instance": per_instance,
            "instances_per_gib": (1u64 << 30) as f64 / per_instance,
        })
    );
    drop(live);
    Ok(())
}
