//! `cargo xtask <task>`: the one entry point of pycomponent's build.
//!
//! Tasks install the system toolchain, build CPython for wasm32-wasi (cached
//! outside the clone), run the demo and run every test. Each task's doc
//! comment below is its `--help`.

mod bench;
mod cache;
mod component;
mod cpython;
mod js;
mod native;
mod numpy_tests;
mod outside_crate;
mod pytests;
mod shell;
mod sources;
mod toolchain;
mod tools;
mod versions;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// pycomponent's build orchestrator.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install the Debian packages the wasm build needs (clang, lld and LLVM
    /// of the pinned major version, wasi-libc, Debian's rustc-web, ...) and
    /// the bookworm deb-src entry.
    /// Idempotent: when everything is there it changes nothing. Needs root
    /// and apt-get only when something is missing.
    Toolchain,
    /// Build the README's embedding example in a new cargo project outside
    /// the workspace (a path dependency on the crate) and check its output
    /// (part of `test`; after `cargo xtask component`).
    OutsideCrate,
    /// Build CPython 3.11 natively and for wasm32-wasi from Debian's source
    /// packages, with zlib, bzip2, liblzma and SQLite, the compiled stdlib
    /// and the module manifest. Cached under ~/.cache/pycomponent (or
    /// $PYCOMPONENT_CACHE) by a hash of all inputs; `target/cpython` points
    /// at the result.
    Cpython {
        /// Rebuild even if a cached build with the same inputs exists.
        #[arg(long)]
        force: bool,
    },
    /// Build the Python component: the guest crate (component/) for
    /// wasm32-wasip1 with Debian's rustc-web, linked with the wasm32-wasi
    /// CPython, adapted to WASI 0.2. Writes target/component/pycomponent.wasm.
    /// With `--variant NAME`: the component with a native package linked
    /// in, built from its sdist (cached like CPython), written to
    /// target/component/pycomponent-NAME.wasm, and its HTTP core module
    /// pycomponent-NAME-http-core.wasm: `numpy`, or `pydantic`
    /// (pydantic-core, for FastAPI apps).
    Component {
        /// A component variant with native packages (`numpy`, `pydantic`).
        #[arg(long)]
        variant: Option<String>,
    },
    /// Build the self-contained `pycomponent` CLI (release, with the
    /// component embedded): target/release/pycomponent.
    Cli,
    /// Build the npm package in adapters/js: install its npm dependencies
    /// (package-lock.json) and transpile the component with jco into
    /// adapters/js/dist/. Installs Node.js from Debian when missing.
    Js,
    /// Measure pycomponent side by side with native CPython (same source),
    /// python.wasm under the Wasmtime CLI and Pyodide in Node: start-up,
    /// criterion benches of the Rust library, the workload programs of
    /// bench/workloads, memory per instance, sizes. Writes docs/BENCHMARKS.md,
    /// docs/benchmarks/ratios.svg and docs/benchmarks/results.json. Takes
    /// about 6 minutes with the release builds warm (docs/BENCHMARKS.md),
    /// plus their first build.
    Bench {
        /// Fewer runs of everything: checks the pipeline in a few minutes;
        /// the figures are not for the report.
        #[arg(long)]
        quick: bool,
        /// Measure nothing: render the report and chart again from
        /// docs/benchmarks/results.json (after editing bench/notes.md).
        #[arg(long, conflicts_with = "quick")]
        report_only: bool,
        /// Measure only the edge apps (hello and relay, every server in
        /// one run) and update their figures in results.json and the report.
        #[arg(long, conflicts_with = "report_only")]
        edge_only: bool,
        /// Measure only numpy's variant (size, start-up, `import numpy`,
        /// bench/numpy-workloads next to native numpy) and update its
        /// figures in results.json and the report.
        #[arg(long, conflicts_with_all = ["report_only", "edge_only"])]
        numpy_only: bool,
    },
    /// Run the modules of CPython's own test suite listed in
    /// host-tests/regrtest/expected.txt inside the component, each in a
    /// fresh instance with Lib/ mounted read-only, and write docs/REGRTEST.md.
    /// Fails when a failure is not listed or a listed one no longer happens.
    Regrtest,
    /// Run numpy's own test suite (`pytest --pyargs numpy.<sub> -m "not
    /// slow"`) inside the numpy variant of the component and natively with
    /// numpy's wheel from PyPI, and write docs/NUMPY_TESTS.md. Fails when
    /// fewer than 95% of the native passes pass in the component.
    NumpyTests {
        /// Subpackages to run (default: all of numpy_tests::SUBPACKAGES).
        subpackages: Vec<String>,
    },
    /// Set everything up, then run examples/hello.py in the component with
    /// the `pycomponent` CLI and print its output.
    Demo,
    /// Set everything up, then run all checks and tests: formatting, clippy,
    /// unit tests, the integration tests against the built artifacts (the
    /// component and its numpy variant), and the
    /// JS adapter's type check, Node suite and headless-Chromium suite
    /// (installing Debian's chromium when missing).
    Test,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Toolchain => toolchain::ensure(),
        Task::Cpython { force } => cpython::build(force).map(drop),
        Task::Component { variant: None } => component::build().map(drop),
        Task::Component { variant: Some(name) } => {
            component::variant(&name).and_then(component::build_variant).map(drop)
        }
        Task::Cli => build_cli(),
        Task::OutsideCrate => outside_crate::test(),
        Task::Js => js::build().map(drop),
        Task::Regrtest => regrtest(),
        Task::Bench { report_only: true, .. } => bench::report_only(),
        Task::Bench { numpy_only: true, quick, .. } => {
            bench::numpy_only(if quick { bench::Effort::QUICK } else { bench::Effort::FULL })
        }
        Task::Bench { edge_only: true, quick, .. } => {
            bench::edge_only(if quick { bench::Effort::QUICK } else { bench::Effort::FULL })
        }
        Task::Bench { quick, .. } => {
            bench::run(if quick { bench::Effort::QUICK } else { bench::Effort::FULL })
        }
        Task::NumpyTests { subpackages } => numpy_tests::run(&subpackages),
        Task::Demo => demo(),
        Task::Test => test(),
    };
    if let Err(err) = result {
        eprintln!("error: {err:?}");
        std::process::exit(1);
    }
}

/// The `xtask/` directory.
pub fn xtask_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    xtask_dir().parent().expect("xtask lives inside the workspace").to_path_buf()
}

/// A `cargo` command for the host workspace.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn demo() -> Result<()> {
    toolchain::ensure()?;
    let component = component::build()?;
    eprintln!(
        "==> demo: examples/hello.py in the component (pycomponent run; the first time, cargo compiles the \
         CLI and Wasmtime first: minutes)"
    );
    shell::run(
        cargo()
            .args(["run", "--quiet", "--package", "pycomponent", "--", "run", "--component"])
            .arg(&component)
            .arg(workspace_root().join("examples/hello.py")),
    )
}

fn regrtest() -> Result<()> {
    toolchain::ensure()?;
    component::build()?;
    eprintln!("==> regrtest: CPython's Lib/test modules in the component (host-tests/regrtest/expected.txt)");
    shell::run(cargo().args([
        "run",
        "--quiet",
        "--package",
        "host-tests",
        "--example",
        "regrtest",
        "--",
        "--write",
    ]))
}

/// `cargo xtask cli`: the release CLI with the component embedded.
pub fn build_cli() -> Result<()> {
    toolchain::ensure()?;
    let component = component::build()?;
    eprintln!("==> cli: cargo build --release -p pycomponent, with the component embedded");
    shell::run(
        cargo().args(["build", "--release", "--package", "pycomponent"]).env("PYCOMPONENT_EMBED", &component),
    )?;
    eprintln!("==> cli: {}", workspace_root().join("target/release/pycomponent").display());
    Ok(())
}

fn test() -> Result<()> {
    toolchain::ensure()?;
    component::build()?;
    // The variants (cached by their inputs, like CPython): the tests of
    // host-tests/tests/all/native.rs, the CLI's and the apps built on their
    // HTTP cores (numpy, FastAPI) run them.
    for variant in component::VARIANTS {
        component::build_variant(*variant)?;
    }
    // The guest and the fuzz targets are crates of their own, outside the
    // workspace: each is formatted and linted by name.
    for manifest in ["Cargo.toml", "component/Cargo.toml", "fuzz/Cargo.toml"] {
        eprintln!("==> test: cargo fmt --check ({manifest})");
        shell::run(cargo().args(["fmt", "--all", "--check", "--manifest-path", manifest]))?;
    }
    eprintln!("==> test: cargo clippy");
    shell::run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    component::clippy()?;
    eprintln!("==> test: cargo clippy of the fuzz targets (fuzz/)");
    shell::run(cargo().args([
        "clippy",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    native::stdlib_modules::test_ffi(&tools::ensure(versions::WASMTIME_CLI, &cache::root()?)?)?;
    eprintln!("==> test: Python unit tests of the guest's Python code (component/tests)");
    pytests::run()?;
    // npm's jco and workerd, which the Cloudflare Worker tests run.
    js::build()?;
    eprintln!("==> test: cargo test");
    // The HTTP tests run the built apps under the third-party `wasmtime serve` too.
    let wasmtime_cli = tools::ensure(versions::WASMTIME_CLI, &cache::root()?)?;
    shell::run(cargo().args(["test", "--workspace"]).env("PYCOMPONENT_WASMTIME_CLI", wasmtime_cli))?;
    outside_crate::test()?;
    js::test()
}
