//! The build cache outside the clone: content-addressed directories keyed by
//! a hash of every input of a build, so that CI and later sessions reuse them
//! and a changed input rebuilds.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// The cache root: `$PYCOMPONENT_CACHE`, else `$XDG_CACHE_HOME/pycomponent`,
/// else `~/.cache/pycomponent`.
pub fn root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PYCOMPONENT_CACHE").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir).join("pycomponent"));
    }
    let home =
        std::env::var_os("HOME").context("HOME is not set: set PYCOMPONENT_CACHE to a cache directory")?;
    Ok(PathBuf::from(home).join(".cache").join("pycomponent"))
}

/// Accumulates the inputs of a build into a key. Every input is labelled, so
/// moving a value from one input to another changes the key.
#[derive(Debug, Default)]
pub struct KeyBuilder {
    hasher: Sha256,
    /// The labelled inputs in order, for `inputs.txt` beside the output.
    described: Vec<String>,
}

impl KeyBuilder {
    /// Adds a labelled text input.
    pub fn text(&mut self, label: &str, value: &str) -> &mut Self {
        self.bytes(label, value.as_bytes());
        self.described.push(format!("{label} = {value}"));
        self
    }

    /// Adds binary data, described by its digest.
    pub fn data(&mut self, label: &str, data: &[u8]) -> &mut Self {
        self.bytes(label, data);
        self.described.push(format!("{label} sha256:{}", hex(&Sha256::digest(data))));
        self
    }

    /// Adds the contents of one file.
    pub fn file(&mut self, label: &str, path: &Path) -> Result<&mut Self> {
        let data = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(self.data(label, &data))
    }

    /// Adds the contents of every file under `dir` (sorted by path, so the
    /// key does not depend on directory order), labelled by relative path.
    pub fn tree(&mut self, label: &str, dir: &Path) -> Result<&mut Self> {
        let mut files = Vec::new();
        collect_files(dir, &mut files)?;
        files.sort();
        for file in files {
            let rel = file.strip_prefix(dir).unwrap_or(&file).to_string_lossy().into_owned();
            self.file(&format!("{label}/{rel}"), &file)?;
        }
        Ok(self)
    }

    fn bytes(&mut self, label: &str, data: &[u8]) {
        self.hasher.update((label.len() as u64).to_le_bytes());
        self.hasher.update(label.as_bytes());
        self.hasher.update((data.len() as u64).to_le_bytes());
        self.hasher.update(data);
    }

    /// The key: the first 16 hex digits of the SHA-256 of all inputs.
    pub fn finish(&self) -> Key {
        let digest = hex(&self.hasher.clone().finalize());
        Key { hex: digest[..16].to_string(), inputs: self.described.join("\n") + "\n" }
    }
}

/// A finished cache key with the description of its inputs.
#[derive(Debug, Clone)]
pub struct Key {
    /// Short hex digest naming the cache entry.
    pub hex: String,
    /// One line per input, written beside the output for debugging a miss.
    pub inputs: String,
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() { collect_files(&path, out)? } else { out.push(path) }
    }
    Ok(())
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, as lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex(&hasher.finalize()))
}

/// A cache entry: a directory that is complete once its marker file exists.
/// Builds go to a `.partial` directory that is renamed into place at the end,
/// so an interrupted build never looks complete.
#[derive(Debug)]
pub struct Entry {
    /// The final directory of the entry.
    pub dir: PathBuf,
}

const COMPLETE_MARKER: &str = ".complete";

impl Entry {
    /// The entry for `key` under `<root>/<kind>/`.
    pub fn new(root: &Path, kind: &str, key: &Key) -> Entry {
        Entry { dir: root.join(kind).join(&key.hex) }
    }

    /// Whether a complete build is already cached.
    pub fn is_complete(&self) -> bool {
        self.dir.join(COMPLETE_MARKER).is_file()
    }

    /// A fresh, empty `.partial` directory to build into.
    pub fn begin(&self) -> Result<PathBuf> {
        let partial = self.partial_dir();
        if partial.exists() {
            fs::remove_dir_all(&partial).with_context(|| format!("removing {}", partial.display()))?;
        }
        fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
        Ok(partial)
    }

    /// Moves the finished `.partial` directory into place and marks it complete.
    pub fn commit(&self, key: &Key) -> Result<()> {
        let partial = self.partial_dir();
        fs::write(partial.join("inputs.txt"), &key.inputs)?;
        fs::write(partial.join(COMPLETE_MARKER), "")?;
        if self.dir.exists() {
            fs::remove_dir_all(&self.dir)
                .with_context(|| format!("removing stale {}", self.dir.display()))?;
        }
        fs::rename(&partial, &self.dir)
            .with_context(|| format!("moving {} to {}", partial.display(), self.dir.display()))
    }

    /// Where an unfinished build of this entry lives.
    pub fn partial_dir(&self) -> PathBuf {
        let mut name = self.dir.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        self.dir.with_file_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(inputs: &[(&str, &str)]) -> String {
        let mut k = KeyBuilder::default();
        for (label, value) in inputs {
            k.text(label, value);
        }
        k.finish().hex
    }

    #[test]
    fn key_is_stable_and_sensitive_to_each_input() {
        let base = key_of(&[("cc", "clang-22 1:22.1.8"), ("cflags", "-O2")]);
        assert_eq!(base, key_of(&[("cc", "clang-22 1:22.1.8"), ("cflags", "-O2")]));
        assert_ne!(base, key_of(&[("cc", "clang-22 1:22.1.9"), ("cflags", "-O2")]));
        assert_ne!(base, key_of(&[("cc", "clang-22 1:22.1.8"), ("cflags", "-O3")]));
        assert_eq!(base.len(), 16);
    }

    #[test]
    fn labels_separate_inputs() {
        assert_ne!(key_of(&[("a", "bc"), ("d", "")]), key_of(&[("a", "b"), ("d", "c")]));
    }

    #[test]
    fn tree_inputs_follow_file_contents() {
        let dir = std::env::temp_dir().join(format!("xtask-cache-test-{}", std::process::id()));
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("a.patch"), "one").unwrap();
        fs::write(dir.join("sub/b.h"), "two").unwrap();
        let first = KeyBuilder::default().tree("recipe", &dir).unwrap().finish();
        assert!(first.inputs.contains("recipe/sub/b.h sha256:"), "{}", first.inputs);
        fs::write(dir.join("sub/b.h"), "three").unwrap();
        let second = KeyBuilder::default().tree("recipe", &dir).unwrap().finish();
        assert_ne!(first.hex, second.hex);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn entry_is_complete_only_after_commit() {
        let root = std::env::temp_dir().join(format!("xtask-entry-test-{}", std::process::id()));
        let key = KeyBuilder::default().text("x", "1").finish();
        let entry = Entry::new(&root, "thing", &key);
        assert!(!entry.is_complete());
        let partial = entry.begin().unwrap();
        fs::write(partial.join("out"), "data").unwrap();
        assert!(!entry.is_complete());
        entry.commit(&key).unwrap();
        assert!(entry.is_complete());
        assert_eq!(fs::read_to_string(entry.dir.join("out")).unwrap(), "data");
        assert!(!entry.partial_dir().exists());
        fs::remove_dir_all(root).unwrap();
    }
}
