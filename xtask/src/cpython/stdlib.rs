//! The standard library shipped for wasm32-wasi: which pure-Python modules
//! are in and why the others are out, the copy of the chosen files, and the
//! machine-readable module manifest.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::modules::{Decision, OPTIONAL_EXTENSIONS};

/// Pure-Python parts of the stdlib that are left out, by dotted name; an
/// entry covers the module or package and everything below it.
pub const EXCLUDED: &[(&str, &str)] = &[
    ("test", "CPython's own test suite (run from the source tree, not shipped)"),
    ("unittest.test", "unittest's own test suite"),
    ("idlelib", "the IDLE editor: needs tkinter and a display"),
    ("tkinter", "needs _tkinter (Tcl/Tk) and a display"),
    ("turtle", "needs tkinter"),
    ("turtledemo", "demos of turtle, which needs tkinter"),
    ("ensurepip", "installs pip with a subprocess into a writable environment"),
    ("venv", "creates virtual environments: needs a Python executable and subprocesses"),
    ("lib2to3", "deprecated 2-to-3 converter (removed in 3.13) that writes grammar pickles at run time"),
    ("distutils", "deprecated build tooling (PEP 632) that runs C compilers"),
    ("ctypes", "needs _ctypes, built on libffi, which has no wasm32-wasi port"),
    ("curses", "needs _curses: WASI has no terminal control"),
    ("dbm.gnu", "needs _gdbm (GNU dbm); dbm.dumb works"),
    ("dbm.ndbm", "needs _dbm (ndbm); dbm.dumb works"),
    ("multiprocessing", "needs processes and _multiprocessing; WASI preview 1 has no processes"),
    ("concurrent.futures.process", "needs multiprocessing"),
    ("ssl", "needs _ssl (OpenSSL); WASI preview 1 cannot open network connections"),
    ("pty", "needs termios and fork"),
    ("tty", "needs termios"),
    ("msilib", "Windows only (needs _msi)"),
    ("asyncio.windows_events", "Windows only"),
    ("asyncio.windows_utils", "Windows only"),
    ("encodings.mbcs", "Windows only (the mbcs codec)"),
    ("encodings.oem", "Windows only (the oem codec)"),
];

/// The reason `name` is left out, if a rule of [`EXCLUDED`] covers it.
pub fn exclusion(name: &str) -> Option<&'static str> {
    EXCLUDED
        .iter()
        .filter(|(prefix, _)| {
            name == *prefix || name.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.'))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, reason)| *reason)
}

/// What a manifest entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A package (`__init__.py`).
    Package,
    /// A pure-Python module.
    Module,
    /// A package's `__main__.py`: run by `python -m`, never imported.
    Main,
    /// A C module statically linked into the interpreter.
    Builtin,
    /// An optional C module this build leaves out.
    Extension,
}

/// One module of the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Dotted module name.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// Whether the build ships it.
    pub included: bool,
    /// Why it is left out (only when not included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The module manifest: every stdlib module, in or out.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// CPython version.
    pub python: String,
    /// Target platform.
    pub platform: String,
    /// Every module, sorted by name.
    pub modules: Vec<Entry>,
}

/// A pure-Python module found in `Lib/`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceModule {
    /// Dotted name.
    pub name: String,
    /// Package, module or `__main__`.
    pub kind: Kind,
}

/// Walks `lib` (CPython's `Lib/`) for modules: `.py` files at the top and in
/// directories that are packages.
pub fn discover(lib: &Path) -> Result<Vec<SourceModule>> {
    let mut out = Vec::new();
    walk(lib, &[], &mut out)?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn walk(dir: &Path, package: &[String], out: &mut Vec<SourceModule>) -> Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if path.is_dir() {
            if path.join("__init__.py").is_file() && file_name != "__pycache__" {
                let mut sub = package.to_vec();
                sub.push(file_name.to_string());
                walk(&path, &sub, out)?;
            }
            continue;
        }
        let Some(stem) = file_name.strip_suffix(".py") else { continue };
        let (name, kind) = match stem {
            "__init__" if !package.is_empty() => (package.join("."), Kind::Package),
            "__main__" if !package.is_empty() => (format!("{}.__main__", package.join(".")), Kind::Main),
            _ if package.is_empty() => (stem.to_string(), Kind::Module),
            _ => (format!("{}.{stem}", package.join(".")), Kind::Module),
        };
        out.push(SourceModule { name, kind });
    }
    Ok(())
}

/// Builds the manifest from the modules found in `Lib/` and the built-in C
/// modules of the build.
pub fn manifest(python: &str, sources: &[SourceModule], builtins: &[String]) -> Manifest {
    let mut modules: BTreeMap<String, Entry> = BTreeMap::new();
    for m in sources {
        let reason = exclusion(&m.name);
        modules.insert(
            m.name.clone(),
            Entry {
                name: m.name.clone(),
                kind: m.kind,
                included: reason.is_none(),
                reason: reason.map(str::to_string),
            },
        );
    }
    for name in builtins {
        modules.insert(
            name.clone(),
            Entry { name: name.clone(), kind: Kind::Builtin, included: true, reason: None },
        );
    }
    for (name, decision) in OPTIONAL_EXTENSIONS {
        if let Decision::Exclude(reason) = decision {
            modules.insert(
                name.to_string(),
                Entry {
                    name: name.to_string(),
                    kind: Kind::Extension,
                    included: false,
                    reason: Some(reason.to_string()),
                },
            );
        }
    }
    Manifest {
        format: 1,
        python: python.to_string(),
        platform: "wasm32-wasi".to_string(),
        modules: modules.into_values().collect(),
    }
}

/// The dotted name of the package that owns `rel` (a path relative to
/// `Lib/`), or `None` for a top-level file. Files in non-package directories
/// belong to the nearest package above them.
fn owner(lib: &Path, rel: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut dir = lib.to_path_buf();
    for component in rel.parent()?.components() {
        dir.push(component);
        if !dir.join("__init__.py").is_file() {
            break;
        }
        parts.push(component.as_os_str().to_string_lossy().into_owned());
    }
    (!parts.is_empty()).then(|| parts.join("."))
}

/// Copies the shipped part of `lib` to `dest`: the `.py` files of included
/// modules, and the data files of included packages. Returns the number of
/// files copied.
pub fn copy_included(lib: &Path, dest: &Path) -> Result<usize> {
    let mut count = 0;
    copy_dir(lib, lib, dest, &mut count)?;
    Ok(count)
}

fn copy_dir(lib: &Path, dir: &Path, dest: &Path, count: &mut usize) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let rel = path.strip_prefix(lib)?.to_path_buf();
        let file_name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if file_name == "__pycache__" {
            continue;
        }
        if path.is_dir() {
            let is_package = path.join("__init__.py").is_file();
            let name = match owner(lib, &rel.join("x")) {
                Some(name) => name,
                // A top-level directory that is not a package (site-packages) is not shipped.
                None if !is_package => continue,
                None => file_name.clone(),
            };
            if exclusion(&name).is_none() {
                copy_dir(lib, &path, dest, count)?;
            }
            continue;
        }
        let module_name = match (owner(lib, &rel), file_name.strip_suffix(".py")) {
            (Some(pkg), Some("__init__")) => pkg,
            (Some(pkg), Some(stem)) => format!("{pkg}.{stem}"),
            (None, Some(stem)) => stem.to_string(),
            (Some(pkg), None) => pkg,
            // Top-level non-Python files are not part of any module.
            (None, None) => continue,
        };
        if exclusion(&module_name).is_some() {
            continue;
        }
        let target = dest.join(&rel);
        fs::create_dir_all(target.parent().unwrap_or(dest))?;
        fs::copy(&path, &target).with_context(|| format!("copying {}", path.display()))?;
        *count += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_covers_submodules_but_not_lookalikes() {
        assert!(exclusion("test").is_some());
        assert!(exclusion("test.support").is_some());
        assert!(exclusion("unittest.test.testmock").is_some());
        assert_eq!(exclusion("dbm.gnu"), Some("needs _gdbm (GNU dbm); dbm.dumb works"));
        assert_eq!(exclusion("unittest"), None);
        assert_eq!(exclusion("dbm"), None);
        assert_eq!(exclusion("tty_helpers"), None, "a prefix match needs a dot");
        assert_eq!(exclusion("json"), None);
        assert_eq!(exclusion("turtle"), Some("needs tkinter"));
    }

    /// A small fake `Lib/` to run discovery and copying on.
    fn fake_lib() -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "xtask-stdlib-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&root);
        for (path, text) in [
            ("os.py", ""),
            ("json/__init__.py", ""),
            ("json/tool.py", ""),
            ("json/__main__.py", ""),
            ("tkinter/__init__.py", ""),
            ("dbm/__init__.py", ""),
            ("dbm/gnu.py", ""),
            ("dbm/dumb.py", ""),
            ("pydoc_data/__init__.py", ""),
            ("pydoc_data/_pydoc.css", "css"),
            ("ensurepip/__init__.py", ""),
            ("ensurepip/_bundled/pip.whl", "wheel"),
            ("site-packages/README.txt", ""),
            ("test/__init__.py", ""),
            ("test/data/x.txt", ""),
        ] {
            let p = root.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        root
    }

    #[test]
    fn discovery_and_manifest() {
        let lib = fake_lib();
        let found = discover(&lib).unwrap();
        let names: Vec<&str> = found.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "dbm",
                "dbm.dumb",
                "dbm.gnu",
                "ensurepip",
                "json",
                "json.__main__",
                "json.tool",
                "os",
                "pydoc_data",
                "test",
                "tkinter"
            ]
        );
        assert_eq!(found[5].kind, Kind::Main);
        let manifest = manifest("3.11.2", &found, &["_sqlite3".to_string()]);
        let get = |n: &str| manifest.modules.iter().find(|e| e.name == n).unwrap();
        assert!(get("json.tool").included);
        assert!(!get("dbm.gnu").included);
        assert!(get("dbm.dumb").included);
        assert!(get("tkinter").reason.is_some());
        assert_eq!(get("_sqlite3").kind, Kind::Builtin);
        assert_eq!(get("_tkinter").kind, Kind::Extension);
        assert!(!get("_tkinter").included);
        assert!(manifest.modules.iter().all(|e| e.included == e.reason.is_none()));
        fs::remove_dir_all(lib).unwrap();
    }

    #[test]
    fn copy_ships_included_modules_and_their_data_only() {
        let lib = fake_lib();
        let dest = lib.with_extension("out");
        let _ = fs::remove_dir_all(&dest);
        let copied = copy_included(&lib, &dest).unwrap();
        let has = |p: &str| dest.join(p).is_file();
        assert!(has("os.py") && has("json/tool.py") && has("dbm/dumb.py"));
        assert!(has("pydoc_data/_pydoc.css"), "package data files are shipped");
        assert!(!has("dbm/gnu.py") && !has("tkinter/__init__.py") && !has("ensurepip/_bundled/pip.whl"));
        assert!(!has("test/__init__.py") && !has("test/data/x.txt") && !has("site-packages/README.txt"));
        assert_eq!(copied, 8);
        fs::remove_dir_all(lib).unwrap();
        fs::remove_dir_all(dest).unwrap();
    }
}
