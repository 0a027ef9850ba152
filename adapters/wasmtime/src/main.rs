//! The `pycomponent` command-line tool.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pycomponent::python_wasm::{Mount, PythonWasm, Run};

/// Run Python inside WebAssembly.
#[derive(Debug, Parser)]
#[command(name = "pycomponent", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a Python script with CPython's own python.wasm under Wasmtime.
    /// The guest gets the standard library and the script's directory,
    /// read-only, and nothing else unless granted with --dir.
    PythonWasm {
        /// A `cargo xtask cpython` output directory.
        #[arg(long, default_value = "target/cpython")]
        cpython: PathBuf,
        /// Grant a host directory: HOST::GUEST (read-only) or HOST::GUEST::rw.
        #[arg(long = "dir", value_name = "HOST::GUEST[::rw]")]
        dirs: Vec<String>,
        /// The script to run.
        script: PathBuf,
        /// Arguments for the script (`sys.argv[1:]`).
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
}

fn parse_mount(spec: &str) -> Result<Mount, String> {
    let parts: Vec<&str> = spec.split("::").collect();
    let (host, guest, writable) = match parts[..] {
        [host, guest] => (host, guest, false),
        [host, guest, "rw"] => (host, guest, true),
        [host, guest, "ro"] => (host, guest, false),
        _ => return Err(format!("--dir {spec:?}: expected HOST::GUEST, HOST::GUEST::ro or HOST::GUEST::rw")),
    };
    if !guest.starts_with('/') {
        return Err(format!("--dir {spec:?}: the guest path must be absolute"));
    }
    Ok(Mount { host: host.into(), guest: guest.into(), writable })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::PythonWasm { cpython, dirs, script, args } => (|| {
            let mut run = Run::script(&script, args)?.inherit_stdio(true);
            for spec in &dirs {
                run = run.mount(parse_mount(spec).map_err(pycomponent::Error::InvalidInput)?);
            }
            let python = PythonWasm::from_build(&cpython)?;
            python.run(&run)
        })(),
    };
    match result {
        Ok(output) => ExitCode::from(u8::try_from(output.exit_code).unwrap_or(1)),
        Err(err) => {
            eprintln!("pycomponent: {err}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_specs() {
        let m = parse_mount("data::/data::rw").unwrap();
        assert_eq!((m.host, m.guest.as_str(), m.writable), (PathBuf::from("data"), "/data", true));
        assert!(!parse_mount("data::/data").unwrap().writable);
        assert!(parse_mount("data::relative").is_err());
        assert!(parse_mount("data").is_err());
        assert!(parse_mount("a::/b::rwx").is_err());
    }
}
