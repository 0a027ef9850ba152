//! Measures instantiate + first `eval("1+1")` with a warm runtime, and a
//! trivial eval on a live instance: medians over many runs.
//!
//! Run: `cargo run --release -p pycomponent --example startup` (after
//! `cargo xtask component`). Prints timings; nothing is asserted.

use std::time::{Duration, Instant};

use pycomponent::{HostModules, Runtime};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> Result<(), pycomponent::Error> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "target/component/pycomponent.wasm".into());
    let started = Instant::now();
    let runtime = Runtime::new(path.as_ref())?;
    println!("runtime (compiled component from the cache or compiled now): {:?}", started.elapsed());
    let runs = 500;
    let mut first = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let mut py = runtime.instantiate(HostModules::new())?;
        py.eval("1+1")?.result.expect("evaluates");
        first.push(t.elapsed());
    }
    let mut py = runtime.instantiate(HostModules::new())?;
    let mut trivial = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        py.eval("1+1")?.result.expect("evaluates");
        trivial.push(t.elapsed());
    }
    println!("instantiate + first eval(\"1+1\"), median of {runs}: {:?}", median(first));
    println!("eval(\"1+1\") on a live instance, median of {runs}: {:?}", median(trivial));
    Ok(())
}
