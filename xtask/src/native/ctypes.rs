//! CPython's `ctypes` for the component variants: `_ctypes` compiled from
//! the CPython build's own source against the libffi interface of
//! `xtask/ctypes` (calls and closures through functions compiled per wasm
//! signature), with the `ctypes` package beside it, as a [`Built`] package
//! that a variant links like a recipe's.
//!
//! It is not in the default component, which stays lean (the compiled
//! signatures alone are ~250 KB); numpy's variant carries it for
//! `ndarray.ctypes` and `numpy.ctypeslib`.

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

/// `_ctypes`'s C files in CPython's `Modules/_ctypes`.
const CTYPES_SOURCES: &[&str] = &["_ctypes.c", "callbacks.c", "callproc.c", "cfield.c", "stgdict.c"];

/// The libffi for wasm32 and the loader stand-in, in `xtask/ctypes`.
const SUPPORT_SOURCES: &[&str] = &["ffi_wasm32.c", "dlfcn_wasm32.c"];

/// What CPython's `Modules/Setup` defines for `_ctypes` with a libffi that
/// has these entry points.
const CTYPES_DEFINES: &[&str] =
    &["-DHAVE_FFI_PREP_CIF_VAR=1", "-DHAVE_FFI_PREP_CLOSURE_LOC=1", "-DHAVE_FFI_CLOSURE_ALLOC=1"];

const ARCHIVE: &str = "libpycomponent_ctypes.a";

/// Builds `_ctypes` and the `ctypes` package (or takes them from the cache).
pub fn build(cpython: &Artifacts) -> Result<Built> {
    let cache_root = cache::root()?;
    let support = xtask_dir().join("ctypes");
    let mut key = KeyBuilder::default();
    key.text("cpython build", &cpython.dir.file_name().unwrap_or_default().to_string_lossy());
    key.file("xtask/src/native/ctypes.rs", &xtask_dir().join("src/native/ctypes.rs"))?;
    key.tree("xtask/ctypes", &support)?;
    for (name, version) in crate::toolchain::installed_versions(&[versions::CLANG_PACKAGE, "wasi-libc"])? {
        key.text(&format!("debian {name}"), &version);
    }
    let key = key.finish();
    let entry = Entry::new(&cache_root, "native/ctypes", &key);
    if entry.is_complete() {
        eprintln!("==> ctypes: cached build {} (inputs unchanged)", entry.dir.display());
    } else {
        eprintln!("==> ctypes: building into {}", entry.dir.display());
        let out = entry.begin()?;
        compile(cpython, &WasmCc::new(&cache_root)?, &support, &out).context("building _ctypes")?;
        entry.commit(&key)?;
    }
    Ok(Built {
        archive: Some(entry.dir.join(ARCHIVE)),
        rust_crate: None,
        site_packages: entry.dir.join("site-packages"),
        excluded: entry.dir.join("excluded"),
        modules: vec![("_ctypes".to_string(), "PyInit__ctypes".to_string())],
    })
}

/// Compiles the archive into `out` and lays out the package: `ctypes/` in
/// `site-packages/`, its tests (`ctypes/test`) in `excluded/`.
fn compile(cpython: &Artifacts, cc: &WasmCc, support: &Path, out: &Path) -> Result<()> {
    let objects_dir = out.join("objects");
    fs::create_dir_all(&objects_dir)?;
    let step = Step::start("ctypes: compile _ctypes and libffi for wasm32", out.join("build.log"))?;
    let generated = objects_dir.join("ffi_signatures.c");
    step.run(Command::new("python3").arg(support.join("gen_signatures.py")).arg(&generated))?;

    let source = cpython.dir.join("source");
    let include = cpython.dir.join(format!("wasm/include/python{PYTHON_MAJOR_MINOR}"));
    let mut objects = Vec::new();
    let mut compile_one = |file: &Path, extra: &[&str]| -> Result<()> {
        let stem = file.file_stem().context("a source without a name")?.to_string_lossy().into_owned();
        let object = objects_dir.join(format!("{stem}.o"));
        step.run(
            cc.command()
                .args(["-O2", "-c", "-Wno-macro-redefined"])
                .arg("-I")
                .arg(support.join("include"))
                .arg("-I")
                .arg(support)
                .args(extra)
                .arg(file)
                .arg("-o")
                .arg(&object),
        )?;
        objects.push(object);
        Ok(())
    };
    let mut python_flags = vec!["-DPy_BUILD_CORE_BUILTIN".to_string(), format!("-I{}", include.display())];
    python_flags.push(format!("-I{}", include.join("internal").display()));
    python_flags.extend(CTYPES_DEFINES.iter().map(|d| d.to_string()));
    let python_flags: Vec<&str> = python_flags.iter().map(String::as_str).collect();
    for file in CTYPES_SOURCES {
        compile_one(&source.join("Modules/_ctypes").join(file), &python_flags)?;
    }
    for file in SUPPORT_SOURCES {
        compile_one(&support.join(file), &["-Wall"])?;
    }
    compile_one(&generated, &[])?;
    step.run(Command::new(cc.ar()).arg("rcs").arg(out.join(ARCHIVE)).args(&objects))?;
    step.finish();
    fs::remove_dir_all(&objects_dir)?;

    let package = source.join("Lib/ctypes");
    copy_tree(&package, &out.join("site-packages/ctypes"))?;
    let tests = out.join("site-packages/ctypes/test");
    copy_tree(&tests, &out.join("excluded/ctypes/test"))?;
    fs::remove_dir_all(&tests)?;
    Ok(())
}
