//! Embeds the component (and the HTTP core module and stdlib sources beside it) into the
//! `pycomponent` binary when `PYCOMPONENT_EMBED` names a component file
//! (`cargo xtask cli` sets it).

use sha2::Digest as _;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(embedded_component)");
    println!("cargo::rustc-check-cfg=cfg(embedded_sources)");
    println!("cargo:rerun-if-env-changed=PYCOMPONENT_EMBED");
    if let Some(path) = std::env::var_os("PYCOMPONENT_EMBED").filter(|p| !p.is_empty()) {
        let path = std::path::PathBuf::from(path);
        assert!(path.is_file(), "PYCOMPONENT_EMBED={} is not a file", path.display());
        println!("cargo:rerun-if-changed={}", path.display());
        println!("cargo:rustc-cfg=embedded_component");
        println!("cargo:rustc-env=PYCOMPONENT_EMBED_PATH={}", path.display());
        // Hashed here, once, rather than at every start of the CLI.
        let bytes = std::fs::read(&path).expect("reading the component to embed");
        let digest: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        println!("cargo:rustc-env=PYCOMPONENT_EMBED_SHA256={digest}");
        // The HTTP core module `pycomponent build` starts from lies beside it.
        let http_core = path.with_file_name("pycomponent-http-core.wasm");
        assert!(http_core.is_file(), "{} is missing: run `cargo xtask component`", http_core.display());
        println!("cargo:rerun-if-changed={}", http_core.display());
        println!("cargo:rustc-env=PYCOMPONENT_EMBED_HTTP_CORE_PATH={}", http_core.display());
        // The stdlib sources for tracebacks, when they were built beside it.
        let sources = path.with_file_name("python311.zip");
        println!("cargo:rerun-if-changed={}", sources.display());
        if sources.is_file() {
            println!("cargo:rustc-cfg=embedded_sources");
            println!("cargo:rustc-env=PYCOMPONENT_EMBED_SOURCES_PATH={}", sources.display());
        }
    }
}
