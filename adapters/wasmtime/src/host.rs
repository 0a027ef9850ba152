//! The host bridge: [`HostModules`], the Rust functions Python imports as
//! modules, and the `host` interface of `wit/python.wit` that calls them
//! and the [`HostObject`](crate::HostObject)s Python holds.
//! An asynchronous function's future is kept in the instance's
//! [`PendingCalls`] until an asynchronous call drives it (`crate::async_call`).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::bindings::pycomponent::python::{host, types};
use crate::bindings::wire;
use crate::http_client::{HttpClient, HttpPolicy};
use crate::objects::{Attribute, HostError, Objects};
use crate::value::{MalformedValue, Value};

/// A host function: positional and keyword arguments in, a value or an
/// error message (raised in Python as `RuntimeError`) out.
pub type HostFunction = Arc<dyn Fn(&[Value], &[(String, Value)]) -> Result<Value, String> + Send + Sync>;

/// What an asynchronous host function gives: a future of its value or
/// error message.
pub type HostFuture = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;

/// An asynchronous host function: owned arguments in (so that the future
/// can keep them), a [`HostFuture`] out.
pub type AsyncHostFunction = Arc<dyn Fn(Vec<Value>, Vec<(String, Value)>) -> HostFuture + Send + Sync>;

#[derive(Clone)]
enum Function {
    Sync(HostFunction),
    Async(AsyncHostFunction),
}

/// Modules of host functions that Python imports like any module.
#[derive(Clone, Default)]
pub struct HostModules {
    modules: BTreeMap<String, BTreeMap<String, Function>>,
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
        self,
        module: &str,
        function: &str,
        f: impl Fn(&[Value], &[(String, Value)]) -> Result<Value, String> + Send + Sync + 'static,
    ) -> HostModules {
        self.add(module, function, Function::Sync(Arc::new(f)))
    }

    /// Adds asynchronous function `function` to module `module` (creating
    /// the module): Python gets an awaitable (`await kv.fetch(key)`), and
    /// the future runs while Python waits, concurrently with the other
    /// calls it awaits. It can be awaited only in an asynchronous call
    /// ([`Instance::run_async`](crate::Instance::run_async),
    /// [`Instance::call_async`](crate::Instance::call_async)); in any
    /// other, calling it raises a `RuntimeError` that says so. The future
    /// is dropped (cancelled) when Python stops awaiting it or the call ends.
    pub fn async_function<F, Fut>(self, module: &str, function: &str, f: F) -> HostModules
    where
        F: Fn(Vec<Value>, Vec<(String, Value)>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, String>> + Send + 'static,
    {
        let f: AsyncHostFunction = Arc::new(move |args, kwargs| Box::pin(f(args, kwargs)));
        self.add(module, function, Function::Async(f))
    }

    fn add(mut self, module: &str, function: &str, f: Function) -> HostModules {
        self.modules.entry(module.to_string()).or_default().insert(function.to_string(), f);
        self
    }
}

/// One pending call of an asynchronous host function.
pub(crate) struct PendingCall {
    /// `module.function`, for errors.
    pub(crate) label: String,
    pub(crate) future: HostFuture,
}

/// The asynchronous host calls an instance's Python awaits, by id.
#[derive(Default)]
pub(crate) struct PendingCalls {
    /// Whether an asynchronous call is open in the guest (from its first
    /// step until it is done or cancelled): asynchronous functions may start
    /// only then, and a call left open by a dropped future is cancelled
    /// before the instance's next call.
    pub(crate) accepting: bool,
    next_id: u64,
    pub(crate) calls: HashMap<u64, PendingCall>,
}

/// The host side of one instance: its host modules, the asynchronous
/// calls in progress, its live objects and its outgoing HTTP.
pub(crate) struct HostState {
    pub(crate) modules: HostModules,
    pub(crate) pending: PendingCalls,
    pub(crate) objects: Objects,
    pub(crate) http: HttpClient,
}

impl HostState {
    pub(crate) fn new(modules: HostModules, http: Arc<HttpPolicy>) -> HostState {
        HostState {
            modules,
            pending: PendingCalls::default(),
            objects: Objects::default(),
            http: HttpClient::new(http),
        }
    }
}

/// A host function's or host object's result for the guest: the value in
/// its wire form, or the error Python sees when it cannot be sent.
pub(crate) fn wire_result(
    label: &dyn std::fmt::Display,
    result: Result<Value, String>,
    objects: &mut Objects,
) -> Result<wire::Value, String> {
    checked_result(label, result)?
        .to_wire(objects)
        .map_err(|e| format!("{label} returned a value Python cannot take: {e}"))
}

/// The `host-error` of a host object's error.
fn host_error(error: HostError) -> wire::HostError {
    wire::HostError { type_name: error.type_name, message: error.message, stack: error.stack }
}

/// Runs a host object's method, a panic turned into its error.
fn catch<T>(label: &str, run: impl FnOnce() -> Result<T, HostError>) -> Result<T, HostError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .unwrap_or_else(|_| Err(HostError::new("PanicError", format!("{label} panicked"))))
}

impl types::Host for HostState {}

impl host::Host for HostState {
    fn modules(&mut self) -> Vec<host::HostModule> {
        self.modules
            .modules
            .iter()
            .map(|(name, functions)| host::HostModule {
                name: name.clone(),
                functions: functions.keys().cloned().collect(),
            })
            .collect()
    }

    /// Errors of the function become a `RuntimeError` in Python. Malformed
    /// arguments trap instead (the `Err` of the outer result, a
    /// [`MalformedValue`]): the guest only sends well-formed tables, so one
    /// that is not means its memory is corrupted, and the instance that
    /// sent it is retired rather than answered.
    fn call(
        &mut self,
        module: String,
        function: String,
        args: Vec<wire::Value>,
        kwargs: Vec<wire::KeywordArgument>,
    ) -> wasmtime::Result<Result<host::Outcome, String>> {
        let (args, kwargs) = decode_arguments(args, kwargs, &self.objects)?;
        let Some(f) = self.modules.modules.get(&module).and_then(|m| m.get(&function)) else {
            return Ok(Err(format!("the host has no function {module}.{function}")));
        };
        let f = match f {
            Function::Sync(f) => f,
            Function::Async(f) => {
                return Ok(self.pending.start(
                    format!("{module}.{function}"),
                    f,
                    args,
                    kwargs,
                    &mut self.objects,
                ));
            }
        };
        // A panicking host function is a host error, not a crash of the embedder.
        let label = format_args!("{module}.{function}");
        Ok(match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&args, &kwargs))) {
            Ok(result) => wire_result(&label, result, &mut self.objects).map(host::Outcome::Value),
            Err(_) => Err(format!("host function {label} panicked")),
        })
    }

    fn object_get(&mut self, object: u64, name: String) -> Result<host::Attribute, wire::HostError> {
        let target = self.objects.host_object(object).ok_or_else(|| unknown(object))?;
        let label = format!("host object attribute {name:?}");
        let attribute = catch(&label, || target.get(&name)).map_err(host_error)?;
        Ok(match attribute {
            Attribute::Value(value) => host::Attribute::Value(
                wire_result(&label, Ok(value), &mut self.objects).map_err(|e| host_error(e.into()))?,
            ),
            Attribute::Method => host::Attribute::Method,
            Attribute::Missing => host::Attribute::Missing,
        })
    }

    /// Malformed values trap, as for [`call`](Self::call).
    fn object_set(
        &mut self,
        object: u64,
        name: String,
        value: wire::Value,
    ) -> wasmtime::Result<Result<(), wire::HostError>> {
        let value = Value::from_wire(value, &self.objects)?;
        let Some(target) = self.objects.host_object(object) else { return Ok(Err(unknown(object))) };
        Ok(catch(&format!("setting attribute {name:?}"), || target.set(&name, value)).map_err(host_error))
    }

    /// Malformed values trap, as for [`call`](Self::call).
    fn object_call(
        &mut self,
        object: u64,
        method: Option<String>,
        args: Vec<wire::Value>,
        kwargs: Vec<wire::KeywordArgument>,
    ) -> wasmtime::Result<Result<host::Outcome, wire::HostError>> {
        let (args, kwargs) = decode_arguments(args, kwargs, &self.objects)?;
        let Some(target) = self.objects.host_object(object) else { return Ok(Err(unknown(object))) };
        let (label, result) = match &method {
            Some(name) => {
                let label = format!("host object method {name}");
                let result = catch(&label, || target.call_method(name, &args, &kwargs));
                (label, result)
            }
            None => ("host object".to_string(), catch("host object", || target.call(&args, &kwargs))),
        };
        let value = result.map_err(host_error);
        Ok(value.and_then(|value| {
            wire_result(&label, Ok(value), &mut self.objects)
                .map(host::Outcome::Value)
                .map_err(|e| host_error(e.into()))
        }))
    }

    fn release_objects(&mut self, objects: Vec<u64>) {
        self.objects.release_host(&objects);
    }
}

/// The error for a host object handle Python does not hold.
fn unknown(handle: u64) -> wire::HostError {
    host_error(HostError::new("ReferenceError", format!("Python holds no host object {handle}")))
}

impl PendingCalls {
    /// Starts an asynchronous function: its future is kept under a new id
    /// that Python awaits. Outside an asynchronous call, an error that says
    /// to await it.
    fn start(
        &mut self,
        label: String,
        f: &AsyncHostFunction,
        args: Vec<Value>,
        kwargs: Vec<(String, Value)>,
        objects: &mut Objects,
    ) -> Result<host::Outcome, String> {
        if !self.accepting {
            return Err(format!(
                "{label} is an asynchronous host function: call it as `await {label}(...)` in code \
                 that an asynchronous call runs (Instance::run_async or call_async); this call is synchronous"
            ));
        }
        // Making the future runs the function's synchronous part, which may panic.
        let mut future = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(args, kwargs)))
            .map_err(|_| format!("host function {label} panicked"))?;
        // A future that is ready at once (a cache hit, say) needs no round
        // trip through the host. It is polled here only where tokio's
        // context is (not on the scoped thread of a current-thread runtime);
        // the real waker comes with the next poll, when the host waits.
        if tokio::runtime::Handle::try_current().is_ok() {
            let mut context = std::task::Context::from_waker(std::task::Waker::noop());
            let polled =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(&mut context)))
                    .map_err(|_| format!("host function {label} panicked"))?;
            if let std::task::Poll::Ready(result) = polled {
                return wire_result(&label, result, objects).map(host::Outcome::Ready);
            }
        }
        Ok(host::Outcome::Pending(self.add(label, |_| future)))
    }

    /// Keeps the future that `make` builds for a new id (which it is given)
    /// as a pending call; returns the id.
    pub(crate) fn add(&mut self, label: String, make: impl FnOnce(u64) -> HostFuture) -> u64 {
        self.next_id += 1;
        self.calls.insert(self.next_id, PendingCall { label, future: make(self.next_id) });
        self.next_id
    }
}

/// A host function's result, with a value too large to send turned into
/// the error Python sees.
/// `label` names the function (`module.function`); it is formatted only for an error.
pub(crate) fn checked_result(
    label: &dyn std::fmt::Display,
    result: Result<Value, String>,
) -> Result<Value, String> {
    let value = result?;
    match crate::value::check_size([&value]) {
        Ok(()) => Ok(value),
        Err(e) => Err(format!("host function {label} returned {}", e.trim_start_matches("the "))),
    }
}

/// The positional and keyword arguments of a host call.
type Arguments = (Vec<Value>, Vec<(String, Value)>);

/// The arguments of a host call, decoded; the first malformed one is the error.
fn decode_arguments(
    args: Vec<wire::Value>,
    kwargs: Vec<wire::KeywordArgument>,
    objects: &Objects,
) -> Result<Arguments, MalformedValue> {
    let args = args.into_iter().map(|arg| Value::from_wire(arg, objects)).collect::<Result<_, _>>()?;
    let kwargs = kwargs
        .into_iter()
        .map(|kw| Ok((kw.name, Value::from_wire(kw.value, objects)?)))
        .collect::<Result<_, _>>()?;
    Ok((args, kwargs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use host::Host as _;

    fn echo() -> HostState {
        HostState::new(
            HostModules::new()
                .function("h", "echo", |args, _| Ok(Value::List(args.to_vec())))
                .async_function("h", "later", |args, _| async move { Ok(Value::List(args)) }),
            Arc::default(),
        )
    }

    #[test]
    fn a_call_with_good_arguments_reaches_the_function() {
        let mut state = echo();
        let seven = Value::Int(7).to_wire(&mut state.objects).unwrap();
        let reply = state.call("h".into(), "echo".into(), vec![seven], vec![]).unwrap();
        let Ok(host::Outcome::Value(value)) = reply else { panic!("a value") };
        assert_eq!(Value::from_wire(value, &state.objects).unwrap(), Value::List(vec![Value::Int(7)]));
    }

    #[test]
    fn an_async_function_is_pending_only_in_an_asynchronous_call() {
        let mut state = echo();
        let refused = state.call("h".into(), "later".into(), vec![], vec![]).unwrap().unwrap_err();
        assert!(refused.contains("`await h.later(...)`"), "{refused}");
        assert!(state.pending.calls.is_empty());
        state.pending.accepting = true;
        // Outside tokio the future is not polled at once: it stays pending.
        let first = state.call("h".into(), "later".into(), vec![], vec![]).unwrap();
        let second = state.call("h".into(), "later".into(), vec![], vec![]).unwrap();
        assert!(matches!((first, second), (Ok(host::Outcome::Pending(1)), Ok(host::Outcome::Pending(2)))));
        assert_eq!(state.pending.calls[&2].label, "h.later");
        // Inside it, a future that is ready at once is answered at once.
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let ready =
            runtime.block_on(async { state.call("h".into(), "later".into(), vec![], vec![]).unwrap() });
        assert!(matches!(ready, Ok(host::Outcome::Ready(_))));
        assert_eq!(state.pending.calls.len(), 2);
    }

    #[test]
    fn a_malformed_argument_traps_with_the_typed_error() {
        let shared = wire::Value { nodes: vec![wire::Node::List(vec![1, 1]), wire::Node::None] };
        let err = echo().call("h".into(), "echo".into(), vec![shared], vec![]).unwrap_err();
        assert_eq!(
            err.downcast_ref::<MalformedValue>(),
            Some(&MalformedValue::SharedChild { node: 0, child: 1 })
        );
        let kwarg = wire::KeywordArgument { name: "k".into(), value: wire::Value { nodes: vec![] } };
        let err = echo().call("h".into(), "echo".into(), vec![], vec![kwarg]).unwrap_err();
        assert_eq!(err.downcast_ref::<MalformedValue>(), Some(&MalformedValue::Empty));
    }

    #[test]
    fn a_malformed_argument_traps_even_for_an_unknown_function() {
        let err = echo().call("h".into(), "nope".into(), vec![wire::Value { nodes: vec![] }], vec![]);
        assert!(err.is_err(), "a guest that sends a malformed value is retired whatever it calls");
        let reply = echo().call("h".into(), "nope".into(), vec![], vec![]).unwrap();
        assert_eq!(reply.err().unwrap(), "the host has no function h.nope");
    }
}
