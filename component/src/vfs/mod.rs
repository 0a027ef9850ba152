//! The instance's file system, below wasi-libc: one tree rooted at `/`,
//! kept in memory, with the host's granted directories passed through at
//! their paths, and the standard streams captured per call.
//!
//! Every WASI host runs the same file system this way (Wasmtime, jco's
//! shims, `wasmtime serve`): the host sees only the calls that reach a
//! granted directory. docs/COMPONENT.md says why it lives here.
//!
//! - `abi`: preview 1's numbers and layouts, and the real imports;
//! - `tree`: the in-memory directories and files, and their byte budget;
//! - `fs`: descriptors, mounts and path resolution;
//! - `calls`: the preview-1 calls wasi-libc makes, answered.

mod abi;
mod calls;
mod fs;
mod tree;

pub use fs::HOME;

/// Runs once in each instance, at its first call: mounts the directories
/// this instance was granted (the snapshot holds those of the build) and
/// forgets output left from the build.
pub fn on_instance_start() {
    let started = calls::with(|vfs| {
        vfs.mount_granted();
        vfs.output.iter_mut().for_each(|stream| drop(stream.take()));
        Ok(())
    });
    if let Err(errno) = started {
        log(format_args!("pycomponent: the file system could not start (WASI error {errno})"));
    }
}

/// What the current call wrote to standard output and standard error, as
/// text (invalid UTF-8 replaced); clears both.
pub fn take_output() -> (String, String) {
    calls::with(|vfs| {
        let [stdout, stderr] = &mut vfs.output;
        Ok((stdout.take(), stderr.take()))
    })
    .unwrap_or_default()
}

/// Caps the bytes the in-memory tree holds (file data and entries); past
/// it, writes fail with `ENOSPC`. What is already held stays.
pub fn set_capacity(bytes: u64) {
    tree::set_capacity(bytes);
}

/// The bytes the in-memory tree holds, and its cap.
pub fn usage() -> (u64, u64) {
    tree::usage()
}

/// Writes `bytes` to the host's own standard output (`fd` 1) or error (2),
/// past the per-call capture: for a served request's log and the guest's
/// diagnostics, which must reach the host even when a call traps.
pub fn write_to_host(fd: u32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let iovec = abi::IoVec { buf: bytes.as_ptr().cast_mut(), len: bytes.len() };
        let mut written = 0;
        // SAFETY: one iovec over a live slice the host only reads, and a
        // local out-parameter.
        let status = unsafe { abi::host::fd_write(fd, &iovec, 1, &mut written) };
        if status != abi::SUCCESS || written == 0 {
            return;
        }
        bytes = &bytes[written.min(bytes.len())..];
    }
}

/// Sends Rust panic messages to the host's standard error: the call that
/// panics traps, so what its capture holds is lost.
pub fn report_panics_to_host() {
    std::panic::set_hook(Box::new(|info| write_to_host(2, format!("pycomponent: {info}\n").as_bytes())));
}

/// Writes a line of the guest's own diagnostics to the host's standard
/// error (`eprintln!` would go through wasi-libc into the call's capture).
pub fn log(message: std::fmt::Arguments<'_>) {
    write_to_host(2, format!("{message}\n").as_bytes());
}
