//! `pycomponent build`: turns a Python web app (an ASGI or WSGI `app`, or
//! a `handle(request)` function) and its pure-Python dependencies into a
//! `wasi:http` component, with the app imported in the snapshot.
//!
//! The starting point is the HTTP core module that `cargo xtask component`
//! builds: the guest for world `http-app`, already pre-initialized with
//! CPython and the standard library. The app is staged in a directory,
//! mounted read-only at `/app`, and taken into memory by the guest's
//! `pycomponent-initialize-app`; the resulting memory becomes the new
//! module's snapshot, which is then packaged as a component.

use std::path::{Path, PathBuf};
use std::process::Command;

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wasmtime::{Engine, Instance as CoreInstance, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use crate::Error;

/// The guest's export that loads the app from `/app`.
const INIT_APP: &str = "pycomponent-initialize-app";

/// The default largest request body: 10 MiB.
pub const DEFAULT_MAX_BODY: u64 = 10 << 20;

/// What to build.
#[derive(Debug, Clone)]
pub struct AppSource {
    /// The app: a `.py` file, or a package directory (with `__init__.py`).
    pub app: PathBuf,
    /// A pip requirements file; its packages (and theirs) must be pure Python.
    pub requirements: Option<PathBuf>,
    /// The largest request body the app accepts, in bytes; a larger one
    /// gets `413 Payload Too Large` without reaching the app.
    pub max_body: u64,
    /// Accept wheels with native code by leaving their extension modules
    /// out: for packages that fall back to pure Python when their
    /// extension does not import (MarkupSafe, which Flask needs, is one).
    /// A package without such a fallback then fails to import.
    pub drop_native_code: bool,
}

impl AppSource {
    /// An app with no requirements and the default body limit.
    pub fn new(app: impl Into<PathBuf>) -> AppSource {
        AppSource { app: app.into(), requirements: None, max_body: DEFAULT_MAX_BODY, drop_native_code: false }
    }
}

/// The custom section of an HTTP core module that lists the native
/// packages linked into it, a `name version` line each; `cargo xtask
/// component --variant` writes it.
pub const NATIVE_PACKAGES_SECTION: &str = "pycomponent-native-packages";

/// A native package linked into a core module: its requirement is met by
/// the core instead of by a wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativePackage {
    /// The project's name, normalized as PyPI does (`pydantic-core`).
    pub name: String,
    /// Its exact version.
    pub version: String,
}

impl std::fmt::Display for NativePackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}

/// The native packages linked into the core module `core` (none for the
/// default one).
pub fn native_packages(core: &[u8]) -> Result<Vec<NativePackage>, Error> {
    let mut packages = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        let payload = payload.map_err(|e| Error::Build(format!("reading the HTTP core module: {e}")))?;
        if let wasmparser::Payload::CustomSection(section) = payload
            && section.name() == NATIVE_PACKAGES_SECTION
        {
            let text = std::str::from_utf8(section.data()).map_err(|_| {
                Error::Build(format!("the core's {NATIVE_PACKAGES_SECTION} section is not UTF-8"))
            })?;
            for line in text.lines().filter(|line| !line.trim().is_empty()) {
                let (name, version) = line.trim().split_once(' ').ok_or_else(|| {
                    Error::Build(format!(
                        "the core's {NATIVE_PACKAGES_SECTION} section has a bad line {line:?}"
                    ))
                })?;
                packages.push(NativePackage { name: normalized_name(name), version: version.to_string() });
            }
        }
    }
    Ok(packages)
}

/// A project name as PyPI compares them: lower case, runs of `-`, `_` and
/// `.` as one `-`.
fn normalized_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Builds the app's component from `http_core` (the pre-initialized core
/// module of world `http-app`). `progress` is told about each long step.
/// The app's own output while it is imported (and its traceback, when the
/// import fails) goes to this process's stderr.
pub fn build(http_core: &[u8], source: &AppSource, progress: &mut dyn FnMut(&str)) -> Result<Vec<u8>, Error> {
    build_on(&[http_core], source, progress)
}

/// Like [`build`], from the first of `cores` that carries every native
/// package the requirements need (at the version they resolve to); with no
/// such need, from the first. A requirement with native code that no core
/// carries is refused by name, as [`build`] does.
pub fn build_on(
    cores: &[&[u8]],
    source: &AppSource,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<u8>, Error> {
    let Some(&first) = cores.first() else {
        return Err(Error::InvalidInput("no HTTP core module to build the app from".into()));
    };
    let stage = Stage::new()?;
    let entry = stage.add_app(&source.app)?;
    let mut http_core = first;
    if let Some(requirements) = &source.requirements {
        progress(&format!("resolving {} with pip", requirements.display()));
        let wheels = stage.download(requirements)?;
        let offers: Vec<Vec<NativePackage>> =
            cores.iter().map(|core| native_packages(core)).collect::<Result<_, _>>()?;
        let (chosen, from_core) = choose_core(&wheels, &offers)?;
        http_core = cores[chosen];
        for wheel in &from_core {
            if let Some(package) = wheel_package(wheel) {
                progress(&format!("{package}: linked into the core, its wheel is not needed"));
            }
        }
        let wheels: Vec<PathBuf> = wheels.into_iter().filter(|w| !from_core.contains(w)).collect();
        let dropped = stage.add_wheels(wheels, source.drop_native_code, &offers[chosen])?;
        if !dropped.is_empty() {
            progress(&format!("left out native code: {}", dropped.join(", ")));
        }
    }
    let config = format!(
        "{{\"entry\": {}, \"source\": {}, \"max_body\": {}}}",
        json_string(&entry),
        json_string(&source.app.display().to_string()),
        source.max_body
    );
    write(&stage.root.join("config.json"), config.as_bytes())?;
    progress(&format!("importing `{entry}` into the snapshot (pre-initialization)"));
    let module = snapshot(http_core, &stage.root)?;
    progress("packaging the component (WASI preview-1 adapter)");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| {
            encoder.adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)
        })
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| Error::Build(format!("packaging the component failed: {e:#}")))
}

/// A JSON string literal.
fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

fn write(path: &Path, data: &[u8]) -> Result<(), Error> {
    std::fs::write(path, data).map_err(|e| Error::Build(format!("writing {}: {e}", path.display())))
}

/// The directory the guest sees as `/app` while the snapshot is made:
/// `config.json`, `src/` (the user's code), `site-packages/`. Removed when
/// dropped.
struct Stage {
    root: PathBuf,
}

impl Stage {
    fn new() -> Result<Stage, Error> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "pycomponent-build-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        for dir in ["src", "site-packages"] {
            std::fs::create_dir_all(root.join(dir))
                .map_err(|e| Error::Build(format!("creating {}: {e}", root.join(dir).display())))?;
        }
        Ok(Stage { root })
    }

    /// Copies the app into `src/`; returns the module name to import.
    fn add_app(&self, app: &Path) -> Result<String, Error> {
        let name = if app.is_dir() {
            app.canonicalize().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        } else {
            app.file_stem().map(|n| n.to_string_lossy().into_owned())
        }
        .unwrap_or_default();
        if !is_identifier(&name) {
            return Err(Error::InvalidInput(format!(
                "{}: the app's name must be a Python module name (letters, digits, _), not {name:?}",
                app.display()
            )));
        }
        if app.is_dir() {
            if !app.join("__init__.py").is_file() {
                return Err(Error::InvalidInput(format!(
                    "{} is a directory without __init__.py: give a .py file or a package",
                    app.display()
                )));
            }
            copy_python_tree(app, &self.root.join("src").join(&name))?;
        } else if app.extension().is_some_and(|e| e == "py") {
            let text = std::fs::read(app).map_err(|source| Error::Io { path: app.to_path_buf(), source })?;
            write(&self.root.join("src").join(format!("{name}.py")), &text)?;
        } else {
            return Err(Error::InvalidInput(format!(
                "{}: expected a .py file or a package directory",
                app.display()
            )));
        }
        Ok(name)
    }

    /// Resolves the requirements with the host's pip to wheels (native
    /// ones included: see [`Stage::add_wheels`]); returns their files.
    fn download(&self, requirements: &Path) -> Result<Vec<PathBuf>, Error> {
        if !requirements.is_file() {
            return Err(Error::InvalidInput(format!("no requirements file at {}", requirements.display())));
        }
        let wheels = self.root.join("wheels");
        // Wheels only (no builds of source distributions), for CPython
        // 3.11. Native wheels are admitted here so that pip resolves as it
        // would for a native install (asked for pure wheels only, it
        // backtracks through every version of a package's dependents), and
        // then taken from the core or refused by name in `add_wheels`.
        let download = pip()
            .args(["download", "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp"])
            .args(["--abi", "cp311", "--abi", "abi3", "--abi", "none"])
            .args(MANYLINUX_PLATFORMS.iter().flat_map(|platform| ["--platform", platform]))
            .args(["--platform", "any", "--dest"])
            .arg(&wheels)
            .arg("-r")
            .arg(requirements)
            .output()
            .map_err(|e| {
                Error::Build(format!("running `python3 -m pip` failed: {e}; is Python 3 with pip installed?"))
            })?;
        if !download.status.success() {
            let stderr = String::from_utf8_lossy(&download.stderr);
            return Err(Error::Build(format!(
                "pip could not resolve {} to wheels (source-only packages cannot be used):\n{}",
                requirements.display(),
                stderr.trim_end()
            )));
        }
        wheel_files(&wheels)
    }

    /// Unpacks `files` into `site-packages/`, accepting pure-Python wheels
    /// only, unless `drop_native_code`: then native wheels are unpacked
    /// without their extension modules, whose paths are returned. `core`
    /// names what the chosen core carries, for the refusal's message.
    fn add_wheels(
        &self,
        mut files: Vec<PathBuf>,
        drop_native_code: bool,
        core: &[NativePackage],
    ) -> Result<Vec<String>, Error> {
        // Many packages with native wheels publish a pure-Python one of the
        // same release too (charset-normalizer, which requests needs): that
        // one is taken instead.
        let pins: Vec<String> =
            files.iter().filter(|f| !is_pure_wheel(f)).filter_map(|f| wheel_pin(f)).collect();
        if !pins.is_empty() {
            let pure = self.root.join("pure-wheels");
            for pin in &pins {
                // One at a time: a release without a pure wheel fails alone.
                let found = pip()
                    .args(["download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11"])
                    .args(["--implementation", "py", "--abi", "none", "--platform", "any", "--dest"])
                    .arg(&pure)
                    .arg(pin)
                    .output()
                    .map_err(|e| Error::Build(format!("running `python3 -m pip` failed: {e}")))?;
                if found.status.success() {
                    files.retain(|f| is_pure_wheel(f) || wheel_pin(f).as_deref() != Some(pin.as_str()));
                }
            }
            if pure.is_dir() {
                files.extend(wheel_files(&pure)?);
                files.sort();
            }
        }
        let native: Vec<String> = files
            .iter()
            .filter(|f| !is_pure_wheel(f))
            .map(|f| f.file_name().unwrap_or_default().to_string_lossy().into_owned())
            .collect();
        if !native.is_empty() && !drop_native_code {
            let carried = if core.is_empty() {
                "none".to_string()
            } else {
                core.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            };
            return Err(Error::Build(format!(
                "these wheels have native code, which the component cannot load (only py3-none-any \
                 wheels can be used, and the native packages linked into the HTTP core: {carried}; \
                 --drop-native-code takes them without it, for packages that fall back to pure \
                 Python): {}",
                native.join(", ")
            )));
        }
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let install = pip()
            .args(["install", "--no-index", "--no-deps", "--no-compile", "--target"])
            .arg(self.root.join("site-packages"))
            .args(&files)
            .output()
            .map_err(|e| Error::Build(format!("running `python3 -m pip` failed: {e}")))?;
        if !install.status.success() {
            return Err(Error::Build(format!(
                "pip could not unpack the wheels:\n{}",
                String::from_utf8_lossy(&install.stderr).trim_end()
            )));
        }
        let site_packages = self.root.join("site-packages");
        let mut dropped = Vec::new();
        remove_extension_modules(&site_packages, &site_packages, &mut dropped)?;
        Ok(dropped)
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The wheels in `dir`, sorted.
fn wheel_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Build(format!("reading {}: {e}", dir.display())))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .collect();
    files.sort();
    Ok(files)
}

/// The platforms pip resolves native wheels for, so that it picks the
/// releases a native install on Linux would (numpy 2.4 publishes
/// `manylinux_2_27`/`_2_28` wheels only); the wheels' code is never used.
const MANYLINUX_PLATFORMS: &[&str] =
    &["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux2014_x86_64"];

/// The core to build on, as an index into `offers` (what each core
/// carries), and the wheels it stands in for: the native wheels of packages
/// some core carries must all be carried by the chosen one, at the
/// versions pip chose. Native wheels no core carries are left to
/// [`Stage::add_wheels`].
fn choose_core(wheels: &[PathBuf], offers: &[Vec<NativePackage>]) -> Result<(usize, Vec<PathBuf>), Error> {
    let needed: Vec<(&PathBuf, NativePackage)> = wheels
        .iter()
        .filter(|wheel| !is_pure_wheel(wheel))
        .filter_map(|wheel| Some((wheel, wheel_package(wheel)?)))
        .filter(|(_, package)| offers.iter().flatten().any(|offered| offered.name == package.name))
        .collect();
    if needed.is_empty() {
        return Ok((0, Vec::new()));
    }
    if let Some(chosen) =
        offers.iter().position(|offer| needed.iter().all(|(_, package)| offer.contains(package)))
    {
        return Ok((chosen, needed.into_iter().map(|(wheel, _)| wheel.clone()).collect()));
    }
    let wanted: Vec<String> = needed.iter().map(|(_, package)| package.to_string()).collect();
    let available: Vec<String> = offers
        .iter()
        .filter(|offer| !offer.is_empty())
        .map(|offer| offer.iter().map(ToString::to_string).collect::<Vec<_>>().join(" + "))
        .collect();
    Err(Error::Build(format!(
        "the requirements resolve to {} (native code), and no HTTP core given carries {}: the cores \
         carry {} (pin the versions the cores carry, or build a core with them)",
        wanted.join(", "),
        if wanted.len() == 1 { "it" } else { "them all at those versions" },
        available.join("; ")
    )))
}

/// The project and version of a wheel, from its file name.
fn wheel_package(wheel: &Path) -> Option<NativePackage> {
    let stem = wheel.file_stem()?.to_str()?;
    let mut parts = stem.split('-');
    Some(NativePackage { name: normalized_name(parts.next()?), version: parts.next()?.to_string() })
}

/// `name==version` of a wheel, from its file name (`name-version-tags.whl`).
fn wheel_pin(wheel: &Path) -> Option<String> {
    wheel_package(wheel).map(|package| format!("{}=={}", package.name, package.version))
}

fn pip() -> Command {
    let mut command = Command::new("python3");
    command.args(["-m", "pip", "--disable-pip-version-check", "--no-input"]);
    command
}

/// `name-version(-build)?-python-abi-platform.whl` with abi `none` and
/// platform `any`.
fn is_pure_wheel(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let Some(stem) = name.strip_suffix(".whl") else { return false };
    let tags: Vec<&str> = stem.rsplitn(4, '-').collect();
    tags.len() == 4 && tags[0] == "any" && tags[1] == "none"
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Removes the compiled extension modules (`.so`, `.pyd`) under `dir`,
/// adding their paths relative to `root` to `removed`.
fn remove_extension_modules(root: &Path, dir: &Path, removed: &mut Vec<String>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    for entry in entries {
        let path = entry.map_err(|source| Error::Io { path: dir.to_path_buf(), source })?.path();
        if path.is_dir() {
            remove_extension_modules(root, &path, removed)?;
        } else if path.extension().is_some_and(|e| e == "so" || e == "pyd") {
            std::fs::remove_file(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
            removed.push(path.strip_prefix(root).unwrap_or(&path).display().to_string());
        }
    }
    Ok(())
}

/// Copies the `.py` files under `from` to `to`, keeping the layout.
fn copy_python_tree(from: &Path, to: &Path) -> Result<(), Error> {
    let entries = std::fs::read_dir(from).map_err(|source| Error::Io { path: from.to_path_buf(), source })?;
    std::fs::create_dir_all(to).map_err(|e| Error::Build(format!("creating {}: {e}", to.display())))?;
    for entry in entries {
        let path = entry.map_err(|source| Error::Io { path: from.to_path_buf(), source })?.path();
        let name = path.file_name().unwrap_or_default();
        if path.is_dir() {
            if name != "__pycache__" {
                copy_python_tree(&path, &to.join(name))?;
            }
        } else if path.extension().is_some_and(|e| e == "py") {
            let text = std::fs::read(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
            write(&to.join(name), &text)?;
        }
    }
    Ok(())
}

/// Runs the guest's app initialization with `stage` mounted at `/app` and
/// returns the module with the resulting state as its snapshot.
fn snapshot(http_core: &[u8], stage: &Path) -> Result<Vec<u8>, Error> {
    let fail = |what: &str, e: wasmtime::Error| Error::Build(format!("{what}: {e:#}"));
    let mut wizer = Wizer::new();
    wizer.init_func(INIT_APP);
    let (context, instrumented) =
        wizer.instrument(http_core).map_err(|e| fail("reading the HTTP core module", e))?;
    let engine = Engine::default();
    let module = Module::new(&engine, &instrumented).map_err(Error::Compile)?;
    let mut wasi = WasiCtxBuilder::new();
    wasi.inherit_stderr();
    wasi.preopened_dir(stage, "/app", FsPerms::ReadOnly)
        .map_err(|e| Error::Mount { path: stage.to_path_buf(), message: format!("{e:#}") })?;
    let mut store = Store::new(&engine, wasi.build_p1());
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(Error::Engine)?;
    // The guest's wasi:http imports: a request cannot arrive while the
    // snapshot is made, and calling one would fail the build.
    linker.define_unknown_imports_as_traps(&module).map_err(Error::Engine)?;
    let instance = linker.instantiate(&mut store, &module).map_err(Error::Instantiate)?;
    let init = instance.get_typed_func::<(), ()>(&mut store, INIT_APP).map_err(|e| {
        fail("the HTTP core module has no app initialization (rebuild it with `cargo xtask component`)", e)
    })?;
    init.call(&mut store, ()).map_err(|e| {
        Error::Build(format!(
            "importing the app failed; its Python error is printed above ({})",
            e.root_cause()
        ))
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Error::Build(format!("starting a tokio runtime: {e}")))?;
    runtime
        .block_on(wizer.snapshot(&context, &mut Snapshot { store: &mut store, instance }))
        .map_err(|e| fail("writing the snapshot", e))
}

/// The instance whose state wizer reads.
struct Snapshot<'a> {
    store: &'a mut Store<WasiP1Ctx>,
    instance: CoreInstance,
}

impl InstanceState for Snapshot<'_> {
    async fn global_get(&mut self, name: &str, _: ValType) -> SnapshotVal {
        let global =
            self.instance.get_global(&mut *self.store, name).expect("wizer asks for its own exports");
        match global.get(&mut *self.store) {
            wasmtime::Val::I32(x) => SnapshotVal::I32(x),
            wasmtime::Val::I64(x) => SnapshotVal::I64(x),
            wasmtime::Val::F32(x) => SnapshotVal::F32(x),
            wasmtime::Val::F64(x) => SnapshotVal::F64(x),
            wasmtime::Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("a global of type {other:?} cannot be snapshotted"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory =
            self.instance.get_memory(&mut *self.store, name).expect("wizer asks for its own exports");
        contents(memory.data(&*self.store))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_wheels_are_told_from_native_ones() {
        assert!(is_pure_wheel(Path::new("flask-3.1.0-py3-none-any.whl")));
        assert!(is_pure_wheel(Path::new("six-1.16.0-py2.py3-none-any.whl")));
        assert!(is_pure_wheel(Path::new("pkg-1.0-1build-py3-none-any.whl")));
        assert!(!is_pure_wheel(Path::new("MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.whl")));
        assert!(!is_pure_wheel(Path::new("pkg-1.0-cp311-abi3-any.whl")));
        assert!(!is_pure_wheel(Path::new("pkg-1.0.tar.gz")));
    }

    #[test]
    fn the_core_that_carries_the_native_packages_is_chosen() {
        let numpy = |version: &str| NativePackage { name: "numpy".into(), version: version.into() };
        let wheels = |names: &[&str]| names.iter().map(PathBuf::from).collect::<Vec<_>>();
        let offers = vec![Vec::new(), vec![numpy("2.4.6")]];
        let numpy_wheel = "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl";
        let pure = "six-1.16.0-py2.py3-none-any.whl";
        // Nothing native: the first core.
        assert_eq!(choose_core(&wheels(&[pure]), &offers).unwrap(), (0, Vec::new()));
        // numpy: the core that has it, which stands in for its wheel.
        assert_eq!(choose_core(&wheels(&[numpy_wheel, pure]), &offers).unwrap(), (1, wheels(&[numpy_wheel])));
        // Another version: refused, naming both.
        let old = "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
        let error = choose_core(&wheels(&[old]), &offers).unwrap_err().to_string();
        assert!(error.contains("numpy 1.26.4") && error.contains("numpy 2.4.6"), "{error}");
        // A native package no core has is left for the refusal by name.
        let markupsafe = "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.whl";
        assert_eq!(choose_core(&wheels(&[markupsafe]), &offers).unwrap(), (0, Vec::new()));
    }

    #[test]
    fn project_names_are_normalized() {
        assert_eq!(normalized_name("Pydantic_Core"), "pydantic-core");
        assert_eq!(normalized_name("zope.interface"), "zope-interface");
        assert_eq!(normalized_name("a__-b"), "a-b");
        let package = wheel_package(Path::new("MarkupSafe-3.0.2-cp311-cp311-linux_x86_64.whl")).unwrap();
        assert_eq!(package.to_string(), "markupsafe 3.0.2");
    }

    #[test]
    fn module_names_are_checked() {
        assert!(is_identifier("app") && is_identifier("_app2") && is_identifier("édge"));
        assert!(!is_identifier("my-app") && !is_identifier("2app") && !is_identifier(""));
    }
}
