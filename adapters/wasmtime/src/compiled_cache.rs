//! The on-disk cache of compiled components: compiling the component takes
//! seconds, loading a compiled one milliseconds.
//!
//! Entries are keyed by the SHA-256 of the component and by Wasmtime's
//! compatibility hash of the engine's configuration (which includes its
//! version), and written atomically; the 8 most recently used are kept. The directory is
//! `$PYCOMPONENT_CACHE/compiled`, else `$XDG_CACHE_HOME/pycomponent/compiled`,
//! else `~/.cache/pycomponent/compiled`.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The cache directory, if one can be determined.
pub fn dir() -> Option<PathBuf> {
    let root = std::env::var_os("PYCOMPONENT_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(|d| PathBuf::from(d).join("pycomponent"))
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/pycomponent")))?;
    Some(root.join("compiled"))
}

fn entry_name(engine: &Engine, sha256: &[u8; 32]) -> String {
    let mut engine_hash = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    let hex: String = sha256.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{:016x}.cwasm", engine_hash.finish())
}

/// The SHA-256 of a component, its key in the cache.
pub fn digest(component: &[u8]) -> [u8; 32] {
    Sha256::digest(component).into()
}

/// The compiled component: from the cache when present, else compiled and
/// stored. A cache that cannot be read or written only costs the compile.
/// `sha256` is [`digest`] of `component`.
pub fn load_or_compile(engine: &Engine, component: &[u8], sha256: &[u8; 32]) -> wasmtime::Result<Component> {
    let Some(dir) = dir() else { return Component::new(engine, component) };
    let path = dir.join(entry_name(engine, sha256));
    if path.is_file() {
        // SAFETY: the file was written by `precompile_component` of an engine
        // with the same compatibility hash, into the user's own cache
        // directory; Wasmtime checks the header before mapping the code. Who
        // can write that directory can already run code as this user.
        #[allow(unsafe_code)]
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
            // Marks the entry as recently used, for `prune`.
            let _ = std::fs::File::options()
                .append(true)
                .open(&path)
                .and_then(|f| f.set_modified(SystemTime::now()));
            return Ok(component);
        }
    }
    let compiled = engine.precompile_component(component)?;
    if std::fs::create_dir_all(&dir).is_ok() {
        // Unique per writer (threads of one process compile concurrently):
        // a reader only ever sees a complete file, renamed into place.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let tmp = path.with_extension(format!(
            "tmp{}-{}",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        if std::fs::write(&tmp, &compiled).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        prune(&dir, KEEP_ENTRIES);
    }
    // SAFETY: `compiled` was produced just now by this engine.
    #[allow(unsafe_code)]
    unsafe {
        Component::deserialize(engine, &compiled)
    }
}

/// How many compiled components the cache keeps (about 29 MB each): every
/// rebuild of the component, and every engine configuration, adds one.
const KEEP_ENTRIES: usize = 8;

/// Removes all but the `keep` most recently used entries of the cache.
fn prune(dir: &std::path::Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut compiled: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    compiled.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    for (_, path) in compiled.into_iter().skip(keep) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn prune_keeps_the_most_recently_used_entries() {
        let dir = std::env::temp_dir().join(format!("pycomponent-prune-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let base = SystemTime::now() - Duration::from_secs(1000);
        for i in 0..10u64 {
            let path = dir.join(format!("entry{i}.cwasm"));
            std::fs::write(&path, b"x").unwrap();
            let file = std::fs::File::options().append(true).open(&path).unwrap();
            file.set_modified(base + Duration::from_secs(i)).unwrap();
        }
        std::fs::write(dir.join("other.txt"), b"not an entry").unwrap();
        prune(&dir, 8);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), 9, "{left:?}");
        assert!(!left.contains(&"entry0.cwasm".to_string()) && !left.contains(&"entry1.cwasm".to_string()));
        assert!(left.contains(&"other.txt".to_string()), "other files are left alone");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
