//! What python.wasm is granted: the standard library read-only, nothing else.

use pycomponent::Mount;
use pycomponent::python_wasm::Run;

use super::{python, run_ok};

#[test]
fn no_host_files_outside_the_mounts() {
    let out = run_ok(
        "import os\n\
         for path in ['/etc/passwd', '/usr/local/lib/python3.11/../../../../etc/passwd', '/proc/self/environ']:\n\
         \x20   try:\n\
         \x20       open(path).read(); print('READ', path)\n\
         \x20   except OSError as e:\n\
         \x20       print(type(e).__name__)\n\
         print(os.path.exists('/etc'), os.path.exists('/usr/local/lib/python3.11/os.py'))",
    );
    assert!(!out.contains("READ"), "{out}");
    assert!(out.ends_with("False True\n"), "only the stdlib mount is visible: {out}");
}

#[test]
fn stdlib_mount_is_read_only() {
    let out = run_ok(
        "try:\n\
         \x20   open('/usr/local/lib/python3.11/new.py', 'w').write('x')\n\
         \x20   print('wrote')\n\
         except OSError as e:\n\
         \x20   print('refused', e.errno)",
    );
    assert!(out.starts_with("refused"), "{out}");
}

#[test]
fn no_environment_unless_granted() {
    assert_eq!(run_ok("import os; print(dict(os.environ))"), "{}\n");
    let out =
        python().run(&Run::code("import os; print(os.environ['GREETING'])").env("GREETING", "hi")).unwrap();
    assert_eq!(out.stdout_text(), "hi\n");
}

#[test]
fn granted_directory_read_only_and_writable() {
    let dir = std::env::temp_dir().join(format!("pycomponent-mount-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("in.txt"), "from the host").unwrap();
    let code = "print(open('/data/in.txt').read())\n\
                try:\n\
                \x20   open('/data/out.txt', 'w').write('from the guest'); print('wrote')\n\
                except OSError:\n\
                \x20   print('refused')";
    let ro = Mount { host: dir.clone(), guest: "/data".into(), writable: false };
    let out = python().run(&Run::code(code).mount(ro)).unwrap();
    assert_eq!(out.stdout_text(), "from the host\nrefused\n");
    assert!(!dir.join("out.txt").exists());
    let rw = Mount { host: dir.clone(), guest: "/data".into(), writable: true };
    let out = python().run(&Run::code(code).mount(rw)).unwrap();
    assert_eq!(out.stdout_text(), "from the host\nwrote\n");
    assert_eq!(std::fs::read_to_string(dir.join("out.txt")).unwrap(), "from the guest");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn captured_output_is_capped() {
    let run =
        Run::code("import sys\nfor _ in range(100): sys.stdout.write('x' * 10_000); sys.stdout.flush()")
            .output_limit(64 * 1024);
    let out = python().run(&run).unwrap();
    assert!(out.stdout.len() <= 64 * 1024, "{} bytes captured", out.stdout.len());
    assert_ne!(out.exit_code, 0, "writing past the cap fails in the guest");
}
