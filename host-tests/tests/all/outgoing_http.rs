//! Outgoing HTTP from Python through the Wasmtime adapter: the standard
//! library (`urllib.request`, `http.client`) and `pycomponent.http.fetch`
//! against loopback upstreams, behind `HttpPolicy` grants and limits.

use std::time::Duration;

use host_tests::upstream::Upstream;
use pycomponent::{HostModules, HttpPolicy, Instance, PythonError, Value};

fn instance(policy: HttpPolicy) -> Instance {
    crate::component_runtime()
        .clone()
        .with_http_policy(policy)
        .instantiate(HostModules::new())
        .expect("instantiates")
}

fn granted(upstream: &Upstream) -> Instance {
    instance(HttpPolicy::deny_all().allow(&upstream.grant()).expect("a valid grant"))
}

fn run(py: &mut Instance, code: &str) -> Value {
    let reply = py.run(code).expect("no trap");
    reply.result.unwrap_or_else(|e| panic!("{code}: {e}\n{}", e.traceback))
}

fn python_error(py: &mut Instance, code: &str) -> PythonError {
    match py.run(code).expect("no trap").result {
        Ok(value) => panic!("{code}: no exception, {value:?}"),
        Err(error) => error,
    }
}

fn text(value: Value) -> String {
    match value {
        Value::Str(s) => s,
        other => panic!("not a str: {other:?}"),
    }
}

#[test]
fn urllib_reaches_a_granted_upstream() {
    let upstream = Upstream::start();
    let mut py = granted(&upstream);
    let code = format!(
        "import urllib.request\n\
         r = urllib.request.urlopen({:?}, timeout=10)\n\
         (r.status, r.reason, r.read().decode(), r.headers['content-type'], r.url)",
        upstream.url("/hello")
    );
    let expected = Value::Tuple(vec![
        Value::Int(200),
        Value::from("OK"),
        Value::from("hello from upstream"),
        Value::from("text/plain"),
        Value::from(upstream.url("/hello")),
    ]);
    assert_eq!(run(&mut py, &code), expected);
}

#[test]
fn without_a_grant_a_request_raises_permission_error_naming_the_grant() {
    let upstream = Upstream::start();
    let mut py = instance(HttpPolicy::deny_all());
    let url = upstream.url("/");
    let error = python_error(&mut py, &format!("import urllib.request\nurllib.request.urlopen({url:?})"));
    assert_eq!(error.type_name, "pycomponent.http.HTTPDenied");
    assert!(error.message.contains(&url), "{}", error.message);
    assert!(error.message.contains(&format!("--allow-http {}", upstream.grant())), "{}", error.message);
    let caught = format!(
        "import urllib.request\n\
         try:\n    urllib.request.urlopen({url:?})\n\
         except PermissionError as e:\n    caught = isinstance(e, OSError)\n\
         caught"
    );
    assert_eq!(run(&mut py, &caught), Value::Bool(true));
    // Another port of the same host is another grant.
    let mut other_port = instance(HttpPolicy::deny_all().allow("http://127.0.0.1:1").unwrap());
    let error =
        python_error(&mut other_port, &format!("import urllib.request\nurllib.request.urlopen({url:?})"));
    assert_eq!(error.type_name, "pycomponent.http.HTTPDenied");
    assert_eq!(upstream.requests(), 0, "nothing reached the upstream");
}

#[test]
fn http_client_sends_methods_headers_and_bodies_and_reuses_its_connection() {
    let upstream = Upstream::start();
    let mut py = granted(&upstream);
    let code = format!(
        "import http.client, json\n\
         c = http.client.HTTPConnection('127.0.0.1', {port}, timeout=10)\n\
         c.request('POST', '/echo?x=1', body=json.dumps({{'a': 1}}), headers={{'Content-Type': 'application/json', 'X-Token': 'sekrit'}})\n\
         r = c.getresponse()\n\
         first = (r.status, r.getheader('x-upstream'), r.read().decode())\n\
         c.request('PUT', '/status/418')\n\
         r = c.getresponse()\n\
         second = (r.status, r.reason, r.read())\n\
         c.close()\n\
         (first, second)",
        port = upstream.addr.port()
    );
    let Value::Tuple(parts) = run(&mut py, &code) else { panic!("a tuple") };
    let Value::Tuple(first) = &parts[0] else { panic!("a tuple") };
    assert_eq!(first[0], Value::Int(200));
    assert_eq!(first[1], Value::from("yes"));
    let echo = text(first[2].clone());
    assert!(echo.starts_with("POST /echo?x=1\n"), "{echo}");
    assert!(
        echo.contains("content-type: application/json\n") && echo.contains("x-token: sekrit\n"),
        "{echo}"
    );
    assert!(echo.contains(&format!("host: 127.0.0.1:{}\n", upstream.addr.port())), "{echo}");
    assert!(echo.ends_with("\n\n{\"a\": 1}"), "{echo}");
    assert_eq!(
        parts[1],
        Value::Tuple(vec![
            Value::Int(418),
            Value::from("Custom Reason"),
            Value::Bytes(b"status 418".to_vec())
        ])
    );
}

#[test]
fn urllib_raises_http_error_for_an_error_status() {
    let upstream = Upstream::start();
    let mut py = granted(&upstream);
    let code = format!(
        "import urllib.request, urllib.error\n\
         try:\n    urllib.request.urlopen({:?})\n\
         except urllib.error.HTTPError as e:\n    result = (e.code, e.read())\n\
         result",
        upstream.url("/status/404")
    );
    assert_eq!(
        run(&mut py, &code),
        Value::Tuple(vec![Value::Int(404), Value::Bytes(b"status 404".to_vec())])
    );
}

#[test]
fn every_redirect_hop_is_checked_again() {
    let upstream = Upstream::start();
    let elsewhere = Upstream::start();
    let mut py = granted(&upstream);
    // A redirect inside the grant is followed.
    let inside = upstream.url(&format!("/redirect?to={}", upstream.url("/echo")));
    let code =
        format!("import urllib.request\nurllib.request.urlopen({inside:?}).read().decode().splitlines()[0]");
    assert_eq!(run(&mut py, &code), Value::from("GET /echo"));
    // One to a server the grant does not cover is refused at that hop.
    let outside = upstream.url(&format!("/redirect?to={}", elsewhere.url("/")));
    let error = python_error(&mut py, &format!("import urllib.request\nurllib.request.urlopen({outside:?})"));
    assert_eq!(error.type_name, "pycomponent.http.HTTPDenied");
    assert!(error.message.contains(&elsewhere.url("/")), "{}", error.message);
    // fetch follows redirects the same way.
    let error = python_error(
        &mut py,
        &format!("import asyncio, pycomponent.http as h\nasyncio.run(h.fetch({outside:?}))"),
    );
    assert_eq!(error.type_name, "pycomponent.http.HTTPDenied");
    assert_eq!(elsewhere.requests(), 0);
}

#[test]
fn a_slow_upstream_times_out_and_the_instance_goes_on() {
    let upstream = Upstream::start();
    let mut policy = HttpPolicy::default();
    policy.request_timeout = Duration::from_millis(300);
    let mut py = instance(policy.allow(&upstream.grant()).unwrap());
    let slow = upstream.url("/delay?ms=5000");
    let error = python_error(&mut py, &format!("import urllib.request\nurllib.request.urlopen({slow:?})"));
    assert_eq!(error.type_name, "pycomponent.http.HTTPTimeout");
    let caught = format!(
        "import urllib.request\ntry:\n    urllib.request.urlopen({slow:?})\nexcept TimeoutError:\n    ok = True\nok"
    );
    assert_eq!(run(&mut py, &caught), Value::Bool(true));
    // Python's own socket timeout is honoured too, when it is shorter.
    let mut patient = granted(&upstream);
    let error = python_error(
        &mut patient,
        &format!(
            "import urllib.request\nurllib.request.urlopen({:?}, timeout=0.2)",
            upstream.url("/delay?ms=3000")
        ),
    );
    assert_eq!(error.type_name, "pycomponent.http.HTTPTimeout");
    assert_eq!(run(&mut patient, "1 + 1"), Value::Int(2));
}

#[test]
fn responses_over_the_cap_and_endless_bodies_raise() {
    let upstream = Upstream::start();
    let mut policy = HttpPolicy::default();
    policy.max_response_bytes = 1 << 20;
    let mut py = instance(policy.allow(&upstream.grant()).unwrap());
    let fits = format!(
        "import urllib.request\nlen(urllib.request.urlopen({:?}).read())",
        upstream.url("/bytes?n=1048576")
    );
    assert_eq!(run(&mut py, &fits), Value::Int(1 << 20));
    for path in ["/bytes?n=1048577", "/endless"] {
        let code = format!("import urllib.request\nurllib.request.urlopen({:?})", upstream.url(path));
        let error = python_error(&mut py, &code);
        assert_eq!(error.type_name, "pycomponent.http.ResponseTooLarge", "{path}");
        assert!(error.message.contains("1048576 bytes"), "{}", error.message);
    }
}

#[test]
fn broken_upstreams_raise_connection_errors_and_the_instance_goes_on() {
    let upstream = Upstream::start();
    let mut py = granted(&upstream);
    for path in ["/garbage", "/reset"] {
        let code = format!(
            "import urllib.request\ntry:\n    urllib.request.urlopen({:?})\nexcept ConnectionError as e:\n    kind = type(e).__name__\nkind",
            upstream.url(path)
        );
        assert_eq!(run(&mut py, &code), Value::from("HTTPConnectionFailed"), "{path}");
    }
    // Nothing listens on a port the test bound and dropped.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut anywhere = instance(HttpPolicy::deny_all().allow("*://127.0.0.1:*").unwrap());
    let error = python_error(
        &mut anywhere,
        &format!("import urllib.request\nurllib.request.urlopen('http://{closed}/')"),
    );
    assert_eq!(error.type_name, "pycomponent.http.HTTPConnectionFailed");
    // HTTPS goes through the host's TLS, which a plain-HTTP server fails.
    let error = python_error(
        &mut anywhere,
        &format!(
            "import urllib.request\nurllib.request.urlopen('https://127.0.0.1:{}/')",
            upstream.addr.port()
        ),
    );
    assert_eq!(error.type_name, "pycomponent.http.HTTPConnectionFailed", "{}", error.message);
    assert_eq!(
        run(
            &mut py,
            &format!("import urllib.request\nurllib.request.urlopen({:?}).status", upstream.url("/"))
        ),
        Value::Int(200)
    );
}

#[test]
fn a_call_may_make_only_so_many_requests() {
    let upstream = Upstream::start();
    let mut policy = HttpPolicy::default();
    policy.max_requests_per_call = 2;
    let mut py = instance(policy.allow(&upstream.grant()).unwrap());
    let three = format!(
        "import urllib.request\nfor _ in range(3):\n    urllib.request.urlopen({:?}).read()",
        upstream.url("/")
    );
    let error = python_error(&mut py, &three);
    assert_eq!(error.type_name, "pycomponent.http.TooManyRequests");
    // The count starts again with the next call.
    let two = format!(
        "import urllib.request\n[urllib.request.urlopen({:?}).status for _ in range(2)]",
        upstream.url("/")
    );
    assert_eq!(run(&mut py, &two), Value::List(vec![Value::Int(200), Value::Int(200)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_runs_requests_concurrently_in_an_asynchronous_call() {
    let upstream = Upstream::start();
    let mut py = granted(&upstream);
    let code = format!(
        "import asyncio, pycomponent.http as h\n\
         rs = await asyncio.gather(*[h.fetch({:?}) for _ in range(4)])\n\
         echo = await h.fetch({:?}, method='POST', body='ünï', headers={{'X-A': 'b'}})\n\
         ([r.status for r in rs], [await r.text() for r in rs][0], echo.ok, (await echo.text()).endswith('ünï'), echo.headers['X-Upstream'])",
        upstream.url("/delay?ms=300"),
        upstream.url("/echo"),
    );
    let reply = py.run_async(&code).await.expect("no trap");
    let value = reply.result.unwrap_or_else(|e| panic!("{e}\n{}", e.traceback));
    assert_eq!(
        value,
        Value::Tuple(vec![
            Value::List(vec![Value::Int(200); 4]),
            Value::from("late"),
            Value::Bool(true),
            Value::Bool(true),
            Value::from("yes"),
        ])
    );
    assert!(upstream.most_in_flight() >= 2, "the requests overlapped: {}", upstream.most_in_flight());
    // A denied fetch raises where it is awaited.
    let reply =
        py.run_async("import pycomponent.http as h\nawait h.fetch('http://127.0.0.1:1/')").await.unwrap();
    assert_eq!(reply.result.unwrap_err().type_name, "pycomponent.http.HTTPDenied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_fetch_leaves_the_instance_usable() {
    let upstream = Upstream::start();
    let mut py = granted(&upstream);
    let code = format!(
        "import asyncio, pycomponent.http as h\n\
         try:\n    await asyncio.wait_for(h.fetch({:?}), 0.2)\n\
         except asyncio.TimeoutError:\n    result = 'gave up'\n\
         result",
        upstream.url("/delay?ms=3000")
    );
    let reply = py.run_async(&code).await.expect("no trap");
    assert_eq!(reply.result.unwrap(), Value::from("gave up"));
    let again = format!("import pycomponent.http as h\n(await h.fetch({:?})).status", upstream.url("/"));
    assert_eq!(py.run_async(&again).await.unwrap().result.unwrap(), Value::Int(200));
}
