//! The `files` interface: the embedder's access to the instance's file
//! system, through the same paths Python code uses (so granted directories
//! and the in-memory tree behave alike), and the tree's cap.

use crate::exports::pycomponent::python::files::{EntryKind, EntryStat, FileError};
use crate::interp;
use crate::py::{self, Owned, PyResult};

/// Runs `_pycomponent.file_operation(operation, *args)` in a started
/// instance: the value it gives, or the error as `file-error`.
fn operate(operation: &str, args: impl FnOnce() -> PyResult<Vec<Owned>>) -> Result<Owned, FileError> {
    interp::ensure_instance_started();
    let outcome = || -> PyResult<Result<Owned, FileError>> {
        let args = py::tuple(args()?.into_iter())?;
        let outcome = interp::call_helper("file_operation", &[&py::str(operation)?, &args])?;
        let code = py::tuple_item(&outcome, 0)?;
        let value = py::tuple_item(&outcome, 1)?;
        if code.is_none() {
            return Ok(Ok(value));
        }
        Ok(Err(FileError { code: py::text_of(&code)?, message: py::text_of(&value)? }))
    };
    let result = outcome().unwrap_or_else(|err| {
        let err = interp::describe(err);
        Err(FileError { code: "EIO".into(), message: format!("{}: {}", err.type_name, err.message) })
    });
    // What Python printed meanwhile belongs to no call: drop it.
    drop(crate::vfs::take_output());
    result
}

fn path(path: &str) -> impl FnOnce() -> PyResult<Vec<Owned>> + '_ {
    move || Ok(vec![py::str(path)?])
}

fn read_back<T>(
    value: Result<Owned, FileError>,
    read: impl FnOnce(&Owned) -> PyResult<T>,
) -> Result<T, FileError> {
    let value = value?;
    read(&value).map_err(|err| {
        let err = interp::describe(err);
        FileError { code: "EIO".into(), message: format!("{}: {}", err.type_name, err.message) }
    })
}

pub fn write_file(path: &str, data: &[u8]) -> Result<(), FileError> {
    operate("write", || Ok(vec![py::str(path)?, py::bytes(data)?])).map(drop)
}

pub fn read_file(file: &str) -> Result<Vec<u8>, FileError> {
    read_back(operate("read", path(file)), py::bytes_of)
}

pub fn create_directory(path: &str, parents: bool) -> Result<(), FileError> {
    operate("mkdir", || Ok(vec![py::str(path)?, py::bool(parents)?])).map(drop)
}

pub fn list_directory(dir: &str) -> Result<Vec<String>, FileError> {
    read_back(operate("list", path(dir)), |names| {
        py::sequence_items(names)?.iter().map(py::text_of).collect()
    })
}

pub fn stat(entry: &str) -> Result<EntryStat, FileError> {
    read_back(operate("stat", path(entry)), |stat| {
        let number =
            |index| py::tuple_item(stat, index).and_then(|n| py::int_value(&n)).map(|n| n.unwrap_or(0));
        let kind = match number(0)? {
            0 => EntryKind::File,
            1 => EntryKind::Directory,
            _ => EntryKind::Other,
        };
        Ok(EntryStat { kind, size: number(1)?.max(0) as u64, modified_ns: number(2)?.max(0) as u64 })
    })
}

pub fn remove_file(file: &str) -> Result<(), FileError> {
    operate("unlink", path(file)).map(drop)
}

pub fn remove_directory(dir: &str) -> Result<(), FileError> {
    operate("rmdir", path(dir)).map(drop)
}

pub fn rename(from: &str, to: &str) -> Result<(), FileError> {
    operate("rename", || Ok(vec![py::str(from)?, py::str(to)?])).map(drop)
}
