//! The edge-function figures: WSGI apps served by `pycomponent serve` (a
//! fresh instance per request), by the Wasmtime CLI's `wasmtime serve` (the
//! same component file), by Cloudflare's runtime `workerd` (the Worker that
//! `pycomponent build --target cloudflare` writes from the same app) and
//! natively by gunicorn under CPython built from the same source, each
//! loaded by `wrk` on loopback in turn. The apps:
//! `bench/edge/hello.py`, and `bench/edge/relay.py`, which makes one
//! outgoing request per request to an upstream started here.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::{cache, shell, versions};

/// What `wrk` reports for one server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpLoad {
    /// Requests per second over the run.
    pub requests_per_second: f64,
    /// Latency percentiles, milliseconds.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Responses that were not 2xx/3xx, plus socket errors.
    pub errors: u64,
    /// The wrk command's shape: threads, connections, seconds.
    pub load: String,
}

/// The servers in report order, with their labels.
pub const SERVERS: &[(&str, &str)] = &[
    ("pycomponent serve", "`pycomponent serve` (fresh instance per request)"),
    ("wasmtime serve", "`wasmtime serve` CLI, same component"),
    ("workerd", "`workerd`, the app's Cloudflare Worker (one instance, requests in turn)"),
    ("native gunicorn", "native CPython + gunicorn (2 sync workers)"),
];

const THREADS: u32 = 2;
const CONNECTIONS: u32 = 16;

/// The servers, the Wasmtime CLI and native CPython, as the bench found them.
pub struct Tools<'a> {
    pub cli: &'a Path,
    pub wasmtime_cli: &'a Path,
    pub native_python: &'a Path,
    /// adapters/js/node_modules/.bin, with `jco` and `workerd`.
    pub node_bin: &'a Path,
}

/// The hello app under each server.
pub fn measure_hello(tools: &Tools, seconds: u32) -> Result<BTreeMap<String, HttpLoad>> {
    measure(tools, "hello", "/", &[], seconds)
}

/// The relay app under each server: every request makes one outgoing
/// request to a loopback upstream (a few lines of Rust below, so that the
/// upstream costs little next to the servers measured).
pub fn measure_relay(tools: &Tools, seconds: u32) -> Result<BTreeMap<String, HttpLoad>> {
    let upstream = Upstream::start()?;
    let grant = format!("http://{}", upstream.addr);
    let target = format!("/?url=http://{}/", upstream.addr);
    measure(tools, "relay", &target, &["--allow-http".to_string(), grant], seconds)
}

/// Builds `bench/edge/<module>.py` with the release CLI and measures each
/// server for `seconds` (after a 2-second warm-up) at `target`;
/// `pycomponent serve` and the Worker's build get `serve_args` too.
fn measure(
    tools: &Tools,
    module: &str,
    target: &str,
    serve_args: &[String],
    seconds: u32,
) -> Result<BTreeMap<String, HttpLoad>> {
    let Tools { cli, wasmtime_cli, native_python, node_bin } = *tools;
    let root = crate::workspace_root();
    let app = root.join(format!("bench/edge/{module}.py"));
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let component = out.join(format!("{module}.wasm"));
    shell::run(Command::new(cli).arg("build").arg(&app).arg("-o").arg(&component))?;
    let worker = out.join(format!("{module}-worker"));
    shell::run(
        Command::new(cli)
            .arg("build")
            .arg(&app)
            .args(["--target", "cloudflare", "-o"])
            .arg(&worker)
            .args(serve_args)
            .env("PYCOMPONENT_JCO", node_bin.join("jco")),
    )?;
    let gunicorn = gunicorn()?;

    let mut figures = BTreeMap::new();
    for (name, _) in SERVERS {
        let addr = free_addr()?;
        let mut command = match *name {
            "pycomponent serve" => {
                let mut c = Command::new(cli);
                c.args(["serve", "--quiet", "--addr", &addr.to_string()]).args(serve_args).arg(&component);
                c
            }
            "workerd" => {
                let mut c = Command::new(node_bin.join("workerd"));
                c.args(["serve", "workerd.capnp", "-s", &format!("http={addr}")]).current_dir(&worker);
                c
            }
            "wasmtime serve" => {
                let mut c = Command::new(wasmtime_cli);
                c.args(["serve", "-S", "cli=y", "--addr", &addr.to_string()]).arg(&component);
                c
            }
            _ => {
                let mut c = Command::new(native_python);
                c.args([
                    "-m",
                    "gunicorn",
                    "--workers",
                    "2",
                    "--bind",
                    &addr.to_string(),
                    "--log-level",
                    "warning",
                ])
                .arg("--chdir")
                .arg(app.parent().unwrap_or(&root))
                .arg(format!("{module}:app"))
                .env("PYTHONPATH", &gunicorn);
                c
            }
        };
        eprintln!("==> bench: wrk against {module} under {name} ({seconds} s)");
        let server = Server::start(&mut command, addr)?;
        wrk(addr, target, 2).with_context(|| format!("warming up {name}"))?;
        let figure = wrk(addr, target, seconds).with_context(|| format!("loading {name}"))?;
        drop(server);
        figures.insert(name.to_string(), figure);
    }
    Ok(figures)
}

/// gunicorn, installed from PyPI into the cache (pure Python; one version).
fn gunicorn() -> Result<std::path::PathBuf> {
    let dir = cache::root()?.join("tools").join(format!("gunicorn-{}", versions::GUNICORN));
    if dir.join("gunicorn").is_dir() {
        return Ok(dir);
    }
    let partial = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    eprintln!("==> tools: pip install gunicorn=={}", versions::GUNICORN);
    shell::run(
        Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
            .arg(&partial)
            .arg(format!("gunicorn=={}", versions::GUNICORN)),
    )?;
    std::fs::rename(&partial, &dir)?;
    Ok(dir)
}

fn free_addr() -> Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// A server process, killed when dropped.
struct Server(Child);

impl Server {
    fn start(command: &mut Command, addr: SocketAddr) -> Result<Server> {
        let shown = shell::display_command(command);
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {shown}"))?;
        let server = Server(child);
        let started = Instant::now();
        while TcpStream::connect(addr).is_err() {
            if started.elapsed() > Duration::from_secs(120) {
                bail!("{shown} did not listen on {addr}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The relay app's upstream: answers every request on a connection of its
/// own with a short body and closes it (the clients measured open one
/// connection per request).
struct Upstream {
    addr: SocketAddr,
}

impl Upstream {
    fn start() -> Result<Upstream> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        // The thread ends with the process (the bench), like its listener.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer(stream));
            }
        });
        Ok(Upstream { addr })
    }
}

fn answer(mut stream: TcpStream) {
    let mut request = Vec::new();
    let mut buffer = [0; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 6\r\nconnection: close\r\n\r\nhello\n",
    );
}

fn wrk(addr: SocketAddr, target: &str, seconds: u32) -> Result<HttpLoad> {
    let output = shell::output(
        Command::new("wrk")
            .args(["-t", &THREADS.to_string(), "-c", &CONNECTIONS.to_string(), "-d", &format!("{seconds}s")])
            .args(["--latency", &format!("http://{addr}{target}")]),
    )?;
    parse_wrk(&output).with_context(|| format!("reading wrk's output:\n{output}"))
}

fn parse_wrk(text: &str) -> Result<HttpLoad> {
    let field = |prefix: &str| {
        text.lines().map(str::trim).find_map(|l| l.strip_prefix(prefix)).map(|rest| rest.trim().to_string())
    };
    let requests_per_second: f64 = field("Requests/sec:").context("no Requests/sec")?.parse()?;
    let p50_ms = duration_ms(&field("50%").context("no 50% latency")?)?;
    let p99_ms = duration_ms(&field("99%").context("no 99% latency")?)?;
    let non_2xx: u64 = field("Non-2xx or 3xx responses:").map_or(Ok(0), |n| n.parse())?;
    // "Socket errors: connect 0, read 0, write 0, timeout 0"
    let socket: u64 = field("Socket errors:")
        .map(|s| s.split(',').filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    Ok(HttpLoad {
        requests_per_second,
        p50_ms,
        p99_ms,
        errors: non_2xx + socket,
        load: format!("{THREADS} threads, {CONNECTIONS} connections"),
    })
}

/// wrk's `635.00us`, `2.50ms`, `1.20s` in milliseconds.
fn duration_ms(text: &str) -> Result<f64> {
    let text = text.trim();
    for (unit, scale) in [("us", 1e-3), ("ms", 1.0), ("s", 1e3), ("m", 60e3)] {
        if let Some(number) = text.strip_suffix(unit) {
            return Ok(number.parse::<f64>()? * scale);
        }
    }
    bail!("unknown duration {text:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let text = "Running 10s test @ http://127.0.0.1:1/\n  2 threads and 16 connections\n  Latency Distribution\n     \
                    50%  635.00us\n     75%    1.00ms\n     90%    1.50ms\n     99%    2.50ms\n  120000 requests in \
                    10.00s, 12.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx \
                    responses: 4\nRequests/sec:  12000.50\nTransfer/sec:      1.20MB\n";
        let load = parse_wrk(text).unwrap();
        assert_eq!(load.requests_per_second, 12000.5);
        assert!((load.p50_ms - 0.635).abs() < 1e-9 && (load.p99_ms - 2.5).abs() < 1e-9);
        assert_eq!(load.errors, 7);
        assert!(parse_wrk("nothing").is_err());
        assert_eq!(duration_ms("1.20s").unwrap(), 1200.0);
    }
}
