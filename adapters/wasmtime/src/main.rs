//! The `pycomponent` command-line tool: Python in the sandbox of the component.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use pycomponent::python_wasm::{Mount, PythonWasm, Run};
use pycomponent::{Error, HostModules, Instance, Limits, Output, PythonError, Runtime, Value};

/// Run Python inside WebAssembly. Code runs in a sandbox that grants no
/// files, no network and no environment.
#[derive(Debug, Parser)]
#[command(name = "pycomponent", version, about)]
struct Cli {
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
        #[command(flatten)]
        sandbox: SandboxArgs,
    },
    /// Execute statements.
    Exec {
        /// The code.
        code: String,
        #[command(flatten)]
        sandbox: SandboxArgs,
    },
    /// Run a script: `sys.argv` is the script name and ARGS, the exit status
    /// comes from `SystemExit` (1 after an uncaught exception).
    Run {
        /// The script (read on the host; the sandbox gets its text).
        script: PathBuf,
        /// Arguments for the script (`sys.argv[1:]`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
        #[command(flatten)]
        sandbox: SandboxArgs,
    },
    /// Read Python from stdin, line by line, like the interactive interpreter.
    Repl {
        #[command(flatten)]
        sandbox: SandboxArgs,
    },
    /// Build a Python web app into a wasi:http component: APP is a .py file
    /// or a package directory defining `app` (a WSGI application, e.g.
    /// Flask) or `handle(request)`. The app and its pure-Python requirements
    /// are imported while the component is built, so requests start with
    /// them loaded. The result runs under `pycomponent serve`, `wasmtime
    /// serve` and other wasi:http hosts.
    Build {
        /// The app: a .py file or a package directory.
        app: PathBuf,
        /// A pip requirements file; every package must ship a pure-Python wheel.
        #[arg(long, short = 'r')]
        requirements: Option<PathBuf>,
        /// Where to write the component.
        #[arg(long, short = 'o', default_value = "app.wasm")]
        output: PathBuf,
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
        /// Stop a request after this many seconds and answer 504.
        #[arg(long, default_value_t = 30.0)]
        timeout: f64,
        /// Memory cap of each request's instance, in MiB.
        #[arg(long, default_value_t = 256)]
        memory: usize,
        /// How many requests run at once; more wait.
        #[arg(long, default_value_t = 100)]
        concurrency: u32,
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
        /// Grant a host directory: HOST:GUEST (read-write) or HOST:GUEST:ro.
        #[arg(long = "mount", value_name = "HOST:GUEST[:ro]")]
        mounts: Vec<String>,
        /// The script to run.
        script: PathBuf,
        /// Arguments for the script (`sys.argv[1:]`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Where the component comes from and the limits of the sandbox.
#[derive(Debug, Args)]
struct SandboxArgs {
    /// The component file. Default: the one built into this binary, if any,
    /// else target/component/pycomponent.wasm.
    #[arg(long, env = "PYCOMPONENT_COMPONENT")]
    component: Option<PathBuf>,
    /// Stop a call after this many seconds (0: no limit).
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Memory cap of the interpreter, in MiB.
    #[arg(long, default_value_t = 256)]
    memory: usize,
    /// Grant a host directory: HOST:GUEST (read-write) or HOST:GUEST:ro.
    #[arg(long = "mount", value_name = "HOST:GUEST[:ro]")]
    mounts: Vec<String>,
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
    /// The HTTP core module apps are built from. Default: the one built into
    /// this binary, if any, else target/component/pycomponent-http-core.wasm.
    #[arg(long, env = "PYCOMPONENT_HTTP_CORE")]
    http_core: Option<PathBuf>,
}

impl AppArgs {
    fn build(&self, app: &Path, requirements: Option<&Path>) -> Result<Vec<u8>, Error> {
        let core = match (&self.http_core, EMBEDDED_HTTP_CORE) {
            (Some(path), _) => {
                std::fs::read(path).map_err(|source| Error::Io { path: path.clone(), source })?
            }
            (None, Some(bytes)) => bytes.to_vec(),
            (None, None) => {
                let path = Path::new("target/component/pycomponent-http-core.wasm");
                std::fs::read(path).map_err(|_| {
                    Error::InvalidInput(
                        "no HTTP core module: pass --http-core, or build it with `cargo xtask component`"
                            .into(),
                    )
                })?
            }
        };
        let source = pycomponent::app::AppSource {
            app: app.to_path_buf(),
            requirements: requirements.map(Path::to_path_buf),
            max_body: self.max_body,
            drop_native_code: self.drop_native_code,
        };
        let started = std::time::Instant::now();
        let component = pycomponent::app::build(&core, &source, &mut |step| {
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

fn build(app: &Path, requirements: Option<&Path>, output: &Path, app_args: &AppArgs) -> Result<u8, Error> {
    let component = app_args.build(app, requirements)?;
    std::fs::write(output, &component)
        .map_err(|e| Error::Build(format!("writing {}: {e}", output.display())))?;
    eprintln!("==> wrote {}", output.display());
    Ok(0)
}

#[allow(clippy::too_many_arguments)]
fn serve(
    app: &Path,
    addr: std::net::SocketAddr,
    timeout: f64,
    memory: usize,
    concurrency: u32,
    quiet: bool,
    requirements: Option<&Path>,
    app_args: &AppArgs,
) -> Result<u8, Error> {
    let component = if app.extension().is_some_and(|e| e == "wasm") {
        std::fs::read(app).map_err(|source| Error::Io { path: app.to_path_buf(), source })?
    } else {
        app_args.build(app, requirements)?
    };
    if !(timeout > 0.0 && timeout.is_finite()) {
        return Err(Error::InvalidInput("--timeout must be a positive number of seconds".into()));
    }
    let options = pycomponent::serve::ServeOptions {
        addr,
        timeout: Duration::from_secs_f64(timeout),
        memory_bytes: memory << 20,
        max_concurrent: concurrency.max(1),
        log_requests: !quiet,
    };
    pycomponent::serve::serve_until_ctrl_c(&component, options)?;
    Ok(0)
}

/// The HTTP core module built into this binary by `cargo xtask cli`, if it was.
#[cfg(embedded_component)]
const EMBEDDED_HTTP_CORE: Option<&[u8]> = Some(include_bytes!(env!("PYCOMPONENT_EMBED_HTTP_CORE_PATH")));
#[cfg(not(embedded_component))]
const EMBEDDED_HTTP_CORE: Option<&[u8]> = None;

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
    /// The one instance of this process. It is leaked on purpose: at exit
    /// the OS reclaims its memory at once, where dropping it would first
    /// reset the pool slot and unmap the engine (about a millisecond).
    fn instance(&self) -> Result<&'static mut Instance, Error> {
        let limits = Limits {
            memory_bytes: self.memory << 20,
            timeout: (self.timeout > 0.0).then(|| Duration::from_secs_f64(self.timeout)),
            max_instances: 1,
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
        let mounts = self.mounts.iter().map(|m| parse_mount(m)).collect::<Result<Vec<_>, _>>()?;
        Ok(Box::leak(Box::new(runtime.instantiate_with_mounts(HostModules::new(), &mounts)?)))
    }
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

/// The exit status a `SystemExit` asks for, or 1 for any other exception
/// (whose traceback is printed).
fn exit_status(error: &PythonError) -> u8 {
    if error.type_name == "SystemExit" {
        return match error.message.trim() {
            "" | "None" => 0,
            code => code.parse::<i64>().map_or_else(
                |_| {
                    eprintln!("{code}");
                    1
                },
                |n| (n & 0xff) as u8,
            ),
        };
    }
    eprint!("{}", error.traceback);
    1
}

fn eval(expression: &str, json: bool, sandbox: &SandboxArgs) -> Result<u8, Error> {
    let py = sandbox.instance()?;
    let reply = py.eval(expression)?;
    print_output(&reply.output);
    match reply.result {
        Ok(value) if json => match value.to_json() {
            Ok(json) => {
                println!("{json}");
                Ok(0)
            }
            Err(e) => {
                eprintln!("pycomponent: {e}");
                Ok(1)
            }
        },
        Ok(value) => {
            println!("{value}");
            Ok(0)
        }
        Err(error) => Ok(exit_status(&error)),
    }
}

fn exec(code: &str, sandbox: &SandboxArgs) -> Result<u8, Error> {
    let py = sandbox.instance()?;
    let reply = py.exec(code)?;
    print_output(&reply.output);
    Ok(reply.result.err().map_or(0, |e| exit_status(&e)))
}

fn run(script: &Path, args: &[String], sandbox: &SandboxArgs) -> Result<u8, Error> {
    let source =
        std::fs::read_to_string(script).map_err(|source| Error::Io { path: script.to_path_buf(), source })?;
    let name = script.display().to_string();
    let mut argv = vec![Value::from(name.as_str())];
    argv.extend(args.iter().map(|a| Value::from(a.as_str())));
    let py = sandbox.instance()?;
    let reply = py.call(
        "_pycomponent.run_script",
        &[Value::from(source), Value::from(name), Value::List(argv)],
        &[],
    )?;
    print_output(&reply.output);
    Ok(reply.result.err().map_or(0, |e| exit_status(&e)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Eval { expression, json, sandbox } => eval(expression, *json, sandbox),
        Command::Exec { code, sandbox } => exec(code, sandbox),
        Command::Run { script, args, sandbox } => run(script, args, sandbox),
        Command::Repl { sandbox } => repl(sandbox),
        Command::Build { app, requirements, output, app_args } => {
            build(app, requirements.as_deref(), output, app_args)
        }
        Command::Serve { app, addr, timeout, memory, concurrency, quiet, requirements, app_args } => {
            serve(app, *addr, *timeout, *memory, *concurrency, *quiet, requirements.as_deref(), app_args)
        }
        Command::PythonWasm { cpython, mounts, script, args } => python_wasm(cpython, mounts, script, args),
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
        if !code.trim().is_empty() {
            run_interactive(py, &code)?;
        }
        prompt(">>> ");
    }
    if !block.is_empty() {
        run_interactive(py, &block)?;
    }
    Ok(0)
}

/// One interactive input: statements run, and the value of a final
/// expression is printed (unless None); exceptions print their traceback.
fn run_interactive(py: &mut Instance, code: &str) -> Result<(), Error> {
    let reply = py.run(code)?;
    print_output(&reply.output);
    match reply.result {
        Ok(Value::None) => {}
        Ok(value) => println!("{value}"),
        Err(e) => eprint!("{}", e.traceback),
    }
    Ok(())
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
    fn exit_statuses() {
        let exit = |message: &str| PythonError {
            type_name: "SystemExit".into(),
            message: message.into(),
            traceback: String::new(),
        };
        assert_eq!(exit_status(&exit("")), 0);
        assert_eq!(exit_status(&exit("3")), 3);
        assert_eq!(exit_status(&exit("bye")), 1);
        let other =
            PythonError { type_name: "ValueError".into(), message: "x".into(), traceback: String::new() };
        assert_eq!(exit_status(&other), 1);
    }
}
