//! The embedder's access to an instance's file system (WIT interface
//! `files`): put files in before a run, take results out after it.
//!
//! Paths are the ones Python sees: the instance's in-memory tree (`/tmp`,
//! the home directory `/home/user`) and the directories it was granted.

use crate::Error;
use crate::bindings::exports::pycomponent::python::files as wire;
use crate::runtime::{Instance, check_source};

/// Why a file operation on an instance's file system failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FileError {
    /// The POSIX name of the error: `ENOENT`, `EEXIST`, `EISDIR`,
    /// `ENOTDIR`, `ENOTEMPTY`, `ENOSPC` (the in-memory tree is full),
    /// `EACCES` (a read-only grant) and so on.
    pub code: String,
    /// A message naming the path, as Python's `OSError` words it.
    pub message: String,
}

/// What a path of the instance's file system names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// Anything else (a device of `/dev`, a symbolic link of a grant).
    Other,
}

/// What [`Instance::metadata`] tells of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    /// What it is.
    pub kind: FileKind,
    /// Its size in bytes (0 for a directory of the tree).
    pub size: u64,
    /// When its content last changed, in nanoseconds since the Unix epoch.
    pub modified_ns: u64,
}

impl From<wire::FileError> for Error {
    fn from(error: wire::FileError) -> Error {
        Error::File(FileError { code: error.code, message: error.message })
    }
}

impl Instance {
    /// Runs one call of the `files` interface, with the guard and trap
    /// handling of every call.
    fn file_call<T: Send>(
        &mut self,
        call: impl FnOnce(&mut Self) -> wasmtime::Result<Result<T, wire::FileError>> + Send,
    ) -> Result<T, Error> {
        self.guard()?;
        Ok(self.in_guest(call)??)
    }

    /// Writes a file into the instance's file system, replacing one that
    /// is there; its directory must exist. A file in the in-memory tree
    /// counts against its cap ([`crate::Limits::file_system_bytes`]).
    pub fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), Error> {
        check_source(path)?;
        if data.len() > crate::value::MAX_PAYLOAD {
            return Err(Error::InvalidInput(format!(
                "{} bytes are too many for one write (at most {} MiB)",
                data.len(),
                crate::value::MAX_PAYLOAD >> 20
            )));
        }
        self.file_call(|i| i.python.pycomponent_python_files().call_write_file(&mut i.store, path, data))
    }

    /// Reads a whole file of the instance's file system.
    pub fn read_file(&mut self, path: &str) -> Result<Vec<u8>, Error> {
        self.file_call(|i| i.python.pycomponent_python_files().call_read_file(&mut i.store, path))
    }

    /// Makes a directory; its parent must exist.
    pub fn create_dir(&mut self, path: &str) -> Result<(), Error> {
        self.file_call(|i| {
            i.python.pycomponent_python_files().call_create_directory(&mut i.store, path, false)
        })
    }

    /// Makes a directory and the missing ones above it; an existing
    /// directory is no error.
    pub fn create_dir_all(&mut self, path: &str) -> Result<(), Error> {
        self.file_call(|i| {
            i.python.pycomponent_python_files().call_create_directory(&mut i.store, path, true)
        })
    }

    /// The names in a directory (without `.` and `..`), sorted.
    pub fn read_dir(&mut self, path: &str) -> Result<Vec<String>, Error> {
        self.file_call(|i| i.python.pycomponent_python_files().call_list_directory(&mut i.store, path))
    }

    /// What a path names (symbolic links followed).
    pub fn metadata(&mut self, path: &str) -> Result<FileStat, Error> {
        let stat = self.file_call(|i| i.python.pycomponent_python_files().call_stat(&mut i.store, path))?;
        let kind = match stat.kind {
            wire::EntryKind::File => FileKind::File,
            wire::EntryKind::Directory => FileKind::Directory,
            wire::EntryKind::Other => FileKind::Other,
        };
        Ok(FileStat { kind, size: stat.size, modified_ns: stat.modified_ns })
    }

    /// Removes a file (not a directory).
    pub fn remove_file(&mut self, path: &str) -> Result<(), Error> {
        self.file_call(|i| i.python.pycomponent_python_files().call_remove_file(&mut i.store, path))
    }

    /// Removes an empty directory.
    pub fn remove_dir(&mut self, path: &str) -> Result<(), Error> {
        self.file_call(|i| i.python.pycomponent_python_files().call_remove_directory(&mut i.store, path))
    }

    /// Renames a file or directory, replacing a file (or an empty
    /// directory) at `to`, as POSIX `rename` does.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), Error> {
        self.file_call(|i| i.python.pycomponent_python_files().call_rename(&mut i.store, from, to))
    }

    /// The bytes the instance's in-memory tree holds, and its cap.
    pub fn file_system_usage(&mut self) -> Result<(u64, u64), Error> {
        self.guard()?;
        self.in_guest(|i| i.python.pycomponent_python_files().call_usage(&mut i.store))
    }

    /// Sets the cap of the in-memory tree (see [`crate::Limits`]).
    pub(crate) fn set_file_system_capacity(&mut self, bytes: u64) -> Result<(), Error> {
        self.guard()?;
        self.in_guest(|i| i.python.pycomponent_python_files().call_set_capacity(&mut i.store, bytes))
    }
}
