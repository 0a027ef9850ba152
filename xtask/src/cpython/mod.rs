//! `cargo xtask cpython`: CPython 3.11 from Debian's source, built natively
//! and for wasm32-wasi, with its C libraries, compiled stdlib and module
//! manifest, cached outside the clone under a key of all inputs.
//!
//! The output directory (see [`Artifacts`]) is what later steps use: the
//! component build links `wasm/lib/*.a`, the tests run `wasm/bin/python.wasm`,
//! the benchmarks run `native/bin/python3.11`.

mod clibs;
mod modules;
mod native;
mod source;
mod stdlib;
mod wasm;
pub mod wasm_cc;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::cache::{self, Entry, KeyBuilder};
use crate::shell::{self, Step};
use crate::sources;
use crate::versions::{self, PYTHON_MAJOR_MINOR, PYTHON_UPSTREAM};
use crate::{toolchain, workspace_root, xtask_dir};

/// Debian packages whose installed versions are inputs of the build.
const TOOLCHAIN_INPUTS: &[&str] = &[
    versions::CLANG_PACKAGE,
    versions::LLD_PACKAGE,
    versions::LLVM_PACKAGE,
    versions::CLANG_RT_PACKAGE,
    "wasi-libc",
    "gcc-12",
    "libc6-dev",
    "tcl8.6",
    "zlib1g-dev",
    "libbz2-dev",
    "liblzma-dev",
    "libsqlite3-dev",
    "libffi-dev",
];

/// The paths inside a finished CPython build.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// The cache entry directory.
    pub dir: PathBuf,
}

impl Artifacts {
    /// CPython's own WASI command module.
    pub fn python_wasm(&self) -> PathBuf {
        self.dir.join("wasm/bin/python.wasm")
    }
    /// The compiled stdlib, to be mounted at `/usr/local/lib/python3.11`.
    pub fn stdlib(&self) -> PathBuf {
        self.dir.join(format!("wasm/lib/python{PYTHON_MAJOR_MINOR}"))
    }
    /// The module manifest.
    pub fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }
}

/// What `build.json` records about a build.
#[derive(Debug, Serialize)]
struct BuildRecord {
    key: String,
    python: &'static str,
    sources: Vec<SourceRecord>,
    python_patches_applied: Vec<String>,
    python_patches_skipped: Vec<String>,
    own_patches: Vec<String>,
    library_patches: Vec<(String, Vec<String>)>,
    wasm_opt: &'static str,
    wasm_cflags: &'static str,
    sqlite_defines: Vec<&'static str>,
    /// Static libraries in `wasm/lib`, in link order, then wasi-libc's.
    link_libs: Vec<&'static str>,
    builtin_modules: Vec<String>,
    step_seconds: Vec<(String, f64)>,
}

#[derive(Debug, Serialize)]
struct SourceRecord {
    name: &'static str,
    version: &'static str,
    dsc_sha256: &'static str,
}

/// The static libraries an embedder links, in order: ours, then wasi-libc's
/// emulation libraries (signals, getpid, process clocks).
pub const LINK_LIBS: &[&str] = &[
    "python3.11",
    "mpdec",
    "expat",
    "sqlite3",
    "lzma",
    "bz2",
    "z",
    "wasi-emulated-signal",
    "wasi-emulated-getpid",
    "wasi-emulated-process-clocks",
];

/// Computes the cache key of the build from all its inputs.
fn cache_key() -> Result<cache::Key> {
    let mut key = KeyBuilder::default();
    for pkg in versions::ALL_SOURCES {
        key.text(&format!("source {}", pkg.name), &format!("{} dsc:{}", pkg.version, pkg.dsc_sha256));
    }
    let xtask = xtask_dir();
    key.tree("recipe/cpython", &xtask.join("src/cpython"))?;
    key.tree("recipe/patches", &xtask.join("patches"))?;
    key.tree("recipe/recipes", &xtask.join("recipes"))?;
    key.text("llvm major", versions::LLVM_MAJOR);
    key.file("recipe/src/sources.rs", &xtask.join("src/sources.rs"))?;
    let installed = toolchain::installed_versions(TOOLCHAIN_INPUTS)?;
    for name in TOOLCHAIN_INPUTS {
        let version = installed.iter().find(|(n, _)| n == name).map_or("not installed", |(_, v)| v.as_str());
        key.text(&format!("debian {name}"), version);
    }
    Ok(key.finish())
}

/// Builds CPython (or finds it cached) and points `target/cpython` at it.
pub fn build(force: bool) -> Result<Artifacts> {
    let started = Instant::now();
    let missing = toolchain::missing_packages()?;
    if !missing.is_empty() {
        bail!("missing Debian packages: {}. Run `cargo xtask toolchain` first.", missing.join(" "));
    }
    let root = cache::root()?;
    let key = cache_key()?;
    let entry = Entry::new(&root, "cpython", &key);
    if entry.is_complete() && !force {
        eprintln!("==> cpython: cached build {} (inputs unchanged)", entry.dir.display());
    } else {
        eprintln!("==> cpython: building into {} (key {})", entry.dir.display(), key.hex);
        let out = entry.begin()?;
        build_into(&root, &out, &key)?;
        entry.commit(&key)?;
    }
    let artifacts = Artifacts { dir: entry.dir.clone() };
    link_target(&artifacts)?;
    eprintln!(
        "==> cpython: ready in {} — python.wasm {}, stdlib {}, manifest {}",
        shell::human_duration(started.elapsed()),
        artifacts.python_wasm().display(),
        artifacts.stdlib().display(),
        artifacts.manifest().display()
    );
    Ok(artifacts)
}

/// Points `<workspace>/target/cpython` at the build, for the tests and the demo.
fn link_target(artifacts: &Artifacts) -> Result<()> {
    let target = workspace_root().join("target");
    fs::create_dir_all(&target)?;
    let link = target.join("cpython");
    if fs::symlink_metadata(&link).is_ok() {
        fs::remove_file(&link).with_context(|| format!("removing {}", link.display()))?;
    }
    std::os::unix::fs::symlink(&artifacts.dir, &link).with_context(|| format!("linking {}", link.display()))
}

fn build_into(cache_root: &Path, out: &Path, key: &cache::Key) -> Result<()> {
    let logs = out.join("logs");
    let work = out.join("work");
    fs::create_dir_all(&logs)?;
    let mut times: Vec<(String, f64)> = Vec::new();
    let mut timed = |name: &str, t: Instant| times.push((name.to_string(), t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let fetched: Vec<sources::Fetched> =
        versions::ALL_SOURCES.iter().map(|pkg| sources::fetch(*pkg, cache_root)).collect::<Result<_>>()?;
    timed("fetch and verify sources", t);

    let t = Instant::now();
    let step = Step::start("CPython source: unpack and patch", logs.join("python-source.log"))?;
    let python =
        fetched.iter().find(|f| f.package.name == versions::PYTHON.name).context("python not fetched")?;
    let src = source::prepare(python, &out.join("source"), &step)?;
    eprintln!(
        "    applied {} upstream fixes from Debian's series, skipped {} packaging patches",
        src.applied.len(),
        src.skipped.len()
    );
    step.finish();
    timed("unpack and patch", t);

    let t = Instant::now();
    let native_python = native::build(&src.dir, &work, &out.join("native"), &logs)?;
    timed("native CPython", t);

    let t = Instant::now();
    let cc = wasm_cc::WasmCc::new(cache_root)?;
    let deps = clibs::build_all(&cc, &fetched, &work, &out.join("wasm"), &logs)?;
    timed("C libraries for wasm32-wasi", t);

    let t = Instant::now();
    let build = wasm::build(&cc, &src.dir, &deps, &native_python, &work, &logs)?;
    timed("CPython for wasm32-wasi", t);

    let t = Instant::now();
    let wasm_out = out.join("wasm");
    fs::create_dir_all(wasm_out.join("bin"))?;
    fs::copy(build.python_wasm(), wasm_out.join("bin/python.wasm")).context("copying python.wasm")?;
    for lib in build.static_libs() {
        fs::copy(&lib, wasm_out.join("lib").join(lib.file_name().unwrap_or_default()))
            .with_context(|| format!("copying {}", lib.display()))?;
    }
    wasm::install_headers(&src.dir, &build, &wasm_out.join(format!("include/python{PYTHON_MAJOR_MINOR}")))?;
    let builtins = modules::builtin_modules(&build.config_c()?);
    let stdlib_dir = wasm_out.join(format!("lib/python{PYTHON_MAJOR_MINOR}"));
    install_stdlib(&src.dir, &build, &native_python, &stdlib_dir, &builtins, out, &logs)?;
    timed("stdlib and manifest", t);

    let library_patches = clibs::DEBIAN_FIXES
        .iter()
        .map(|(pkg, names)| {
            let mut all: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            all.extend(
                sources::own_patches(pkg)?
                    .iter()
                    .filter_map(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned()),
            );
            Ok((pkg.to_string(), all))
        })
        .collect::<Result<_>>()?;
    let record = BuildRecord {
        key: key.hex.clone(),
        python: PYTHON_UPSTREAM,
        sources: versions::ALL_SOURCES
            .iter()
            .map(|p| SourceRecord { name: p.name, version: p.version, dsc_sha256: p.dsc_sha256 })
            .collect(),
        python_patches_applied: src.applied,
        python_patches_skipped: src.skipped,
        own_patches: src.own,
        library_patches,
        wasm_opt: wasm::OPT,
        wasm_cflags: wasm::CFLAGS,
        sqlite_defines: clibs::SQLITE_DEFINES.to_vec(),
        link_libs: LINK_LIBS.to_vec(),
        builtin_modules: builtins,
        step_seconds: times,
    };
    fs::write(out.join("build.json"), serde_json::to_string_pretty(&record)? + "\n")?;

    // The build trees are large and every product has been copied out.
    fs::remove_dir_all(&work).context("removing the build trees")?;
    Ok(())
}

/// Copies the shipped stdlib, compiles it to bytecode with the native build
/// of the same source, and writes the module manifest.
fn install_stdlib(
    source: &Path,
    build: &wasm::WasmBuild,
    native_python: &Path,
    dest: &Path,
    builtins: &[String],
    out: &Path,
    logs: &Path,
) -> Result<()> {
    let step = Step::start("stdlib: select, copy, compile to bytecode, manifest", logs.join("stdlib.log"))?;
    let lib = source.join("Lib");
    let copied = stdlib::copy_included(&lib, dest)?;
    let sysconfigdata = build.sysconfigdata()?;
    fs::copy(&sysconfigdata, dest.join(sysconfigdata.file_name().unwrap_or_default()))?;
    // getpath looks for this directory to find the "exec prefix"; extension
    // modules are all built in, so it stays empty.
    fs::create_dir_all(dest.join("lib-dynload"))?;
    // unchecked-hash: the .pyc files stay valid whatever the mtimes of the
    // copies, and the interpreter never stats the source to check them.
    step.run(
        Command::new(native_python)
            .args(["-E", "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"])
            .arg(dest),
    )?;
    let found = stdlib::discover(&lib)?;
    let manifest = stdlib::manifest(PYTHON_UPSTREAM, &found, builtins);
    let included = manifest.modules.iter().filter(|m| m.included).count();
    fs::write(out.join("manifest.json"), serde_json::to_string_pretty(&manifest)? + "\n")?;
    eprintln!(
        "    {copied} files shipped; manifest: {included} modules in, {} out (see manifest.json)",
        manifest.modules.len() - included
    );
    step.finish();
    Ok(())
}
