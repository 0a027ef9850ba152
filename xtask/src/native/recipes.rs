//! The native packages the build knows how to make for wasm32-wasi: one
//! [`Recipe`] each, pinned by the SHA-256 of its PyPI source distribution.
//!
//! Adding a package is adding a recipe here (and naming it in a variant of
//! `component.rs`); the machinery is in `native/mod.rs`.

/// A native package built from its source distribution.
#[derive(Debug, Clone, Copy)]
pub struct Recipe {
    /// The project's name on PyPI, normalised (lower case, `-`).
    pub project: &'static str,
    /// Exact version.
    pub version: &'static str,
    /// File name of the sdist.
    pub sdist: &'static str,
    /// Its SHA-256.
    pub sha256: &'static str,
    /// Fixes to its source for wasm32 (files in `xtask/native/patches`),
    /// applied in order to the unpacked sdist before the build.
    pub patches: &'static [&'static str],
    /// How its extension modules are built.
    pub build: Build,
    /// Files of the installed package the component leaves out, as paths
    /// relative to site-packages: a path prefix (`numpy/_core/include`), or a
    /// suffix pattern (`*.pyi`). Tests, headers, type stubs: nothing a
    /// program imports. They are kept beside the build (`excluded/`) for
    /// running the package's tests with them granted at their path.
    pub exclude: &'static [&'static str],
}

/// How a recipe builds its package.
#[derive(Debug, Clone, Copy)]
pub enum Build {
    /// C extension modules from listed sources (a setuptools project whose
    /// `setup.py` only declares them): each module's sources compiled with
    /// CPython's headers and linked into one module, the Python package
    /// copied from the sdist.
    Extensions {
        /// (dotted module name, its C sources relative to the sdist's root).
        modules: &'static [(&'static str, &'static [&'static str])],
        /// The directory of the sdist that holds the Python packages.
        python_source: &'static str,
    },
    /// A meson-python project: configured with the cross file for
    /// wasm32-wasi and these `-D` options, compiled with ninja and installed
    /// (extension modules as link records).
    Meson { options: &'static [&'static str] },
    /// A pyo3 crate (a maturin project): compiled by cargo as a dependency
    /// of the guest, with which it shares one pyo3-ffi (pyo3's `links =
    /// "python"` allows no second one), rather than as a separate library.
    Pyo3 {
        /// The crate's library name (`[lib] name`), which the guest links.
        lib: &'static str,
        /// The dotted name of the extension module it defines; its entry
        /// is pyo3's `PyInit_<last part>`.
        module: &'static str,
        /// The directory of the sdist that holds the Python package
        /// (maturin's `python-source`).
        python_source: &'static str,
    },
}

/// pydantic-core 2.50.5, the version pydantic 2.14 pins: pydantic v2's
/// validation and serialization core (FastAPI needs it).
pub const PYDANTIC_CORE: Recipe = Recipe {
    project: "pydantic-core",
    version: "2.50.5",
    sdist: "pydantic_core-2.50.5.tar.gz",
    sha256: "1e740886083ff95530d694e6a3f09ed914bcf92a496d16acd307c6c3484fc36d",
    patches: &[],
    build: Build::Pyo3 {
        lib: "_pydantic_core",
        module: "pydantic_core._pydantic_core",
        python_source: "python",
    },
    exclude: &["*.pyi"],
};

/// MarkupSafe 3.0.4 with its C speedups (`markupsafe._speedups`), which
/// Jinja2 (Flask) escapes with.
pub const MARKUPSAFE: Recipe = Recipe {
    project: "markupsafe",
    version: "3.0.4",
    sdist: "markupsafe-3.0.4.tar.gz",
    sha256: "2e9ad7dd851bf45fab9f75cbff4cb493fee9979e8d8c7c9c3ee119022518edd6",
    patches: &[],
    build: Build::Extensions {
        modules: &[("markupsafe._speedups", &["src/markupsafe/_speedups.c"])],
        python_source: "src",
    },
    exclude: &["*.pyi", "*.c", "MarkupSafe.egg-info"],
};

/// numpy 2.4.6, the last line that supports Python 3.11, without BLAS
/// (numpy.linalg uses its bundled lapack_lite), threads or SIMD dispatch.
pub const NUMPY: Recipe = Recipe {
    project: "numpy",
    version: "2.4.6",
    sdist: "numpy-2.4.6.tar.gz",
    sha256: "f3a3570c4a2a16746ac2c31a7c7c7b0c186b95ce902e33db6f28094ed7387dda",
    // C functions called through a pointer of another type, which
    // WebAssembly traps on (a method without its unused `args` parameter).
    patches: &["numpy-2.4.6-wasm-call-signatures.patch"],
    build: Build::Meson {
        options: &[
            "-Dblas=none",
            "-Dlapack=none",
            "-Dallow-noblas=true",
            "-Ddisable-highway=true",
            "-Ddisable-svml=true",
            "-Ddisable-intel-sort=true",
            "-Ddisable-threading=true",
            "-Dcpu-baseline=none",
            "-Dcpu-dispatch=none",
        ],
    },
    exclude: &[
        "numpy/_core/include",
        "numpy/_core/lib",
        "numpy/random/lib",
        "numpy/_pyinstaller",
        "numpy/f2py/src",
        "numpy/f2py/_backends/meson.build.template",
        "numpy/tests",
        "numpy/_core/tests",
        "numpy/f2py/tests",
        "numpy/fft/tests",
        "numpy/lib/tests",
        "numpy/linalg/tests",
        "numpy/ma/tests",
        "numpy/matrixlib/tests",
        "numpy/polynomial/tests",
        "numpy/random/tests",
        "numpy/random/_examples",
        "numpy/testing/tests",
        "numpy/typing/tests",
        "*.pyi",
        "*.pxd",
        "*.pyx",
        "*.h",
        "*.c",
    ],
};
