//! The integration tests: one binary, a module per area.

mod async_calls;
mod cloudflare;
mod component;
mod contract;
mod cpython;
mod demo;
mod faults;
mod files;
mod fuzz;
mod http;
mod limits;
mod load;
mod native;
mod objects;
mod outgoing_http;
mod regrtest;
mod roundtrip;
mod sandbox;

use std::sync::OnceLock;

use pycomponent::python_wasm::{Output, PythonWasm, Run};

pub use component::runtime as component_runtime;

/// The compiled `python.wasm`, shared by all tests (compiling takes seconds).
fn python() -> &'static PythonWasm {
    static PYTHON: OnceLock<PythonWasm> = OnceLock::new();
    PYTHON.get_or_init(|| {
        PythonWasm::from_build(&host_tests::cpython_build_dir()).expect("python.wasm loads and compiles")
    })
}

/// Runs `code` with `python -c` and returns its output, failing the test if
/// the run traps.
fn run_code(code: &str) -> Output {
    python().run(&Run::code(code)).expect("python.wasm runs")
}

/// Runs `code` and asserts it exits with 0, returning stdout.
fn run_ok(code: &str) -> String {
    let out = run_code(code);
    assert_eq!(
        out.exit_code,
        0,
        "exit code {}\nstdout:\n{}\nstderr:\n{}",
        out.exit_code,
        out.stdout_text(),
        out.stderr_text()
    );
    out.stdout_text()
}
