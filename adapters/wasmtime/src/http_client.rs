//! Outgoing HTTP of Python code: [`HttpPolicy`], which requests may go out
//! and their limits, and the `http-client` interface of `wit/python.wit`,
//! which sends them with wasmtime-wasi-http's client (HTTP/1.1; TLS with
//! the Mozilla roots of `webpki-roots`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use url::{Host, Url};

use crate::Error;
use crate::bindings::pycomponent::python::http_client::{self as wit, Request, Response};
use crate::host::{HostFuture, HostState};
use crate::value::Value;

/// Which outgoing HTTP requests Python may make, and their limits. The
/// default grants nothing: every request raises `PermissionError` in
/// Python, naming the URL and the grant that would allow it.
///
/// A grant is a pattern of scheme, host and port, with no path:
/// - scheme: `http`, `https` or `*`;
/// - host: a name (`api.example.com`, IDNA allowed), `*.example.org` (its
///   subdomains, not itself), an IP address (`127.0.0.1`, `[::1]`) or `*`;
/// - port: none (the scheme's default port), a number, a range `8000-8999`
///   or `*`.
///
/// Allowing everything takes an explicit `*://*:*`. Names are matched as
/// the URL writes them, after IDNA and lower-casing; the addresses they
/// resolve to are not checked (see docs/SECURITY.md).
#[derive(Clone, Debug)]
pub struct HttpPolicy {
    allowed: Vec<Pattern>,
    /// The longest one request may take, connecting and reading the whole
    /// response; a call's own timeout bounds it too.
    pub request_timeout: Duration,
    /// The largest response body accepted, in bytes; a larger one raises
    /// `pycomponent.http.ResponseTooLarge` in Python.
    pub max_response_bytes: u64,
    /// The most requests one call may make (an asynchronous call counts
    /// once, with all its steps); past it, Python gets
    /// `pycomponent.http.TooManyRequests`.
    pub max_requests_per_call: u32,
}

impl Default for HttpPolicy {
    /// Nothing allowed; 30 s per request, 16 MiB per response, 100
    /// requests per call.
    fn default() -> HttpPolicy {
        HttpPolicy {
            allowed: Vec::new(),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 16 << 20,
            max_requests_per_call: 100,
        }
    }
}

impl HttpPolicy {
    /// The default policy: nothing allowed.
    pub fn deny_all() -> HttpPolicy {
        HttpPolicy::default()
    }

    /// Also allows the URLs that `pattern` matches (see [`HttpPolicy`]);
    /// [`Error::InvalidInput`] says what is wrong with a malformed one.
    pub fn allow(mut self, pattern: &str) -> Result<HttpPolicy, Error> {
        let parsed = Pattern::parse(pattern)
            .map_err(|why| Error::InvalidInput(format!("invalid HTTP grant {pattern:?}: {why}")))?;
        self.allowed.push(parsed);
        Ok(self)
    }

    /// Whether a request to `url` would be allowed.
    pub fn allows(&self, url: &str) -> bool {
        Url::parse(url).is_ok_and(|url| self.matches(&url))
    }

    /// Whether any request can be allowed at all.
    pub fn allows_any(&self) -> bool {
        !self.allowed.is_empty()
    }

    /// The grants as the Cloudflare Worker's host matches them (JSON: a
    /// list of `{scheme, host, port}`; see `cloudflare/wasi-host.js`).
    pub(crate) fn grants_json(&self) -> serde_json::Value {
        let grants = self.allowed.iter().map(|pattern| {
            let host = match &pattern.host {
                HostPattern::Any => serde_json::json!({ "any": true }),
                HostPattern::Exact(host) => serde_json::json!({ "exact": host.to_string() }),
                HostPattern::Subdomains(suffix) => serde_json::json!({ "subdomains": suffix }),
            };
            let port = match pattern.port {
                PortPattern::Default => serde_json::json!("default"),
                PortPattern::Any => serde_json::json!("any"),
                PortPattern::Range(low, high) => serde_json::json!([low, high]),
            };
            serde_json::json!({ "scheme": pattern.scheme, "host": host, "port": port })
        });
        serde_json::Value::Array(grants.collect())
    }

    fn matches(&self, url: &Url) -> bool {
        self.allowed.iter().any(|pattern| pattern.matches(url))
    }
}

/// One grant: scheme, host and port patterns.
#[derive(Clone, Debug, PartialEq)]
struct Pattern {
    /// `None`: any scheme.
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Clone, Debug, PartialEq)]
enum HostPattern {
    Any,
    Exact(Host<String>),
    /// `*.suffix`: the subdomains of `suffix`.
    Subdomains(String),
}

#[derive(Clone, Debug, PartialEq)]
enum PortPattern {
    /// The scheme's default port.
    Default,
    Any,
    Range(u16, u16),
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, String> {
        let (scheme, rest) =
            text.split_once("://").ok_or("it needs a scheme, as in `https://api.example.com`")?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "*" => None,
            s @ ("http" | "https") => Some(s.to_string()),
            other => return Err(format!("the scheme must be http, https or *, not {other:?}")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err("a grant has no path, query or fragment: only scheme, host and port".into());
        }
        if authority.contains('@') {
            return Err("a grant has no user name or password".into());
        }
        // The port follows the last colon, unless it is inside an IPv6 literal.
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
            _ => (authority, None),
        };
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            match Host::parse(suffix).map_err(|e| format!("host {suffix:?}: {e}"))? {
                Host::Domain(domain) => HostPattern::Subdomains(domain),
                _ => return Err("`*.` goes before a domain name, not an address".into()),
            }
        } else if host.is_empty() {
            return Err("it needs a host (or `*`)".into());
        } else if host.contains('*') {
            return Err("`*` stands for a whole host or a leading `*.` label only".into());
        } else {
            HostPattern::Exact(Host::parse(host).map_err(|e| format!("host {host:?}: {e}"))?)
        };
        let port = match port {
            None => PortPattern::Default,
            Some("*") => PortPattern::Any,
            Some(port) => {
                let number = |p: &str| p.parse::<u16>().map_err(|_| format!("invalid port {p:?}"));
                match port.split_once('-') {
                    Some((low, high)) if number(low)? <= number(high)? => {
                        PortPattern::Range(number(low)?, number(high)?)
                    }
                    Some(_) => return Err(format!("the port range {port:?} is empty")),
                    None => PortPattern::Range(number(port)?, number(port)?),
                }
            }
        };
        Ok(Pattern { scheme, host, port })
    }

    fn matches(&self, url: &Url) -> bool {
        if self.scheme.as_deref().is_some_and(|scheme| scheme != url.scheme()) {
            return false;
        }
        let host_matches = match (&self.host, url.host()) {
            (_, None) => false,
            (HostPattern::Any, Some(_)) => true,
            (HostPattern::Exact(host), Some(other)) => other.to_owned() == *host,
            (HostPattern::Subdomains(suffix), Some(Host::Domain(domain))) => {
                domain.strip_suffix(suffix.as_str()).is_some_and(|head| head.len() > 1 && head.ends_with('.'))
            }
            (HostPattern::Subdomains(_), Some(_)) => false,
        };
        let Some(port) = url.port_or_known_default() else { return false };
        let port_matches = match self.port {
            PortPattern::Default => url.port().is_none(),
            PortPattern::Any => true,
            PortPattern::Range(low, high) => (low..=high).contains(&port),
        };
        host_matches && port_matches
    }
}

/// The grant that would allow `url`: its scheme, host and port (the port
/// left out when it is the scheme's default).
fn grant_for(url: &Url) -> String {
    let host = url.host().map(|h| h.to_string()).unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// The outgoing HTTP state of one instance.
pub(crate) struct HttpClient {
    policy: Arc<HttpPolicy>,
    /// Requests made in the current call.
    requests: u32,
    /// When the current call's timeout passes.
    deadline: Option<Instant>,
    /// Started requests that completed, until Python takes them (`finish`).
    finished: Arc<Mutex<HashMap<u64, Result<Response, wit::Error>>>>,
}

impl HttpClient {
    pub(crate) fn new(policy: Arc<HttpPolicy>) -> HttpClient {
        HttpClient { policy, requests: 0, deadline: None, finished: Arc::default() }
    }

    /// A new call starts: its requests are counted from zero, and none may
    /// outlast `timeout` from now.
    pub(crate) fn start_call(&mut self, timeout: Option<Duration>) {
        self.requests = 0;
        self.deadline = timeout.map(|timeout| Instant::now() + timeout);
    }

    /// The asynchronous call ended: results Python did not take are dropped.
    pub(crate) fn end_async_call(&mut self) {
        self.finished.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Checks a request against the policy and the limits, and counts it.
    fn admit(&mut self, request: Request) -> Result<Exchange, wit::Error> {
        let url = Url::parse(&request.url)
            .map_err(|e| wit::Error::Invalid(format!("invalid URL {:?}: {e}", request.url)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(wit::Error::Invalid(format!(
                "{url}: only http and https URLs with a host can be requested"
            )));
        }
        if !self.policy.matches(&url) {
            let grant = grant_for(&url);
            return Err(wit::Error::Denied(format!(
                "{} {url} is not allowed: this host grants no outgoing HTTP to {grant}; grant it with \
                 `--allow-http {grant}` (pycomponent CLI) or HttpPolicy::allow(\"{grant}\") (Rust)",
                request.method
            )));
        }
        if self.requests >= self.policy.max_requests_per_call {
            return Err(wit::Error::TooManyRequests(format!(
                "{url}: this call has made {} HTTP requests, the most the host allows in one call",
                self.policy.max_requests_per_call
            )));
        }
        self.requests += 1;
        let mut time = self.policy.request_timeout;
        if let Some(ms) = request.timeout_ms {
            time = time.min(Duration::from_millis(ms));
        }
        if let Some(deadline) = self.deadline {
            time = time.min(deadline.saturating_duration_since(Instant::now()));
        }
        Ok(Exchange { request, url, time, max_body: self.policy.max_response_bytes })
    }
}

/// An admitted request, ready to send.
struct Exchange {
    request: Request,
    url: Url,
    time: Duration,
    max_body: u64,
}

impl Exchange {
    /// Sends the request and reads the whole response, within `time`.
    async fn run(self) -> Result<Response, wit::Error> {
        let (method, url, time) = (self.request.method.clone(), self.url.clone(), self.time);
        match tokio::time::timeout(time, self.exchange()).await {
            Ok(result) => result,
            Err(_) => {
                Err(wit::Error::Timeout(format!("{method} {url}: no complete response within {time:?}")))
            }
        }
    }

    async fn exchange(self) -> Result<Response, wit::Error> {
        let Exchange { request, mut url, time, max_body } = self;
        let label = format!("{} {url}", request.method);
        let invalid = |what: String| wit::Error::Invalid(format!("{label}: {what}"));
        let failed = |e: wasmtime_wasi_http::Error| match e {
            wasmtime_wasi_http::Error::ConnectionTimeout
            | wasmtime_wasi_http::Error::ConnectionReadTimeout
            | wasmtime_wasi_http::Error::HttpResponseTimeout => {
                wit::Error::Timeout(format!("{label}: no complete response within {time:?}"))
            }
            other => wit::Error::Failed(format!("{label}: {other}")),
        };
        // User and password go in the Authorization header, never on the wire in the URL.
        let credentials = (!url.username().is_empty() || url.password().is_some()).then(|| {
            let user = percent_decoded(url.username());
            let password = url.password().map(percent_decoded).unwrap_or_default();
            format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
        });
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_fragment(None);
        let method = http::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| invalid(format!("invalid method {:?}", request.method)))?;
        let mut builder = http::Request::builder().method(method).uri(url.as_str());
        let mut has_authorization = false;
        for (name, value) in &request.headers {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("invalid header name {name:?}")))?;
            if is_connection_header(&name) {
                continue;
            }
            has_authorization |= name == http::header::AUTHORIZATION;
            let value = http::HeaderValue::from_bytes(value)
                .map_err(|_| invalid(format!("invalid value of header {name}")))?;
            builder = builder.header(name, value);
        }
        if let (Some(credentials), false) = (credentials, has_authorization) {
            builder = builder.header(http::header::AUTHORIZATION, credentials);
        }
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        builder = builder.header(http::header::HOST, host);
        let body = Full::new(Bytes::from(request.body)).map_err(|never| match never {});
        let outgoing = builder.body(body).map_err(|e| invalid(e.to_string()))?;
        let options = wasmtime_wasi_http::RequestOptions {
            connect_timeout: Some(time),
            first_byte_timeout: Some(time),
            between_bytes_timeout: Some(time),
        };
        let (response, connection) =
            wasmtime_wasi_http::default_send_request(outgoing, Some(options)).await.map_err(failed)?;
        // The connection's I/O runs beside the body's reads, and stops with them.
        let connection = AbortOnDrop(tokio::spawn(connection));
        let status = response.status();
        let reason = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string());
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
            .collect();
        let mut body = response.into_body();
        let mut content = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.map_err(failed)?.into_data() {
                if (content.len() + data.len()) as u64 > max_body {
                    return Err(wit::Error::TooLarge(format!(
                        "{label}: the response body is larger than the host's cap of {max_body} bytes"
                    )));
                }
                content.extend_from_slice(&data);
            }
        }
        drop(connection);
        Ok(Response { status: status.as_u16(), reason, headers, body: content })
    }
}

/// Headers of one connection, which the client sets itself.
fn is_connection_header(name: &http::HeaderName) -> bool {
    use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING, UPGRADE};
    [HOST, CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION, UPGRADE].contains(name)
        || name.as_str() == "keep-alive"
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn percent_decoded(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Standard base64 with padding (RFC 4648), for Basic credentials.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let bits = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(bits >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The runtime that sends requests, shared by all instances: synchronous
/// requests block the calling thread on it, and asynchronous ones run on
/// it whatever runtime (or none) the embedder's future is polled in.
fn http_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pycomponent-http")
            .enable_all()
            .build()
            .expect("a tokio runtime for outgoing HTTP")
    })
}

impl wit::Host for HostState {
    fn send(&mut self, request: Request) -> Result<Response, wit::Error> {
        let exchange = self.http.admit(request)?;
        let (sender, receiver) = std::sync::mpsc::channel();
        let task = http_runtime().spawn(async move {
            let _ = sender.send(exchange.run().await);
        });
        // The exchange has its own timeout; a task that ends without an
        // answer panicked.
        let answer = receiver.recv();
        drop(AbortOnDrop(task));
        answer.unwrap_or_else(|_| Err(wit::Error::Failed("the host's HTTP client failed".into())))
    }

    fn start(&mut self, request: Request) -> Result<u64, wit::Error> {
        if !self.pending.accepting {
            return Err(wit::Error::Invalid(
                "a request can be started only in an asynchronous call (use pycomponent.http.request instead)".into(),
            ));
        }
        let label = format!("fetch {}", request.url);
        let exchange = self.http.admit(request)?;
        let finished = self.http.finished.clone();
        let id = self.pending.add(label, move |id| -> HostFuture {
            Box::pin(async move {
                let mut task = AbortOnDrop(http_runtime().spawn(exchange.run()));
                let result = (&mut task.0)
                    .await
                    .unwrap_or_else(|_| Err(wit::Error::Failed("the host's HTTP client failed".into())));
                finished.lock().unwrap_or_else(|e| e.into_inner()).insert(id, result);
                Ok(Value::None)
            })
        });
        Ok(id)
    }

    fn finish(&mut self, id: u64) -> Result<Response, wit::Error> {
        let taken = self.http.finished.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        taken.unwrap_or_else(|| Err(wit::Error::Invalid(format!("no completed request #{id}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(patterns: &[&str]) -> HttpPolicy {
        patterns.iter().fold(HttpPolicy::deny_all(), |p, pattern| p.allow(pattern).unwrap())
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        let p = HttpPolicy::default();
        assert!(!p.allows("http://127.0.0.1/") && !p.allows("https://example.com/"));
    }

    #[test]
    fn a_grant_without_a_port_allows_the_default_port_only() {
        let p = policy(&["https://api.example.com"]);
        assert!(p.allows("https://api.example.com/v1?q=1"));
        assert!(p.allows("https://API.Example.COM:443/"));
        assert!(!p.allows("https://api.example.com:8443/"));
        assert!(!p.allows("http://api.example.com/"));
        assert!(!p.allows("https://other.example.com/"));
        assert!(!p.allows("https://api.example.com.evil.net/"));
    }

    #[test]
    fn wildcards_cover_subdomains_ports_and_schemes() {
        let p = policy(&["https://*.example.org:8443", "http://127.0.0.1:*"]);
        assert!(p.allows("https://a.example.org:8443/") && p.allows("https://a.b.example.org:8443/"));
        assert!(!p.allows("https://example.org:8443/"), "`*.` means subdomains only");
        assert!(!p.allows("https://badexample.org:8443/"));
        assert!(p.allows("http://127.0.0.1:1/") && p.allows("http://127.0.0.1/"));
        assert!(!p.allows("https://127.0.0.1:1/"));
        let all = policy(&["*://*:*"]);
        assert!(all.allows("http://10.0.0.1:9/") && all.allows("https://[::1]:8443/x"));
        let range = policy(&["*://localhost:8000-8999"]);
        assert!(range.allows("http://localhost:8080/") && !range.allows("http://localhost:9000/"));
    }

    #[test]
    fn user_info_and_idna_are_normalised_before_matching() {
        let p = policy(&["https://bücher.example"]);
        assert!(p.allows("https://xn--bcher-kva.example/"));
        assert!(p.allows("https://user:pw@bücher.example/"));
        let p = policy(&["https://api.example.com"]);
        assert!(!p.allows("https://api.example.com@evil.example/"), "the host is after the @");
        let ipv6 = policy(&["http://[::1]:8080"]);
        assert!(ipv6.allows("http://[0:0::1]:8080/"));
    }

    #[test]
    fn malformed_grants_say_what_is_wrong() {
        for (pattern, why) in [
            ("api.example.com", "scheme"),
            ("ftp://x", "scheme must be"),
            ("https://x/path", "no path"),
            ("https://u@x", "user name"),
            ("https://a*.x", "`*`"),
            ("https://x:99999", "invalid port"),
            ("https://x:9-1", "empty"),
            ("https://*.1.2.3.4", "domain"),
            ("https://", "host"),
        ] {
            let err = HttpPolicy::deny_all().allow(pattern).unwrap_err().to_string();
            assert!(err.contains(why) && err.contains(pattern), "{pattern}: {err}");
        }
    }

    #[test]
    fn a_denied_request_names_the_url_and_the_grant() {
        let mut client = HttpClient::new(Arc::new(HttpPolicy::default()));
        let request = |url: &str| Request {
            method: "GET".into(),
            url: url.into(),
            headers: vec![],
            body: vec![],
            timeout_ms: None,
        };
        let Err(wit::Error::Denied(message)) = client.admit(request("http://127.0.0.1:8080/x")) else {
            panic!("denied")
        };
        assert!(
            message.contains("http://127.0.0.1:8080/x")
                && message.contains("--allow-http http://127.0.0.1:8080")
        );
        assert!(matches!(client.admit(request("file:///etc/passwd")), Err(wit::Error::Invalid(_))));
        let mut limited =
            HttpClient::new(Arc::new(HttpPolicy { max_requests_per_call: 1, ..policy(&["http://*:*"]) }));
        assert!(limited.admit(request("http://a/")).is_ok());
        assert!(matches!(limited.admit(request("http://a/")), Err(wit::Error::TooManyRequests(_))));
        limited.start_call(None);
        assert!(limited.admit(request("http://a/")).is_ok());
    }

    #[test]
    fn base64_is_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64("user:pässword".as_bytes()), "dXNlcjpww6Rzc3dvcmQ=");
    }
}
