//! Links the wasm32-wasi CPython built by `cargo xtask cpython`.
//!
//! `cargo xtask component` sets `PYCOMPONENT_CPYTHON_LIB` (the build's
//! `wasm/lib`) and `PYCOMPONENT_CLANG_RT` (compiler-rt's directory).

fn main() {
    println!("cargo:rerun-if-env-changed=PYCOMPONENT_CPYTHON_LIB");
    println!("cargo:rerun-if-env-changed=PYCOMPONENT_CLANG_RT");
    println!("cargo:rerun-if-changed=src/bootstrap.py");
    println!("cargo:rerun-if-changed=../wit");
    let Ok(lib) = std::env::var("PYCOMPONENT_CPYTHON_LIB") else {
        panic!("PYCOMPONENT_CPYTHON_LIB is not set: build this crate with `cargo xtask component`");
    };
    println!("cargo:rustc-link-search=native={lib}");
    for name in ["python3.11", "mpdec", "expat", "sqlite3", "lzma", "bz2", "z"] {
        println!("cargo:rustc-link-lib=static={name}");
    }
    println!("cargo:rustc-link-search=native=/usr/lib/wasm32-wasi");
    for name in ["wasi-emulated-signal", "wasi-emulated-getpid", "wasi-emulated-process-clocks"] {
        println!("cargo:rustc-link-lib=static={name}");
    }
    if let Ok(rt) = std::env::var("PYCOMPONENT_CLANG_RT") {
        println!("cargo:rustc-link-search=native={rt}");
        println!("cargo:rustc-link-lib=static=clang_rt.builtins-wasm32");
    }
}
