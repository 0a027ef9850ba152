//! The Python component under Wasmtime: a [`Runtime`] compiles it once, an
//! [`Instance`] runs code with state that persists between calls, and
//! [`HostModules`] are the functions Python may call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::value::Value;
use crate::{Error, python_wasm::GUEST_STDLIB};

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

/// Per-instance state of the store.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    host: HostModules,
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
            Ok(result) => result.map(|v| v.to_wire()),
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
    stdlib: PathBuf,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("stdlib", &self.stdlib).finish_non_exhaustive()
    }
}

impl Runtime {
    /// Compiles the component at `component`. The standard library at
    /// `stdlib` is granted read-only to every instance.
    pub fn new(component: &Path, stdlib: &Path) -> Result<Runtime, Error> {
        if !stdlib.join("os.py").is_file() {
            return Err(Error::InvalidInput(format!(
                "{} is not a CPython standard library",
                stdlib.display()
            )));
        }
        let bytes =
            std::fs::read(component).map_err(|source| Error::Io { path: component.to_path_buf(), source })?;
        let engine = Engine::new(&Config::new()).map_err(Error::Engine)?;
        let component = Component::new(&engine, bytes).map_err(Error::Compile)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(Error::Engine)?;
        bindings::Python::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
            .map_err(Error::Engine)?;
        Ok(Runtime { engine, component, linker, stdlib: stdlib.to_path_buf() })
    }

    /// A fresh instance with these host modules.
    pub fn instantiate(&self, host: HostModules) -> Result<Instance, Error> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.preopened_dir(&self.stdlib, GUEST_STDLIB, FsPerms::ReadOnly)
            .map_err(|e| Error::Mount { path: self.stdlib.clone(), message: e.to_string() })?;
        let state = State { wasi: wasi.build(), table: ResourceTable::new(), host };
        let mut store = Store::new(&self.engine, state);
        let python = bindings::Python::instantiate(&mut store, &self.component, &self.linker)
            .map_err(Error::Instantiate)?;
        Ok(Instance { store, python, trapped: false })
    }
}

/// A live interpreter. Globals and imported modules persist between calls.
pub struct Instance {
    store: Store<State>,
    python: bindings::Python,
    trapped: bool,
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

impl Instance {
    fn guard(&self) -> Result<(), Error> {
        if self.trapped { Err(Error::Trapped) } else { Ok(()) }
    }

    fn trap(&mut self, err: wasmtime::Error) -> Error {
        // After a trap the guest's memory may be inconsistent: refuse reuse.
        self.trapped = true;
        Error::Trap(format!("{err:?}"))
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
        let r = self.python.pycomponent_python_interpreter().call_eval(&mut self.store, expression);
        let r = r.map_err(|e| self.trap(e))?;
        self.evaluation(r)
    }

    /// Executes statements in `__main__`.
    pub fn exec(&mut self, code: &str) -> Result<Reply<()>, Error> {
        self.guard()?;
        let r = self.python.pycomponent_python_interpreter().call_exec(&mut self.store, code);
        Ok(Self::execution(r.map_err(|e| self.trap(e))?))
    }

    /// Calls a function by dotted name with positional and keyword arguments.
    pub fn call(
        &mut self,
        function: &str,
        args: &[Value],
        kwargs: &[(&str, Value)],
    ) -> Result<Reply<Value>, Error> {
        self.guard()?;
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
        let r = self.python.pycomponent_python_interpreter().call_add_module(
            &mut self.store,
            name,
            source,
            is_package,
        );
        Ok(Self::execution(r.map_err(|e| self.trap(e))?))
    }
}
