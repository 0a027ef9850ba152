//! Shared helpers of the integration tests: finding the built artifacts.
//!
//! The tests run against what `cargo xtask cpython` built; when it has not
//! been built, they fail with a message naming the command that builds it.

use std::path::PathBuf;

pub mod fuzz;
pub mod http_client;
pub mod regrtest;
pub mod upstream;

/// xorshift64*: small, deterministic, good enough to vary test data from a
/// fixed, printable seed.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("host-tests is in the workspace").to_path_buf()
}

/// The CPython build directory: `$PYCOMPONENT_CPYTHON`, else
/// `<workspace>/target/cpython` (the link `cargo xtask cpython` maintains).
///
/// # Panics
/// When the directory holds no build, with the command that makes one.
pub fn cpython_build_dir() -> PathBuf {
    let dir = std::env::var_os("PYCOMPONENT_CPYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/cpython"));
    assert!(
        dir.join("wasm/bin/python.wasm").is_file() && dir.join("manifest.json").is_file(),
        "no CPython build at {}: run `cargo xtask cpython` (or `cargo xtask test`, which builds it first)",
        dir.display()
    );
    dir
}

/// Variant `name` of the component, built by `cargo xtask component
/// --variant <name>` (`cargo xtask test` builds the numpy one).
///
/// # Panics
/// When it has not been built, with the command that builds it.
pub fn variant_path(name: &str) -> PathBuf {
    let path = workspace_root().join(format!("target/component/pycomponent-{name}.wasm"));
    assert!(
        path.is_file(),
        "no component at {}: run `cargo xtask component --variant {name}` (or `cargo xtask test`)",
        path.display()
    );
    path
}

/// The component built by `cargo xtask component`.
///
/// # Panics
/// When it has not been built, with the command that builds it.
pub fn component_path() -> PathBuf {
    let path = workspace_root().join("target/component/pycomponent.wasm");
    assert!(
        path.is_file(),
        "no component at {}: run `cargo xtask component` (or `cargo xtask test`)",
        path.display()
    );
    path
}
