//! The `pycomponent` CLI end to end, against the built component.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn component() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/component/pycomponent.wasm");
    assert!(path.is_file(), "no component at {}: run `cargo xtask component`", path.display());
    path
}

fn pycomponent(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pycomponent"))
        .args(args)
        .env("PYCOMPONENT_COMPONENT", component())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pycomponent starts");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    // A hung CLI must fail the test, not hang the test run.
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("pycomponent {args:?} did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn eval_prints_the_repr_or_json() {
    let out = pycomponent(&["eval", "[1, 'a', b'\\x00', (2**64, None)]"], "");
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "[1, 'a', b'\\x00', (18446744073709551616, None)]\n")
    );
    let out = pycomponent(&["eval", "--json", "{'k': [1.5, True, None]}"], "");
    assert_eq!(text(&out.stdout), "{\"k\":[1.5,true,null]}\n");
    let out = pycomponent(&["eval", "--json", "(1, 2)"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no lossless JSON form"), "{}", text(&out.stderr));
}

#[test]
fn exec_prints_output_and_fails_on_exceptions() {
    let out = pycomponent(&["exec", "import sys\nprint('out')\nprint('err', file=sys.stderr)"], "");
    assert_eq!(
        (out.status.code(), text(&out.stdout), text(&out.stderr)),
        (Some(0), "out\n".into(), "err\n".into())
    );
    let out = pycomponent(&["exec", "raise KeyError('missing')"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("KeyError: 'missing'"), "{}", text(&out.stderr));
}

#[test]
fn run_sets_argv_and_exit_status() {
    let dir = std::env::temp_dir().join(format!("pycomponent-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("args.py");
    std::fs::write(&script, "import sys\nprint(sys.argv[1:])\nsys.exit(int(sys.argv[1]))\n").unwrap();
    let out = pycomponent(&["run", script.to_str().unwrap(), "7", "--flag"], "");
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(7), "['7', '--flag']\n".into()));
    std::fs::write(&script, "def f():\n    raise ValueError('bad')\nf()\n").unwrap();
    let out = pycomponent(&["run", script.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("args.py\", line 2, in f") && stderr.contains("ValueError: bad"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn run_imports_the_modules_beside_the_script() {
    let dir = std::env::temp_dir().join(format!("pycomponent-cli-app-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("tools")).unwrap();
    std::fs::write(dir.join("helper.py"), "def twice(x):\n    return 2 * x\n").unwrap();
    std::fs::write(dir.join("tools/__init__.py"), "from .names import NAME\n").unwrap();
    std::fs::write(dir.join("tools/names.py"), "NAME = 'tools'\n").unwrap();
    std::fs::write(
        dir.join("main.py"),
        "import sys, helper, tools\nprint(helper.twice(21), tools.NAME, sys.path[0] == __file__.rsplit('/', 1)[0])\n\
         open(__file__.replace('main.py', 'new.py'), 'w')\n",
    )
    .unwrap();
    let script = dir.join("main.py");
    let out = pycomponent(&["run", script.to_str().unwrap()], "");
    assert_eq!(text(&out.stdout), "42 tools True\n", "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "the directory is granted read-only");
    assert!(text(&out.stderr).contains("main.py\", line 3"), "{}", text(&out.stderr));
    assert!(!dir.join("new.py").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn wheel_installs_a_package_before_the_code_runs() {
    let dir = std::env::temp_dir().join(format!("pycomponent-cli-wheel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wheel = dir.join("tiny-2.0-py3-none-any.whl");
    let make = format!(
        "import zipfile\nwith zipfile.ZipFile({:?}, 'w') as z:\n\
         \x20   z.writestr('tiny-2.0.dist-info/METADATA', 'Name: tiny\\nVersion: 2.0\\n')\n\
         \x20   z.writestr('tiny-2.0.dist-info/WHEEL', 'Root-Is-Purelib: true\\n')\n\
         \x20   z.writestr('tiny.py', 'def hello():\\n    return \"hi\"\\n')\n",
        "/out/tiny-2.0-py3-none-any.whl"
    );
    let mount = format!("{}:/out", dir.display());
    let out = pycomponent(&["exec", "--mount", &mount, &make], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = pycomponent(&["--wheel", wheel.to_str().unwrap(), "eval", "__import__('tiny').hello()"], "");
    assert_eq!(text(&out.stdout), "'hi'\n", "{}", text(&out.stderr));
    std::fs::write(dir.join("bad.whl"), "not a zip").unwrap();
    let out = pycomponent(&["eval", "--wheel", dir.join("bad.whl").to_str().unwrap(), "1"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("bad.whl: not a wheel"), "{}", text(&out.stderr));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn repl_reads_stdin() {
    let out = pycomponent(
        &["repl"],
        "x = 20\nx + 1\ndef g(n):\n    return n * 2\n\ng(x)\n1/0\nprint('still here')\n",
    );
    assert_eq!(text(&out.stdout), "21\n40\nstill here\n");
    assert!(text(&out.stderr).contains("ZeroDivisionError"), "{}", text(&out.stderr));
    // SystemExit ends the session with its status, as in CPython's REPL.
    let out = pycomponent(&["repl"], "print('before')\nimport sys\nsys.exit(5)\nprint('after')\n");
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(5), "before\n".into()));
}

#[test]
fn system_exit_gives_the_status_cpython_gives() {
    let status = |args: &[&str]| {
        let out = pycomponent(args, "");
        (out.status.code(), text(&out.stderr))
    };
    assert_eq!(status(&["exec", "raise SystemExit(3)"]), (Some(3), String::new()));
    assert_eq!(status(&["exec", "raise SystemExit('3')"]), (Some(1), "3\n".into()));
    assert_eq!(status(&["exec", "import sys; sys.exit('bye')"]), (Some(1), "bye\n".into()));
    assert_eq!(status(&["exec", "raise SystemExit(None)"]), (Some(0), String::new()));
    assert_eq!(status(&["exec", "raise SystemExit(258)"]), (Some(2), String::new()));
    assert_eq!(status(&["eval", "__import__('sys').exit(4)"]), (Some(4), String::new()));
    let out = pycomponent(&["exec", "import sys; print(sys.argv)"], "");
    assert_eq!(text(&out.stdout), "['-c']\n", "argv as under python -c");
}

#[test]
fn timeout_and_memory_options() {
    let out = pycomponent(&["exec", "--timeout", "0.2", "while True: pass"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("ran longer than"), "{}", text(&out.stderr));
    let out = pycomponent(&["eval", "--memory", "64", "len(bytearray(200 * 2**20))"], "");
    assert!(text(&out.stderr).contains("MemoryError"), "{}", text(&out.stderr));
    // Before the subcommand too.
    let out = pycomponent(&["--timeout", "0.2", "--memory", "64", "exec", "while True: pass"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("ran longer than"), "{}", text(&out.stderr));
    // A subcommand refuses what it has no use for.
    let out = pycomponent(&["--mount", "/tmp:/tmp", "build", "app.py"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`build` does not take --mount"), "{}", text(&out.stderr));
}

#[test]
fn missing_component_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_pycomponent"))
        .args(["eval", "1", "--component", "/nonexistent/pycomponent.wasm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/pycomponent.wasm"), "{}", text(&out.stderr));
}

#[test]
fn hello_example_runs_in_the_component() {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let out = pycomponent(&["run", examples.join("hello.py").to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), std::fs::read_to_string(examples.join("hello.expected")).unwrap());
}

/// Runs `adapters/wasmtime/examples/NAME.rs` (which `cargo test` builds)
/// and checks that it prints the output written next to it.
fn example_prints_its_expected_output(name: &str) {
    // `cargo test` builds the examples into target/<profile>/examples.
    let exe = std::env::current_exe().unwrap();
    let example = exe.parent().unwrap().parent().unwrap().join("examples").join(name);
    assert!(example.is_file(), "{} not built", example.display());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(&example).current_dir(&root).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected =
        std::fs::read_to_string(root.join(format!("adapters/wasmtime/examples/{name}.expected"))).unwrap();
    assert_eq!(text(&out.stdout), expected);
}

/// The embedding example: a host module, values both ways, an exception.
#[test]
fn embed_example_prints_its_expected_output() {
    example_prints_its_expected_output("embed");
}

/// The plugin example: a host object and a callback the host calls later.
#[test]
fn plugin_example_prints_its_expected_output() {
    example_prints_its_expected_output("plugin");
}

#[test]
fn mount_grants_a_directory() {
    let dir = std::env::temp_dir().join(format!("pycomponent-cli-mount-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("in.txt"), "42").unwrap();
    let spec = format!("{}:/data:ro", dir.display());
    let out = pycomponent(&["eval", "--mount", &spec, "int(open('/data/in.txt').read()) + 1"], "");
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "43\n".into()), "{}", text(&out.stderr));
    let out = pycomponent(&["exec", "--mount", &spec, "open('/data/x', 'w')"], "");
    assert_eq!(out.status.code(), Some(1), "read-only mount refuses writes");
    let out = pycomponent(&["eval", "open('/data/in.txt').read()"], "");
    assert_eq!(out.status.code(), Some(1), "nothing is granted without --mount");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn files_temp_directories_and_time_zones_work_as_in_cpython() {
    let code = "import tempfile, pathlib, zoneinfo, json; p = pathlib.Path(tempfile.mkdtemp()) / 'a.json'; \
                p.write_text(json.dumps([1])); print(p.read_text(), zoneinfo.ZoneInfo('Europe/Paris'))";
    let out = pycomponent(&["exec", code], "");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "[1] Europe/Paris\n".into()),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn tracebacks_show_the_standard_librarys_source_lines() {
    let out = pycomponent(&["exec", "import json; json.loads('{')"], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "  File \"/usr/local/lib/python3.11/json/decoder.py\", line 353, in raw_decode\n    obj, end = self.scan_once(s, idx)\n"
        ),
        "{stderr}"
    );
}

#[test]
fn asyncio_run_and_top_level_await_work() {
    let out = pycomponent(&["exec", "import asyncio; print(asyncio.run(asyncio.sleep(0.1, result=7)))"], "");
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "7\n".into()), "{}", text(&out.stderr));
    let out =
        pycomponent(&["exec", "import asyncio\nprint(await asyncio.sleep(0.01, result='top-level'))"], "");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "top-level\n".into()),
        "{}",
        text(&out.stderr)
    );
}

/// A loopback server that answers every request `200 ok`, until the test ends.
fn answering_server() -> std::net::SocketAddr {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    addr
}

#[test]
fn allow_http_grants_outgoing_requests() {
    let addr = answering_server();
    let code = format!("import urllib.request; print(urllib.request.urlopen('http://{addr}/').status)");
    let grant = format!("http://{addr}");
    let out = pycomponent(&["exec", "--allow-http", &grant, &code], "");
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), "200\n".into()), "{}", text(&out.stderr));
    let out = pycomponent(&["exec", &code], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("PermissionError") || stderr.contains("HTTPDenied"), "{stderr}");
    assert!(stderr.contains(&format!("--allow-http {grant}")), "{stderr}");
    let out = pycomponent(&["eval", "--allow-http", "example.com", "1"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid HTTP grant"), "{}", text(&out.stderr));
}

#[test]
fn file_places_a_host_file_before_the_code_runs() {
    let dir = std::env::temp_dir().join(format!("pycomponent-cli-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.csv");
    std::fs::write(&input, "a,b\n1,2\n").unwrap();
    let deep = format!("{}:/srv/in/data.csv", input.display());
    let home = format!("{}:data.csv", input.display());
    let code = "import csv, os; print(list(csv.reader(open('/srv/in/data.csv'))) == list(csv.reader(open('data.csv'))), os.getcwd())";
    let out = pycomponent(&["exec", "--file", &deep, "--file", &home, code], "");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "True /home/user\n".into()),
        "{}",
        text(&out.stderr)
    );
    let missing = format!("{}:/x", dir.join("missing").display());
    let out = pycomponent(&["exec", "--file", &missing, "pass"], "");
    assert_eq!(out.status.code(), Some(2), "the CLI's own error");
    assert!(text(&out.stderr).contains("missing"), "{}", text(&out.stderr));
    let out = pycomponent(&["exec", "--file", "no-colon", "pass"], "");
    assert!(text(&out.stderr).contains("expected HOST:GUEST"), "{}", text(&out.stderr));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `GET target` over a fresh connection; the status line and body.
fn http_get(addr: &str, target: &str) -> (String, String) {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(stream, "GET {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.lines().next().unwrap_or_default().to_string();
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// `pycomponent serve` of host-tests/apps/faults.py on a free loopback
/// port, with `args`; its stderr comes line by line through the receiver.
struct Serving {
    child: std::process::Child,
    addr: String,
    lines: std::sync::mpsc::Receiver<String>,
    /// The lines read so far.
    log: Vec<String>,
}

fn serve_faults_app(args: &[&str]) -> Serving {
    use std::io::BufRead;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let http_core = root.join("target/component/pycomponent-http-core.wasm");
    assert!(http_core.is_file(), "no {}: run `cargo xtask component`", http_core.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_pycomponent"))
        .args(["serve", "--addr", "127.0.0.1:0", "--timeout", "20"])
        .args(args)
        .arg(root.join("host-tests/apps/faults.py"))
        .env("PYCOMPONENT_HTTP_CORE", &http_core)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pycomponent serve starts");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut log = Vec::new();
    let addr = loop {
        let line = lines.recv_timeout(Duration::from_secs(300)).expect("serve prints where it listens");
        log.push(line.clone());
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    Serving { child, addr, lines, log }
}

impl Serving {
    /// Waits for the server to exit after a signal, and for the rest of its log.
    fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "serve did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread ends at the end of stderr, which disconnects `lines`.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.log.push(line);
        }
        status
    }
}

fn signal(pid: u32, name: &str) {
    let sent = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status().unwrap();
    assert!(sent.success(), "kill -{name} {pid}");
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    std::fs::read_to_string(path).unwrap_or_default().split_whitespace().map(|p| p.parse().unwrap()).collect()
}

/// Whether process `pid` still runs (a zombie does not).
fn runs(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
}

#[test]
fn serve_builds_an_app_logs_requests_and_stops_gracefully_on_sigterm() {
    let mut served = serve_faults_app(&[]);
    let addr = served.addr.clone();
    let log = &served.log;
    assert!(log.iter().any(|l| l.contains("importing `faults`")), "the build shows its steps: {log:?}");
    assert_eq!(http_get(&addr, "/ok"), ("HTTP/1.1 200 OK".into(), "ok".into()));

    // A request in flight when SIGTERM arrives still gets its answer.
    let slow = {
        let addr = addr.clone();
        std::thread::spawn(move || http_get(&addr, "/sleep?seconds=1.5"))
    };
    std::thread::sleep(Duration::from_millis(500));
    // So does one whose body is still streaming: 32 MiB do not fit in the
    // sockets' buffers, so most of it is sent after SIGTERM, while this
    // client reads slowly.
    let mut streaming = std::net::TcpStream::connect(&addr).expect("connects");
    streaming.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(streaming, "GET /big?mib=32 HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").unwrap();
    let mut first = [0; 1024];
    let mut received = std::io::Read::read(&mut streaming, &mut first).expect("the response starts");
    signal(served.child.id(), "TERM");
    assert_eq!(slow.join().unwrap(), ("HTTP/1.1 200 OK".into(), "slept".into()));
    std::thread::sleep(Duration::from_millis(500));
    received += std::io::copy(&mut streaming, &mut std::io::sink()).expect("the body arrives") as usize;
    let headers = text(&first).find("\r\n\r\n").expect("whole headers in the first read") + 4;
    assert_eq!(received - headers, 32 << 20, "the whole body arrives after SIGTERM");
    assert_eq!(served.wait_for_exit().code(), Some(0));
    let log = &served.log;
    assert!(log.iter().any(|l| l.starts_with("GET /ok 200 ")), "one line per request: {log:?}");
    assert!(log.iter().any(|l| l.starts_with("GET /sleep 200 ")), "{log:?}");
    assert!(log.iter().any(|l| l.contains("shutting down")), "{log:?}");
}

#[test]
fn serve_replaces_a_worker_that_dies_and_its_workers_end_with_it() {
    let mut served = serve_faults_app(&["--workers", "2", "--quiet"]);
    let server = served.child.id();
    assert!(served.log.iter().any(|l| l.contains("with 2 worker processes")), "{:?}", served.log);
    let workers = children_of(server);
    assert_eq!(workers.len(), 2, "one process per worker");

    // A worker killed outright is replaced, and the server goes on serving.
    signal(workers[0], "KILL");
    let replaced = served.lines.recv_timeout(Duration::from_secs(60)).expect("the server says so");
    assert!(
        replaced.contains(&format!("worker process {} stopped", workers[0]))
            && replaced.contains("starting another"),
        "{replaced}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while children_of(server).len() < 2 || children_of(server).contains(&workers[0]) {
        assert!(Instant::now() < deadline, "no new worker: {:?}", children_of(server));
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..20 {
        assert_eq!(http_get(&served.addr, "/ok"), ("HTTP/1.1 200 OK".into(), "ok".into()));
    }

    // If the server itself is killed outright, its workers stop too.
    let workers = children_of(server);
    signal(server, "KILL");
    let _ = served.child.wait();
    let deadline = Instant::now() + Duration::from_secs(30);
    while workers.iter().any(|&worker| runs(worker)) {
        assert!(Instant::now() < deadline, "workers {workers:?} outlived their server");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn component_takes_a_variant_such_as_numpy() {
    let variant =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/component/pycomponent-numpy.wasm");
    assert!(
        variant.is_file(),
        "no variant at {}: run `cargo xtask component --variant numpy`",
        variant.display()
    );
    let expression = "float(__import__('numpy').linalg.det(__import__('numpy').array([[1.,2.],[3.,4.]])))";
    let out = pycomponent(&["eval", "--component", variant.to_str().unwrap(), expression], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(["-2.0000000000000004", "-2.0"].contains(&printed.trim()), "{printed}");
}
