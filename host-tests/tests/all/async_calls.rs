//! Asynchronous calls through the Wasmtime adapter: `run_async` and
//! `call_async` drive the guest's event loop, awaited host functions run
//! concurrently on tokio, and the timeout covers the waiting.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pycomponent::{Error, HostModules, Instance, Limits, Runtime, Value};

fn instance(host: HostModules) -> Instance {
    crate::component_runtime().instantiate(host).expect("instantiates")
}

async fn run_async(py: &mut Instance, code: &str) -> Value {
    let reply = py.run_async(code).await.expect("no trap");
    reply.result.unwrap_or_else(|e| panic!("{code}: {e}\n{}", e.traceback))
}

/// Counts the calls in flight and the most there were at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl InFlight {
    /// Counts a call until the guard is dropped (also when its future is).
    fn enter(self: &Arc<Self>) -> InFlightGuard {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        InFlightGuard(self.clone())
    }
}

struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `kv.fetch(key)` answers after 200 ms; `kv.fail()` fails; `kv.never()`
/// never answers; `kv.size()` is synchronous.
fn kv(in_flight: Arc<InFlight>) -> HostModules {
    HostModules::new()
        .async_function("kv", "fetch", move |args, _| {
            let in_flight = in_flight.clone();
            async move {
                let _counted = in_flight.enter();
                tokio::time::sleep(Duration::from_millis(200)).await;
                match args.as_slice() {
                    [Value::Str(key)] => Ok(Value::from(format!("value of {key}"))),
                    _ => Err("fetch(key) takes one str".into()),
                }
            }
        })
        .async_function("kv", "fail", |_, _| async { Err::<Value, _>("the store is down".to_string()) })
        .async_function("kv", "never", |_, _| std::future::pending())
        .function("kv", "size", |_, _| Ok(Value::Int(3)))
}

#[tokio::test(flavor = "current_thread")]
async fn sleeps_wait_on_the_host_without_blocking_it() {
    let mut py = instance(HostModules::new());
    let ticks = Arc::new(AtomicUsize::new(0));
    let counter = ticks.clone();
    // On a single-threaded runtime, the ticker runs only while the call waits.
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let code = "import asyncio\n\
                results = await asyncio.gather(*(asyncio.sleep(0.1, result=i) for i in range(10)))\n\
                sum(results)";
    assert_eq!(run_async(&mut py, code).await, Value::Int(45));
    ticker.abort();
    assert!(ticks.load(Ordering::SeqCst) >= 3, "the host ran other tasks while Python slept");
    // Queues, async generators and context managers, wait_for and timeouts.
    let code = "import asyncio, contextlib\n\
                @contextlib.asynccontextmanager\n\
                async def opened(log):\n    log.append('open')\n    yield log\n    log.append('close')\n\
                async def numbers():\n    for i in range(3):\n        await asyncio.sleep(0.01)\n        yield i\n\
                async def producer(queue):\n    async for i in numbers():\n        await queue.put(i)\n    await queue.put(None)\n\
                queue = asyncio.Queue()\n\
                task = asyncio.create_task(producer(queue))\n\
                async with opened([]) as log:\n    while (item := await queue.get()) is not None:\n        log.append(item)\n\
                try:\n    await asyncio.wait_for(asyncio.sleep(10), 0.05)\nexcept asyncio.TimeoutError:\n    log.append('timed out')\n\
                log.append(await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2]))\n\
                await task\n\
                log";
    assert_eq!(run_async(&mut py, code).await.to_string(), "['open', 0, 1, 2, 'close', 'timed out', 3]");
}

#[tokio::test(flavor = "current_thread")]
async fn top_level_await_and_call_async_give_values() {
    let mut py = instance(HostModules::new());
    assert_eq!(run_async(&mut py, "1 + 1").await, Value::Int(2));
    assert_eq!(
        run_async(&mut py, "import asyncio\nx = await asyncio.sleep(0.01, result=21)\nx * 2").await,
        Value::Int(42)
    );
    assert_eq!(run_async(&mut py, "x").await, Value::Int(21), "the cell's globals persist");
    assert_eq!(run_async(&mut py, "y = await asyncio.sleep(0)").await, Value::None);
    py.exec("async def double(n, *, wait=0.01):\n    await asyncio.sleep(wait)\n    return n * 2\ndef plain(n):\n    return -n")
        .unwrap()
        .result
        .unwrap();
    let reply = py.call_async("double", &[Value::Int(4)], &[("wait", Value::Float(0.0))]).await.unwrap();
    assert_eq!(reply.result.unwrap(), Value::Int(8));
    let reply = py.call_async("plain", &[Value::Int(4)], &[]).await.unwrap();
    assert_eq!(reply.result.unwrap(), Value::Int(-4), "a function that is not async is simply called");
    // The synchronous calls work between asynchronous ones, and their asyncio.run too.
    assert_eq!(py.run("asyncio.run(double(5))").unwrap().result.unwrap(), Value::Int(10));
    assert_eq!(run_async(&mut py, "await double(6)").await, Value::Int(12));
    // A cell without top-level await runs as `run` does; one with it runs
    // on the loop, inside which asyncio.run gives CPython's error.
    assert_eq!(run_async(&mut py, "asyncio.run(double(1))").await, Value::Int(2));
    let err =
        py.run_async("await asyncio.sleep(0)\nasyncio.run(double(1))").await.unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "RuntimeError");
    assert!(err.message.contains("cannot be called from a running event loop"), "{}", err.message);
}

#[tokio::test(flavor = "current_thread")]
async fn awaited_host_calls_run_concurrently() {
    let in_flight = Arc::new(InFlight::default());
    let mut py = instance(kv(in_flight.clone()));
    let code = "import asyncio, kv\n\
                values = await asyncio.gather(*(kv.fetch(f'k{i}') for i in range(10)))\n\
                values[0], values[9], len(values), kv.size()";
    assert_eq!(run_async(&mut py, code).await.to_string(), "('value of k0', 'value of k9', 10, 3)");
    assert_eq!(in_flight.most.load(Ordering::SeqCst), 10, "all ten calls were in flight at once");
    // A host call Python stops awaiting is dropped.
    let code = "try:\n    await asyncio.wait_for(kv.fetch('slow'), 0.01)\nexcept asyncio.TimeoutError:\n    r = 'gave up'\nr";
    assert_eq!(run_async(&mut py, code).await, Value::from("gave up"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(in_flight.now.load(Ordering::SeqCst), 0, "the abandoned future was dropped, not left running");
}

#[tokio::test(flavor = "current_thread")]
async fn an_async_host_function_from_synchronous_code_says_to_await_it() {
    let mut py = instance(kv(Arc::default()));
    let err = py.eval("__import__('kv').fetch('a')").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "RuntimeError");
    assert!(err.message.contains("`await kv.fetch(...)`"), "{}", err.message);
    // In an asynchronous call, outside a coroutine, too.
    let err = py.run_async("import kv\nkv.fetch('a')").await.unwrap().result.unwrap_err();
    assert!(err.message.contains("`await kv.fetch(...)`"), "{}", err.message);
    assert_eq!(py.eval("kv.size()").unwrap().result.unwrap(), Value::Int(3), "sync functions still work");
}

#[tokio::test(flavor = "current_thread")]
async fn errors_come_back_with_tracebacks_and_lost_ones_go_to_stderr() {
    let mut py = instance(kv(Arc::default()));
    let code = "import kv\ntry:\n    await kv.fail()\nexcept RuntimeError as e:\n    caught = str(e)\ncaught";
    assert_eq!(run_async(&mut py, code).await, Value::from("the store is down"));
    let err = py
        .run_async("async def inner():\n    await kv.fail()\nawait inner()")
        .await
        .unwrap()
        .result
        .unwrap_err();
    assert_eq!((err.type_name.as_str(), err.message.as_str()), ("RuntimeError", "the store is down"));
    assert!(err.traceback.contains("in inner"), "{}", err.traceback);
    let err =
        py.run_async("import asyncio\nawait asyncio.sleep(0)\n1 / 0").await.unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ZeroDivisionError");
    // What CPython reports on stderr: a task exception nobody retrieved, a
    // coroutine nobody awaited.
    let code = "async def boom():\n    raise ValueError('lost')\n\
                t = asyncio.ensure_future(boom())\nawait asyncio.sleep(0.01)\ndel t\n\
                asyncio.sleep(1)\nNone";
    let reply = py.run_async(code).await.unwrap();
    reply.result.unwrap();
    assert!(reply.output.stderr.contains("Task exception was never retrieved"), "{}", reply.output.stderr);
    assert!(reply.output.stderr.contains("ValueError: lost"), "{}", reply.output.stderr);
    assert!(reply.output.stderr.contains("was never awaited"), "{}", reply.output.stderr);
    // A task that waits on what nothing will complete ends the call.
    let err =
        py.run_async("await asyncio.get_running_loop().create_future()").await.unwrap().result.unwrap_err();
    assert!(err.message.contains("nothing to wait for"), "{}", err.message);
    assert_eq!(
        run_async(&mut py, "await asyncio.sleep(0, result='still usable')").await,
        Value::from("still usable")
    );
}

/// A runtime whose calls time out after a second.
fn strict() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let limits = Limits { timeout: Some(Duration::from_secs(1)), max_instances: 8, ..Limits::default() };
        Runtime::with_limits(&host_tests::component_path(), limits).expect("the component compiles")
    })
}

#[tokio::test(flavor = "current_thread")]
async fn the_timeout_covers_waiting_and_cancels_the_task() {
    let mut py = strict().instantiate(kv(Arc::default())).unwrap();
    // Imported first, so that only the waiting below meets the timeout.
    py.exec("import asyncio, kv").unwrap().result.unwrap();
    // A host future that never resolves: the task is cancelled and may clean up.
    let code = "cancelled = False\n\
                try:\n    await kv.never()\nexcept asyncio.CancelledError:\n    cancelled = True\n    raise";
    let started = std::time::Instant::now();
    let err = py.run_async(code).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(py.eval("cancelled").unwrap().result.unwrap(), Value::Bool(true), "the instance stays usable");
    // A sleep longer than the timeout, the same.
    let err = py.run_async("await asyncio.sleep(60)").await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    assert_eq!(py.eval("1").unwrap().result.unwrap(), Value::Int(1));
    // A task that will not end when cancelled: the instance is retired.
    let code = "try:\n    await asyncio.sleep(60)\nfinally:\n    await kv.never()";
    assert!(matches!(py.run_async(code).await.unwrap_err(), Error::Timeout(_)));
    assert!(matches!(py.eval("1"), Err(Error::Trapped)));
    // Busy Python inside a task is stopped by the epoch, as in a synchronous call.
    let mut py = strict().instantiate(HostModules::new()).unwrap();
    py.exec("import asyncio").unwrap().result.unwrap();
    let err = py.run_async("await asyncio.sleep(0.01)\nwhile True: pass").await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    assert!(matches!(py.eval("1"), Err(Error::Trapped)));
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_call_is_cancelled_before_the_next_one() {
    let mut py = instance(HostModules::new());
    let code = "import asyncio\nstate = 'started'\ntry:\n    await asyncio.sleep(30)\nexcept asyncio.CancelledError:\n    state = 'cancelled'\n    raise";
    let dropped = tokio::time::timeout(Duration::from_millis(50), py.run_async(code)).await;
    assert!(dropped.is_err(), "the call was still waiting");
    assert_eq!(py.eval("state").unwrap().result.unwrap(), Value::from("cancelled"));
    assert_eq!(run_async(&mut py, "await asyncio.sleep(0, result=5)").await, Value::Int(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_instances_wait_at_once_and_the_host_stays_responsive() {
    const WAITING: usize = 500;
    let released = Arc::new(tokio::sync::Notify::new());
    let started = Arc::new(AtomicUsize::new(0));
    let (release, count) = (released.clone(), started.clone());
    let host = HostModules::new().async_function("gate", "wait", move |_, _| {
        let (release, count) = (release.clone(), count.clone());
        async move {
            let notified = release.notified();
            count.fetch_add(1, Ordering::SeqCst);
            notified.await;
            Ok(Value::from("through"))
        }
    });
    let mut calls = Vec::new();
    for i in 0..WAITING {
        let mut py = instance(host.clone());
        calls.push(tokio::spawn(async move {
            let reply =
                py.run_async(&format!("import gate\n(await gate.wait(), {i})")).await.expect("no trap");
            reply.result.expect("no exception")
        }));
    }
    let all_waiting = async {
        while started.load(Ordering::SeqCst) < WAITING {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(120), all_waiting).await.is_err() {
        let failed = calls.into_iter().find(|call| call.is_finished()).expect("a call ended early");
        panic!("only {} calls waited: {:?}", started.load(Ordering::SeqCst), failed.await);
    }
    // Every instance waits in the gate; another one still answers.
    let mut other = instance(HostModules::new());
    assert_eq!(other.eval("6 * 7").unwrap().result.unwrap(), Value::Int(42));
    released.notify_waiters();
    for (i, call) in calls.into_iter().enumerate() {
        let value = call.await.unwrap();
        assert_eq!(value, Value::Tuple(vec![Value::from("through"), Value::Int(i as i64)]));
    }
}
