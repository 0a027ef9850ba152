//! The host bridge: [`HostModules`], the Rust functions Python imports as
//! modules, and the `host` interface of `wit/python.wit` that calls them.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bindings::pycomponent::python::{host, types};
use crate::bindings::wire;
use crate::value::{MalformedValue, Value};

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

impl types::Host for HostModules {}

impl host::Host for HostModules {
    fn modules(&mut self) -> Vec<host::HostModule> {
        self.modules
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
    ) -> wasmtime::Result<Result<wire::Value, String>> {
        let (args, kwargs) = decode_arguments(args, kwargs)?;
        let Some(f) = self.modules.get(&module).and_then(|m| m.get(&function)) else {
            return Ok(Err(format!("the host has no function {module}.{function}")));
        };
        // A panicking host function is a host error, not a crash of the embedder.
        Ok(match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&args, &kwargs))) {
            Ok(Ok(value)) => match crate::value::check_size([&value]) {
                Ok(()) => Ok(value.to_wire()),
                Err(e) => Err(format!(
                    "host function {module}.{function} returned {}",
                    e.trim_start_matches("the ")
                )),
            },
            Ok(Err(message)) => Err(message),
            Err(_) => Err(format!("host function {module}.{function} panicked")),
        })
    }
}

/// The positional and keyword arguments of a host call.
type Arguments = (Vec<Value>, Vec<(String, Value)>);

/// The arguments of a host call, decoded; the first malformed one is the error.
fn decode_arguments(
    args: Vec<wire::Value>,
    kwargs: Vec<wire::KeywordArgument>,
) -> Result<Arguments, MalformedValue> {
    let args = args.into_iter().map(Value::from_wire).collect::<Result<_, _>>()?;
    let kwargs =
        kwargs.into_iter().map(|kw| Ok((kw.name, Value::from_wire(kw.value)?))).collect::<Result<_, _>>()?;
    Ok((args, kwargs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use host::Host as _;

    fn echo() -> HostModules {
        HostModules::new().function("h", "echo", |args, _| Ok(Value::List(args.to_vec())))
    }

    #[test]
    fn a_call_with_good_arguments_reaches_the_function() {
        let reply = echo().call("h".into(), "echo".into(), vec![Value::Int(7).to_wire()], vec![]).unwrap();
        assert_eq!(Value::from_wire(reply.unwrap()).unwrap(), Value::List(vec![Value::Int(7)]));
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
        assert_eq!(reply.unwrap_err(), "the host has no function h.nope");
    }
}
