//! CPython's own extension modules that the default component leaves out,
//! built for the component variants that carry them: `ctypes` (on the
//! libffi interface of `xtask/ctypes`: calls and callbacks through
//! functions compiled per wasm signature) and `mmap` (on wasi-libc's
//! emulated mman). Each is compiled from the CPython build's own source
//! into a [`Built`] package that a variant links like a recipe's.
//!
//! The default component stays lean (the compiled signatures of ctypes
//! alone are ~300 KB); numpy's variant carries both, for `ndarray.ctypes`,
//! `numpy.ctypeslib` and `numpy.memmap` (and numpy's tests, which import
//! them at the top of their largest modules).

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::{Built, copy_tree};
use crate::cache::{self, Entry, KeyBuilder};
use crate::cpython::{Artifacts, wasm_cc::WasmCc};
use crate::shell::Step;
use crate::versions::{self, PYTHON_MAJOR_MINOR};
use crate::xtask_dir;

/// One of CPython's extension modules, with what it needs besides CPython.
#[derive(Debug, Clone, Copy)]
pub struct StdlibModule {
    /// The module's name (its `PyInit_` entry is CPython's own).
    pub name: &'static str,
    /// Its C files, relative to CPython's `Modules/`.
    pub sources: &'static [&'static str],
    /// Defines its compilation needs (what `Modules/Setup` gives it).
    pub defines: &'static [&'static str],
    /// The directory of its support files in `xtask/` (`-I` and sources).
    pub support: &'static str,
    /// C files of `support` compiled with it.
    pub support_sources: &'static [&'static str],
    /// Writes C sources into the build directory: a script of `support`
    /// run with the output path.
    pub generated: Option<&'static str>,
    /// wasi-libc's archives whose objects it links (`wasi-emulated-mman`).
    pub libc_archives: &'static [&'static str],
    /// Its Python package in CPython's `Lib/`, copied without its `test/`.
    pub package: Option<&'static str>,
}

/// `_ctypes` and the `ctypes` package.
pub const CTYPES: StdlibModule = StdlibModule {
    name: "_ctypes",
    sources: &[
        "_ctypes/_ctypes.c",
        "_ctypes/callbacks.c",
        "_ctypes/callproc.c",
        "_ctypes/cfield.c",
        "_ctypes/stgdict.c",
    ],
    defines: &["-DHAVE_FFI_PREP_CIF_VAR=1", "-DHAVE_FFI_PREP_CLOSURE_LOC=1", "-DHAVE_FFI_CLOSURE_ALLOC=1"],
    support: "ctypes",
    support_sources: &["ffi_wasm32.c", "dlfcn_wasm32.c"],
    generated: Some("gen_signatures.py"),
    libc_archives: &[],
    package: Some("ctypes"),
};

/// `mmap`: anonymous maps (a file's map needs a duplicated descriptor,
/// which WASI does not have, and raises `OSError`).
pub const MMAP: StdlibModule = StdlibModule {
    name: "mmap",
    sources: &["mmapmodule.c"],
    defines: &["-D_WASI_EMULATED_MMAN", "-DHAVE_MMAP=1"],
    support: "mmap",
    support_sources: &["msync_wasi.c"],
    generated: None,
    libc_archives: &["wasi-emulated-mman"],
    package: None,
};

/// Where wasi-libc's archives are.
const WASI_LIBC_LIB: &str = "/usr/lib/wasm32-wasi";

/// Builds `module` (or takes it from the cache).
pub fn build(module: StdlibModule, cpython: &Artifacts) -> Result<Built> {
    let cache_root = cache::root()?;
    let support = xtask_dir().join(module.support);
    let mut key = KeyBuilder::default();
    key.text("module", &format!("{module:?}"));
    key.text("cpython build", &cpython.dir.file_name().unwrap_or_default().to_string_lossy());
    key.file("xtask/src/native/stdlib_modules.rs", &xtask_dir().join("src/native/stdlib_modules.rs"))?;
    key.tree("support", &support)?;
    for (name, version) in crate::toolchain::installed_versions(&[versions::CLANG_PACKAGE, "wasi-libc"])? {
        key.text(&format!("debian {name}"), &version);
    }
    let key = key.finish();
    let entry = Entry::new(&cache_root, &format!("native/{}", module.name), &key);
    if entry.is_complete() {
        eprintln!("==> {}: cached build {} (inputs unchanged)", module.name, entry.dir.display());
    } else {
        eprintln!("==> {}: building into {}", module.name, entry.dir.display());
        let out = entry.begin()?;
        compile(module, cpython, &WasmCc::new(&cache_root)?, &support, &out)
            .with_context(|| format!("building {}", module.name))?;
        entry.commit(&key)?;
    }
    Ok(Built {
        archive: Some(entry.dir.join(archive_name(module))),
        rust_crate: None,
        site_packages: entry.dir.join("site-packages"),
        excluded: entry.dir.join("excluded"),
        modules: vec![(module.name.to_string(), format!("PyInit_{}", module.name))],
    })
}

fn archive_name(module: StdlibModule) -> String {
    format!("libpycomponent_stdlib_{}.a", module.name.trim_start_matches('_'))
}

/// Compiles the archive into `out` and lays out the package, if any: in
/// `site-packages/`, its tests (`<package>/test`) in `excluded/`.
fn compile(module: StdlibModule, cpython: &Artifacts, cc: &WasmCc, support: &Path, out: &Path) -> Result<()> {
    let objects_dir = out.join("objects");
    fs::create_dir_all(&objects_dir)?;
    let step = Step::start(format!("{}: compile for wasm32", module.name), out.join("build.log"))?;
    let source = cpython.dir.join("source");
    let include = cpython.dir.join(format!("wasm/include/python{PYTHON_MAJOR_MINOR}"));
    let mut objects = Vec::new();
    let mut compile_one = |file: &Path, extra: &[String]| -> Result<()> {
        let stem = file.file_stem().context("a source without a name")?.to_string_lossy().into_owned();
        let object = objects_dir.join(format!("{stem}.o"));
        step.run(
            cc.command()
                .args(["-O2", "-c", "-Wno-macro-redefined"])
                .arg("-I")
                .arg(support.join("include"))
                .arg("-I")
                .arg(support)
                .args(module.defines)
                .args(extra)
                .arg(file)
                .arg("-o")
                .arg(&object),
        )?;
        objects.push(object);
        Ok(())
    };
    let python_flags = [
        "-DPy_BUILD_CORE_BUILTIN".to_string(),
        format!("-I{}", include.display()),
        format!("-I{}", include.join("internal").display()),
    ];
    for file in module.sources {
        compile_one(&source.join("Modules").join(file), &python_flags)?;
    }
    for file in module.support_sources {
        compile_one(&support.join(file), &["-Wall".to_string()])?;
    }
    if let Some(script) = module.generated {
        let generated = objects_dir.join("generated.c");
        step.run(Command::new("python3").arg(support.join(script)).arg(&generated))?;
        compile_one(&generated, &[])?;
    }
    for archive in module.libc_archives {
        // Their objects go into this archive, which the guest links.
        let dir = objects_dir.join(archive);
        fs::create_dir_all(&dir)?;
        let path = Path::new(WASI_LIBC_LIB).join(format!("lib{archive}.a"));
        step.run(Command::new(cc.ar()).arg("x").arg(&path).current_dir(&dir))?;
        for entry in fs::read_dir(&dir)? {
            objects.push(entry?.path());
        }
    }
    step.run(Command::new(cc.ar()).arg("rcs").arg(out.join(archive_name(module))).args(&objects))?;
    step.finish();
    fs::remove_dir_all(&objects_dir)?;

    fs::create_dir_all(out.join("site-packages"))?;
    fs::create_dir_all(out.join("excluded"))?;
    if let Some(package) = module.package {
        copy_tree(&source.join("Lib").join(package), &out.join("site-packages").join(package))?;
        let tests = out.join("site-packages").join(package).join("test");
        if tests.is_dir() {
            copy_tree(&tests, &out.join("excluded").join(package).join("test"))?;
            fs::remove_dir_all(&tests)?;
        }
    }
    Ok(())
}

/// Runs `xtask/ctypes/test_ffi.c` (the libffi interface from C: struct,
/// long double and variadic calls, closures, limits) as a WASI command
/// under the Wasmtime CLI.
pub fn test_ffi(wasmtime_cli: &Path) -> Result<()> {
    let cc = WasmCc::new(&cache::root()?)?;
    let support = xtask_dir().join(CTYPES.support);
    let dir = crate::workspace_root().join("target/ctypes-test");
    fs::create_dir_all(&dir)?;
    let step = Step::start("ctypes: C tests of the libffi interface for wasm32", dir.join("test.log"))?;
    let generated = dir.join("ffi_signatures.c");
    step.run(Command::new("python3").arg(support.join("gen_signatures.py")).arg(&generated))?;
    let program = dir.join("test_ffi.wasm");
    step.run(
        cc.command()
            .args(["-O2", "-Wall", "-Werror", "-I"])
            .arg(support.join("include"))
            .arg("-I")
            .arg(&support)
            .arg(support.join("test_ffi.c"))
            .arg(support.join("ffi_wasm32.c"))
            .arg(&generated)
            .arg("-o")
            .arg(&program),
    )?;
    step.run(Command::new(wasmtime_cli).arg("run").arg(&program))?;
    step.finish();
    Ok(())
}
