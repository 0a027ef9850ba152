//! `pycomponent serve --workers N`: one server process per worker, all
//! accepting from one listening socket that the first process binds and
//! hands to each of them as its standard input; the first process restarts
//! a worker that dies and passes SIGTERM on.
//!
//! Why processes and not threads: a fresh instance writes to pages of its
//! copy-on-write memory image, and in a process whose threads run on
//! several cores every such write makes the kernel flush the TLBs of the
//! other cores (an inter-processor interrupt, dear in a virtual machine).
//! One single-threaded process per core keeps those flushes local.

use std::net::TcpListener;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use pycomponent::Error;
use pycomponent::serve::{ServeOptions, stop_signal};

/// The hidden option that makes `pycomponent serve` a worker: the component
/// is read from this path and the listening socket is standard input.
pub const WORKER_FLAG: &str = "--worker-component";

/// Set for a worker to the first process's id, so that a worker started
/// after that process died stops at once.
const PARENT_ENV: &str = "PYCOMPONENT_SERVE_PARENT";

/// A worker that stops this soon after it started counts as failing to start.
const QUICK_EXIT: Duration = Duration::from_secs(2);

/// Failed starts in a row after which the server gives up.
const MAX_FAILED_STARTS: u32 = 3;

/// Serves `component` with `count` worker processes until SIGINT or
/// SIGTERM; then asks each worker to finish its requests in flight and
/// waits for them. `options` are each worker's; `built` says that
/// `component` was built from the Python app at `app` rather than read from
/// it.
pub fn serve(
    component: &[u8],
    built: bool,
    app: &Path,
    count: u32,
    options: &ServeOptions,
) -> Result<(), Error> {
    // Compiled once here into the on-disk cache, which the workers then load;
    // a component that cannot be served fails here, before any worker starts.
    pycomponent::serve::precompile(component, options)?;
    let listener = TcpListener::bind(options.addr)
        .map_err(|e| Error::Serve(format!("cannot listen on {}: {e}", options.addr)))?;
    // A built app is handed to the workers as a file of its own, removed
    // when the server stops.
    let component_file = if built {
        let file = TemporaryFile(
            std::env::temp_dir().join(format!("pycomponent-serve-{}.wasm", std::process::id())),
        );
        std::fs::write(&file.0, component).map_err(|source| Error::Io { path: file.0.clone(), source })?;
        Some(file)
    } else {
        None
    };
    let component_path = match &component_file {
        Some(file) => file.0.clone(),
        None => std::path::absolute(app).map_err(|source| Error::Io { path: app.to_path_buf(), source })?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Serve(format!("starting the tokio runtime: {e}")))?;
    runtime.block_on(supervise(&listener, &component_path, count))?;
    drop(component_file);
    Ok(())
}

/// Starts the workers, replaces those that die, and stops them at SIGINT or
/// SIGTERM.
async fn supervise(listener: &TcpListener, component: &Path, count: u32) -> Result<(), Error> {
    let addr = listener.local_addr().map_err(|e| Error::Serve(e.to_string()))?;
    let (exits_tx, mut exits) = tokio::sync::mpsc::unbounded_channel();
    let start = |slot: usize| -> Result<Worker, Error> {
        let socket: OwnedFd = listener
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Error::Serve(format!("sharing the listening socket: {e}")))?;
        let mut command = tokio::process::Command::new(
            std::env::current_exe().map_err(|e| Error::Serve(format!("finding this program: {e}")))?,
        );
        command
            .args(std::env::args_os().skip(1))
            .arg(WORKER_FLAG)
            .arg(component)
            .env(PARENT_ENV, std::process::id().to_string())
            .stdin(Stdio::from(socket))
            .kill_on_drop(false);
        let mut child =
            command.spawn().map_err(|e| Error::Serve(format!("starting a worker process: {e}")))?;
        let pid = child.id().unwrap_or(0);
        let exits_tx = exits_tx.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = exits_tx.send((slot, status));
        });
        Ok(Worker { pid, started: Instant::now() })
    };
    let mut workers = Vec::new();
    for slot in 0..count as usize {
        workers.push(Some(start(slot)?));
    }
    eprintln!("pycomponent serve: listening on http://{addr}/ with {count} worker processes (Ctrl-C stops)");
    let mut failed_starts = 0;
    let mut stop = std::pin::pin!(stop_signal());
    let outcome = loop {
        tokio::select! {
            () = &mut stop => break Ok(()),
            Some((slot, status)) = exits.recv() => {
                let worker = workers[slot].take().expect("a worker exits once");
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                if worker.started.elapsed() < QUICK_EXIT {
                    failed_starts += 1;
                } else {
                    failed_starts = 0;
                }
                if failed_starts >= MAX_FAILED_STARTS {
                    break Err(Error::Serve(format!(
                        "worker processes keep stopping right after they start (last: {status})"
                    )));
                }
                eprintln!("pycomponent serve: worker process {} stopped ({status}); starting another", worker.pid);
                workers[slot] = Some(start(slot)?);
            }
        }
    };
    if outcome.is_ok() {
        eprintln!("pycomponent serve: shutting down; waiting for requests in flight");
    }
    for worker in workers.iter().flatten() {
        // A worker that has just exited is no error here.
        let _ = terminate(worker.pid);
    }
    while workers.iter().any(Option::is_some) {
        match exits.recv().await {
            Some((slot, _)) => workers[slot] = None,
            None => break,
        }
    }
    outcome
}

/// A running worker process.
struct Worker {
    pid: u32,
    started: Instant,
}

/// Asks a worker to stop after its requests in flight (SIGTERM).
fn terminate(pid: u32) -> std::io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| std::io::Error::other("not a process id"))?;
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).map_err(std::io::Error::from)
}

/// What a worker runs: the listening socket is its standard input, the
/// component the file at `component`.
pub fn run_worker(component: &Path, options: ServeOptions) -> Result<(), Error> {
    // Stop with the first process, even if it is killed outright; and if it
    // is already gone, do not start.
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM));
    let parent: Option<u32> = std::env::var(PARENT_ENV).ok().and_then(|p| p.parse().ok());
    if parent.is_some_and(|parent| parent != std::os::unix::process::parent_id()) {
        return Ok(());
    }
    let bytes =
        std::fs::read(component).map_err(|source| Error::Io { path: component.to_path_buf(), source })?;
    let socket = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| Error::Serve(format!("taking the listening socket from standard input: {e}")))?;
    pycomponent::serve::serve_listener_until_stopped(&bytes, TcpListener::from(socket), options)
}

/// A file removed when dropped.
struct TemporaryFile(PathBuf);

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The worker count when none is given: one per core.
pub fn default_count() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}
