//! Apps as Cloudflare Workers: `pycomponent::cloudflare` writes the Worker,
//! and Cloudflare's open-source runtime `workerd` (from npm, installed by
//! `cargo xtask js`) serves it on a loopback port.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use host_tests::http_client::{get, request};
use host_tests::upstream::Upstream;
use pycomponent::HttpPolicy;
use pycomponent::cloudflare::{self, WorkerOptions};

use super::http::{asgi_app, check_exchanges, example_app, fastapi_app, faults_app, proxy_app};

fn node_tool(name: &str) -> PathBuf {
    let path = host_tests::workspace_root().join("adapters/js/node_modules/.bin").join(name);
    assert!(
        path.exists(),
        "no {}: run `cargo xtask js` (it installs jco and workerd from npm)",
        path.display()
    );
    path
}

/// workerd's own executable, from its platform package (npm's `workerd`
/// has a Node launcher in bin/ when install scripts did not run, and
/// killing that would leave workerd running).
fn workerd() -> PathBuf {
    let scope = host_tests::workspace_root().join("adapters/js/node_modules/@cloudflare");
    std::fs::read_dir(&scope)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("workerd-"))
        .map(|entry| entry.path().join("bin/workerd"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("no workerd in {}: run `cargo xtask js`", scope.display()))
}

/// A Worker written into a directory of its own and served by `workerd`
/// until dropped.
struct Workerd {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
    log: PathBuf,
}

impl Workerd {
    fn start(name: &str, component: &[u8], grants: &[String]) -> Workerd {
        let dir = std::env::temp_dir().join(format!("pycomponent-worker-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let http = grants.iter().fold(HttpPolicy::deny_all(), |policy, grant| policy.allow(grant).unwrap());
        let options = WorkerOptions { name: name.into(), http, jco: Some(node_tool("jco")) };
        let worker =
            cloudflare::write(component, &dir.join("worker"), &options, &mut |step| eprintln!("{step}"))
                .expect("the Worker is written");
        assert!(worker.upload_bytes() < cloudflare::SIZE_LIMIT);
        // The listening socket is the child's stdin (`--socket-fd http=0`):
        // no port can be taken in between.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let log = dir.join("workerd.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(workerd())
            .args(["serve", "workerd.capnp", "--socket-fd", "http=0", "--verbose"])
            .current_dir(dir.join("worker"))
            .stdin(Stdio::from(OwnedFd::from(listener)))
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("workerd starts");
        let workerd = Workerd { child, addr, dir, log };
        // The first request instantiates the component.
        let started = Instant::now();
        let first = get(addr, "/").expect("workerd answers");
        eprintln!("{name}: first response {} in {:?}", first.status, started.elapsed());
        workerd
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for `needle` in workerd's log (written as workerd flushes it).
    fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains(needle) {
            assert!(Instant::now() < deadline, "{needle:?} in workerd's log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Workerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("workerd's log ({}):\n{}", self.log.display(), self.log());
        }
    }
}

#[test]
fn the_example_apps_answer_under_workerd_as_their_expected_files_say() {
    let served = Workerd::start("example", example_app(), &[]);
    check_exchanges(served.addr, "expected.json", "");
    let greeted = request(
        served.addr,
        "POST",
        "/greet",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"name=Ada",
    )
    .unwrap();
    assert_eq!(greeted.header("x-greeted"), Some("Ada"));
    drop(served);

    // ASGI, with pydantic's native core.
    let served = Workerd::start("fastapi", fastapi_app(), &[]);
    check_exchanges(served.addr, "fastapi_expected.json", "");
}

#[test]
fn faults_large_bodies_and_the_sandbox_under_workerd() {
    let served = Workerd::start("faults", faults_app(), &[]);
    let addr = served.addr;
    let ok = || assert_eq!(get(addr, "/ok").unwrap().text(), "ok", "the Worker stopped serving");

    let raised = get(addr, "/raise").unwrap();
    assert_eq!((raised.status, raised.text().as_str()), (500, "Internal Server Error\n"));
    ok();
    assert_eq!(get(addr, "/exit").unwrap().status, 500, "SystemExit is an app error");
    ok();

    // Large bodies both ways (the app's limit is 1 MiB in, none out).
    let big = get(addr, "/big?mib=5").unwrap();
    assert_eq!((big.status, big.body.len()), (200, 5 << 20));
    assert!(big.body.iter().all(|&b| b == b'x'));
    let body: Vec<u8> = (0..(1 << 20) - 7).map(|i| (i % 251) as u8).collect();
    let echoed =
        request(addr, "POST", "/echo", &[("content-type", "application/octet-stream")], &body).unwrap();
    assert_eq!(echoed.header("x-length"), Some(body.len().to_string().as_str()));
    assert!(echoed.body == body, "the body comes back unchanged");
    let too_big = request(addr, "POST", "/echo", &[], &vec![0; (1 << 20) + 1]).unwrap();
    assert_eq!(too_big.status, 413);
    ok();

    // Timers wait; prints reach the log; refused headers are left out.
    assert_eq!(get(addr, "/sleep?seconds=0.2").unwrap().text(), "slept");
    assert_eq!(get(addr, "/print").unwrap().text(), "printed");
    let headers = get(addr, "/headers").unwrap();
    assert_eq!(
        (headers.status, headers.header("x-one"), headers.header("x-two")),
        (204, Some("1"), Some("2"))
    );
    assert_ne!(headers.header("connection"), Some("close-me"));

    // Nothing granted: no environment (HOME is the guest's own), no files.
    let sandbox: serde_json::Value = serde_json::from_slice(&get(addr, "/sandbox").unwrap().body).unwrap();
    assert_eq!(sandbox, serde_json::json!({"env": ["HOME"], "passwd": "FileNotFoundError"}));
    served.wait_for_log("printed by the app");
}

#[test]
fn asgi_streams_and_work_after_the_response_under_workerd() {
    let served = Workerd::start("asgi", asgi_app(), &[]);
    let addr = served.addr;
    let state = get(addr, "/state").unwrap();
    assert_eq!(state.text(), r#"{"greeting": "prepared at build time", "startups": 1, "spec": "2.4"}"#);

    // A response sent in chunks as they are made, and a body read as the app asks.
    let streamed = get(addr, "/stream?chunks=20").unwrap();
    assert_eq!(streamed.body.len(), 20 * 65536);
    assert!(streamed.body[19 * 65536..].iter().all(|&b| b == b'A' + 19));
    let body = vec![3u8; 300_000];
    let uploaded = request(addr, "POST", "/upload", &[], &body).unwrap();
    let uploaded: serde_json::Value = serde_json::from_slice(&uploaded.body).unwrap();
    assert_eq!((uploaded["size"].as_u64(), uploaded["sum"].as_u64()), (Some(300_000), Some(900_000)));
    assert_eq!(get(addr, "/raise").unwrap().status, 500);

    // The app works on after its response; the next request waits for it
    // rather than finding the instance suspended in a request that ended.
    // (Under workerd the instance is kept between requests, so the count
    // goes on from one request to the next.)
    for finished in 1..=3 {
        assert_eq!(get(addr, "/after?ms=300").unwrap().text(), r#"{"answered": true}"#);
        let count = get(addr, "/after-count").unwrap();
        assert_eq!(
            count.text(),
            format!(r#"{{"finished": {finished}}}"#),
            "the work after the response ended first"
        );
    }
}

#[test]
fn outgoing_requests_go_through_the_workers_fetch_within_the_grants() {
    let upstream = Upstream::start();
    let served = Workerd::start("proxy", proxy_app(), &[upstream.grant()]);
    let fetched = |url: &str| get(served.addr, &format!("/fetch?url={url}")).unwrap();

    let allowed = fetched(&upstream.url("/"));
    assert_eq!((allowed.status, allowed.text().as_str()), (200, "200 hello from upstream"));
    let big = fetched(&upstream.url("/bytes?n=3000000"));
    assert_eq!(big.text().len(), "200 ".len() + 3_000_000);
    // A redirect is followed by Python, each hop checked again.
    let hop = fetched(&upstream.url(&format!("/redirect?to={}", upstream.url("/status/201"))));
    assert_eq!(hop.text(), "201 status 201");

    // Requests that arrive while another waits for its upstream wait their
    // turn for the instance (workerd would cancel a request that waited only
    // on another's promise, and every later one after it).
    let clients: Vec<_> = (0..16)
        .map(|i| {
            let addr = served.addr;
            let url = upstream.url(if i % 4 == 0 { "/delay?ms=50" } else { "/" });
            std::thread::spawn(move || {
                (0..15).map(|_| get(addr, &format!("/fetch?url={url}")).unwrap().text()).collect::<Vec<_>>()
            })
        })
        .collect();
    for client in clients {
        for text in client.join().unwrap() {
            assert!(text == "200 hello from upstream" || text == "200 late", "{text}");
        }
    }
    assert_eq!(fetched(&upstream.url("/")).status, 200, "the Worker still serves");

    let other = Upstream::start();
    let denied = fetched(&other.url("/"));
    assert_eq!(denied.status, 403, "{}", denied.text());
    assert!(denied.text().contains(&format!("--allow-http {}", other.grant())), "{}", denied.text());
    assert_eq!(other.requests(), 0, "a denied request never leaves the Worker");
    served.wait_for_log(&format!("--allow-http {}", other.grant()));
}

#[test]
fn a_rebuild_replaces_its_own_files_and_keeps_wrangler_toml() {
    let dir = std::env::temp_dir().join(format!("pycomponent-worker-rebuild-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options =
        WorkerOptions { name: "rebuild".into(), http: HttpPolicy::deny_all(), jco: Some(node_tool("jco")) };
    let write = || cloudflare::write(example_app(), &dir, &options, &mut |_| {});
    let first = write().unwrap();
    assert!(first.wrote_wrangler_toml);
    let wrangler = std::fs::read_to_string(dir.join("wrangler.toml")).unwrap();
    for line in [
        "name = \"rebuild\"",
        "main = \"worker.js\"",
        "no_bundle = true",
        "compatibility_date = \"2025-09-01\"",
    ] {
        assert!(wrangler.contains(line), "{line} in\n{wrangler}");
    }
    std::fs::write(dir.join("wrangler.toml"), format!("{wrangler}\n[vars]\nmine = \"kept\"\n")).unwrap();
    let second = write().unwrap();
    assert!(!second.wrote_wrangler_toml);
    assert!(std::fs::read_to_string(dir.join("wrangler.toml")).unwrap().contains("mine = \"kept\""));
    let names: Vec<String> = second.modules.iter().map(|(p, _)| p.display().to_string()).collect();
    assert_eq!(names[0], "worker.js");
    assert!(names.contains(&"component/app.core.wasm".to_string()), "{names:?}");
    let capnp = std::fs::read_to_string(dir.join("workerd.capnp")).unwrap();
    for name in &names {
        assert!(capnp.contains(&format!("embed \"{name}\"")), "{name} in workerd.capnp");
    }

    let other = std::env::temp_dir().join(format!("pycomponent-worker-other-{}", std::process::id()));
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("index.html"), "mine").unwrap();
    let refused = cloudflare::write(example_app(), &other, &options, &mut |_| {}).unwrap_err().to_string();
    assert!(refused.contains("is not empty"), "{refused}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&other).unwrap();
}
