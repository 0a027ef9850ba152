//! The CPython source tree: the upstream 3.11.2 tarball plus the patches of
//! Debian's series that carry upstream security and crash fixes.
//!
//! Debian's series mixes two kinds of patch: Debian's packaging changes
//! (multiarch paths, install layout, disabled ensurepip, Debian's sysconfig
//! schemes) and backports of upstream fixes. We want CPython as upstream
//! ships it, with the fixes: the packaging patches would move paths and
//! change behaviour for a platform that is not Debian.

use std::path::{Path, PathBuf};

use anyhow::{Result, ensure};

use crate::shell::Step;
use crate::sources::{self, Fetched};

/// Backported upstream crash fixes in Debian's series whose names do not say so.
const UPSTREAM_CRASH_FIXES: &[&str] =
    &["shutdown-deadlock.diff", "frame_dealloc-crash.diff", "relfile-nullptr-dereference.patch"];

/// Whether a patch of Debian's python3.11 series is an upstream security or
/// crash fix (applied) rather than Debian packaging (skipped).
pub fn is_upstream_fix(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("cve-")
        // Cherry-picks from the 3.11 branch, named `NNNN-3.11-gh-NNNNNN-...`.
        || lower.split_once('-').is_some_and(|(n, rest)| n.chars().all(|c| c.is_ascii_digit()) && rest.starts_with("3.11-gh-"))
        || UPSTREAM_CRASH_FIXES.contains(&name)
}

/// The outcome of preparing the source: where it is and what was applied.
#[derive(Debug)]
pub struct PreparedSource {
    /// The patched source tree.
    pub dir: PathBuf,
    /// Debian patches applied, in series order.
    pub applied: Vec<String>,
    /// Debian patches skipped as packaging changes.
    pub skipped: Vec<String>,
    /// Our own patches applied.
    pub own: Vec<String>,
}

/// Unpacks CPython into `dest` and applies the upstream fixes of Debian's
/// series, then our own patches.
pub fn prepare(fetched: &Fetched, dest: &Path, step: &Step) -> Result<PreparedSource> {
    let debian = fetched.unpack(dest, step)?;
    let (applied, skipped): (Vec<String>, Vec<String>) =
        debian.series.iter().cloned().partition(|p| is_upstream_fix(p));
    ensure!(
        !applied.is_empty(),
        "no upstream fixes found in Debian's python3.11 series: the selection rule needs review"
    );
    let mut paths: Vec<PathBuf> = applied.iter().map(|p| debian.dir.join(p)).collect();
    let own = sources::own_patches("python3.11")?;
    paths.extend(own.iter().cloned());
    sources::apply_patches(dest, &paths, step)?;
    Ok(PreparedSource {
        dir: dest.to_path_buf(),
        applied,
        skipped,
        own: own.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_and_crash_fixes_are_applied() {
        for name in [
            "CVE-2024-0450.patch",
            "CVE-2023-40217-ssl-pre-close-flaw.patch",
            "0001-3.11-gh-123270-Replaced-SanitizedNames-with-a-more-s.patch",
            "0003-3.11-gh-123067-Fix-quadratic-complexity-in-parsing-q.patch",
            "frame_dealloc-crash.diff",
            "skip-xml-tests-expat-CVE-2023-52425.patch",
        ] {
            assert!(is_upstream_fix(name), "{name}");
        }
    }

    #[test]
    fn debian_packaging_is_skipped() {
        for name in [
            "deb-setup.diff",
            "deb-locations.diff",
            "multiarch.diff",
            "ensurepip-disabled.diff",
            "sysconfig-debian-schemes.diff",
            "distutils-install-layout.diff",
        ] {
            assert!(!is_upstream_fix(name), "{name}");
        }
    }
}
