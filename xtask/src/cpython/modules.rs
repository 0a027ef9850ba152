//! Which of CPython's optional C extension modules the wasm32-wasi build
//! includes, and why each left-out one is left out.
//!
//! configure can only be told "n/a" for a module; "yes" is what it concludes
//! from its checks. So the build passes `py_cv_module_<name>=n/a` for every
//! module left out here, and afterwards checks that configure enabled every
//! module this table includes, failing the build otherwise.

/// The decision for one optional extension module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Built in and statically linked.
    Include,
    /// Left out, with the reason recorded in the manifest.
    Exclude(&'static str),
}

use Decision::{Exclude, Include};

const NO_PROCESSES: &str = "WASI preview 1 has no processes (no fork, exec or wait)";
const TEST_ONLY: &str = "test-only module of CPython's own test suite";
const NO_USERS: &str = "WASI has no users or groups";
const NO_TERMINAL: &str = "WASI has no terminal control (no termios, no ncurses)";

/// Every optional extension module configure knows (`py_cv_module_*`), with
/// its decision. The unit tests check there are no duplicates.
pub const OPTIONAL_EXTENSIONS: &[(&str, Decision)] = &[
    ("_asyncio", Include),
    ("_bisect", Include),
    ("_blake2", Include),
    ("_bz2", Include),
    ("_codecs_cn", Include),
    ("_codecs_hk", Include),
    ("_codecs_iso2022", Include),
    ("_codecs_jp", Include),
    ("_codecs_kr", Include),
    ("_codecs_tw", Include),
    ("_contextvars", Include),
    ("_crypt", Include),
    ("_csv", Include),
    ("_ctypes_test", Exclude(TEST_ONLY)),
    ("_curses", Exclude(NO_TERMINAL)),
    ("_curses_panel", Exclude(NO_TERMINAL)),
    ("_datetime", Include),
    ("_dbm", Exclude("needs the ndbm C library; dbm.dumb (pure Python) is available instead")),
    ("_decimal", Include),
    ("_elementtree", Include),
    ("_gdbm", Exclude("needs the GNU dbm C library; dbm.dumb (pure Python) is available instead")),
    (
        "_hashlib",
        Exclude("needs OpenSSL; hashlib uses the built-in _md5, _sha1, _sha256, _sha512, _sha3 and _blake2"),
    ),
    ("_heapq", Include),
    ("_io", Include),
    ("_json", Include),
    ("_lsprof", Include),
    ("_lzma", Include),
    ("_md5", Include),
    ("_multibytecodec", Include),
    ("_multiprocessing", Exclude(NO_PROCESSES)),
    ("_opcode", Include),
    ("_pickle", Include),
    ("_posixshmem", Exclude("WASI has no shared memory between processes")),
    ("_posixsubprocess", Exclude(NO_PROCESSES)),
    ("_queue", Include),
    ("_random", Include),
    ("_scproxy", Exclude("macOS only")),
    ("_sha1", Include),
    ("_sha256", Include),
    ("_sha3", Include),
    ("_sha512", Include),
    ("_socket", Include),
    ("_sqlite3", Include),
    ("_ssl", Exclude("needs OpenSSL, and WASI preview 1 cannot open network connections")),
    ("_statistics", Include),
    ("_struct", Include),
    ("_testbuffer", Exclude(TEST_ONLY)),
    ("_testcapi", Exclude(TEST_ONLY)),
    ("_testclinic", Exclude(TEST_ONLY)),
    ("_testimportmultiple", Exclude(TEST_ONLY)),
    ("_testinternalcapi", Exclude(TEST_ONLY)),
    ("_testmultiphase", Exclude(TEST_ONLY)),
    ("_tkinter", Exclude("needs Tcl/Tk and a display")),
    ("_typing", Include),
    ("_uuid", Exclude("needs libuuid; the uuid module works without it (pure Python)")),
    ("_xxsubinterpreters", Exclude("needs threads, which this build does not have")),
    ("_xxtestfuzz", Exclude(TEST_ONLY)),
    ("_zoneinfo", Include),
    ("array", Include),
    ("audioop", Include),
    ("binascii", Include),
    ("cmath", Include),
    ("fcntl", Exclude("WASI preview 1 has no fcntl locks or ioctls")),
    ("grp", Exclude(NO_USERS)),
    ("math", Include),
    ("mmap", Exclude("WASI has no memory-mapped files")),
    ("nis", Exclude("NIS needs RPC over the network")),
    ("ossaudiodev", Exclude("Linux OSS audio devices")),
    ("pwd", Exclude(NO_USERS)),
    ("pyexpat", Include),
    ("readline", Exclude(NO_TERMINAL)),
    ("resource", Exclude("WASI has no resource limits (getrlimit)")),
    ("select", Include),
    ("spwd", Exclude(NO_USERS)),
    ("syslog", Exclude("WASI has no syslog")),
    ("termios", Exclude(NO_TERMINAL)),
    ("time", Include),
    ("unicodedata", Include),
    ("xxlimited", Exclude("example module of the limited C API")),
    ("xxlimited_35", Exclude("example module of the limited C API")),
    ("zlib", Include),
];

/// The built-in modules of a build, read from its generated `Modules/config.c`
/// (the `_PyImport_Inittab` entries such as `{"_sqlite3", PyInit__sqlite3},`).
pub fn builtin_modules(config_c: &str) -> Vec<String> {
    let mut names: Vec<String> = config_c
        .lines()
        .filter_map(|line| {
            let entry = line.trim().strip_prefix("{\"")?;
            let (name, _) = entry.split_once('"')?;
            // `__main__` is a placeholder entry, not a module.
            (name != "__main__").then(|| name.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The configure variables that mark every excluded module "n/a".
pub fn configure_overrides() -> Vec<String> {
    OPTIONAL_EXTENSIONS
        .iter()
        .filter(|(_, d)| matches!(d, Exclude(_)))
        .map(|(name, _)| format!("py_cv_module_{name}=n/a"))
        .collect()
}

/// Compares configure's module states (`MODULE_<NAME>_STATE=<state>` lines of
/// the generated Makefile) with the table. Returns one line per disagreement.
pub fn check_configure_states(makefile: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, decision) in OPTIONAL_EXTENSIONS {
        let var = format!("MODULE_{}_STATE=", name.to_uppercase());
        let state = makefile.lines().find_map(|line| line.strip_prefix(&var)).map(str::trim);
        match (decision, state) {
            (Include, Some("yes")) | (Exclude(_), Some("n/a") | None) => {}
            (Include, other) => problems.push(format!(
                "{name}: configure says {:?}, but the build includes it (see config.log for its checks)",
                other.unwrap_or("nothing")
            )),
            (Exclude(_), Some(other)) => {
                problems.push(format!("{name}: configure says {other:?}, but the build leaves it out"))
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn each_module_is_decided_once() {
        let mut seen = HashSet::new();
        for (name, _) in OPTIONAL_EXTENSIONS {
            assert!(seen.insert(*name), "{name} appears twice");
        }
    }

    #[test]
    fn builtin_modules_come_from_the_inittab() {
        let config_c = "extern PyObject* PyInit_array(void);\nstruct _inittab _PyImport_Inittab[] = {\n\
                        {\"array\", PyInit_array},\n    {\"marshal\", PyMarshal_Init},\n\
                        {\"_sqlite3\", PyInit__sqlite3},\n    {\"__main__\", NULL},\n    {0, 0}\n};\n";
        assert_eq!(builtin_modules(config_c), ["_sqlite3", "array", "marshal"]);
    }

    #[test]
    fn excluded_modules_become_na_overrides() {
        let overrides = configure_overrides();
        assert!(overrides.contains(&"py_cv_module__tkinter=n/a".to_string()));
        assert!(!overrides.iter().any(|o| o.contains("_sqlite3")));
    }

    #[test]
    fn configure_disagreement_is_reported() {
        let mut makefile: String = OPTIONAL_EXTENSIONS
            .iter()
            .map(|(name, d)| {
                let state = if *d == Include { "yes" } else { "n/a" };
                format!("MODULE_{}_STATE={state}\n", name.to_uppercase())
            })
            .collect();
        assert!(check_configure_states(&makefile).is_empty());
        makefile = makefile.replace("MODULE__SQLITE3_STATE=yes", "MODULE__SQLITE3_STATE=missing");
        makefile = makefile.replace("MODULE__SSL_STATE=n/a", "MODULE__SSL_STATE=yes");
        let problems = check_configure_states(&makefile);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("_sqlite3: configure says \"missing\""));
        assert!(problems[1].starts_with("_ssl: configure says \"yes\""));
    }
}
