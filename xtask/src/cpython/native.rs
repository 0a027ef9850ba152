//! The native CPython 3.11 built from the same patched source: the
//! `--with-build-python` the cross build needs, and the baseline every
//! benchmark compares against.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::shell::Step;

/// configure flags of the native build. No PGO/LTO: the wasm build cannot
/// have them either, so the comparison is of the same compiler-level recipe.
pub const CONFIGURE_FLAGS: &[&str] = &["--with-ensurepip=no"];

/// Configures, builds and installs CPython into `prefix`; returns the path of
/// the installed `python3.11`.
pub fn build(source: &Path, work: &Path, prefix: &Path, logs: &Path) -> Result<PathBuf> {
    let build_dir = work.join("native-build");
    fs::create_dir_all(&build_dir)?;
    let step = Step::start("native CPython: configure, make, install", logs.join("native.log"))?;
    step.run(
        Command::new(source.join("configure"))
            .arg(format!("--prefix={}", prefix.display()))
            .args(CONFIGURE_FLAGS)
            .current_dir(&build_dir),
    )?;
    step.run(Command::new("make").args(["-j2"]).current_dir(&build_dir))?;
    step.run(Command::new("make").args(["install"]).current_dir(&build_dir))?;
    step.finish();
    Ok(prefix.join("bin/python3.11"))
}
