//! CPython cross-built for wasm32-wasi: `libpython3.11.a` with its bundled
//! libmpdec and expat, the headers, and CPython's own `python.wasm` command.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::clibs::Prefix;
use super::modules;
use super::wasm_cc::WasmCc;
use crate::shell::Step;
use crate::versions::PYTHON_MAJOR_MINOR;

/// The compiler optimization flags (configure's `OPT`): CPython's default
/// without `-g`, whose DWARF would triple the size of every artifact.
pub const OPT: &str = "-DNDEBUG -fwrapv -O3 -Wall";

/// Extra CFLAGS: clang 22 makes `-Wint-conversion` an error, and this
/// wasi-libc's `clockid_t` is a pointer, which trips `Modules/timemodule.c`.
pub const CFLAGS: &str = "-Wno-int-conversion";

/// The install prefix python.wasm is configured for; the stdlib is mounted at
/// `<PREFIX>/lib/python3.11` in the guest.
pub const PREFIX: &str = "/usr/local";

/// What the wasm build produced, inside the build directory.
#[derive(Debug)]
pub struct WasmBuild {
    /// The configure/make directory.
    pub dir: PathBuf,
}

impl WasmBuild {
    /// `python.wasm`.
    pub fn python_wasm(&self) -> PathBuf {
        self.dir.join("python.wasm")
    }

    /// The generated `Modules/config.c` (the table of built-in modules).
    pub fn config_c(&self) -> Result<String> {
        let path = self.dir.join("Modules/config.c");
        fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }

    /// The static libraries to link an embedder with, in link order.
    pub fn static_libs(&self) -> [PathBuf; 3] {
        [
            self.dir.join(format!("libpython{PYTHON_MAJOR_MINOR}.a")),
            self.dir.join("Modules/_decimal/libmpdec/libmpdec.a"),
            self.dir.join("Modules/expat/libexpat.a"),
        ]
    }

    /// The generated `_sysconfigdata` module, which the stdlib needs at run time.
    pub fn sysconfigdata(&self) -> Result<PathBuf> {
        let dir = self.dir.join(format!("build/lib.wasi-wasm32-{PYTHON_MAJOR_MINOR}"));
        let found = fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("_sysconfigdata_")));
        found.with_context(|| format!("no _sysconfigdata_*.py in {}", dir.display()))
    }
}

/// Configures and builds CPython for wasm32-wasi against the C libraries in
/// `deps`, with `build_python` (the native build of the same source).
pub fn build(
    cc: &WasmCc,
    source: &Path,
    deps: &Prefix,
    build_python: &Path,
    work: &Path,
    logs: &Path,
) -> Result<WasmBuild> {
    let dir = work.join("wasm-build");
    fs::create_dir_all(&dir)?;
    let step = Step::start("CPython for wasm32-wasi: configure", logs.join("wasm-configure.log"))?;
    let mut configure = Command::new(source.join("configure"));
    configure
        .args(["--host=wasm32-unknown-wasi", "--build=x86_64-pc-linux-gnu"])
        .arg(format!("--prefix={PREFIX}"))
        .arg(format!("--with-build-python={}", build_python.display()))
        .args(["--disable-ipv6", "--disable-test-modules", "--with-ensurepip=no"])
        // configure leaves pymalloc out on WASI by default; with it, small
        // objects come from CPython's pools as in the native build, instead
        // of wasi-libc's dlmalloc: the workloads run 11-16% faster. Its
        // `address_in_range` reads below a pointer, which in linear memory
        // stays in bounds.
        .arg("--with-pymalloc")
        .env("CONFIG_SITE", source.join("Tools/wasm/config.site-wasm32-wasi"))
        // No pkg-config: it would report the host's x86 libraries.
        .env("PKG_CONFIG", "false")
        .env("CC", cc.cc())
        .env("AR", cc.ar())
        .env("RANLIB", cc.ranlib())
        .env("OPT", OPT)
        .env("CFLAGS", CFLAGS)
        .env("ZLIB_CFLAGS", deps.cflags())
        .env("ZLIB_LIBS", deps.libs("z"))
        .env("BZIP2_CFLAGS", deps.cflags())
        .env("BZIP2_LIBS", deps.libs("bz2"))
        .env("LIBLZMA_CFLAGS", deps.cflags())
        .env("LIBLZMA_LIBS", deps.libs("lzma"))
        .env("LIBSQLITE3_CFLAGS", deps.cflags())
        .env("LIBSQLITE3_LIBS", deps.libs("sqlite3"))
        .current_dir(&dir);
    for assignment in modules::configure_overrides() {
        let (var, value) = assignment.split_once('=').unwrap_or((&assignment, ""));
        configure.env(var, value);
    }
    step.run(&mut configure)?;
    let makefile = fs::read_to_string(dir.join("Makefile")).context("reading the generated Makefile")?;
    let problems = modules::check_configure_states(&makefile);
    if !problems.is_empty() {
        bail!(
            "configure's extension-module decisions differ from xtask/src/cpython/modules.rs:\n  {}\n(config.log: {})",
            problems.join("\n  "),
            dir.join("config.log").display()
        );
    }
    step.finish();

    let step = Step::start("CPython for wasm32-wasi: make", logs.join("wasm-make.log"))?;
    step.run(Command::new("make").args(["-j2", "all"]).current_dir(&dir))?;
    step.finish();
    Ok(WasmBuild { dir })
}

/// Copies the public headers (and the build's `pyconfig.h`) to `dest`.
pub fn install_headers(source: &Path, build: &WasmBuild, dest: &Path) -> Result<()> {
    copy_tree(&source.join("Include"), dest)?;
    fs::copy(build.dir.join("pyconfig.h"), dest.join("pyconfig.h")).context("copying pyconfig.h")?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let path = entry?.path();
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else {
            fs::copy(&path, &target).with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}
