//! A loopback HTTP/1.1 server for the tests of outgoing HTTP: the upstream
//! that Python's requests reach, with routes that behave well and routes
//! that do not (hang, reset, garbage, endless bodies).
//!
//! Routes:
//! - `/echo`: 200, the request as text: `METHOD target`, then each header
//!   as `name: value`, a blank line and the body.
//! - `/status/N`: status N, body `status N`.
//! - `/redirect?to=URL&status=N`: a redirect (302 unless N) to URL.
//! - `/delay?ms=N`: 200 `late` after N ms.
//! - `/bytes?n=N`: 200 with N bytes of `x` (by length).
//! - `/endless`: 200, a chunked body that never ends.
//! - `/garbage`: a response that is not HTTP.
//! - `/reset`: the connection closed without a response.
//! - anything else: 200 `hello from upstream`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A running upstream; it serves until the test process ends.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Where it listens.
    pub addr: SocketAddr,
    stats: Arc<Stats>,
}

#[derive(Debug, Default)]
struct Stats {
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    requests: AtomicUsize,
}

impl Upstream {
    /// Starts a server on a free loopback port.
    pub fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let stats = Arc::new(Stats::default());
        let shared = stats.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let stats = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &stats);
                });
            }
        });
        Upstream { addr, stats }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The grant that allows this server: `http://127.0.0.1:PORT`.
    pub fn grant(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The most requests that were in progress at once.
    pub fn most_in_flight(&self) -> usize {
        self.stats.most_in_flight.load(Ordering::SeqCst)
    }

    /// How many requests reached it.
    pub fn requests(&self) -> usize {
        self.stats.requests.load(Ordering::SeqCst)
    }
}

struct InFlight<'a>(&'a Stats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves the requests of one connection (keep-alive) until it closes.
fn serve(stream: TcpStream, stats: &Stats) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let (method, target) =
            (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("/").to_string());
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
                headers.push(format!("{}: {}", name.to_ascii_lowercase(), value.trim()));
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        stats.requests.fetch_add(1, Ordering::SeqCst);
        let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats.most_in_flight.fetch_max(now, Ordering::SeqCst);
        let _in_flight = InFlight(stats);
        if !respond(&mut writer, &method, &target, &headers, &body)? {
            return Ok(());
        }
    }
}

/// The query parameter `name` of `target`.
fn param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// Answers one request; false when the connection must close.
fn respond(
    out: &mut TcpStream,
    method: &str,
    target: &str,
    headers: &[String],
    body: &[u8],
) -> std::io::Result<bool> {
    let path = target.split('?').next().unwrap_or("/");
    let plain = |out: &mut TcpStream, status: u16, reason: &str, extra: &str, body: &[u8]| {
        let head = format!("HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\n{extra}\r\n", body.len());
        out.write_all(head.as_bytes())?;
        out.write_all(body)?;
        out.flush()
    };
    match path {
        "/echo" => {
            let mut text = format!("{method} {target}\n");
            for header in headers {
                text.push_str(header);
                text.push('\n');
            }
            text.push('\n');
            let mut reply = text.into_bytes();
            reply.extend_from_slice(body);
            plain(out, 200, "OK", "content-type: text/plain; charset=utf-8\r\nx-upstream: yes\r\n", &reply)?;
        }
        _ if path.starts_with("/status/") => {
            let status: u16 = path["/status/".len()..].parse().unwrap_or(500);
            plain(out, status, "Custom Reason", "", format!("status {status}").as_bytes())?;
        }
        "/redirect" => {
            let to = param(target, "to").unwrap_or("/");
            let status: u16 = param(target, "status").and_then(|s| s.parse().ok()).unwrap_or(302);
            plain(out, status, "Moved", &format!("location: {to}\r\n"), b"")?;
        }
        "/delay" => {
            let ms = param(target, "ms").and_then(|s| s.parse().ok()).unwrap_or(100);
            std::thread::sleep(Duration::from_millis(ms));
            plain(out, 200, "OK", "", b"late")?;
        }
        "/bytes" => {
            let n: usize = param(target, "n").and_then(|s| s.parse().ok()).unwrap_or(0);
            out.write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n").as_bytes())?;
            let block = vec![b'x'; 64 << 10];
            let mut left = n;
            while left > 0 {
                let now = left.min(block.len());
                out.write_all(&block[..now])?;
                left -= now;
            }
            out.flush()?;
        }
        "/endless" => {
            out.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")?;
            let chunk = format!("{:x}\r\n{}\r\n", 64 << 10, "y".repeat(64 << 10));
            // Until the client gives up and closes.
            loop {
                out.write_all(chunk.as_bytes())?;
            }
        }
        "/garbage" => {
            out.write_all(b"this is not HTTP at all\r\n\x00\x01\x02\r\n\r\n")?;
            return Ok(false);
        }
        "/reset" => return Ok(false),
        _ => plain(out, 200, "OK", "content-type: text/plain\r\n", b"hello from upstream")?,
    }
    Ok(true)
}
