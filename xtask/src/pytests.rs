//! The unit tests of the guest's Python code (component/tests): bootstrap.py
//! and http.py, run under the native CPython built from the guest's source.

use std::process::Command;

use anyhow::{Result, bail};

use crate::{shell, workspace_root};

/// Runs `component/tests` with `target/cpython/native/bin/python3.11`.
/// Isolated (`-I`), no `.pyc` files in the tree (`-B`), warnings as errors.
pub fn run() -> Result<()> {
    let root = workspace_root();
    let python = root.join("target/cpython/native/bin/python3.11");
    if !python.exists() {
        bail!("{} is missing: run `cargo xtask cpython` first", python.display());
    }
    shell::run(
        Command::new(&python)
            .args(["-B", "-I", "-X", "dev", "-W", "error", "-m", "unittest", "discover", "-v", "-s"])
            .arg(root.join("component/tests"))
            .current_dir(&root),
    )
}
