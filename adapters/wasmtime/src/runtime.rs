//! The Python component under Wasmtime: a [`Runtime`] compiles it once, an
//! [`Instance`] runs code with state that persists between calls, and
//! [`Reply`] is what one call gives back.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, Trap};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::Error;
use crate::bindings::exports::pycomponent::python::interpreter::{Evaluation, Execution};
use crate::bindings::{self, wire};
use crate::engine::{EPOCH_TICK, EpochTicker, Limits, MemoryCap, NO_DEADLINE, engine_config, pool_full};
use crate::host::{HostModules, HostState};
use crate::http_client::HttpPolicy;
use crate::value::{MalformedValue, Value};

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

/// A host directory granted to the guest
/// ([`Runtime::instantiate_with_mounts`], and
/// [`Run::mount`](crate::python_wasm::Run::mount) for `python.wasm`).
#[derive(Debug, Clone)]
pub struct Mount {
    /// Directory on the host.
    pub host: PathBuf,
    /// Absolute path where the guest sees it.
    pub guest: String,
    /// Whether the guest may create, change and delete files in it.
    pub writable: bool,
}

/// Per-instance state of the store.
pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) host: HostState,
    pub(crate) memory: MemoryCap,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A compiled component, ready to make instances.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    component: Component,
    linker: Linker<State>,
    limits: Limits,
    ticker: Option<Arc<EpochTicker>>,
    /// The directory granted at `/usr/local/lib` with the stdlib sources.
    sources: Option<PathBuf>,
    /// Which outgoing HTTP requests instances may make.
    http: Arc<HttpPolicy>,
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
        let bytes = std::fs::read(component).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => Error::ComponentNotFound(component.to_path_buf()),
            _ => Error::Io { path: component.to_path_buf(), source },
        })?;
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
        bindings::Python::add_to_linker::<State, HasSelf<HostState>>(&mut linker, |state| &mut state.host)
            .map_err(Error::Engine)?;
        let ticker = limits.timeout.is_some().then(|| Arc::new(EpochTicker::start(&engine)));
        Ok(Runtime { engine, component, linker, limits, ticker, sources: None, http: Arc::default() })
    }

    /// Gives every instance the standard library's sources
    /// (`target/component/python311.zip`, built beside the component), so
    /// that tracebacks through library modules show their source lines and
    /// `inspect.getsource` works on them. The zip is written once to the
    /// user's cache and granted read-only at `/usr/local/lib`; an instance
    /// reads it only when a traceback or `inspect` asks. Without it, those
    /// frames show their paths and line numbers but no source.
    pub fn with_stdlib_sources(mut self, zip: &[u8]) -> Result<Runtime, Error> {
        self.sources = Some(crate::sources::directory(zip)?);
        Ok(self)
    }

    /// Lets every instance make the outgoing HTTP requests that `policy`
    /// allows (`urllib.request`, `http.client`, `pycomponent.http.fetch`),
    /// within its limits. Without it, no request goes out: Python gets a
    /// `PermissionError` that names the URL.
    pub fn with_http_policy(mut self, policy: HttpPolicy) -> Runtime {
        self.http = Arc::new(policy);
        self
    }

    /// The HTTP policy every instance gets.
    pub fn http_policy(&self) -> &HttpPolicy {
        &self.http
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
        if let Some(sources) = &self.sources {
            wasi.preopened_dir(sources, crate::sources::GUEST_DIR, FsPerms::ReadOnly)
                .map_err(|e| Error::Mount { path: sources.clone(), message: e.to_string() })?;
        }
        for mount in mounts {
            check_mount_point(&mount.guest)?;
            let perms = if mount.writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
            wasi.preopened_dir(&mount.host, &mount.guest, perms)
                .map_err(|e| Error::Mount { path: mount.host.clone(), message: e.to_string() })?;
        }
        let state = State {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            host: HostState::new(host, self.http.clone()),
            memory: MemoryCap::new(self.limits.memory_bytes),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        if self.limits.timeout.is_some() {
            store.epoch_deadline_trap();
            store.set_epoch_deadline(NO_DEADLINE);
        }
        let python = bindings::Python::instantiate(&mut store, &self.component, &self.linker)
            .map_err(instantiation_error)?;
        let mut instance = Instance {
            store,
            python,
            trapped: false,
            timeout: self.limits.timeout,
            _ticker: self.ticker.clone(),
        };
        if self.limits.file_system_bytes != Limits::default().file_system_bytes {
            instance.set_file_system_capacity(self.limits.file_system_bytes)?;
        }
        if self.limits.python_objects != Limits::default().python_objects {
            instance.set_python_object_limit(self.limits.python_objects)?;
        }
        Ok(instance)
    }
}

/// Refuses a guest path a directory cannot be granted at: a relative one,
/// `/` itself (it would hide the instance's own tree), or one with `.` or
/// `..` components.
fn check_mount_point(guest: &str) -> Result<(), Error> {
    let components: Vec<&str> = guest.split('/').skip(1).filter(|c| !c.is_empty()).collect();
    if !guest.starts_with('/') || components.is_empty() || components.iter().any(|c| *c == "." || *c == "..")
    {
        return Err(Error::InvalidInput(format!(
            "cannot mount at {guest:?}: use an absolute path below / without . or .. (such as /data)"
        )));
    }
    Ok(())
}

/// A full pool is [`Error::Capacity`]; anything else failed instantiation.
fn instantiation_error(error: wasmtime::Error) -> Error {
    match pool_full(&error) {
        Some(full) => Error::Capacity(full.to_string()),
        None => Error::Instantiate(error),
    }
}

/// A live interpreter. Globals and imported modules persist between calls.
pub struct Instance {
    pub(crate) store: Store<State>,
    pub(crate) python: bindings::Python,
    /// Set once a call trapped or the guest sent a malformed value: the
    /// guest may be inconsistent, so the instance refuses further calls.
    trapped: bool,
    pub(crate) timeout: Option<Duration>,
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
pub(crate) fn check_source(code: &str) -> Result<(), Error> {
    if code.len() > crate::value::MAX_PAYLOAD {
        return Err(Error::InvalidInput(format!(
            "source code of {} bytes is too large (at most {} MiB)",
            code.len(),
            crate::value::MAX_PAYLOAD >> 20
        )));
    }
    Ok(())
}

/// Runs `call`, which calls into the guest, where the WASI functions that
/// block may do so. wasmtime-wasi's synchronous bindings block on a tokio
/// runtime for sleeps, polls and host files, which panics on a thread that
/// is running tokio tasks. So inside a multi-threaded runtime the call runs
/// in `block_in_place`; inside a current-thread runtime, on a scoped thread
/// of its own (tens of microseconds more per call); outside tokio, as it is.
fn outside_async_tasks<R: Send>(call: impl FnOnce() -> R + Send) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Err(_) => call(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(call),
        Ok(_) => std::thread::scope(|scope| match scope.spawn(call).join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// The arguments of a call in their wire form, refused when they are too
/// large to send or hold a Python object of another instance.
pub(crate) fn wire_arguments(
    objects: &mut crate::objects::Objects,
    args: &[Value],
    kwargs: &[(&str, Value)],
) -> Result<(Vec<wire::Value>, Vec<wire::KeywordArgument>), Error> {
    crate::value::check_size(args.iter().chain(kwargs.iter().map(|(_, v)| v)))
        .map_err(Error::InvalidInput)?;
    let args = args.iter().map(|arg| arg.to_wire(objects)).collect::<Result<_, _>>()?;
    let kwargs = kwargs
        .iter()
        .map(|(name, value)| {
            Ok(wire::KeywordArgument { name: name.to_string(), value: value.to_wire(objects)? })
        })
        .collect::<Result<_, Error>>()?;
    Ok((args, kwargs))
}

/// What a failed call means: a malformed value the guest sent to a host
/// function, the timeout, the memory cap, or another trap (its source kept).
fn call_error(error: wasmtime::Error, timeout: Option<Duration>, memory: &MemoryCap) -> Error {
    if let Some(malformed) = error.downcast_ref::<MalformedValue>() {
        return Error::MalformedValue(malformed.clone());
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Error::Timeout(timeout.unwrap_or_default()),
        _ if memory.hit => Error::MemoryLimit(memory.bytes),
        _ => Error::Trap(error),
    }
}

impl Instance {
    /// The arguments of a call in their wire form (see [`wire_arguments`]).
    pub(crate) fn wire_arguments(
        &mut self,
        args: &[Value],
        kwargs: &[(&str, Value)],
    ) -> Result<(Vec<wire::Value>, Vec<wire::KeywordArgument>), Error> {
        wire_arguments(&mut self.store.data_mut().host.objects, args, kwargs)
    }

    /// Refuses calls after a trap, and arms the timeout for the next call.
    pub(crate) fn guard(&mut self) -> Result<(), Error> {
        if self.trapped {
            return Err(Error::Trapped);
        }
        // An asynchronous call whose future was dropped before it ended is
        // still open in the guest: it is cancelled first (`crate::async_call`).
        if self.store.data().host.pending.accepting {
            self.cancel_abandoned_call()?;
        }
        if let Some(t) = self.timeout {
            self.arm_timeout(t);
        }
        let timeout = self.timeout;
        self.store.data_mut().host.http.start_call(timeout);
        self.store.data_mut().memory.hit = false;
        // The Python objects the host dropped since the last call.
        let released = self.store.data().host.objects.take_released();
        if !released.is_empty() {
            self.in_guest(|i| i.python.pycomponent_python_objects().call_release(&mut i.store, &released))?;
        }
        Ok(())
    }

    /// Lets the guest run for `time` from now before the epoch stops it.
    pub(crate) fn arm_timeout(&mut self, time: Duration) {
        self.store.set_epoch_deadline((time.as_micros() / EPOCH_TICK.as_micros()).max(1) as u64 + 1);
    }

    /// Runs one call into the guest (see [`outside_async_tasks`]); a trap
    /// retires the instance.
    pub(crate) fn in_guest<R: Send>(
        &mut self,
        call: impl FnOnce(&mut Instance) -> wasmtime::Result<R> + Send,
    ) -> Result<R, Error> {
        outside_async_tasks(|| call(self)).map_err(|e| self.trap(e))
    }

    /// Makes the instance refuse further calls with [`Error::Trapped`].
    pub(crate) fn retire(&mut self) {
        self.trapped = true;
    }

    /// The error of a call that failed; the instance is retired, as the
    /// guest's memory may be inconsistent after a trap.
    pub(crate) fn trap(&mut self, error: wasmtime::Error) -> Error {
        self.trapped = true;
        call_error(error, self.timeout, &self.store.data().memory)
    }

    /// The reply of a call that returns a value. A malformed value retires
    /// the instance (see [`Error::MalformedValue`]).
    pub(crate) fn evaluation(&mut self, e: Evaluation) -> Result<Reply<Value>, Error> {
        let result = match e.result {
            Ok(v) => Ok(Value::from_wire(v, &self.store.data().host.objects).map_err(|malformed| {
                self.trapped = true;
                Error::MalformedValue(malformed)
            })?),
            Err(err) => Err(python_error(err)),
        };
        Ok(Reply { result, output: output(e.output) })
    }

    fn execution(e: Execution) -> Reply<()> {
        Reply { result: e.result.map_err(python_error), output: output(e.output) }
    }

    /// Evaluates an expression in `__main__`.
    pub fn eval(&mut self, expression: &str) -> Result<Reply<Value>, Error> {
        self.guard()?;
        check_source(expression)?;
        let r =
            self.in_guest(|i| i.python.pycomponent_python_interpreter().call_eval(&mut i.store, expression))?;
        self.evaluation(r)
    }

    /// Executes statements in `__main__`.
    pub fn exec(&mut self, code: &str) -> Result<Reply<()>, Error> {
        self.guard()?;
        check_source(code)?;
        let r = self.in_guest(|i| i.python.pycomponent_python_interpreter().call_exec(&mut i.store, code))?;
        Ok(Self::execution(r))
    }

    /// Executes statements in `__main__`; when the last statement is an
    /// expression, the result is its value (`None` otherwise), as in a
    /// notebook cell.
    pub fn run(&mut self, code: &str) -> Result<Reply<Value>, Error> {
        self.guard()?;
        check_source(code)?;
        let r = self.in_guest(|i| i.python.pycomponent_python_interpreter().call_run(&mut i.store, code))?;
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
        let (args, kwargs) = self.wire_arguments(args, kwargs)?;
        let r = self.in_guest(|i| {
            i.python.pycomponent_python_interpreter().call_call(&mut i.store, function, &args, &kwargs)
        })?;
        self.evaluation(r)
    }

    /// Imports a module.
    pub fn import_module(&mut self, name: &str) -> Result<Reply<()>, Error> {
        self.guard()?;
        let r = self
            .in_guest(|i| i.python.pycomponent_python_interpreter().call_import_module(&mut i.store, name))?;
        Ok(Self::execution(r))
    }

    /// Adds a user module from source so that `import name` finds it.
    pub fn add_module(&mut self, name: &str, source: &str, is_package: bool) -> Result<Reply<()>, Error> {
        self.guard()?;
        check_source(source)?;
        let r = self.in_guest(|i| {
            i.python.pycomponent_python_interpreter().call_add_module(&mut i.store, name, source, is_package)
        })?;
        Ok(Self::execution(r))
    }

    /// Installs a pure-Python wheel (its bytes; `filename` names it in
    /// errors) into this instance, in memory, as pip would into
    /// site-packages: its modules import, its data files are package
    /// resources, `importlib.metadata` sees it. Gives the project's name
    /// and version. A wheel with native code, or bytes that are not a
    /// wheel, give a Python `ValueError` naming the file. Install a wheel's
    /// dependencies the same way, in any order.
    pub fn install_wheel(&mut self, wheel: &[u8], filename: &str) -> Result<Reply<(String, String)>, Error> {
        let reply = self.call(
            "_pycomponent.install_wheel",
            &[Value::Bytes(wheel.to_vec()), Value::from(filename)],
            &[],
        )?;
        // The guest's code can be replaced by the Python it runs: a reply
        // of another shape is an error of the call, not of the host.
        let unexpected = |shown: Value| PythonError {
            type_name: "TypeError".into(),
            message: format!("installing {filename} gave {shown}, not the project's name and version"),
            traceback: String::new(),
        };
        let result = reply.result.and_then(|installed| match installed {
            Value::Tuple(pair) => match <[Value; 2]>::try_from(pair) {
                Ok([Value::Str(name), Value::Str(version)]) => Ok((name, version)),
                Ok(pair) => Err(unexpected(Value::Tuple(pair.into()))),
                Err(items) => Err(unexpected(Value::Tuple(items))),
            },
            other => Err(unexpected(other)),
        });
        Ok(Reply { result, output: reply.output })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(hit: bool) -> MemoryCap {
        MemoryCap { bytes: 1 << 20, hit }
    }

    #[test]
    fn a_malformed_value_from_a_host_call_is_its_own_error() {
        let malformed = MalformedValue::OutOfRange { node: 0, child: 9 };
        // As Wasmtime hands it back: the host function's error, with context.
        let error =
            wasmtime::Error::new(malformed.clone()).context("error while executing at wasm backtrace");
        match call_error(error, None, &cap(true)) {
            Error::MalformedValue(m) => assert_eq!(m, malformed),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn traps_keep_their_source_and_code() {
        let error = wasmtime::Error::new(Trap::UnreachableCodeReached).context("wasm backtrace");
        let Error::Trap(source) = call_error(error, None, &cap(false)) else { panic!("a trap") };
        assert_eq!(source.downcast_ref::<Trap>(), Some(&Trap::UnreachableCodeReached));
        let err = call_error(wasmtime::Error::new(Trap::StackOverflow), None, &cap(false));
        assert!(std::error::Error::source(&err).is_some(), "{err}");
    }

    #[test]
    fn interrupts_are_timeouts_and_denied_growth_is_the_memory_limit() {
        let timeout = Some(Duration::from_secs(2));
        assert!(matches!(
            call_error(wasmtime::Error::new(Trap::Interrupt), timeout, &cap(true)),
            Error::Timeout(t) if t == Duration::from_secs(2)
        ));
        assert!(matches!(
            call_error(wasmtime::Error::new(Trap::UnreachableCodeReached), timeout, &cap(true)),
            Error::MemoryLimit(bytes) if bytes == 1 << 20
        ));
    }
}
