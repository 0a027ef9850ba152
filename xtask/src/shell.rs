//! Running external commands: progress lines, per-step logs and failure reports.
//!
//! Long build steps write their output to a log file instead of the terminal;
//! the terminal gets one line when a step starts, a heartbeat with the elapsed
//! time while it runs, and on failure the command line plus the tail of its log.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How often a running step reports that it is still running.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// How many lines of a failed step's log are shown.
const LOG_TAIL_LINES: usize = 40;

/// Renders a command line for messages, quoting arguments that need it.
pub fn display_command(cmd: &Command) -> String {
    let mut out = String::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            let _ = write!(out, "{}={} ", key.to_string_lossy(), quote(&value.to_string_lossy()));
        }
    }
    out.push_str(&quote(&cmd.get_program().to_string_lossy()));
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&quote(&arg.to_string_lossy()));
    }
    if let Some(dir) = cmd.get_current_dir() {
        let _ = write!(out, "  (in {})", dir.display());
    }
    out
}

fn quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

/// Formats a duration as `1m05s` or `4.2s`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 { format!("{}m{:02}s", secs / 60, secs % 60) } else { format!("{:.1}s", d.as_secs_f64()) }
}

/// Runs `cmd` with inherited stdio (for short commands whose output the user
/// should see), failing with the command line if it exits non-zero.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = display_command(cmd);
    let child = cmd.spawn().with_context(|| format!("could not start `{shown}`"))?;
    let status = wait_with_heartbeat(child, &program_and_verb(cmd), Instant::now())
        .with_context(|| format!("waiting for `{shown}`"))?;
    if !status.success() {
        bail!("command failed ({status}): {shown}");
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout as text, failing with its stderr.
pub fn output(cmd: &mut Command) -> Result<String> {
    let shown = display_command(cmd);
    String::from_utf8(output_bytes(cmd)?).with_context(|| format!("`{shown}` printed non-UTF-8 output"))
}

/// Runs `cmd` and returns its stdout as bytes, failing with its stderr.
pub fn output_bytes(cmd: &mut Command) -> Result<Vec<u8>> {
    let shown = display_command(cmd);
    let out = cmd.stdin(Stdio::null()).output().with_context(|| format!("could not start `{shown}`"))?;
    if !out.status.success() {
        bail!(
            "command failed ({}): {shown}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(out.stdout)
}

/// Waits for `child`, printing a line every [`HEARTBEAT`] while it runs, so
/// that a long compile or build never leaves the terminal silent.
fn wait_with_heartbeat(
    mut child: std::process::Child,
    label: &str,
    started: Instant,
) -> std::io::Result<std::process::ExitStatus> {
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let label = label.to_string();
    let heartbeat = thread::spawn(move || {
        while done_rx.recv_timeout(HEARTBEAT) == Err(mpsc::RecvTimeoutError::Timeout) {
            eprintln!("    ... {label}: {} elapsed", human_duration(started.elapsed()));
        }
    });
    let status = child.wait();
    let _ = done_tx.send(());
    let _ = heartbeat.join();
    status
}

/// What a heartbeat line calls a command: its program and first argument
/// (`cargo build`, `npm ci`).
fn program_and_verb(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program()).file_name().unwrap_or(cmd.get_program()).to_string_lossy();
    match cmd.get_args().next() {
        Some(first) => format!("{program} {}", first.to_string_lossy()),
        None => program.into_owned(),
    }
}

/// A named build step whose commands log to one file.
#[derive(Debug)]
pub struct Step {
    name: String,
    log: PathBuf,
    started: Instant,
}

impl Step {
    /// Starts a step: prints its name and where its log goes.
    pub fn start(name: impl Into<String>, log: impl Into<PathBuf>) -> Result<Step> {
        let name = name.into();
        let log = log.into();
        if let Some(dir) = log.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        File::create(&log).with_context(|| format!("creating log {}", log.display()))?;
        eprintln!("==> {name}  (log: {})", log.display());
        Ok(Step { name, log, started: Instant::now() })
    }

    /// Runs one command of this step, appending its output to the step's log.
    /// While it runs, a heartbeat line shows the elapsed time; if it fails, the
    /// error holds the command line and the last lines of the log.
    pub fn run(&self, cmd: &mut Command) -> Result<()> {
        let shown = display_command(cmd);
        {
            use std::io::Write as _;
            let mut log = fs::OpenOptions::new().append(true).open(&self.log)?;
            writeln!(log, "$ {shown}")?;
        }
        let log_out = fs::OpenOptions::new().append(true).open(&self.log)?;
        let log_err = log_out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log_out)
            .stderr(log_err)
            .spawn()
            .with_context(|| format!("could not start `{shown}`"))?;

        let status = wait_with_heartbeat(child, &self.name, self.started)
            .with_context(|| format!("waiting for `{shown}`"))?;
        if !status.success() {
            bail!(
                "step `{}` failed ({status})\ncommand: {shown}\nlast lines of {}:\n{}",
                self.name,
                self.log.display(),
                tail(&self.log, LOG_TAIL_LINES)
            );
        }
        Ok(())
    }

    /// Ends the step, printing how long it took, and returns that duration.
    pub fn finish(self) -> Duration {
        let elapsed = self.started.elapsed();
        eprintln!("    {} done in {}", self.name, human_duration(elapsed));
        elapsed
    }
}

/// The last `n` lines of a file (lossy UTF-8), for error reports.
pub fn tail(path: &Path, n: usize) -> String {
    let Ok(file) = File::open(path) else {
        return format!("(log {} unreadable)", path.display());
    };
    let mut lines: Vec<String> = Vec::new();
    for line in BufReader::new(file).split(b'\n').map_while(Result::ok) {
        lines.push(String::from_utf8_lossy(&line).into_owned());
        if lines.len() > n {
            lines.remove(0);
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_only_where_needed() {
        let mut cmd = Command::new("cc");
        cmd.args(["-O2", "a b.c", "it's"]);
        assert_eq!(display_command(&cmd), r"cc -O2 'a b.c' 'it'\''s'");
    }

    #[test]
    fn heartbeat_lines_name_the_program_and_its_verb() {
        let mut cargo = Command::new("/usr/bin/cargo");
        cargo.args(["build", "--release"]);
        assert_eq!(program_and_verb(&cargo), "cargo build");
        assert_eq!(program_and_verb(&Command::new("npm")), "npm");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_millis(4200)), "4.2s");
        assert_eq!(human_duration(Duration::from_secs(65)), "1m05s");
    }

    #[test]
    fn failed_step_reports_command_and_log_tail() {
        let dir = std::env::temp_dir().join(format!("xtask-shell-test-{}", std::process::id()));
        let step = Step::start("failing", dir.join("failing.log")).unwrap();
        let err = step
            .run(Command::new("sh").args(["-c", "echo first; echo second >&2; exit 3"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("step `failing` failed"), "{err}");
        assert!(err.contains("command: sh -c"), "{err}");
        assert!(err.contains("first") && err.contains("second"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }
}
