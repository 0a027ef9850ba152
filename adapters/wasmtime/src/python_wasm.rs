//! Runs CPython's own `python.wasm` (a WASI preview-1 command module) under
//! Wasmtime, with the standard library mounted read-only and nothing else
//! granted unless the caller asks: the baseline interpreter and smoke test.

use std::path::{Path, PathBuf};

use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::{Error, Mount};

/// Where the guest finds the standard library: `python.wasm` is configured
/// with prefix `/usr/local`, so its `sys.path` starts from here.
pub const GUEST_STDLIB: &str = "/usr/local/lib/python3.11";

/// Default cap on captured stdout and on captured stderr, each.
pub const DEFAULT_OUTPUT_LIMIT: usize = 16 * 1024 * 1024;

/// A compiled `python.wasm` with its standard library, ready to run many times.
#[derive(Debug, Clone)]
pub struct PythonWasm {
    engine: Engine,
    module: Module,
    linker: Linker<WasiP1Ctx>,
    stdlib: PathBuf,
}

/// One run of the interpreter: its arguments and what it is granted.
#[derive(Debug, Clone)]
pub struct Run {
    args: Vec<String>,
    env: Vec<(String, String)>,
    mounts: Vec<Mount>,
    inherit_stdio: bool,
    output_limit: usize,
}

impl Run {
    /// A run with these interpreter arguments (`argv[1..]`), e.g. `["-c", "print(1)"]`.
    pub fn new<S: Into<String>>(args: impl IntoIterator<Item = S>) -> Run {
        Run {
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            mounts: Vec::new(),
            inherit_stdio: false,
            output_limit: DEFAULT_OUTPUT_LIMIT,
        }
    }

    /// A run of `python -c <code>`.
    pub fn code(code: &str) -> Run {
        Run::new(["-c", code])
    }

    /// A run of a script file: its directory is mounted read-only at `/app`
    /// and the script runs as `/app/<file name>`, followed by `args`.
    pub fn script<S: Into<String>>(path: &Path, args: impl IntoIterator<Item = S>) -> Result<Run, Error> {
        let path = path.canonicalize().map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
            return Err(Error::InvalidInput(format!("{} is not a script file path", path.display())));
        };
        let mut argv = vec![format!("/app/{name}")];
        argv.extend(args.into_iter().map(Into::into));
        Ok(Run::new(argv).mount(Mount { host: dir.to_path_buf(), guest: "/app".into(), writable: false }))
    }

    /// Grants a host directory.
    pub fn mount(mut self, mount: Mount) -> Run {
        self.mounts.push(mount);
        self
    }

    /// Sets an environment variable in the guest (none are set by default).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Run {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sends the guest's stdout and stderr to this process's instead of
    /// capturing them (the [`Output`] then holds none).
    pub fn inherit_stdio(mut self, inherit: bool) -> Run {
        self.inherit_stdio = inherit;
        self
    }

    /// Caps captured stdout and stderr at `bytes` each; writes beyond fail in the guest.
    pub fn output_limit(mut self, bytes: usize) -> Run {
        self.output_limit = bytes;
        self
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit status (`sys.exit(n)` gives `n`; an uncaught exception gives 1).
    pub exit_code: i32,
    /// Captured stdout.
    pub stdout: Vec<u8>,
    /// Captured stderr.
    pub stderr: Vec<u8>,
}

impl Output {
    /// stdout as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl PythonWasm {
    /// Compiles `python_wasm` and checks that `stdlib` looks like CPython's
    /// standard library (it holds `os.py`).
    pub fn load(python_wasm: &Path, stdlib: &Path) -> Result<PythonWasm, Error> {
        if !stdlib.join("os.py").is_file() {
            return Err(Error::InvalidInput(format!(
                "{} is not a CPython standard library (no os.py)",
                stdlib.display()
            )));
        }
        let bytes = std::fs::read(python_wasm)
            .map_err(|source| Error::Io { path: python_wasm.to_path_buf(), source })?;
        let engine = Engine::new(&Config::new()).map_err(Error::Engine)?;
        let module = Module::new(&engine, bytes).map_err(Error::Compile)?;
        let mut linker = Linker::new(&engine);
        p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(Error::Engine)?;
        Ok(PythonWasm { engine, module, linker, stdlib: stdlib.to_path_buf() })
    }

    /// Loads from a `cargo xtask cpython` output directory (its
    /// `wasm/bin/python.wasm` and `wasm/lib/python3.11`).
    pub fn from_build(dir: &Path) -> Result<PythonWasm, Error> {
        let wasm = dir.join("wasm/bin/python.wasm");
        if !wasm.is_file() {
            return Err(Error::InvalidInput(format!(
                "{} not found: build it with `cargo xtask cpython`",
                wasm.display()
            )));
        }
        PythonWasm::load(&wasm, &dir.join("wasm/lib/python3.11"))
    }

    /// Runs the interpreter once, in a fresh instance.
    pub fn run(&self, run: &Run) -> Result<Output, Error> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.arg("python");
        wasi.args(&run.args);
        for (key, value) in &run.env {
            wasi.env(key, value);
        }
        wasi.preopened_dir(&self.stdlib, GUEST_STDLIB, FsPerms::ReadOnly)
            .map_err(|e| Error::Mount { path: self.stdlib.clone(), message: e.to_string() })?;
        for mount in &run.mounts {
            let perms = if mount.writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
            wasi.preopened_dir(&mount.host, &mount.guest, perms)
                .map_err(|e| Error::Mount { path: mount.host.clone(), message: e.to_string() })?;
        }
        let captured = (!run.inherit_stdio).then(|| {
            let stdout = MemoryOutputPipe::new(run.output_limit);
            let stderr = MemoryOutputPipe::new(run.output_limit);
            wasi.stdout(stdout.clone());
            wasi.stderr(stderr.clone());
            (stdout, stderr)
        });
        if run.inherit_stdio {
            wasi.inherit_stdout().inherit_stderr();
        }

        let mut store = Store::new(&self.engine, wasi.build_p1());
        let instance = self.linker.instantiate(&mut store, &self.module).map_err(Error::Instantiate)?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start").map_err(Error::Instantiate)?;
        let exit_code = match start.call(&mut store, ()) {
            Ok(()) => 0,
            Err(err) => match err.downcast_ref::<I32Exit>() {
                Some(exit) => exit.0,
                None => return Err(Error::Trap(err)),
            },
        };
        let (stdout, stderr) = match captured {
            Some((out, err)) => (out.contents().to_vec(), err.contents().to_vec()),
            None => (Vec::new(), Vec::new()),
        };
        Ok(Output { exit_code, stdout, stderr })
    }
}
