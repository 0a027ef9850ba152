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
use crate::{cache, tools, versions};

/// Debian's Rust toolchain for the guest (rustc-web, cargo-web): rustup's
/// toolchain has no wasm32 standard library and cannot download one.
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";

/// Where the guest reads the standard library while the snapshot is made
/// (`SNAPSHOT_STDLIB` in component/src/interp.rs).
const GUEST_STDLIB: &str = "/usr/local/lib/python3.11";

/// Where the guest reads the packages it carries (tzdata) while the
/// snapshot is made (`SNAPSHOT_SITE_PACKAGES` in component/src/interp.rs).
const GUEST_SITE_PACKAGES: &str = "/usr/local/lib/python3.11/site-packages";

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
    let http_core = http_core_path();
    let sources = sources_path();
    if entry.is_complete()
        && entry.dir.join(HTTP_CORE_FILE).is_file()
        && entry.dir.join(SOURCES_FILE).is_file()
    {
        fs::create_dir_all(out.parent().unwrap_or(&out))?;
        fs::copy(entry.dir.join("pycomponent.wasm"), &out).context("copying the cached component")?;
        fs::copy(entry.dir.join(HTTP_CORE_FILE), &http_core)
            .context("copying the cached HTTP core module")?;
        fs::copy(entry.dir.join(SOURCES_FILE), &sources).context("copying the cached stdlib sources")?;
        eprintln!("==> component: cached build {} (inputs unchanged)", entry.dir.display());
    } else {
        build_with(&cpython)?;
        let partial = entry.begin()?;
        fs::copy(&out, partial.join("pycomponent.wasm"))?;
        fs::copy(&http_core, partial.join(HTTP_CORE_FILE))?;
        fs::copy(&sources, partial.join(SOURCES_FILE))?;
        let report = format!("{}; stdlib sources {}", size_report(&out)?, size_report(&sources)?);
        fs::write(partial.join("size.txt"), report)?;
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
        "component/pyo3-config.txt",
        "xtask/src/component.rs",
        "xtask/src/stdlib_sources.py",
    ] {
        key.file(file, &root.join(file))?;
    }
    key.tree("wit", &root.join("wit"))?;
    key.text(
        "wasmtime cli",
        &format!("{} {}", versions::WASMTIME_CLI.version, versions::WASMTIME_CLI.sha256),
    );
    key.text("tzdata", &format!("{} {}", versions::TZDATA.version, versions::TZDATA.sha256));
    key.data("preview1 adapter", WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER);
    for (name, version) in crate::toolchain::installed_versions(&[
        "rustc-web",
        "rust-web-src",
        "wasi-libc",
        versions::LLD_PACKAGE,
    ])? {
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

/// The guest crate built for world `http-app`, pre-initialized like the
/// component but not packaged: `pycomponent build` adds an app to it and
/// makes the app's component.
pub fn http_core_path() -> PathBuf {
    workspace_root().join("target/component").join(HTTP_CORE_FILE)
}

const HTTP_CORE_FILE: &str = "pycomponent-http-core.wasm";

/// The standard library's sources, zipped, beside the component: the
/// optional artifact that gives tracebacks and `inspect` their source lines
/// (the guest reads it at `/usr/local/lib/python311.zip`, CPython's name for
/// a zipped standard library, when a host provides it).
pub fn sources_path() -> PathBuf {
    workspace_root().join("target/component").join(SOURCES_FILE)
}

const SOURCES_FILE: &str = "python311.zip";

/// Writes `sources_path()` with the native CPython of the same build.
fn zip_sources(cpython: &Artifacts, logs: &Path) -> Result<()> {
    let root = workspace_root();
    let step = Step::start("component: zip the stdlib sources (python311.zip)", logs.join("sources.log"))?;
    let tzdata = tools::unpacked(versions::TZDATA, &cache::root()?)?;
    let mut python = Command::new(cpython.dir.join("native/bin/python3.11"));
    python
        .arg("-I")
        .arg(root.join("xtask/src/stdlib_sources.py"))
        .arg(cpython.stdlib())
        .arg(&tzdata)
        .arg(sources_path());
    step.run(&mut python)?;
    step.finish();
    Ok(())
}

fn build_with(cpython: &Artifacts) -> Result<()> {
    let root = workspace_root();
    let logs = root.join("target/component/logs");
    fs::create_dir_all(&logs)?;
    let python_core = build_guest(cpython, None, &logs)?;
    let http_core = build_guest(cpython, Some("http"), &logs)?;
    let snapshot = root.join("target/component/pycomponent-core-initialized.wasm");
    pre_initialize(cpython, &python_core, &snapshot, &logs.join("wizer.log"))?;
    pre_initialize(cpython, &http_core, &http_core_path(), &logs.join("wizer-http.log"))?;
    zip_sources(cpython, &logs)?;

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
    ensure!(!component.is_empty(), "empty component");
    write_atomically(&output_path(), &component)?;
    step.finish();
    Ok(())
}

/// Builds the guest crate (with `feature`, if any) and returns a copy of
/// its core module: the two builds share one cargo target directory.
fn build_guest(cpython: &Artifacts, feature: Option<&str>, logs: &Path) -> Result<PathBuf> {
    let root = workspace_root();
    let guest_dir = root.join("component");
    let name = feature.unwrap_or("python");
    let step = Step::start(
        format!("guest crate, world {}, for wasm32-wasip1 (Debian rustc-web, build-std)", world_of(feature)),
        logs.join(format!("guest-{name}.log")),
    )?;
    let mut cargo = guest_cargo(cpython, DEBIAN_CARGO);
    cargo.args(["build", "--release", "-Zbuild-std=std,panic_abort", "--target", "wasm32-wasip1"]);
    if let Some(feature) = feature {
        cargo.args(["--features", feature]);
    }
    step.run(&mut cargo)?;
    let built = guest_dir.join("target/wasm32-wasip1/release/pycomponent_guest.wasm");
    let copy = root.join(format!("target/component/guest-{name}.wasm"));
    fs::copy(&built, &copy).with_context(|| format!("copying {}", built.display()))?;
    step.finish();
    Ok(copy)
}

/// `program` (Debian's cargo or cargo-clippy) set up for the guest crate:
/// Debian's rustc, the wasm32 link flags, the CPython build to link and
/// pyo3-ffi's configuration, and none of the outer cargo's variables.
fn guest_cargo(cpython: &Artifacts, program: &str) -> Command {
    let guest_dir = workspace_root().join("component");
    let clang_rt = format!("/usr/lib/llvm-{LLVM_MAJOR}/lib/clang/{LLVM_MAJOR}/lib/wasi");
    let rustflags = [
        "-C link-self-contained=no".to_string(),
        format!("-C linker=wasm-ld-{LLVM_MAJOR}"),
        format!("-L {WASI_LIBC_LIB}"),
        format!("-C link-arg={WASI_LIBC_LIB}/crt1-reactor.o"),
    ]
    .join(" ");
    let mut cargo = Command::new(program);
    // A nested build under `cargo xtask` inherits the outer cargo's and
    // rustup's variables; they would point it at the host toolchain.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO") || key.starts_with("RUSTUP") || key.starts_with("RUST") {
            cargo.env_remove(key.as_ref());
        }
    }
    cargo
        .env("PATH", "/usr/bin:/bin")
        .env("RUSTC", DEBIAN_RUSTC)
        // -Zbuild-std is unstable; rustc-web is a stable release.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", rustflags)
        .env("PYCOMPONENT_CPYTHON_LIB", cpython.dir.join("wasm/lib"))
        .env("PYCOMPONENT_CLANG_RT", clang_rt)
        // pyo3-ffi's build script: CPython 3.11, static, 32-bit, our link lines.
        .env("PYO3_CONFIG_FILE", guest_dir.join("pyo3-config.txt"))
        .current_dir(&guest_dir);
    cargo
}

/// Debian's clippy, for the guest: cargo looks for subcommands in
/// `~/.cargo/bin` first, where rustup's `cargo-clippy` lives, so it is
/// called directly.
const DEBIAN_CARGO_CLIPPY: &str = "/usr/bin/cargo-clippy";

/// `cargo clippy -D warnings` over the guest crate for wasm32-wasip1, in
/// both worlds: the crate that holds the guest's unsafe code is linted for
/// the target it runs on (32-bit pointers, the WASI imports).
pub fn clippy() -> Result<()> {
    let cpython = cpython::build(false)?;
    for feature in [None, Some("http")] {
        eprintln!("==> test: clippy of the guest crate, world {} (wasm32-wasip1)", world_of(feature));
        let mut clippy = guest_cargo(&cpython, DEBIAN_CARGO_CLIPPY);
        clippy.args(["clippy", "--release", "-Zbuild-std=std,panic_abort", "--target", "wasm32-wasip1"]);
        if let Some(feature) = feature {
            clippy.args(["--features", feature]);
        }
        shell::run(clippy.args(["--", "-D", "warnings"]))?;
    }
    Ok(())
}

fn world_of(feature: Option<&str>) -> &'static str {
    if feature == Some("http") { "http-app" } else { "python" }
}

/// Runs the guest's `wizer-initialize` (start CPython, embed the stdlib,
/// preload modules) and writes the snapshot. Every import other than WASI
/// traps (`-W unknown-imports-trap=y`): nothing may call the host while the
/// snapshot is made.
fn pre_initialize(cpython: &Artifacts, core: &Path, snapshot: &Path, log: &Path) -> Result<()> {
    let step = Step::start(
        format!("pre-initialize {}: start CPython, embed the stdlib, snapshot (wizer)", file_name(core)),
        log.to_path_buf(),
    )?;
    let wasmtime = tools::ensure(versions::WASMTIME_CLI, &cache::root()?)?;
    let tzdata = tools::unpacked(versions::TZDATA, &cache::root()?)?;
    let mut wizer = Command::new(&wasmtime);
    wizer.args(["wizer", "-S", "cli=y", "-W", "unknown-imports-trap=y", "--init-func", "wizer-initialize"]);
    wizer
        .arg("--dir")
        .arg(format!("{}::{GUEST_STDLIB}", cpython.stdlib().display()))
        .arg("--dir")
        .arg(format!("{}::{GUEST_SITE_PACKAGES}", tzdata.display()))
        .arg("-o")
        .arg(snapshot)
        .arg(core);
    step.run(&mut wizer)?;
    step.finish();
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap_or_default().to_string_lossy().into_owned()
}

fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("wasm.tmp");
    fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}
