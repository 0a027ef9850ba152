//! `pycomponent serve`: an HTTP/1.1 server that runs a `wasi:http`
//! component (such as one `pycomponent build` makes) with a fresh instance
//! per request, a timeout and a memory cap per request, and one log line
//! per request.
//!
//! The component gets WASI (no files, no environment, no arguments; stdout
//! and stderr go to the server's) and `wasi:http`; its outgoing requests go
//! out only as [`ServeOptions::http`] allows.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::engine::{EpochTicker, engine_config};
use crate::{Error, HttpPolicy, Limits};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen; port 0 picks a free port (see [`Server::local_addr`]).
    pub addr: SocketAddr,
    /// The longest a request may run, from the start of its instance to its
    /// response; past it the client gets `504 Gateway Timeout`.
    pub timeout: Duration,
    /// The memory cap of each instance, in bytes.
    pub memory_bytes: usize,
    /// How many requests may run at once; more wait for a free slot.
    pub max_concurrent: u32,
    /// Print a line per request to stderr.
    pub log_requests: bool,
    /// The outgoing HTTP requests the app may make (none by default), and
    /// their limits: time per request, and requests per incoming request.
    /// The guest reads at most 16 MiB of a response.
    pub http: HttpPolicy,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            timeout: Duration::from_secs(30),
            memory_bytes: 256 << 20,
            max_concurrent: 100,
            log_requests: true,
            http: HttpPolicy::default(),
        }
    }
}

/// A bound server, ready to [`Server::run`].
pub struct Server {
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("addr", &self.listener.local_addr().ok()).finish_non_exhaustive()
    }
}

/// What every request needs.
struct Shared {
    pre: ProxyPre<RequestState>,
    options: ServeOptions,
    slots: Arc<tokio::sync::Semaphore>,
    /// `options.http`, shared with every request's instance.
    http: Arc<HttpPolicy>,
    _ticker: EpochTicker,
}

/// The store data of one request's instance.
struct RequestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    limits: StoreLimits,
    hooks: OutgoingRequests,
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// Sends the outgoing requests of a request's instance that the policy
/// allows, up to its count per call; refuses the others
/// (`HttpRequestDenied`, `ConnectionLimitReached`), which Python raises.
struct OutgoingRequests {
    policy: Arc<HttpPolicy>,
    sent: u32,
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                hyper::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for OutgoingRequests {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        use wasmtime_wasi_http::Error;
        if !self.policy.allows(&request.uri().to_string()) {
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        if self.sent >= self.policy.max_requests_per_call {
            return Box::new(async { Err(Error::ConnectionLimitReached) });
        }
        self.sent += 1;
        let most = self.policy.request_timeout;
        let capped = |time: Option<Duration>| Some(time.map_or(most, |t| t.min(most)));
        let options = options.unwrap_or_default();
        let options = wasmtime_wasi_http::RequestOptions {
            connect_timeout: capped(options.connect_timeout),
            first_byte_timeout: capped(options.first_byte_timeout),
            between_bytes_timeout: capped(options.between_bytes_timeout),
        };
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            let io: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send> = Box::new(io);
            Ok((response.map(BodyExt::boxed_unsync), io))
        })
    }
}

impl Server {
    /// Compiles the component (the compiled code is cached on disk) and
    /// binds the address. Must be called inside a tokio runtime.
    pub async fn bind(component: &[u8], options: ServeOptions) -> Result<Server, Error> {
        let listener = tokio::net::TcpListener::bind(options.addr)
            .await
            .map_err(|e| Error::Serve(format!("cannot listen on {}: {e}", options.addr)))?;
        Server::with_listener(component, listener, options)
    }

    /// Like [`Server::bind`], on a socket that is already listening, such
    /// as one shared by several processes that each accept from it
    /// (`options.addr` is not used). Must be called inside a tokio runtime.
    pub fn from_listener(
        component: &[u8],
        listener: std::net::TcpListener,
        options: ServeOptions,
    ) -> Result<Server, Error> {
        let not_usable = |e: std::io::Error| Error::Serve(format!("the listening socket is not usable: {e}"));
        listener.set_nonblocking(true).map_err(not_usable)?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(not_usable)?;
        Server::with_listener(component, listener, options)
    }

    fn with_listener(
        component: &[u8],
        listener: tokio::net::TcpListener,
        options: ServeOptions,
    ) -> Result<Server, Error> {
        let (engine, pre) = prepare(component, &options)?;
        let shared = Arc::new(Shared {
            pre,
            slots: Arc::new(tokio::sync::Semaphore::new(options.max_concurrent as usize)),
            _ticker: EpochTicker::start(&engine),
            http: Arc::new(options.http.clone()),
            options,
        });
        Ok(Server { listener, shared })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(|e| Error::Serve(e.to_string()))
    }

    /// Serves until `shutdown` completes, then stops accepting connections
    /// and waits (up to the request timeout) for the connections open at
    /// that moment: a request in flight gets its whole response, body
    /// included, and idle keep-alive connections are closed.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let mut shutdown = std::pin::pin!(shutdown);
        let (stopping, stop) = tokio::sync::watch::channel(false);
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    // Reap finished connections, so that the set holds only
                    // open ones however long the server runs.
                    while connections.try_join_next().is_some() {}
                    let (stream, _) = match accepted {
                        Ok(connection) => connection,
                        // Out of file descriptors and the like: the next
                        // accept may succeed.
                        Err(error) => {
                            eprintln!("pycomponent serve: accept failed: {error}");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let shared = self.shared.clone();
                    let mut stop = stop.clone();
                    connections.spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let shared = shared.clone();
                            async move { Ok::<_, Infallible>(shared.handle(request).await) }
                        });
                        let io = wasmtime_wasi_http::io::TokioIo::new(stream);
                        let connection = http1::Builder::new().keep_alive(true).serve_connection(io, service);
                        let mut connection = std::pin::pin!(connection);
                        // A client that goes away mid-request is not an error of ours.
                        tokio::select! {
                            _ = connection.as_mut() => return,
                            _ = stop.wait_for(|stopping| *stopping) => {}
                        }
                        // Finishes the response being written (its body
                        // too), then closes instead of keeping alive.
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.await;
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        let _ = stopping.send(true);
        let drained = async { while connections.join_next().await.is_some() {} };
        if tokio::time::timeout(self.shared.options.timeout, drained).await.is_err() {
            eprintln!(
                "pycomponent serve: {} connections still open after {:?}; closing them",
                connections.len(),
                self.shared.options.timeout
            );
        }
        Ok(())
    }
}

/// The engine for `options` and the component compiled for it (from the
/// on-disk cache when it holds it), linked and checked for the
/// `wasi:http/incoming-handler` export.
fn prepare(component: &[u8], options: &ServeOptions) -> Result<(Engine, ProxyPre<RequestState>), Error> {
    let limits = Limits {
        memory_bytes: options.memory_bytes,
        timeout: Some(options.timeout),
        max_instances: options.max_concurrent,
        ..Limits::default()
    };
    let engine = Engine::new(&engine_config(&limits)).map_err(Error::Engine)?;
    let digest = crate::compiled_cache::digest(component);
    let component =
        crate::compiled_cache::load_or_compile(&engine, component, &digest).map_err(Error::Compile)?;
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(Error::Engine)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(Error::Engine)?;
    let instance_pre = linker.instantiate_pre(&component).map_err(Error::Instantiate)?;
    let pre = ProxyPre::new(instance_pre).map_err(|e| {
        Error::InvalidInput(format!("the component does not export wasi:http/incoming-handler: {e:#}"))
    })?;
    Ok((engine, pre))
}

/// Checks that `component` can be served with `options`, and compiles it
/// into the on-disk cache of compiled components, so that processes started
/// afterwards to serve it ([`Server::from_listener`]) load it instead of
/// each compiling it.
pub fn precompile(component: &[u8], options: &ServeOptions) -> Result<(), Error> {
    prepare(component, options).map(drop)
}

impl Shared {
    /// Runs one request in a fresh instance; never fails: every problem is
    /// an HTTP error response, and the log line says what happened.
    async fn handle(
        self: &Arc<Self>,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> hyper::Response<HyperOutgoingBody> {
        let started = Instant::now();
        let (method, path) = (request.method().clone(), request.uri().path().to_string());
        let (response, note) = match self.slots.clone().acquire_owned().await {
            Ok(permit) => {
                match tokio::time::timeout(self.options.timeout, self.run_instance(request, permit)).await {
                    Ok(Ok(response)) => (response, String::new()),
                    Ok(Err(problem)) => problem.into_response(),
                    Err(_) => RequestProblem::Timeout(self.options.timeout).into_response(),
                }
            }
            Err(_) => RequestProblem::Internal("the server is shutting down".into()).into_response(),
        };
        if self.options.log_requests {
            eprintln!(
                "{method} {path} {} {:.1} ms{note}",
                response.status().as_u16(),
                started.elapsed().as_secs_f64() * 1e3
            );
        }
        response
    }

    async fn run_instance(
        self: &Arc<Self>,
        request: hyper::Request<hyper::body::Incoming>,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Result<hyper::Response<HyperOutgoingBody>, RequestProblem> {
        let state = RequestState {
            wasi: WasiCtx::builder().inherit_stdout().inherit_stderr().build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new().memory_size(self.options.memory_bytes).build(),
            hooks: OutgoingRequests { policy: self.http.clone(), sent: 0 },
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.limits);
        // Epoch checks yield to other requests on this thread, and stop the
        // instance at the timeout (the outer tokio timeout covers time spent
        // outside wasm, such as waiting for a slow client's body).
        let deadline = Instant::now() + self.options.timeout;
        store.epoch_deadline_callback(move |_| {
            Ok(if Instant::now() >= deadline { UpdateDeadline::Interrupt } else { UpdateDeadline::Yield(1) })
        });
        store.set_epoch_deadline(1);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .map_err(|e| RequestProblem::BadRequest(format!("{e:#}")))?;
        let out = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(|e| RequestProblem::Internal(format!("{e:#}")))?;
        let pre = self.pre.clone();
        let timeout = self.options.timeout;
        // Its own task: the guest may still be writing the body after it
        // has handed over the response. The slot is free again only when
        // the instance is gone, so that the pool always has room for it.
        let task = tokio::spawn(async move {
            let result = async {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy.wasi_http_incoming_handler().call_handle(&mut store, incoming, out).await
            }
            .await;
            drop(store);
            drop(permit);
            result
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => {
                Err(RequestProblem::Guest(format!("the component answered with error {code:?}")))
            }
            Err(_) => {
                let error = match task.await {
                    Ok(Ok(())) => return Err(RequestProblem::Guest("the component sent no response".into())),
                    Ok(Err(error)) => error,
                    Err(join) => {
                        return Err(RequestProblem::Internal(format!("the request task failed: {join}")));
                    }
                };
                Err(classify(error, timeout))
            }
        }
    }
}

/// Why a request got no response from the app.
enum RequestProblem {
    BadRequest(String),
    Timeout(Duration),
    Guest(String),
    Internal(String),
}

impl RequestProblem {
    /// The response to send and the note for the log line.
    fn into_response(self) -> (hyper::Response<HyperOutgoingBody>, String) {
        let (status, body, note) = match self {
            RequestProblem::BadRequest(why) => (400, "Bad Request\n".to_string(), why),
            RequestProblem::Timeout(limit) => {
                (504, "Gateway Timeout\n".to_string(), format!("request ran longer than {limit:?}"))
            }
            RequestProblem::Guest(why) => (500, "Internal Server Error\n".to_string(), why),
            RequestProblem::Internal(why) => (500, "Internal Server Error\n".to_string(), why),
        };
        let body = Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync();
        let response = hyper::Response::builder()
            .status(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(body)
            .expect("a static status and header are valid");
        (response, format!(" ({note})"))
    }
}

/// Turns the error of a failed instance into what the client is told. A
/// memory cap does not appear here: a denied `memory.grow` is a Python
/// `MemoryError`, which the app's 500 already reports; nor does a full
/// pool, since the semaphore admits no more requests than it has slots.
fn classify(error: wasmtime::Error, timeout: Duration) -> RequestProblem {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => RequestProblem::Timeout(timeout),
        _ => RequestProblem::Guest(format!(
            "the instance failed: {}",
            format!("{error:#}").lines().next().unwrap_or_default()
        )),
    }
}

/// Binds and serves `component` until Ctrl-C (SIGINT) or SIGTERM: the
/// whole of a one-process server once the component is at hand. Prints the
/// address when it listens. Requests run on a multi-threaded tokio runtime,
/// one thread per core.
///
/// On a machine with several cores, one process per core serves more
/// requests per second than one process with a thread per core (what
/// `pycomponent serve --workers` does, with [`serve_listener_until_stopped`]
/// in each process): a new instance writes to pages of its copy-on-write
/// memory image, and in a process whose threads run on several cores each
/// of those writes makes the kernel flush the other cores' TLBs.
pub fn serve_until_ctrl_c(component: &[u8], options: ServeOptions) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Serve(format!("starting the tokio runtime: {e}")))?;
    runtime.block_on(async {
        let server = Server::bind(component, options).await?;
        eprintln!("pycomponent serve: listening on http://{}/ (Ctrl-C stops)", server.local_addr()?);
        server
            .run(async {
                stop_signal().await;
                eprintln!("pycomponent serve: shutting down; waiting for requests in flight");
            })
            .await
    })
}

/// Serves `component` on `listener`, a socket already listening (which
/// other processes may accept from too), on this thread alone, until
/// SIGINT or SIGTERM; then finishes the requests in flight. Prints nothing
/// but the request log.
pub fn serve_listener_until_stopped(
    component: &[u8],
    listener: std::net::TcpListener,
    options: ServeOptions,
) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Serve(format!("starting the tokio runtime: {e}")))?;
    runtime.block_on(async {
        let server = Server::from_listener(component, listener, options)?;
        server.run(stop_signal()).await
    })
}

/// Completes at Ctrl-C, or at SIGTERM (how process managers and
/// containers ask a server to stop).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
