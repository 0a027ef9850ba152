//! The standard library's sources, an optional artifact beside the component
//! (`python311.zip`, built by `cargo xtask component`): granted read-only at
//! `/usr/local/lib`, where the guest looks for them when a traceback or
//! `inspect` asks for a line of a library module.

use std::path::{Path, PathBuf};

use crate::Error;

/// Where the guest reads the zip (`STDLIB_SOURCES` in component/src/bootstrap.py).
pub(crate) const GUEST_DIR: &str = "/usr/local/lib";

/// The zip's name, CPython's for a zipped standard library.
pub const FILE_NAME: &str = "python311.zip";

/// Bytes at the end of the zip that the cache key covers: more than the
/// central directory of the sources zip (about 40 KB for 487 entries).
const CENTRAL_DIRECTORY_BYTES: usize = 256 << 10;

/// A directory that holds the zip and nothing else of the host's, in the
/// user's cache, keyed by the zip's SHA-256: the directory granted at
/// [`GUEST_DIR`]. It also holds an empty `python3.11/site-packages`, so
/// that those directories of the instance's tree still exist under the grant.
pub(crate) fn directory(zip: &[u8]) -> Result<PathBuf, Error> {
    if zip.len() < 22 || !zip.starts_with(b"PK") {
        return Err(Error::InvalidInput("the stdlib sources are not a zip file".into()));
    }
    // The CLI calls this at every start: the key hashes only the zip's
    // tail, which holds its central directory (every entry's name, size and
    // CRC-32), so two zips of different files get different keys without
    // hashing 2.4 MB each time.
    let tail = &zip[zip.len().saturating_sub(CENTRAL_DIRECTORY_BYTES)..];
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hasher::write(&mut hasher, tail);
    let hex = format!("{:x}-{:016x}", zip.len(), std::hash::Hasher::finish(&hasher));
    let Some(dir) =
        crate::compiled_cache::dir().and_then(|d| d.parent().map(|p| p.join("stdlib-sources").join(hex)))
    else {
        return Err(Error::InvalidInput(
            "no cache directory for the stdlib sources: set PYCOMPONENT_CACHE".into(),
        ));
    };
    let zip_path = dir.join(FILE_NAME);
    if zip_path.is_file() {
        return Ok(dir);
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let site_packages = dir.join("python3.11/site-packages");
    std::fs::create_dir_all(&site_packages).map_err(io(&site_packages))?;
    // Written beside, then renamed: another process may be doing the same.
    let partial = dir.join(format!("{FILE_NAME}.{}.partial", std::process::id()));
    std::fs::write(&partial, zip).map_err(io(&partial))?;
    std::fs::rename(&partial, &zip_path).map_err(io(&zip_path))?;
    Ok(dir)
}
