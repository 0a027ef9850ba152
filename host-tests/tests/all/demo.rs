//! The README's demo program gives the output written next to it.

use pycomponent::python_wasm::Run;

use super::python;

#[test]
fn hello_example_prints_its_expected_output() {
    let examples = host_tests::workspace_root().join("examples");
    let out = python().run(&Run::script(&examples.join("hello.py"), Vec::<String>::new()).unwrap()).unwrap();
    assert_eq!(out.exit_code, 0, "{}", out.stderr_text());
    let expected = std::fs::read_to_string(examples.join("hello.expected")).unwrap();
    assert_eq!(out.stdout_text(), expected);
}
