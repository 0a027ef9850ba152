//! The `fast` modules of CPython's own test suite (host-tests/regrtest/expected.txt)
//! inside the component: every failure must be a known one, and every known
//! one must still happen. `cargo xtask regrtest` runs the whole list.

use host_tests::regrtest;

#[test]
fn cpythons_own_tests_pass_in_the_component_as_listed() {
    let text = std::fs::read_to_string(regrtest::expected_path()).expect("expected.txt");
    let expected = regrtest::parse_expected(&text).expect("expected.txt parses");
    let lib = host_tests::cpython_build_dir().join("source/Lib");
    let runtime = regrtest::runtime();
    let (mut bad, mut passed) = (Vec::new(), 0);
    for module in expected.iter().filter(|m| m.fast) {
        let result = regrtest::run_module(&runtime, &lib, &module.name);
        let verdict = regrtest::judge(module, &result);
        passed += result.run - result.skipped - result.failed.len() as i64;
        bad.extend(verdict.unexpected.into_iter().chain(verdict.stale));
    }
    assert!(passed > 2000, "only {passed} tests passed");
    assert!(bad.is_empty(), "not as expected.txt says:\n  {}", bad.join("\n  "));
}

#[test]
fn the_list_parses_and_names_reasons() {
    let text = std::fs::read_to_string(regrtest::expected_path()).expect("expected.txt");
    let expected = regrtest::parse_expected(&text).expect("expected.txt parses");
    assert!(expected.len() >= 50, "{} modules", expected.len());
    for module in &expected {
        for (pattern, reason) in &module.known {
            assert!(!reason.is_empty(), "{}: `fails {pattern}` has no reason", module.name);
        }
    }
    assert!(regrtest::parse_expected("fails x -- y").is_err(), "a failure needs a module");
    assert!(regrtest::parse_expected("module m\n  fails x").is_err(), "a failure needs a reason");
}
