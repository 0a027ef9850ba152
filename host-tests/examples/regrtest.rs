//! `cargo xtask regrtest`: runs every module of host-tests/regrtest/expected.txt
//! (or only the `fast` ones with `--fast`) in the component, prints each
//! result, writes docs/REGRTEST.md with `--write`, and fails when a failure
//! is not in the list or a listed one no longer happens.

use host_tests::regrtest;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fast_only = args.iter().any(|a| a == "--fast");
    let write = args.iter().any(|a| a == "--write");
    let text = std::fs::read_to_string(regrtest::expected_path()).expect("expected.txt");
    let expected = regrtest::parse_expected(&text).unwrap_or_else(|e| panic!("expected.txt: {e}"));
    let lib = host_tests::cpython_build_dir().join("source/Lib");
    let runtime = regrtest::runtime();
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for module in expected.into_iter().filter(|m| m.fast || !fast_only) {
        let result = regrtest::run_module(&runtime, &lib, &module.name);
        let verdict = regrtest::judge(&module, &result);
        eprintln!(
            "{:<24} run {:>5}  skipped {:>4}  failed {:>4} ({} known)  {:.1} s",
            result.name,
            result.run,
            result.skipped,
            result.failed.len(),
            verdict.known,
            result.seconds
        );
        bad.extend(verdict.unexpected.iter().chain(&verdict.stale).cloned());
        rows.push((module, result, verdict));
    }
    if write {
        let date = std::process::Command::new("date").arg("-u").arg("+%Y-%m-%d").output().expect("date");
        let report = regrtest::report(String::from_utf8_lossy(&date.stdout).trim(), &rows);
        std::fs::write(host_tests::workspace_root().join("docs/REGRTEST.md"), report)
            .expect("writing docs/REGRTEST.md");
        eprintln!("wrote docs/REGRTEST.md");
    }
    if !bad.is_empty() {
        eprintln!("\nnot as expected.txt says:\n  {}", bad.join("\n  "));
        std::process::exit(1);
    }
}
