//! The `pycomponent` command-line tool: Python in the sandbox of the component.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use pycomponent::cloudflare;
use pycomponent::python_wasm::{PythonWasm, Run};
use pycomponent::{
    Error, HostModules, HttpPolicy, Instance, Limits, Mount, Output, PythonError, Runtime, Value,
};

mod serve_workers;

/// Run Python inside WebAssembly. Code runs in a sandbox that grants no
/// files, no network and no environment.
#[derive(Debug, Parser)]
#[command(name = "pycomponent", version, about)]
struct Cli {
    #[command(flatten)]
    sandbox: SandboxArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate an expression and print its value (`repr()`, or JSON with --json).
    Eval {
        /// The expression.
        expression: String,
        /// Print the value as JSON; fails for values JSON cannot hold losslessly.
        #[arg(long)]
        json: bool,
    },
    /// Execute statements.
    Exec {
        /// The code.
        code: String,
    },
    /// Run a script: `sys.argv` is the script name and ARGS, the exit status
    /// comes from `SystemExit` (1 after an uncaught exception).
    Run {
        #[command(flatten)]
        script: ScriptArgs,
    },
    /// Read Python from stdin, line by line, like the interactive interpreter
    /// (`exit()` or `raise SystemExit(N)` ends it with that status).
    Repl,
    /// Build a Python web app into a wasi:http component: APP is a .py file
    /// or a package directory defining `app` (an ASGI application, e.g.
    /// Starlette or FastAPI, or a WSGI one, e.g. Flask) or
    /// `handle(request)`. The app and its pure-Python requirements
    /// are imported while the component is built, so requests start with
    /// them loaded; native requirements come from a core that carries them
    /// (numpy, pydantic-core: see --http-core). The result runs under
    /// `pycomponent serve`, `wasmtime serve` and other wasi:http hosts;
    /// with `--target cloudflare`, a Cloudflare Worker directory (for
    /// `wrangler deploy` or `workerd serve`, see docs/EDGE.md).
    Build {
        /// The app: a .py file or a package directory.
        app: PathBuf,
        /// A pip requirements file; every package must ship a pure-Python wheel.
        #[arg(long, short = 'r')]
        requirements: Option<PathBuf>,
        /// What to write: a wasi:http component, or a Cloudflare Worker
        /// (needs Node.js: jco turns the component into JavaScript).
        #[arg(long, value_enum, default_value_t = Target::WasiHttp)]
        target: Target,
        /// Where to write the component (default app.wasm), or the Worker's
        /// directory (default worker/).
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
        #[command(flatten)]
        app_args: AppArgs,
    },
    /// Serve a wasi:http component (or a Python app, built first) over
    /// HTTP/1.1, with a fresh instance per request. Ctrl-C stops it after
    /// the requests in flight.
    Serve {
        /// A component (.wasm) or a Python app (.py file or package directory).
        app: PathBuf,
        /// The address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// How many requests run at once, over all workers; more wait.
        #[arg(long, default_value_t = 100)]
        concurrency: u32,
        /// Server processes, each running requests on one thread, all
        /// accepting from the same socket. Default: one per core.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
        workers: Option<u32>,
        /// Internal: run as one of the worker processes, serving this
        /// component file on the socket given as standard input.
        #[arg(long = "worker-component", hide = true)]
        worker_component: Option<PathBuf>,
        /// No log line per request.
        #[arg(long)]
        quiet: bool,
        /// With a Python app: its pip requirements file.
        #[arg(long, short = 'r')]
        requirements: Option<PathBuf>,
        #[command(flatten)]
        app_args: AppArgs,
    },
    /// Run a script with CPython's own python.wasm (the baseline interpreter,
    /// not the component). The guest gets the standard library and the
    /// script's directory, read-only, and nothing else unless granted.
    PythonWasm {
        /// A `cargo xtask cpython` output directory.
        #[arg(long, default_value = "target/cpython")]
        cpython: PathBuf,
        #[command(flatten)]
        script: ScriptArgs,
    },
}

/// A script and its arguments, as `python3` takes them: everything after
/// the script is the script's (`sys.argv[1:]`), options included.
#[derive(Debug, Args)]
struct ScriptArgs {
    /// The script (read on the host), then its arguments.
    #[arg(
        value_name = "SCRIPT [ARGS]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    script_and_args: Vec<String>,
}

impl ScriptArgs {
    fn script(&self) -> &Path {
        Path::new(&self.script_and_args[0])
    }

    fn args(&self) -> &[String] {
        &self.script_and_args[1..]
    }
}

/// Where the component comes from and the limits of the sandbox. These
/// options go before or after the subcommand; one that a subcommand does
/// not use is refused rather than ignored.
#[derive(Debug, Args)]
struct SandboxArgs {
    /// The component file. Default: the one built into this binary, if any,
    /// else target/component/pycomponent.wasm.
    #[arg(long, global = true, env = "PYCOMPONENT_COMPONENT")]
    component: Option<PathBuf>,
    /// Stop a call (with serve: a request, answered 504) after this many
    /// seconds; 0: no limit (not for serve). Default: 30.
    #[arg(long, global = true)]
    timeout: Option<f64>,
    /// Memory cap of the interpreter (with serve: of each request's
    /// instance), in MiB. Default: 256.
    #[arg(long, global = true)]
    memory: Option<usize>,
    /// Grant a host directory: HOST:GUEST (read-write) or HOST:GUEST:ro.
    #[arg(long = "mount", global = true, value_name = "HOST:GUEST[:ro]")]
    mounts: Vec<String>,
    /// Install a pure-Python wheel (.whl) into the interpreter before the
    /// code runs, in memory (repeat for its dependencies).
    #[arg(long = "wheel", global = true, value_name = "FILE")]
    wheels: Vec<PathBuf>,
    /// Copy a host file into the interpreter's in-memory file system before
    /// the code runs: HOST:GUEST (missing directories above GUEST are made;
    /// a relative GUEST is taken from the home directory, /home/user).
    #[arg(long = "file", global = true, value_name = "HOST:GUEST")]
    files: Vec<String>,
    /// Allow outgoing HTTP requests to SCHEME://HOST[:PORT] (repeat for
    /// more): `https://api.example.com` (default port), `http://127.0.0.1:*`,
    /// `https://*.example.org:8443` (subdomains), `*://*:*` (everything).
    /// None is allowed by default.
    #[arg(long = "allow-http", global = true, value_name = "PATTERN")]
    allow_http: Vec<String>,
}

/// How an app is built (`build`, and `serve` of a Python app).
#[derive(Debug, Args)]
struct AppArgs {
    /// The largest request body the app accepts, in bytes (larger: 413).
    #[arg(long, default_value_t = pycomponent::app::DEFAULT_MAX_BODY)]
    max_body: u64,
    /// Take requirements' wheels with native code without their extension
    /// modules, for packages that fall back to pure Python (MarkupSafe).
    #[arg(long)]
    drop_native_code: bool,
    /// The HTTP core module apps are built from; repeated, the first that
    /// carries the native packages the requirements need (numpy's core,
    /// `pycomponent-numpy-http-core.wasm`). Default: the one built into
    /// this binary, if any, else target/component/pycomponent-http-core.wasm;
    /// then the variants' cores in target/component.
    #[arg(long, env = "PYCOMPONENT_HTTP_CORE", value_delimiter = ',')]
    http_core: Vec<PathBuf>,
}

/// Where `cargo xtask component` writes the HTTP core modules.
const CORE_DIR: &str = "target/component";

impl AppArgs {
    /// The core modules to build from, in order of preference; the
    /// variants' cores only `with_variants` (an app with requirements).
    fn cores(&self, with_variants: bool) -> Result<Vec<Vec<u8>>, Error> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
        };
        if !self.http_core.is_empty() {
            return self.http_core.iter().map(|path| read(path)).collect();
        }
        let dir = Path::new(CORE_DIR);
        let mut cores = match EMBEDDED_HTTP_CORE {
            Some(bytes) => vec![bytes.to_vec()],
            None => vec![read(&dir.join("pycomponent-http-core.wasm")).map_err(|_| {
                Error::InvalidInput(
                    "no HTTP core module: pass --http-core, or build it with `cargo xtask component`".into(),
                )
            })?],
        };
        if !with_variants {
            return Ok(cores);
        }
        // The variants' cores (`cargo xtask component --variant NAME`).
        let mut variants: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                name.starts_with("pycomponent-")
                    && name.ends_with("-http-core.wasm")
                    && name != "pycomponent-http-core.wasm"
            })
            .collect();
        variants.sort();
        for path in variants {
            cores.push(read(&path)?);
        }
        Ok(cores)
    }

    fn build(&self, app: &Path, requirements: Option<&Path>) -> Result<Vec<u8>, Error> {
        let cores = self.cores(requirements.is_some())?;
        let cores: Vec<&[u8]> = cores.iter().map(Vec::as_slice).collect();
        let source = pycomponent::app::AppSource {
            app: app.to_path_buf(),
            requirements: requirements.map(Path::to_path_buf),
            max_body: self.max_body,
            drop_native_code: self.drop_native_code,
        };
        let started = std::time::Instant::now();
        let component = pycomponent::app::build_on(&cores, &source, &mut |step| {
            eprintln!("==> {step} [{:.1} s]", started.elapsed().as_secs_f64());
        })?;
        eprintln!(
            "==> built in {:.1} s: {:.2} MB",
            started.elapsed().as_secs_f64(),
            component.len() as f64 / 1e6
        );
        Ok(component)
    }
}

/// What `pycomponent build` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Target {
    /// A `wasi:http` component (`pycomponent serve`, `wasmtime serve`,
    /// Fastly Compute, Spin).
    WasiHttp,
    /// A Cloudflare Worker directory: ES modules, Wasm modules,
    /// wrangler.toml and workerd.capnp.
    Cloudflare,
}

fn build(
    app: &Path,
    requirements: Option<&Path>,
    target: Target,
    output: Option<&Path>,
    app_args: &AppArgs,
    sandbox: &SandboxArgs,
) -> Result<u8, Error> {
    match target {
        // The component's own host decides what goes out.
        Target::WasiHttp if !sandbox.allow_http.is_empty() => {
            return Err(Error::InvalidInput(
                "`build` takes --allow-http only with --target cloudflare: a wasi:http component's host \
                 decides what it may request (`pycomponent serve --allow-http`)"
                    .into(),
            ));
        }
        Target::WasiHttp => sandbox.check_used_by("build", &[])?,
        // The Worker is its own host: the grants are built into it.
        Target::Cloudflare => sandbox.check_used_by("build --target cloudflare", &["allow-http"])?,
    }
    let component = app_args.build(app, requirements)?;
    if target == Target::WasiHttp {
        let output = output.unwrap_or(Path::new("app.wasm"));
        std::fs::write(output, &component)
            .map_err(|e| Error::Build(format!("writing {}: {e}", output.display())))?;
        eprintln!("==> wrote {}", output.display());
        return Ok(0);
    }
    let dir = output.unwrap_or(Path::new("worker"));
    let stem = app.file_stem().unwrap_or_default().to_string_lossy();
    let options = cloudflare::WorkerOptions {
        name: cloudflare::worker_name(&stem),
        http: sandbox.http_policy()?,
        jco: None,
    };
    let worker = cloudflare::write(&component, dir, &options, &mut |step| eprintln!("==> {step}"))?;
    let size = worker.upload_bytes();
    eprintln!(
        "==> wrote the Worker into {}: {} modules, {:.1} MB to upload (Cloudflare's limit: {} MiB uncompressed)",
        dir.display(),
        worker.modules.len(),
        size as f64 / 1e6,
        cloudflare::SIZE_LIMIT >> 20
    );
    if size > cloudflare::SIZE_LIMIT {
        eprintln!("==> warning: the Worker is larger than Cloudflare accepts; deploying it will fail");
    }
    if !worker.wrote_wrangler_toml {
        eprintln!("==> kept the existing {}", dir.join("wrangler.toml").display());
    }
    eprintln!(
        "==> run it locally: npx workerd serve {} -s http=127.0.0.1:8787; deploy: cd {} && npx wrangler deploy",
        dir.join("workerd.capnp").display(),
        dir.display()
    );
    Ok(0)
}

/// How `pycomponent serve` was asked to serve.
struct Server {
    addr: std::net::SocketAddr,
    concurrency: u32,
    workers: u32,
    quiet: bool,
}

fn serve(
    app: &Path,
    server: &Server,
    worker_component: Option<&Path>,
    requirements: Option<&Path>,
    app_args: &AppArgs,
    sandbox: &SandboxArgs,
) -> Result<u8, Error> {
    sandbox.check_used_by("serve", &["timeout", "memory", "allow-http"])?;
    let timeout = sandbox.timeout_seconds();
    if !(timeout > 0.0 && timeout.is_finite()) {
        return Err(Error::InvalidInput("--timeout must be a positive number of seconds".into()));
    }
    let options = pycomponent::serve::ServeOptions {
        addr: server.addr,
        timeout: Duration::from_secs_f64(timeout),
        memory_bytes: sandbox.memory_bytes(),
        // Each worker's share, so that the total stays as asked.
        max_concurrent: server.concurrency.div_ceil(server.workers).max(1),
        log_requests: !server.quiet,
        http: sandbox.http_policy()?,
    };
    if let Some(component) = worker_component {
        serve_workers::run_worker(component, options)?;
        return Ok(0);
    }
    let is_component = app.extension().is_some_and(|e| e == "wasm");
    let component = if is_component {
        std::fs::read(app).map_err(|source| Error::Io { path: app.to_path_buf(), source })?
    } else {
        app_args.build(app, requirements)?
    };
    serve_workers::serve(&component, !is_component, app, server.workers, &options)?;
    Ok(0)
}

/// The HTTP core module built into this binary by `cargo xtask cli`, if it was.
#[cfg(embedded_component)]
const EMBEDDED_HTTP_CORE: Option<&[u8]> = Some(include_bytes!(env!("PYCOMPONENT_EMBED_HTTP_CORE_PATH")));
#[cfg(not(embedded_component))]
const EMBEDDED_HTTP_CORE: Option<&[u8]> = None;

/// The stdlib sources built into this binary by `cargo xtask cli`, if they were.
#[cfg(embedded_sources)]
const EMBEDDED_SOURCES: Option<&[u8]> = Some(include_bytes!(env!("PYCOMPONENT_EMBED_SOURCES_PATH")));
#[cfg(not(embedded_sources))]
const EMBEDDED_SOURCES: Option<&[u8]> = None;

/// The component built into this binary by `cargo xtask cli`, if it was.
#[cfg(embedded_component)]
const EMBEDDED: Option<(&[u8], &str)> =
    Some((include_bytes!(env!("PYCOMPONENT_EMBED_PATH")), env!("PYCOMPONENT_EMBED_SHA256")));
#[cfg(not(embedded_component))]
const EMBEDDED: Option<(&[u8], &str)> = None;

/// The 32 bytes of a SHA-256 given as 64 hex digits (computed by build.rs).
fn digest_from_hex(hex: &str) -> [u8; 32] {
    let mut digest = [0; 32];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("build.rs writes hex");
    }
    digest
}

impl SandboxArgs {
    /// The call timeout in seconds: the option's value, or 30.
    fn timeout_seconds(&self) -> f64 {
        self.timeout.unwrap_or(30.0)
    }

    /// The memory cap in bytes: the option's value in MiB, or 256 MiB.
    fn memory_bytes(&self) -> usize {
        self.memory.unwrap_or(256) << 20
    }

    /// Refuses the options `subcommand` has no use for; `uses` names those
    /// it takes ("timeout", "memory", "mount", "wheel", "file", "allow-http").
    fn check_used_by(&self, subcommand: &str, uses: &[&str]) -> Result<(), Error> {
        // --component may come from PYCOMPONENT_COMPONENT, which is
        // meant for every command: it is not refused.
        let given = [
            ("timeout", self.timeout.is_some()),
            ("memory", self.memory.is_some()),
            ("mount", !self.mounts.is_empty()),
            ("wheel", !self.wheels.is_empty()),
            ("file", !self.files.is_empty()),
            ("allow-http", !self.allow_http.is_empty()),
        ];
        match given.iter().find(|(name, is_given)| *is_given && !uses.contains(name)) {
            Some((name, _)) => Err(Error::InvalidInput(format!("`{subcommand}` does not take --{name}"))),
            None => Ok(()),
        }
    }

    /// The stdlib sources that give tracebacks their library lines: built
    /// into this binary with the component, or `python311.zip` beside the
    /// component file. None if there are none (tracebacks then show paths
    /// and line numbers only).
    fn stdlib_sources(&self) -> Option<std::borrow::Cow<'static, [u8]>> {
        if let (None, Some(bytes)) = (&self.component, EMBEDDED_SOURCES) {
            return Some(std::borrow::Cow::Borrowed(bytes));
        }
        let component = match (&self.component, EMBEDDED) {
            (Some(path), _) => path.clone(),
            (None, Some(_)) => return None,
            (None, None) => PathBuf::from("target/component/pycomponent.wasm"),
        };
        std::fs::read(component.with_file_name(pycomponent::sources::FILE_NAME))
            .ok()
            .map(std::borrow::Cow::Owned)
    }

    /// The grants of `--allow-http`.
    fn http_policy(&self) -> Result<HttpPolicy, Error> {
        self.allow_http.iter().try_fold(HttpPolicy::deny_all(), |policy, pattern| policy.allow(pattern))
    }

    /// The one instance of this process. It is leaked on purpose: at exit
    /// the OS reclaims its memory at once, where dropping it would first
    /// reset the pool slot and unmap the engine (about a millisecond).
    fn instance(&self) -> Result<&'static mut Instance, Error> {
        self.instance_with(None)
    }

    /// [`SandboxArgs::instance`], granted `extra` after the `--mount`s.
    fn instance_with(&self, extra: Option<Mount>) -> Result<&'static mut Instance, Error> {
        let timeout = self.timeout_seconds();
        if !(timeout >= 0.0 && timeout.is_finite()) {
            return Err(Error::InvalidInput("--timeout must be a number of seconds, 0 or more".into()));
        }
        let limits = Limits {
            memory_bytes: self.memory_bytes(),
            timeout: (timeout > 0.0).then(|| Duration::from_secs_f64(timeout)),
            max_instances: 1,
            ..Limits::default()
        };
        let runtime = match (&self.component, EMBEDDED) {
            (Some(path), _) => Runtime::with_limits(path, limits)?,
            (None, Some((bytes, sha256))) => {
                Runtime::from_bytes_with_digest(bytes, &digest_from_hex(sha256), limits)?
            }
            (None, None) => Runtime::with_limits(Path::new("target/component/pycomponent.wasm"), limits)
                .map_err(|e| match e {
                    Error::Io { .. } => Error::InvalidInput(
                        "no component: pass --component, or build one with `cargo xtask component`".into(),
                    ),
                    other => other,
                })?,
        };
        let runtime = match self.stdlib_sources() {
            Some(zip) => runtime.with_stdlib_sources(&zip)?,
            None => runtime,
        };
        let runtime = runtime.with_http_policy(self.http_policy()?);
        let mut mounts = self.mounts.iter().map(|m| parse_mount(m)).collect::<Result<Vec<_>, _>>()?;
        mounts.extend(extra);
        let py = Box::leak(Box::new(runtime.instantiate_with_mounts(HostModules::new(), &mounts)?));
        for path in &self.wheels {
            let wheel = std::fs::read(path).map_err(|source| Error::Io { path: path.clone(), source })?;
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let reply = py.install_wheel(&wheel, &name)?;
            print_output(&reply.output);
            if let Err(error) = reply.result {
                return Err(Error::InvalidInput(format!("--wheel: {}", error.message)));
            }
        }
        for spec in &self.files {
            place_file(py, spec)?;
        }
        Ok(py)
    }
}

/// `--file HOST:GUEST`: copies the host file to GUEST, making the
/// directories above it.
fn place_file(py: &mut Instance, spec: &str) -> Result<(), Error> {
    let Some((host, guest)) = spec.split_once(':').filter(|(h, g)| !h.is_empty() && !g.is_empty()) else {
        return Err(Error::InvalidInput(format!("--file {spec:?}: expected HOST:GUEST")));
    };
    let data = std::fs::read(host).map_err(|source| Error::Io { path: host.into(), source })?;
    let context = |error: Error| Error::InvalidInput(format!("--file {spec:?}: {error}"));
    if let Some((parent, _)) = guest.rsplit_once('/').filter(|(parent, _)| !parent.is_empty()) {
        py.create_dir_all(parent).map_err(context)?;
    }
    py.write_file(guest, &data).map_err(context)
}

/// `HOST:GUEST`, `HOST:GUEST:ro` or `HOST:GUEST:rw`.
fn parse_mount(spec: &str) -> Result<Mount, Error> {
    let bad = || Error::InvalidInput(format!("--mount {spec:?}: expected HOST:GUEST or HOST:GUEST:ro"));
    let (rest, writable) = match spec.rsplit_once(':') {
        Some((rest, "ro")) => (rest, false),
        Some((rest, "rw")) => (rest, true),
        _ => (spec, true),
    };
    let (host, guest) = rest.split_once(':').ok_or_else(bad)?;
    if host.is_empty() || !guest.starts_with('/') || guest.contains(':') {
        return Err(bad());
    }
    Ok(Mount { host: host.into(), guest: guest.into(), writable })
}

fn print_output(output: &Output) {
    print!("{}", output.stdout);
    eprint!("{}", output.stderr);
    let _ = std::io::stdout().flush();
}

/// How code run as CPython's command line runs it ended.
enum MainOutcome {
    /// It finished, with this value (None for statements).
    Value(Value),
    /// It raised `SystemExit`: the process ends with this status (a
    /// message for a non-integer code is already in the output).
    Exit(u8),
    /// Another exception: its traceback is printed and the status is 1.
    Raised(PythonError),
}

/// Runs code through `_pycomponent.run_main` (see bootstrap.py), which
/// turns `SystemExit` into an exit status by CPython's rules, and prints
/// what the code printed.
fn run_main(
    py: &mut Instance,
    mode: &str,
    source: &str,
    filename: &str,
    argv: &[&str],
) -> Result<MainOutcome, Error> {
    let argv = Value::List(argv.iter().map(|&a| Value::from(a)).collect());
    let reply =
        py.call("_pycomponent.run_main", &[mode.into(), source.into(), filename.into(), argv], &[])?;
    print_output(&reply.output);
    Ok(match reply.result {
        Ok(Value::Tuple(pair)) => match <[Value; 2]>::try_from(pair) {
            Ok([Value::None, value]) => MainOutcome::Value(value),
            Ok([Value::Int(status), _]) => MainOutcome::Exit((status & 0xff) as u8),
            other => return Err(Error::InvalidInput(format!("run_main gave {other:?}"))),
        },
        Ok(other) => return Err(Error::InvalidInput(format!("run_main gave {other}"))),
        Err(error) => MainOutcome::Raised(error),
    })
}

/// A value as Python's `repr()` shows it: formatted here for plain data,
/// by Python when it holds live objects (a `datetime.date`, a function).
fn shown(py: &mut Instance, value: Value) -> Result<String, Error> {
    fn holds_objects(value: &Value) -> bool {
        match value {
            Value::Object(_) | Value::HostObject(_) => true,
            Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
                items.iter().any(holds_objects)
            }
            Value::Dict(pairs) => pairs.iter().any(|(k, v)| holds_objects(k) || holds_objects(v)),
            _ => false,
        }
    }
    if !holds_objects(&value) {
        return Ok(value.to_string());
    }
    let reply = py.call("repr", &[value], &[])?;
    print_output(&reply.output);
    match reply.result {
        Ok(Value::Str(text)) => Ok(text),
        Ok(other) => Ok(other.to_string()),
        Err(error) => Ok(format!("<repr failed: {error}>")),
    }
}

/// The exit status of a script or `-c` code that ended this way.
fn exit_status(outcome: MainOutcome) -> u8 {
    match outcome {
        MainOutcome::Value(_) => 0,
        MainOutcome::Exit(status) => status,
        MainOutcome::Raised(error) => {
            eprint!("{}", error.traceback);
            1
        }
    }
}

fn eval(expression: &str, json: bool, sandbox: &SandboxArgs) -> Result<u8, Error> {
    let py = sandbox.instance()?;
    match run_main(py, "eval", expression, "<string>", &["-c"])? {
        MainOutcome::Value(value) if json => match value.to_json() {
            Ok(json) => {
                println!("{json}");
                Ok(0)
            }
            Err(e) => {
                eprintln!("pycomponent: {e}");
                Ok(1)
            }
        },
        MainOutcome::Value(value) => {
            println!("{}", shown(py, value)?);
            Ok(0)
        }
        ended => Ok(exit_status(ended)),
    }
}

/// Like `python -c CODE`: `sys.argv` is `['-c']`.
fn exec(code: &str, sandbox: &SandboxArgs) -> Result<u8, Error> {
    let py = sandbox.instance()?;
    Ok(exit_status(run_main(py, "command", code, "<string>", &["-c"])?))
}

/// Like `python3 DIR/main.py ARGS`: the script's directory is granted
/// read-only at its own absolute path and goes first on `sys.path`, so the
/// script imports the modules and packages beside it; `__file__` and
/// tracebacks name the absolute path, `sys.argv[0]` the path as given.
fn run(script: &Path, args: &[String], sandbox: &SandboxArgs) -> Result<u8, Error> {
    let io_error = |source| Error::Io { path: script.to_path_buf(), source };
    let source = std::fs::read_to_string(script).map_err(io_error)?;
    let absolute = std::fs::canonicalize(script).map_err(io_error)?;
    let (Some(dir), Some(path)) = (absolute.parent(), absolute.to_str()) else {
        return Err(Error::InvalidInput(format!("{}: the script's path is not UTF-8", script.display())));
    };
    if dir.parent().is_none() {
        return Err(Error::InvalidInput(format!(
            "{}: `run` grants the script's directory to the sandbox, and will not grant {}",
            script.display(),
            dir.display()
        )));
    }
    let dir_mount = Mount { host: dir.to_path_buf(), guest: dir.display().to_string(), writable: false };
    let given = script.display().to_string();
    let argv: Vec<&str> = std::iter::once(given.as_str()).chain(args.iter().map(String::as_str)).collect();
    let py = sandbox.instance_with(Some(dir_mount))?;
    Ok(exit_status(run_main(py, "script", &source, path, &argv)?))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let sandbox = &cli.sandbox;
    let result = match &cli.command {
        Command::Eval { expression, json } => eval(expression, *json, sandbox),
        Command::Exec { code } => exec(code, sandbox),
        Command::Run { script } => run(script.script(), script.args(), sandbox),
        Command::Repl => repl(sandbox),
        Command::Build { app, requirements, target, output, app_args } => {
            build(app, requirements.as_deref(), *target, output.as_deref(), app_args, sandbox)
        }
        Command::Serve {
            app,
            addr,
            concurrency,
            workers,
            worker_component,
            quiet,
            requirements,
            app_args,
        } => {
            // No more workers than requests may run at once: each runs one at least.
            let workers = workers.unwrap_or_else(serve_workers::default_count).min((*concurrency).max(1));
            let server = Server { addr: *addr, concurrency: *concurrency, workers, quiet: *quiet };
            serve(app, &server, worker_component.as_deref(), requirements.as_deref(), app_args, sandbox)
        }
        Command::PythonWasm { cpython, script } => sandbox
            .check_used_by("python-wasm", &["mount"])
            .and_then(|()| python_wasm(cpython, &sandbox.mounts, script.script(), script.args())),
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            eprintln!("pycomponent: {err}");
            ExitCode::from(2)
        }
    }
}

fn repl(sandbox: &SandboxArgs) -> Result<u8, Error> {
    let py = sandbox.instance()?;
    let interactive = std::io::stdin().is_terminal();
    let prompt = |text: &str| {
        if interactive {
            eprint!("{text}");
        }
    };
    let mut block = String::new();
    prompt(">>> ");
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|source| Error::Io { path: "<stdin>".into(), source })?;
        let continues = !block.is_empty() || line.trim_end().ends_with(':');
        if continues && !line.trim().is_empty() {
            block.push_str(&line);
            block.push('\n');
            prompt("... ");
            continue;
        }
        let code = if block.is_empty() { line } else { std::mem::take(&mut block) };
        if !code.trim().is_empty()
            && let Some(status) = run_interactive(py, &code)?
        {
            return Ok(status);
        }
        prompt(">>> ");
    }
    if !block.is_empty()
        && let Some(status) = run_interactive(py, &block)?
    {
        return Ok(status);
    }
    Ok(0)
}

/// One interactive input: statements run, and the value of a final
/// expression is printed (unless None); exceptions print their traceback.
/// `SystemExit` (`exit()`, `sys.exit(3)`) ends the session with its status.
fn run_interactive(py: &mut Instance, code: &str) -> Result<Option<u8>, Error> {
    match run_main(py, "run", code, "<string>", &[""])? {
        MainOutcome::Value(Value::None) => {}
        MainOutcome::Value(value) => println!("{}", shown(py, value)?),
        MainOutcome::Exit(status) => return Ok(Some(status)),
        MainOutcome::Raised(error) => eprint!("{}", error.traceback),
    }
    Ok(None)
}

fn python_wasm(cpython: &Path, mounts: &[String], script: &Path, args: &[String]) -> Result<u8, Error> {
    let mut run = Run::script(script, args.iter().cloned())?.inherit_stdio(true);
    for spec in mounts {
        run = run.mount(parse_mount(spec)?);
    }
    let output = PythonWasm::from_build(cpython)?.run(&run)?;
    Ok(u8::try_from(output.exit_code).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_specs() {
        let m = parse_mount("data:/data").unwrap();
        assert_eq!((m.host, m.guest.as_str(), m.writable), (PathBuf::from("data"), "/data", true));
        assert!(!parse_mount("data:/data:ro").unwrap().writable);
        assert!(parse_mount("data:/data:rw").unwrap().writable);
        assert!(parse_mount("data:relative").is_err());
        assert!(parse_mount("data").is_err());
        assert!(parse_mount("a:/b:rwx").is_err(), "an unknown mode is not part of the guest path");
    }

    #[test]
    fn sandbox_options_go_before_or_after_the_subcommand() {
        for args in [
            &["pycomponent", "--timeout", "2", "--memory", "64", "exec", "pass"][..],
            &["pycomponent", "exec", "--timeout", "2", "--memory", "64", "pass"],
            &["pycomponent", "--timeout", "2", "exec", "--memory", "64", "pass"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!((cli.sandbox.timeout, cli.sandbox.memory), (Some(2.0), Some(64)), "{args:?}");
        }
        let cli =
            Cli::try_parse_from(["pycomponent", "--mount", "d:/d", "run", "x.py", "--timeout", "3"]).unwrap();
        assert_eq!(cli.sandbox.mounts, ["d:/d"]);
        assert_eq!(cli.sandbox.timeout, None, "after the script, options are the script's arguments");
        let Command::Run { script } = &cli.command else { panic!("{:?}", cli.command) };
        assert_eq!(
            (script.script(), script.args()),
            (Path::new("x.py"), &["--timeout".into(), "3".into()][..])
        );
        assert!(Cli::try_parse_from(["pycomponent", "run"]).is_err(), "a script is required");
    }

    #[test]
    fn options_a_subcommand_does_not_use_are_refused() {
        let cli = Cli::try_parse_from(["pycomponent", "--mount", "d:/d", "serve", "app.wasm"]).unwrap();
        let err = cli.sandbox.check_used_by("serve", &["timeout", "memory"]).unwrap_err();
        assert_eq!(err.to_string(), "`serve` does not take --mount");
        let cli = Cli::try_parse_from(["pycomponent", "serve", "app.wasm", "--timeout", "5"]).unwrap();
        assert!(cli.sandbox.check_used_by("serve", &["timeout", "memory"]).is_ok());
        assert_eq!(cli.sandbox.timeout_seconds(), 5.0);
        let cli = Cli::try_parse_from(["pycomponent", "build", "app.py", "--memory", "64"]).unwrap();
        assert!(cli.sandbox.check_used_by("build", &[]).is_err());
    }

    #[test]
    fn only_the_cloudflare_target_takes_http_grants() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).unwrap();
        let cli = parse(&["pycomponent", "build", "app.py", "--allow-http", "https://api.example.com"]);
        let Command::Build { app, requirements, target, output, app_args } = &cli.command else {
            unreachable!()
        };
        assert_eq!(*target, Target::WasiHttp);
        let err = build(app, requirements.as_deref(), *target, output.as_deref(), app_args, &cli.sandbox)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only with --target cloudflare"), "{err}");
        let cli = parse(&["pycomponent", "build", "app.py", "--target", "cloudflare", "--timeout", "3"]);
        let Command::Build { app, requirements, target, output, app_args } = &cli.command else {
            unreachable!()
        };
        let err = build(app, requirements.as_deref(), *target, output.as_deref(), app_args, &cli.sandbox)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "`build --target cloudflare` does not take --timeout");
    }
}
