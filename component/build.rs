//! Links the wasm32-wasi CPython built by `cargo xtask cpython`, and the
//! native packages of a component variant.
//!
//! `cargo xtask component` sets `PYCOMPONENT_CPYTHON_LIB` (the build's
//! `wasm/lib`) and `PYCOMPONENT_CLANG_RT` (compiler-rt's directory). A
//! variant with native packages also sets `PYCOMPONENT_NATIVE_LIBS` (their
//! archives, `:`-separated) and `PYCOMPONENT_NATIVE_MODULES` (`dotted.name=
//! entry_symbol` pairs, `,`-separated): this script writes the table that
//! interp.rs registers in CPython's inittab (empty without a variant).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=PYCOMPONENT_CPYTHON_LIB");
    println!("cargo:rerun-if-env-changed=PYCOMPONENT_CLANG_RT");
    println!("cargo:rerun-if-env-changed=PYCOMPONENT_NATIVE_LIBS");
    println!("cargo:rerun-if-env-changed=PYCOMPONENT_NATIVE_MODULES");
    println!("cargo:rerun-if-changed=src/bootstrap.py");
    println!("cargo:rerun-if-changed=../wit");
    let Ok(lib) = std::env::var("PYCOMPONENT_CPYTHON_LIB") else {
        panic!("PYCOMPONENT_CPYTHON_LIB is not set: build this crate with `cargo xtask component`");
    };
    let native_libs = std::env::var("PYCOMPONENT_NATIVE_LIBS").unwrap_or_default();
    let native_libs: Vec<&str> = native_libs.split(':').filter(|s| !s.is_empty()).collect();
    // Every library is linked where the module is (`-bundle`), not copied
    // into this crate's rlib: a variant's module is a crate that depends on
    // this one (xtask/src/component.rs), and its link must see the same
    // libraries in the same order as the default build's.
    // Native packages first: their undefined symbols (the C API, libc++)
    // resolve in the libraries after them.
    for archive in &native_libs {
        let path = Path::new(archive);
        let dir = path.parent().expect("an archive path has a directory");
        let name = path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 archive name");
        let name = name.strip_prefix("lib").expect("archives are named lib<name>.a");
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static:-bundle={name}");
        println!("cargo:rerun-if-changed={archive}");
    }
    println!("cargo:rustc-link-search=native={lib}");
    for name in ["python3.11", "mpdec", "expat", "sqlite3", "lzma", "bz2", "z"] {
        println!("cargo:rustc-link-lib=static:-bundle={name}");
    }
    println!("cargo:rustc-link-search=native=/usr/lib/wasm32-wasi");
    if !native_libs.is_empty() {
        // libc++, and wasi-libc's printf/scanf with `long double` (numpy's
        // longdouble parses and prints through strtold and %Lg).
        for name in ["c++", "c++abi", "c-printscan-long-double"] {
            println!("cargo:rustc-link-lib=static:-bundle={name}");
        }
    }
    for name in ["wasi-emulated-signal", "wasi-emulated-getpid", "wasi-emulated-process-clocks"] {
        println!("cargo:rustc-link-lib=static:-bundle={name}");
    }
    if let Ok(rt) = std::env::var("PYCOMPONENT_CLANG_RT") {
        println!("cargo:rustc-link-search=native={rt}");
        println!("cargo:rustc-link-lib=static:-bundle=clang_rt.builtins-wasm32");
    }
    write_native_modules();
}

/// Writes `$OUT_DIR/native_modules.rs`: the entry function of every native
/// module, with the dotted name it is imported by.
fn write_native_modules() {
    let modules = std::env::var("PYCOMPONENT_NATIVE_MODULES").unwrap_or_default();
    let mut declarations = String::new();
    let mut table = String::new();
    for pair in modules.split(',').filter(|s| !s.is_empty()) {
        let (name, symbol) =
            pair.split_once('=').expect("PYCOMPONENT_NATIVE_MODULES holds name=symbol pairs");
        assert!(
            symbol.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{symbol} is not a symbol name"
        );
        let _ = writeln!(declarations, "    fn {symbol}() -> *mut pyo3_ffi::PyObject;");
        let _ = writeln!(table, "    (c{name:?}, {symbol}),");
    }
    let source = format!(
        "// Written by build.rs from PYCOMPONENT_NATIVE_MODULES.\n\
         unsafe extern \"C\" {{\n{declarations}}}\n\n\
         /// The native modules linked into this build: dotted name, entry function.\n\
         pub static NATIVE_MODULES: &[(&core::ffi::CStr, unsafe extern \"C\" fn() -> *mut pyo3_ffi::PyObject)] = &[\n{table}];\n"
    );
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join("native_modules.rs"), source).expect("writing native_modules.rs");
}
