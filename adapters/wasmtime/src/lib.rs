//! pycomponent: run Python inside WebAssembly hosts.
//!
//! This crate runs the pycomponent component — CPython 3.11 with its
//! standard library, pre-initialized — under Wasmtime. A [`Runtime`]
//! compiles the component once; [`Runtime::instantiate`] makes isolated
//! interpreters in microseconds; [`HostModules`] are Rust functions Python
//! imports like modules. Plain data crosses as a copy ([`Value`]); other
//! Python objects stay live as [`PyObject`]s the host calls, and Rust
//! objects go into Python as [`HostObject`]s. Python exceptions come back as
//! values ([`PythonError`]); traps, timeouts and exhausted limits as [`Error`]s.
//!
//! ```no_run
//! use pycomponent::{HostModules, Runtime, Value};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::new("target/component/pycomponent.wasm".as_ref())?;
//! let host = HostModules::new().function("kv", "get", |args, _| match args {
//!     [Value::Str(key)] => Ok(Value::from(format!("value of {key}"))),
//!     _ => Err("get(key) takes one str".into()),
//! });
//! let mut py = runtime.instantiate(host)?;
//! let reply = py.eval("__import__('kv').get('user:1')")?;
//! assert_eq!(reply.result?, Value::from("value of user:1"));
//! # Ok(())
//! # }
//! ```
//!
//! [`app`] builds a Python web app into a `wasi:http` component and
//! [`serve`] serves such a component over HTTP, a fresh instance per
//! request.
//!
//! [`python_wasm`] runs CPython's own `python.wasm` command instead: the
//! baseline the component is measured against.
#![deny(missing_docs)]

use std::path::PathBuf;

pub mod app;
mod async_call;
mod bindings;
pub mod cloudflare;
mod compiled_cache;
mod engine;
mod files;
mod host;
mod http_client;
mod object_calls;
mod objects;
pub mod python_wasm;
mod runtime;
pub mod serve;
pub mod sources;
pub mod value;

pub use engine::Limits;
pub use files::{FileError, FileKind, FileStat};
pub use host::{AsyncHostFunction, HostFunction, HostFuture, HostModules};
pub use http_client::HttpPolicy;
pub use objects::{Attribute, HostError, HostObject, PyObject};
pub use runtime::{Instance, Mount, Output, PythonError, Reply, Runtime};
pub use value::Value;

/// Errors of the pycomponent API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// There is no component file at this path. The component is built
    /// from a pycomponent checkout by `cargo xtask component`, which
    /// writes `target/component/pycomponent.wasm` (README, "Embedding in Rust").
    #[error(
        "no component at {0}: build it in a pycomponent checkout with `cargo xtask component` \
         (it writes target/component/pycomponent.wasm) and give its path"
    )]
    ComponentNotFound(PathBuf),
    /// An argument was not acceptable (the message says why).
    #[error("{0}")]
    InvalidInput(String),
    /// A host directory could not be granted to the guest.
    #[error("cannot mount {path}: {message}")]
    Mount {
        /// The host directory.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The Wasmtime engine could not be set up.
    #[error("wasmtime setup failed: {0}")]
    Engine(#[source] wasmtime::Error),
    /// The WebAssembly module could not be compiled.
    #[error("compiling the WebAssembly module failed: {0}")]
    Compile(#[source] wasmtime::Error),
    /// The module could not be instantiated.
    #[error("instantiating the WebAssembly module failed: {0}")]
    Instantiate(#[source] wasmtime::Error),
    /// The guest trapped (a bug or an exhausted limit, not a Python
    /// exception). The source is Wasmtime's error, with the guest's
    /// backtrace; downcast it to [`wasmtime::Trap`] for the trap code (a
    /// Rust panic in the guest, say, is [`wasmtime::Trap::UnreachableCodeReached`]).
    #[error("the guest trapped: {0:?}")]
    Trap(#[source] wasmtime::Error),
    /// The guest sent a value that breaks the rules of the node table (see
    /// [`value::MalformedValue`]), as a call's result or as the arguments of
    /// a host function. The guest only builds well-formed tables, so a
    /// malformed one means its memory is corrupted: the instance is retired
    /// as after a trap, and refuses further calls with [`Error::Trapped`].
    #[error("the guest sent a malformed value: {0}")]
    MalformedValue(#[source] value::MalformedValue),
    /// A call ran longer than the timeout and was stopped.
    #[error("the call ran longer than {0:?} and was stopped")]
    Timeout(std::time::Duration),
    /// The instance needed more memory than its cap and could not go on.
    #[error("the instance reached its memory limit of {0} bytes")]
    MemoryLimit(usize),
    /// No more instances can be created: the pool is full.
    #[error("too many live instances: {0}")]
    Capacity(String),
    /// The instance trapped (or sent a malformed value) earlier and may be
    /// inconsistent: make a new one.
    #[error("this instance trapped earlier and cannot be used again")]
    Trapped,
    /// An app component could not be built (the message says which step
    /// failed and why).
    #[error("{0}")]
    Build(String),
    /// A file operation on the instance's file system failed (the
    /// instance stays usable).
    #[error("{0}")]
    File(#[source] FileError),
    /// The HTTP server could not start or stopped on an error.
    #[error("serving HTTP failed: {0}")]
    Serve(String),
    /// A [`PyObject`] was given to an instance it does not belong to (its
    /// own may have been dropped). The message names its type.
    #[error("this Python object ({0}) belongs to another instance")]
    ForeignObject(String),
    /// A call on a live object gave a value of another kind than it gives
    /// (not an object, a str or an int): the guest's code was replaced by
    /// the Python it runs. The message shows the value.
    #[error("the call gave {0}, not the kind of value it gives")]
    UnexpectedValue(String),
}
