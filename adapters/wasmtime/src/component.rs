//! The Python component under Wasmtime: a [`Runtime`] compiles it once, an
//! [`Instance`] runs code with state that persists between calls, and
//! [`HostModules`] are the functions Python may call.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store, Trap,
};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::Error;
use crate::python_wasm::{GUEST_STDLIB, Mount};
use crate::value::Value;

mod bindings {
    wasmtime::component::bindgen!({
        world: "python",
        path: "../../wit",
    });
}

/// The generated WIT types, for the value encoding.
pub(crate) mod wire {
    pub use super::bindings::pycomponent::python::types::{
        KeywordArgument, Node, OpaqueObject, Output, PythonError, Value,
    };
}

/// A Python exception, as a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{type_name}: {message}")]
pub struct PythonError {
    /// Qualified exception type name, e.g. `ValueError`.
    pub type_name: String,
    /// `str()` of the exception.
    pub message: String,
    /// The formatted traceback.
    pub traceback: String,
}

/// What Python printed during one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Text written to `sys.stdout`.
    pub stdout: String,
    /// Text written to `sys.stderr`.
    pub stderr: String,
}

/// The outcome of one call: its result (or the Python exception) and what it printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<T> {
    /// The result, or the exception Python raised.
    pub result: Result<T, PythonError>,
    /// What the call printed.
    pub output: Output,
}

/// A host function: positional and keyword arguments in, a value or an
/// error message (raised in Python as `RuntimeError`) out.
pub type HostFunction = Arc<dyn Fn(&[Value], &[(String, Value)]) -> Result<Value, String> + Send + Sync>;

/// Modules of host functions that Python imports like any module.
#[derive(Clone, Default)]
pub struct HostModules {
    modules: BTreeMap<String, BTreeMap<String, HostFunction>>,
}

impl std::fmt::Debug for HostModules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: BTreeMap<&String, Vec<&String>> =
            self.modules.iter().map(|(m, fs)| (m, fs.keys().collect())).collect();
        f.debug_struct("HostModules").field("modules", &names).finish()
    }
}

impl HostModules {
    /// No host modules.
    pub fn new() -> HostModules {
        HostModules::default()
    }

    /// Adds function `function` to module `module` (creating the module).
    pub fn function(
        mut self,
        module: &str,
        function: &str,
        f: impl Fn(&[Value], &[(String, Value)]) -> Result<Value, String> + Send + Sync + 'static,
    ) -> HostModules {
        self.modules.entry(module.to_string()).or_default().insert(function.to_string(), Arc::new(f));
        self
    }
}

/// Limits that apply to every instance of a [`Runtime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most linear memory one instance may use, in bytes. Python sees
    /// `MemoryError` when an allocation would pass it.
    pub memory_bytes: usize,
    /// The longest one call may run. A call that runs longer is stopped with
    /// [`Error::Timeout`], and the instance refuses further calls. `None`:
    /// no limit, and the compiled code carries no interruption checks, which
    /// makes Python about 25% faster (see docs/BENCHMARKS.md) but leaves
    /// nothing that can stop a runaway call: only for trusted code.
    pub timeout: Option<Duration>,
    /// How many instances may be alive at once ([`Error::Capacity`] beyond).
    pub max_instances: u32,
}

impl Default for Limits {
    /// 256 MiB of memory, 30 s per call, 1000 live instances.
    fn default() -> Limits {
        Limits { memory_bytes: 256 << 20, timeout: Some(Duration::from_secs(30)), max_instances: 1000 }
    }
}

/// The most native stack one call may use for wasm frames. CPython's
/// default recursion limit (1000) keeps Python code far inside it; code that
/// raises `sys.setrecursionlimit` and recurses in C (deeply nested
/// `json.loads`, `pickle.dumps`, `repr`) ends in a trap ("call stack
/// exhausted") that retires the instance. Kept well under the 2 MiB that a
/// spawned Rust thread (or a tokio worker) has, so that the host's own
/// frames always fit.
const WASM_STACK: usize = 512 << 10;

/// Bytes of a freed instance's linear memory kept mapped for the next one.
const KEEP_RESIDENT: usize = 1 << 20;

/// Bytes of a freed instance's function table kept mapped for the next one.
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// An epoch deadline that is never reached.
const NO_DEADLINE: u64 = u64::MAX / 2;

/// How often the epoch advances: the resolution of call timeouts.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Denies memory growth past the cap and remembers that it did.
struct MemoryCap {
    bytes: usize,
    hit: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.bytes;
        self.hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// Pool slots per component instance: the guest, the WASI adapter and the
/// shims wit-component adds.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MEMORIES_PER_COMPONENT: u32 = 4;
const TABLES_PER_COMPONENT: u32 = 8;
/// CPython's function table holds one entry per address-taken C function.
const TABLE_ELEMENTS: usize = 100_000;

/// An empty, unwritable directory in the user's pycomponent cache (see
/// `instantiate_with_mounts`); checked to be empty before every use.
fn empty_directory() -> Result<std::path::PathBuf, Error> {
    use std::os::unix::fs::PermissionsExt;
    let Some(dir) = crate::compiled_cache::dir().and_then(|d| d.parent().map(|p| p.join("empty"))) else {
        return Err(Error::InvalidInput(
            "no cache directory for the empty mount: set PYCOMPONENT_CACHE".into(),
        ));
    };
    let io = |source| Error::Io { path: dir.clone(), source };
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).map_err(io)?;
    }
    if std::fs::read_dir(&dir).map_err(io)?.next().is_some() {
        return Err(Error::InvalidInput(format!("{} must be empty", dir.display())));
    }
    Ok(dir)
}

/// Per-instance state of the store.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    host: HostModules,
    memory: MemoryCap,
}

/// The engine configuration for `limits`: the pooling allocator sized for
/// `limits.max_instances` instances, epoch interruption when there is a
/// timeout, an explicit wasm stack. [`crate::serve`] uses it too.
pub(crate) fn engine_config(limits: &Limits) -> Config {
    let mut config = Config::new();
    // Epoch checks at every loop header and function entry are what makes
    // a timeout possible, and cost about a quarter of Python's speed.
    config.epoch_interruption(limits.timeout.is_some());
    config.max_wasm_stack(WASM_STACK);
    // Instances come from a pool of pre-reserved slots, and start from
    // the component's memory image copy-on-write: no copying per instance.
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.max_instances)
        .total_core_instances(limits.max_instances.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
        .total_memories(limits.max_instances.saturating_mul(MEMORIES_PER_COMPONENT))
        .total_tables(limits.max_instances.saturating_mul(TABLES_PER_COMPONENT))
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .table_elements(TABLE_ELEMENTS)
        .max_memory_size(limits.memory_bytes)
        .max_core_instance_size(1 << 20)
        .max_component_instance_size(1 << 20)
        // A new instance writes to about a hundred pages of the memory
        // image in its first call. Resetting those pages of a freed slot
        // in place (found with Linux's PAGEMAP_SCAN, where the kernel has
        // it) keeps them mapped, so the next instance in the slot does
        // not fault them in again: the first call gets ~40% faster. Up to
        // this much per slot stays resident; without PAGEMAP_SCAN, the
        // lowest this-much is reset by copying instead.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Advances the engine's epoch until the last [`Runtime`] clone is dropped.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub(crate) fn start(engine: &Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.weak(), stop.clone());
        std::thread::Builder::new()
            .name("pycomponent-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .expect("spawning the epoch thread");
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl bindings::pycomponent::python::types::Host for State {}

impl bindings::pycomponent::python::host::Host for State {
    fn modules(&mut self) -> Vec<bindings::pycomponent::python::host::HostModule> {
        self.host
            .modules
            .iter()
            .map(|(name, functions)| bindings::pycomponent::python::host::HostModule {
                name: name.clone(),
                functions: functions.keys().cloned().collect(),
            })
            .collect()
    }

    fn call(
        &mut self,
        module: String,
        function: String,
        args: Vec<wire::Value>,
        kwargs: Vec<wire::KeywordArgument>,
    ) -> Result<wire::Value, String> {
        let f = self
            .host
            .modules
            .get(&module)
            .and_then(|m| m.get(&function))
            .ok_or_else(|| format!("the host has no function {module}.{function}"))?
            .clone();
        let args =
            args.iter().map(Value::from_wire).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
        let kwargs = kwargs
            .iter()
            .map(|kw| Ok((kw.name.clone(), Value::from_wire(&kw.value)?)))
            .collect::<Result<Vec<_>, crate::value::MalformedValue>>()
            .map_err(|e| e.to_string())?;
        // A panicking host function is a host error, not a crash of the embedder.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&args, &kwargs))) {
            Ok(result) => {
                let value = result?;
                crate::value::check_size([&value]).map_err(|e| {
                    format!("host function {module}.{function} returned {}", e.trim_start_matches("the "))
                })?;
                Ok(value.to_wire())
            }
            Err(_) => Err(format!("host function {module}.{function} panicked")),
        }
    }
}

/// A compiled component, ready to make instances.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    component: Component,
    linker: Linker<State>,
    limits: Limits,
    _ticker: Option<Arc<EpochTicker>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Runtime {
    /// Compiles the component at `component` (built by `cargo xtask
    /// component`) with the default [`Limits`].
    pub fn new(component: &Path) -> Result<Runtime, Error> {
        Runtime::with_limits(component, Limits::default())
    }

    /// Compiles the component at `component` with these limits.
    pub fn with_limits(component: &Path, limits: Limits) -> Result<Runtime, Error> {
        let bytes =
            std::fs::read(component).map_err(|source| Error::Io { path: component.to_path_buf(), source })?;
        Runtime::from_bytes(&bytes, limits)
    }

    /// Compiles a component given as bytes, with these limits. The compiled
    /// code is cached on disk (see the `compiled_cache` module), so only the
    /// first runtime for a given component pays for compilation.
    pub fn from_bytes(bytes: &[u8], limits: Limits) -> Result<Runtime, Error> {
        Runtime::from_bytes_with_digest(bytes, &crate::compiled_cache::digest(bytes), limits)
    }

    /// Like [`Runtime::from_bytes`], with the component's SHA-256 computed
    /// ahead of time: for programs that carry the component inside their
    /// binary, where hashing 16 MB at every start (about 13 ms) is the
    /// largest part of start-up. The digest keys the on-disk cache of
    /// compiled code, so it must be the SHA-256 of `bytes`: a wrong one can
    /// load the compiled code of another component.
    pub fn from_bytes_with_digest(bytes: &[u8], sha256: &[u8; 32], limits: Limits) -> Result<Runtime, Error> {
        let config = engine_config(&limits);
        let engine = Engine::new(&config).map_err(Error::Engine)?;
        let component =
            crate::compiled_cache::load_or_compile(&engine, bytes, sha256).map_err(Error::Compile)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(Error::Engine)?;
        bindings::Python::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
            .map_err(Error::Engine)?;
        let ticker = limits.timeout.is_some().then(|| Arc::new(EpochTicker::start(&engine)));
        Ok(Runtime { engine, component, linker, limits, _ticker: ticker })
    }

    /// The limits every instance gets.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// A fresh instance with these host modules. It starts from the
    /// component's snapshot (CPython initialized, the standard library in
    /// memory) and is granted nothing: no files, no environment, no network.
    pub fn instantiate(&self, host: HostModules) -> Result<Instance, Error> {
        self.instantiate_with_mounts(host, &[])
    }

    /// A fresh instance that is also granted these host directories.
    pub fn instantiate_with_mounts(&self, host: HostModules, mounts: &[Mount]) -> Result<Instance, Error> {
        let mut wasi = WasiCtxBuilder::new();
        if !mounts.is_empty() {
            // wasi-libc's table from snapshot time maps the stdlib's path to
            // the first granted directory: make that one an empty directory.
            let empty = empty_directory()?;
            wasi.preopened_dir(&empty, GUEST_STDLIB, FsPerms::ReadOnly)
                .map_err(|e| Error::Mount { path: empty.clone(), message: e.to_string() })?;
        }
        for mount in mounts {
            if !mount.guest.starts_with('/') || mount.guest == GUEST_STDLIB {
                return Err(Error::InvalidInput(format!(
                    "cannot mount at {:?}: use an absolute path other than {GUEST_STDLIB}",
                    mount.guest
                )));
            }
            let perms = if mount.writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
            wasi.preopened_dir(&mount.host, &mount.guest, perms)
                .map_err(|e| Error::Mount { path: mount.host.clone(), message: e.to_string() })?;
        }
        let state = State {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            host,
            memory: MemoryCap { bytes: self.limits.memory_bytes, hit: false },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        if self.limits.timeout.is_some() {
            store.epoch_deadline_trap();
            // "No deadline": far away, but not so far that adding the current epoch overflows.
            store.set_epoch_deadline(NO_DEADLINE);
        }
        let python =
            bindings::Python::instantiate(&mut store, &self.component, &self.linker).map_err(|e| {
                let capacity =
                    e.to_string().contains("maximum concurrent") || format!("{e:?}").contains("pooling");
                if capacity { Error::Capacity(format!("{e}")) } else { Error::Instantiate(e) }
            })?;
        Ok(Instance {
            store,
            python,
            trapped: false,
            timeout: self.limits.timeout,
            _ticker: self._ticker.clone(),
        })
    }
}

/// A live interpreter. Globals and imported modules persist between calls.
pub struct Instance {
    store: Store<State>,
    python: bindings::Python,
    trapped: bool,
    timeout: Option<Duration>,
    /// Keeps the epoch advancing while the instance lives, even when its
    /// runtime has been dropped.
    _ticker: Option<Arc<EpochTicker>>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("trapped", &self.trapped).finish_non_exhaustive()
    }
}

fn output(o: wire::Output) -> Output {
    Output { stdout: o.stdout, stderr: o.stderr }
}

fn python_error(e: wire::PythonError) -> PythonError {
    PythonError { type_name: e.type_name, message: e.message, traceback: e.traceback }
}

/// Refuses source code larger than what one call may carry.
fn check_source(code: &str) -> Result<(), Error> {
    if code.len() > crate::value::MAX_PAYLOAD {
        return Err(Error::InvalidInput(format!(
            "source code of {} bytes is too large (at most {} MiB)",
            code.len(),
            crate::value::MAX_PAYLOAD >> 20
        )));
    }
    Ok(())
}

impl Instance {
    /// Refuses calls after a trap, and arms the timeout for the next call.
    fn guard(&mut self) -> Result<(), Error> {
        if self.trapped {
            return Err(Error::Trapped);
        }
        if let Some(t) = self.timeout {
            self.store.set_epoch_deadline((t.as_micros() / EPOCH_TICK.as_micros()).max(1) as u64 + 1);
        }
        self.store.data_mut().memory.hit = false;
        Ok(())
    }

    fn trap(&mut self, err: wasmtime::Error) -> Error {
        // After a trap the guest's memory may be inconsistent: refuse reuse.
        self.trapped = true;
        match err.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => Error::Timeout(self.timeout.unwrap_or_default()),
            _ if self.store.data().memory.hit => Error::MemoryLimit(self.store.data().memory.bytes),
            _ => Error::Trap(format!("{err:?}")),
        }
    }

    fn evaluation(
        &mut self,
        e: bindings::exports::pycomponent::python::interpreter::Evaluation,
    ) -> Result<Reply<Value>, Error> {
        let result = match e.result {
            Ok(v) => Ok(Value::from_wire(&v).map_err(|m| Error::InvalidInput(m.to_string()))?),
            Err(err) => Err(python_error(err)),
        };
        Ok(Reply { result, output: output(e.output) })
    }

    fn execution(e: bindings::exports::pycomponent::python::interpreter::Execution) -> Reply<()> {
        Reply { result: e.result.map_err(python_error), output: output(e.output) }
    }

    /// Evaluates an expression in `__main__`.
    pub fn eval(&mut self, expression: &str) -> Result<Reply<Value>, Error> {
        self.guard()?;
        check_source(expression)?;
        let r = self.python.pycomponent_python_interpreter().call_eval(&mut self.store, expression);
        let r = r.map_err(|e| self.trap(e))?;
        self.evaluation(r)
    }

    /// Executes statements in `__main__`.
    pub fn exec(&mut self, code: &str) -> Result<Reply<()>, Error> {
        self.guard()?;
        check_source(code)?;
        let r = self.python.pycomponent_python_interpreter().call_exec(&mut self.store, code);
        Ok(Self::execution(r.map_err(|e| self.trap(e))?))
    }

    /// Executes statements in `__main__`; when the last statement is an
    /// expression, the result is its value (`None` otherwise), as in a
    /// notebook cell.
    pub fn run(&mut self, code: &str) -> Result<Reply<Value>, Error> {
        self.guard()?;
        check_source(code)?;
        let r = self.python.pycomponent_python_interpreter().call_run(&mut self.store, code);
        let r = r.map_err(|e| self.trap(e))?;
        self.evaluation(r)
    }

    /// Calls a function by dotted name with positional and keyword arguments.
    pub fn call(
        &mut self,
        function: &str,
        args: &[Value],
        kwargs: &[(&str, Value)],
    ) -> Result<Reply<Value>, Error> {
        self.guard()?;
        crate::value::check_size(args.iter().chain(kwargs.iter().map(|(_, v)| v)))
            .map_err(Error::InvalidInput)?;
        let args: Vec<wire::Value> = args.iter().map(Value::to_wire).collect();
        let kwargs: Vec<wire::KeywordArgument> = kwargs
            .iter()
            .map(|(name, value)| wire::KeywordArgument { name: name.to_string(), value: value.to_wire() })
            .collect();
        let r =
            self.python.pycomponent_python_interpreter().call_call(&mut self.store, function, &args, &kwargs);
        let r = r.map_err(|e| self.trap(e))?;
        self.evaluation(r)
    }

    /// Imports a module.
    pub fn import_module(&mut self, name: &str) -> Result<Reply<()>, Error> {
        self.guard()?;
        let r = self.python.pycomponent_python_interpreter().call_import_module(&mut self.store, name);
        Ok(Self::execution(r.map_err(|e| self.trap(e))?))
    }

    /// Adds a user module from source so that `import name` finds it.
    pub fn add_module(&mut self, name: &str, source: &str, is_package: bool) -> Result<Reply<()>, Error> {
        self.guard()?;
        check_source(source)?;
        let r = self.python.pycomponent_python_interpreter().call_add_module(
            &mut self.store,
            name,
            source,
            is_package,
        );
        Ok(Self::execution(r.map_err(|e| self.trap(e))?))
    }
}
