//! Criterion benches of the Wasmtime adapter against the real component:
//! instantiate + first eval, a trivial eval, host calls (sync and awaited), value conversion
//! and instances per second from 1, 2 and 8 threads.
//!
//! Run: `cargo bench -p pycomponent --bench runtime` (after `cargo xtask
//! component`; `PYCOMPONENT_COMPONENT` names another component file).
//! `cargo xtask bench` runs it and reads the results criterion writes under
//! `target/criterion/`.

use std::hint::black_box;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pycomponent::{HostModules, Runtime, Value};

fn component() -> PathBuf {
    std::env::var_os("PYCOMPONENT_COMPONENT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/component/pycomponent.wasm"),
        PathBuf::from,
    )
}

fn runtime() -> Runtime {
    let path = component();
    Runtime::new(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (build it with `cargo xtask component`)", path.display()))
}

/// A nested value of 10 000 elements: 2 500 small dicts of a str, an int, a float and a list.
fn nested_value() -> Value {
    Value::List(
        (0..2500)
            .map(|i| {
                Value::Dict(vec![
                    (Value::from("name"), Value::from(format!("item {i}"))),
                    (Value::from("n"), Value::Int(i)),
                    (Value::from("score"), Value::Float(i as f64 * 0.5)),
                    (Value::from("tags"), Value::List(vec![Value::Int(i % 7)])),
                ])
            })
            .collect(),
    )
}

fn startup(c: &mut Criterion) {
    let rt = runtime();
    c.bench_function("instantiate + first eval", |b| {
        b.iter(|| {
            let mut py = rt.instantiate(HostModules::new()).expect("instantiates");
            black_box(py.eval("1+1").expect("no trap").result.expect("evaluates"));
        })
    });
    let mut py = rt.instantiate(HostModules::new()).expect("instantiates");
    c.bench_function("eval on a live instance", |b| b.iter(|| black_box(py.eval("1+1").expect("no trap"))));
}

fn host_calls(c: &mut Criterion) {
    let rt = runtime();
    let host =
        HostModules::new().function("h", "echo", |args, _| Ok(args.first().cloned().unwrap_or(Value::None)));
    let mut py = rt.instantiate(host).expect("instantiates");
    py.exec("import h\ndef calls(n):\n    for i in range(n):\n        h.echo(i)").unwrap().result.unwrap();
    let mut group = c.benchmark_group("host call");
    group.throughput(Throughput::Elements(1000));
    // Per host call: 1000 calls Python -> Rust -> Python inside one call.
    group.bench_function("1000 round trips", |b| {
        b.iter(|| py.call("calls", &[Value::Int(1000)], &[]).expect("no trap").result.expect("runs"))
    });
    group.finish();
}

/// Awaited host calls: `call_async` of a coroutine that awaits an async
/// host function 1000 times in a row (one guest step per call: the task
/// hands control to the host and is resumed with the result), 1000 calls
/// gathered (all in one step), and 1000 whose futures are ready at once.
fn awaited_host_calls(c: &mut Criterion) {
    let rt = runtime();
    // `later` yields to tokio once before it answers, as a future that waits
    // for I/O does: each call is a real round trip through the host.
    // `ready` answers at once, which the host gives Python without one.
    let host =
        HostModules::new()
            .async_function("h", "later", |args, _| async move {
                tokio::task::yield_now().await;
                Ok(args.into_iter().next().unwrap_or(Value::None))
            })
            .async_function("h", "ready", |args, _| async move {
                Ok(args.into_iter().next().unwrap_or(Value::None))
            });
    let mut py = rt.instantiate(host).expect("instantiates");
    py.exec(concat!(
        "import asyncio, h\n",
        "async def awaits(n):\n    for i in range(n):\n        await h.later(i)\n",
        "async def ready(n):\n    for i in range(n):\n        await h.ready(i)\n",
        "async def gathered(n):\n    await asyncio.gather(*(h.later(i) for i in range(n)))\n",
    ))
    .unwrap()
    .result
    .unwrap();
    let tokio = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_time().build().unwrap();
    let mut group = c.benchmark_group("awaited host call");
    group.throughput(Throughput::Elements(1000));
    for (function, name) in
        [("awaits", "1000 in a row"), ("gathered", "1000 gathered"), ("ready", "1000 ready at once")]
    {
        group.bench_function(name, |b| {
            b.iter(|| {
                tokio.block_on(async {
                    py.call_async(function, &[Value::Int(1000)], &[])
                        .await
                        .expect("no trap")
                        .result
                        .expect("runs")
                })
            })
        });
    }
    group.finish();
}

fn conversion(c: &mut Criterion) {
    let rt = runtime();
    let mut py = rt.instantiate(HostModules::new()).expect("instantiates");
    let value = nested_value();
    py.exec("data = [{'name': f'item {i}', 'n': i, 'score': i * 0.5, 'tags': [i % 7]} for i in range(2500)]")
        .unwrap()
        .result
        .unwrap();
    let mut group = c.benchmark_group("convert 10k elements");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("into Python", |b| {
        b.iter(|| {
            py.call("len", std::slice::from_ref(&value), &[]).expect("no trap").result.expect("converts")
        })
    });
    group.bench_function("out of Python", |b| {
        b.iter(|| py.eval("data").expect("no trap").result.expect("converts"))
    });
    group.finish();
}

fn concurrency(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("instances per second");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    for threads in [1u64, 2, 8] {
        const PER_THREAD: u64 = 50;
        group.throughput(Throughput::Elements(threads * PER_THREAD));
        group.bench_function(format!("{threads} threads"), |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    thread::scope(|scope| {
                        for _ in 0..threads {
                            scope.spawn(|| {
                                for _ in 0..PER_THREAD {
                                    let mut py = rt.instantiate(HostModules::new()).expect("instantiates");
                                    py.eval("1+1").expect("no trap").result.expect("evaluates");
                                }
                            });
                        }
                    });
                }
                started.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, startup, host_calls, awaited_host_calls, conversion, concurrency);
criterion_main!(benches);
