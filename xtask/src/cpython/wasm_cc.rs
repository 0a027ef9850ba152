//! The C toolchain for wasm32-wasi: Debian's clang/LLVM with an isolated
//! sysroot, so that no build ever sees the host's x86 headers or libraries.
//!
//! Debian's clang searches `/usr/include` after the wasi-libc headers, which is
//! how configure used to find the host's zlib.h, sqlite3.h and lzma.h. With
//! `--sysroot` pointing at a directory that holds only wasi-libc (as symlinks),
//! the search path is clang's own headers plus wasi-libc, nothing else.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::versions::LLVM_MAJOR;

/// The target triple clang is called with. wasi-libc of bookworm installs its
/// files for `wasm32-wasi`; the sysroot maps them to this (current) name.
pub const TRIPLE: &str = "wasm32-wasip1";

/// Where Debian's wasi-libc puts its headers and libraries.
const WASI_LIBC_INCLUDE: &str = "/usr/include/wasm32-wasi";
const WASI_LIBC_LIB: &str = "/usr/lib/wasm32-wasi";

/// Flags for the C libraries CPython depends on.
pub const LIB_CFLAGS: &str = "-O2 -fno-strict-aliasing";

/// The wasm32-wasi C toolchain.
#[derive(Debug, Clone)]
pub struct WasmCc {
    /// The isolated sysroot.
    pub sysroot: PathBuf,
}

impl WasmCc {
    /// Creates (idempotently) the isolated sysroot under `cache_root`.
    pub fn new(cache_root: &Path) -> Result<WasmCc> {
        for path in [WASI_LIBC_INCLUDE, WASI_LIBC_LIB] {
            ensure!(
                Path::new(path).is_dir(),
                "{path} is missing: run `cargo xtask toolchain` (package wasi-libc)"
            );
        }
        let sysroot = cache_root.join("wasi-sysroot");
        for (dir, target) in [("include", WASI_LIBC_INCLUDE), ("lib", WASI_LIBC_LIB)] {
            let parent = sysroot.join(dir);
            fs::create_dir_all(&parent)?;
            let link = parent.join(TRIPLE);
            if fs::read_link(&link).ok().as_deref() != Some(Path::new(target)) {
                let _ = fs::remove_file(&link);
                symlink(target, &link).with_context(|| format!("linking {} -> {target}", link.display()))?;
            }
        }
        Ok(WasmCc { sysroot })
    }

    /// The compiler command, as one string for configure's `CC`.
    pub fn cc(&self) -> String {
        format!("clang-{LLVM_MAJOR} --target={TRIPLE} --sysroot={}", self.sysroot.display())
    }

    /// The compiler as a command, ready for more arguments.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(format!("clang-{LLVM_MAJOR}"));
        cmd.arg(format!("--target={TRIPLE}")).arg(format!("--sysroot={}", self.sysroot.display()));
        cmd
    }

    /// The archiver.
    pub fn ar(&self) -> String {
        format!("llvm-ar-{LLVM_MAJOR}")
    }

    /// The archive indexer.
    pub fn ranlib(&self) -> String {
        format!("llvm-ranlib-{LLVM_MAJOR}")
    }
}
