//! CPython's own test suite inside the component: running chosen modules of
//! `Lib/test` (from the same source tree, mounted read-only), and judging
//! the results against the written list in `regrtest/expected.txt`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pycomponent::{HostModules, Limits, Mount, Runtime, Value};

/// One module of the list, with its known failures.
#[derive(Debug, Clone)]
pub struct ExpectedModule {
    pub name: String,
    /// Run by `cargo xtask test` too (the CI subset), not only by `cargo xtask regrtest`.
    pub fast: bool,
    /// `(pattern, reason)`: failing tests whose id contains the pattern are known to fail.
    pub known: Vec<(String, String)>,
}

/// `regrtest/expected.txt`.
pub fn expected_path() -> PathBuf {
    crate::workspace_root().join("host-tests/regrtest/expected.txt")
}

/// Parses the list: `module NAME [fast]` lines, each followed by
/// `  fails PATTERN -- REASON` lines; `#` starts a comment.
pub fn parse_expected(text: &str) -> Result<Vec<ExpectedModule>, String> {
    let mut modules: Vec<ExpectedModule> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split_once('#').map_or(line, |(before, _)| before).trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["module", name] => {
                modules.push(ExpectedModule { name: name.to_string(), fast: false, known: vec![] })
            }
            ["module", name, "fast"] => {
                modules.push(ExpectedModule { name: name.to_string(), fast: true, known: vec![] })
            }
            ["fails", ..] => {
                let rest = line.trim().trim_start_matches("fails").trim();
                let (pattern, reason) =
                    rest.split_once(" -- ").ok_or(format!("line {}: `fails PATTERN -- REASON`", n + 1))?;
                let module =
                    modules.last_mut().ok_or(format!("line {}: `fails` before any module", n + 1))?;
                module.known.push((pattern.trim().to_string(), reason.trim().to_string()));
            }
            _ => return Err(format!("line {}: cannot read {line:?}", n + 1)),
        }
    }
    Ok(modules)
}

/// What one module did.
#[derive(Debug, Clone)]
pub struct ModuleResult {
    pub name: String,
    pub run: i64,
    pub skipped: i64,
    /// Failing test id -> the last line of its traceback.
    pub failed: BTreeMap<String, String>,
    /// The module could not run: an import error or a trap.
    pub error: Option<String>,
    pub seconds: f64,
}

/// The runtime the modules run in: generous limits, since some modules are long.
pub fn runtime() -> Runtime {
    let limits = Limits {
        memory_bytes: 1 << 30,
        timeout: Some(Duration::from_secs(600)),
        max_instances: 4,
        ..Limits::default()
    };
    Runtime::with_limits(&crate::component_path(), limits).expect("the component compiles")
}

/// Runs one module in a fresh instance: `Lib` read-only at /cpython, a fresh
/// writable scratch directory at /tmp.
pub fn run_module(runtime: &Runtime, lib: &Path, name: &str) -> ModuleResult {
    let started = Instant::now();
    let scratch = std::env::temp_dir().join(format!("pycomponent-regrtest-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch directory");
    let mounts = [
        Mount { host: lib.to_path_buf(), guest: "/cpython".into(), writable: false },
        Mount { host: scratch.clone(), guest: "/tmp".into(), writable: true },
    ];
    let runner = std::fs::read_to_string(crate::workspace_root().join("host-tests/regrtest/run.py"))
        .expect("host-tests/regrtest/run.py");
    let mut result = ModuleResult {
        name: name.into(),
        run: 0,
        skipped: 0,
        failed: BTreeMap::new(),
        error: None,
        seconds: 0.0,
    };
    let outcome = (|| -> Result<Value, String> {
        let mut py =
            runtime.instantiate_with_mounts(HostModules::new(), &mounts).map_err(|e| e.to_string())?;
        py.add_module("regrtest_runner", &runner, false)
            .map_err(|e| e.to_string())?
            .result
            .map_err(|e| e.to_string())?;
        let reply = py
            .call("regrtest_runner.run_module", &[Value::from(name)], &[])
            .map_err(|e| format!("trap: {e}"))?;
        reply.result.map_err(|e| e.to_string())
    })();
    match outcome {
        Ok(value) => read_result(&value, &mut result),
        Err(e) => result.error = Some(e.lines().next().unwrap_or_default().to_string()),
    }
    let _ = std::fs::remove_dir_all(&scratch);
    result.seconds = started.elapsed().as_secs_f64();
    result
}

fn read_result(value: &Value, result: &mut ModuleResult) {
    let Value::Dict(pairs) = value else {
        result.error = Some(format!("unexpected runner result {value}"));
        return;
    };
    for (key, item) in pairs {
        match (key, item) {
            (Value::Str(k), Value::Int(n)) if k == "run" => result.run = *n,
            (Value::Str(k), Value::Int(n)) if k == "skipped" => result.skipped = *n,
            (Value::Str(k), Value::Str(e)) if k == "error" => result.error = Some(e.clone()),
            (Value::Str(k), Value::Dict(failed)) if k == "failed" => {
                for (id, why) in failed {
                    if let (Value::Str(id), Value::Str(why)) = (id, why) {
                        result.failed.insert(id.clone(), why.clone());
                    }
                }
            }
            _ => {}
        }
    }
}

/// How a result compares with the list.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Failures the list explains.
    pub known: usize,
    /// Failures (or a module error) the list does not explain.
    pub unexpected: Vec<String>,
    /// Patterns of the list that matched nothing: fixed, or out of date.
    pub stale: Vec<String>,
}

pub fn judge(expected: &ExpectedModule, result: &ModuleResult) -> Verdict {
    let mut verdict = Verdict::default();
    let mut used = vec![false; expected.known.len()];
    let mut explain = |what: &str| -> bool {
        match expected.known.iter().position(|(pattern, _)| what.contains(pattern.as_str())) {
            Some(i) => {
                used[i] = true;
                true
            }
            None => false,
        }
    };
    if let Some(error) = &result.error
        && !explain(&format!("<module> {error}"))
    {
        verdict.unexpected.push(format!("{}: {error}", result.name));
    }
    for (id, why) in &result.failed {
        if explain(id) {
            verdict.known += 1;
        } else {
            verdict.unexpected.push(format!("{id}: {why}"));
        }
    }
    for (i, (pattern, _)) in expected.known.iter().enumerate() {
        if !used[i] {
            verdict.stale.push(format!("{}: `fails {pattern}` matched no failure", expected.name));
        }
    }
    verdict
}

/// The Markdown report of a run (docs/REGRTEST.md).
pub fn report(date: &str, rows: &[(ExpectedModule, ModuleResult, Verdict)]) -> String {
    let mut out = String::new();
    let (run, skipped, failed): (i64, i64, usize) =
        rows.iter().fold((0, 0, 0), |(r, s, f), (_, m, _)| (r + m.run, s + m.skipped, f + m.failed.len()));
    let passed = run - skipped - failed as i64;
    let _ = writeln!(
        out,
        "# CPython's regression tests inside the component\n\nGenerated by `cargo xtask regrtest` on {date}: \
         {} modules of CPython 3.11.2's `Lib/test` (the same source the component is built from), each in a \
         fresh instance with `Lib` mounted read-only and a scratch `/tmp`, through \
         `host-tests/regrtest/run.py`. Known failures and their reasons are listed in \
         [host-tests/regrtest/expected.txt](../host-tests/regrtest/expected.txt); `cargo xtask test` runs the \
         modules marked `fast`.\n\n**{run} tests run: {passed} passed, {skipped} skipped, {failed} failed \
         (all known).**\n\n| module | run | passed | skipped | failed | time | why they fail |\n|---|---|---|---|---|---|---|",
        rows.len()
    );
    for (expected, result, _) in rows {
        let reasons: Vec<&str> = {
            let mut r: Vec<&str> = expected.known.iter().map(|(_, why)| why.as_str()).collect();
            r.dedup();
            r
        };
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {} | {} | {:.1} s | {} |",
            result.name,
            if expected.fast { " (fast)" } else { "" },
            result.run,
            result.run - result.skipped - result.failed.len() as i64,
            result.skipped,
            result.failed.len(),
            result.seconds,
            reasons.join("; ")
        );
    }
    out
}
