//! `cargo xtask component`: builds the guest crate for wasm32-wasip1 with
//! Debian's rustc-web, links it with the wasm32-wasi CPython, and packages
//! the core module as a component with the WASI preview-1 adapter.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

use crate::cpython::{self, Artifacts};
use crate::shell::{self, Step};
use crate::versions::LLVM_MAJOR;
use crate::workspace_root;
use crate::{cache, tools, trap_imports, versions};

/// Debian's Rust toolchain for the guest (rustc-web, cargo-web): rustup's
/// toolchain has no wasm32 standard library and cannot download one.
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";

/// Where the guest reads the standard library while the snapshot is made
/// (`SNAPSHOT_STDLIB` in component/src/interp.rs).
const GUEST_STDLIB: &str = "/usr/local/lib/python3.11";

/// The core import module of the WIT `host` interface.
const HOST_IMPORT_MODULE: &str = "pycomponent:python/host@0.1.0";

/// wasi-libc's libraries and the reactor start file.
const WASI_LIBC_LIB: &str = "/usr/lib/wasm32-wasi";

/// Where the finished component is written.
pub fn output_path() -> PathBuf {
    workspace_root().join("target/component/pycomponent.wasm")
}

/// Builds CPython if needed, then the component (or takes it from the
/// cache when none of its inputs changed); returns its path.
pub fn build() -> Result<PathBuf> {
    let cpython = cpython::build(false)?;
    let cache_root = cache::root()?;
    let key = cache_key(&cpython)?;
    let entry = cache::Entry::new(&cache_root, "component", &key);
    let out = output_path();
    if entry.is_complete() {
        fs::create_dir_all(out.parent().unwrap_or(&out))?;
        fs::copy(entry.dir.join("pycomponent.wasm"), &out).context("copying the cached component")?;
        eprintln!("==> component: cached build {} (inputs unchanged)", entry.dir.display());
    } else {
        build_with(&cpython)?;
        let partial = entry.begin()?;
        fs::copy(&out, partial.join("pycomponent.wasm"))?;
        fs::write(partial.join("size.txt"), size_report(&out)?)?;
        entry.commit(&key)?;
    }
    let size = fs::read_to_string(entry.dir.join("size.txt")).unwrap_or_default();
    eprintln!("==> component: {} — {}", out.display(), size.trim());
    Ok(out)
}

/// Everything the component is made from: the guest's sources, the WIT, the
/// CPython build, the tools and their versions, and this recipe.
fn cache_key(cpython: &Artifacts) -> Result<cache::Key> {
    let root = workspace_root();
    let mut key = cache::KeyBuilder::default();
    key.text("cpython build", &cpython.dir.file_name().unwrap_or_default().to_string_lossy());
    key.tree("guest/src", &root.join("component/src"))?;
    for file in [
        "component/Cargo.toml",
        "component/Cargo.lock",
        "component/build.rs",
        "xtask/src/component.rs",
        "xtask/src/trap_imports.rs",
    ] {
        key.file(file, &root.join(file))?;
    }
    key.tree("wit", &root.join("wit"))?;
    key.text(
        "wasmtime cli",
        &format!("{} {}", versions::WASMTIME_CLI.version, versions::WASMTIME_CLI.sha256),
    );
    key.data("preview1 adapter", WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER);
    for (name, version) in
        crate::toolchain::installed_versions(&["rustc-web", "rust-web-src", "wasi-libc", "lld-22"])?
    {
        key.text(&format!("debian {name}"), &version);
    }
    Ok(key.finish())
}

/// "N MB raw, M MB brotli": brotli at its best level, as compared sizes
/// are quoted (it takes about half a minute, so only fresh builds pay it).
fn size_report(path: &Path) -> Result<String> {
    let raw = fs::metadata(path)?.len();
    let brotli = shell::output_bytes(Command::new("brotli").args(["-c", "-q", "11"]).arg(path))?.len();
    Ok(format!("{:.2} MB raw, {:.2} MB brotli", raw as f64 / 1e6, brotli as f64 / 1e6))
}

fn build_with(cpython: &Artifacts) -> Result<PathBuf> {
    let root = workspace_root();
    let guest_dir = root.join("component");
    let logs = root.join("target/component/logs");
    fs::create_dir_all(&logs)?;
    let step =
        Step::start("guest crate for wasm32-wasip1 (Debian rustc-web, build-std)", logs.join("guest.log"))?;
    let clang_rt = format!("/usr/lib/llvm-{LLVM_MAJOR}/lib/clang/{LLVM_MAJOR}/lib/wasi");
    let rustflags = [
        "-C link-self-contained=no".to_string(),
        format!("-C linker=wasm-ld-{LLVM_MAJOR}"),
        format!("-L {WASI_LIBC_LIB}"),
        format!("-C link-arg={WASI_LIBC_LIB}/crt1-reactor.o"),
    ]
    .join(" ");
    let mut cargo = Command::new(DEBIAN_CARGO);
    // A nested build under `cargo xtask` inherits the outer cargo's and
    // rustup's variables; they would point it at the host toolchain.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO") || key.starts_with("RUSTUP") || key.starts_with("RUST") {
            cargo.env_remove(key.as_ref());
        }
    }
    cargo
        .args(["build", "--release", "-Zbuild-std=std,panic_abort", "--target", "wasm32-wasip1"])
        .env("PATH", "/usr/bin:/bin")
        .env("RUSTC", DEBIAN_RUSTC)
        // -Zbuild-std is unstable; rustc-web is a stable release.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", rustflags)
        .env("PYCOMPONENT_CPYTHON_LIB", cpython.dir.join("wasm/lib"))
        .env("PYCOMPONENT_CLANG_RT", clang_rt)
        .current_dir(&guest_dir);
    step.run(&mut cargo)?;
    step.finish();

    let core = guest_dir.join("target/wasm32-wasip1/release/pycomponent_guest.wasm");
    let snapshot = root.join("target/component/pycomponent-core-initialized.wasm");
    let step = Step::start(
        "pre-initialize: start CPython, embed the stdlib, snapshot (wizer)",
        logs.join("wizer.log"),
    )?;
    let wasmtime = tools::ensure(versions::WASMTIME_CLI, &cache::root()?)?;
    let core_bytes = fs::read(&core).with_context(|| format!("reading {}", core.display()))?;
    let host_stubs = root.join("target/component/host-imports-trap.wasm");
    fs::write(&host_stubs, trap_imports::module_for(&core_bytes, HOST_IMPORT_MODULE)?)?;
    step.run(
        Command::new(&wasmtime)
            .args(["wizer", "-S", "cli=y", "--init-func", "wizer-initialize"])
            .arg("--preload")
            .arg(format!("{HOST_IMPORT_MODULE}={}", host_stubs.display()))
            .arg("--dir")
            .arg(format!("{}::{GUEST_STDLIB}", cpython.stdlib().display()))
            .arg("-o")
            .arg(&snapshot)
            .arg(&core),
    )?;
    step.finish();

    let step = Step::start("component: adapt WASI preview 1", logs.join("component.log"))?;
    let module = fs::read(&snapshot).with_context(|| format!("reading {}", snapshot.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .context("reading the guest module's component-type section")?
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)
        .context("adding the WASI preview-1 reactor adapter")?
        .validate(true)
        .encode()
        .context("encoding the component")?;
    let out = output_path();
    write_atomically(&out, &component)?;
    step.finish();
    ensure!(!component.is_empty(), "empty component");
    Ok(out)
}

fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("wasm.tmp");
    fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}
