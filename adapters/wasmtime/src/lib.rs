//! pycomponent: run Python inside WebAssembly hosts.
//!
//! This crate is the Wasmtime side of pycomponent. Today it runs CPython's
//! own `python.wasm` command (built by `cargo xtask cpython`) in a sandbox
//! that grants only the standard library, read-only:
//!
//! ```no_run
//! use pycomponent::python_wasm::{PythonWasm, Run};
//!
//! # fn main() -> Result<(), pycomponent::Error> {
//! let python = PythonWasm::from_build("target/cpython".as_ref())?;
//! let out = python.run(&Run::code("print(6 * 7)"))?;
//! assert_eq!(out.stdout_text(), "42\n");
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

use std::path::PathBuf;

pub mod component;
pub mod python_wasm;
pub mod value;

pub use component::{HostModules, Instance, Output, PythonError, Reply, Runtime};
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
    /// The guest trapped (a bug or an exhausted limit, not a Python exception).
    #[error("the guest trapped: {0}")]
    Trap(String),
    /// The instance trapped earlier and may be inconsistent: make a new one.
    #[error("this instance trapped earlier and cannot be used again")]
    Trapped,
}
