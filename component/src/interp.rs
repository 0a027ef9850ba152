//! The interpreter: start-up, running code, turning exceptions into values
//! and collecting each call's output.

use std::ffi::{CString, c_char, c_int};
use std::sync::Once;

use crate::convert;
use crate::ffi::{self, PyObject};
use crate::pycomponent::python::types::{KeywordArgument, Output, PythonError, Value};
use crate::pyobj::Owned;

/// The Python half of the guest (see that file).
const BOOTSTRAP: &str = include_str!("bootstrap.py");

static START: Once = Once::new();

/// Starts CPython and runs the bootstrap, once per instance.
pub fn ensure_started() {
    START.call_once(|| unsafe {
        // No site-packages, no PYTHON* variables, no .pyc writes: the guest
        // sees only what the embedder grants.
        ffi::Py_IsolatedFlag = 1;
        ffi::Py_NoSiteFlag = 1;
        ffi::Py_IgnoreEnvironmentFlag = 1;
        ffi::Py_DontWriteBytecodeFlag = 1;
        ffi::Py_NoUserSiteDirectory = 1;
        ffi::Py_InitializeEx(0);
        let module = ffi::PyImport_AddModule(c"_pycomponent".as_ptr());
        assert!(!module.is_null(), "creating _pycomponent failed");
        let globals = ffi::PyModule_GetDict(module);
        let builtins = Owned::new(ffi::PyImport_ImportModule(c"builtins".as_ptr())).expect("builtins imports");
        ffi::PyDict_SetItemString(globals, c"__builtins__".as_ptr(), builtins.ptr());
        let source = CString::new(BOOTSTRAP).expect("bootstrap has no NUL");
        let done = ffi::PyRun_StringFlags(source.as_ptr(), ffi::Py_file_input, globals, globals, std::ptr::null_mut());
        assert!(!done.is_null(), "the bootstrap failed");
        ffi::Py_DecRef(done);
        // An HTTP app has no host functions: Python's stand-ins stay, so
        // that `import` finds no host modules and a host call raises.
        #[cfg(not(feature = "http"))]
        crate::host_bridge::install(module);
    });
}

/// `_pycomponent` (borrowed), after start-up.
fn helpers() -> *mut PyObject {
    unsafe { ffi::PyImport_AddModule(c"_pycomponent".as_ptr()) }
}

/// Calls `_pycomponent.<name>(*args)`; steals nothing.
pub(crate) fn call_helper(name: &str, args: &[*mut PyObject]) -> Result<Owned, ()> {
    unsafe {
        let name = CString::new(name).map_err(|_| ())?;
        let func = Owned::new(ffi::PyObject_GetAttrString(helpers(), name.as_ptr()))?;
        let tuple = Owned::new(ffi::PyTuple_New(args.len() as _))?;
        for (i, arg) in args.iter().enumerate() {
            ffi::PyTuple_SetItem(tuple.ptr(), i as _, Owned::borrowed(*arg)?.into_raw());
        }
        Owned::new(ffi::PyObject_Call(func.ptr(), tuple.ptr(), std::ptr::null_mut()))
    }
}

/// A new `str` object.
pub(crate) fn py_str(s: &str) -> Result<Owned, ()> {
    Owned::new(unsafe { ffi::PyUnicode_FromStringAndSize(s.as_ptr().cast(), s.len() as _) })
}

/// Takes the pending Python exception as a value.
pub(crate) fn take_error() -> PythonError {
    unsafe {
        let (mut ty, mut value, mut tb) = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
        ffi::PyErr_Fetch(&mut ty, &mut value, &mut tb);
        if ty.is_null() {
            return PythonError {
                type_name: "SystemError".into(),
                message: "an operation failed without setting an exception".into(),
                traceback: String::new(),
            };
        }
        ffi::PyErr_NormalizeException(&mut ty, &mut value, &mut tb);
        let (ty, value, tb) = (Owned::new(ty), Owned::new(value), Owned::new(tb));
        let Ok(value) = value else {
            return PythonError { type_name: "SystemError".into(), message: "empty exception".into(), traceback: String::new() };
        };
        if let Ok(tb) = &tb {
            ffi::PyException_SetTraceback(value.ptr(), tb.ptr());
        }
        drop(ty);
        match call_helper("describe", &[value.ptr()]).and_then(|d| {
            let part = |i| convert::text_of(ffi::PyTuple_GetItem(d.ptr(), i));
            Ok(PythonError { type_name: part(0)?, message: part(1)?, traceback: part(2)? })
        }) {
            Ok(error) => error,
            Err(()) => {
                ffi::PyErr_Clear();
                let type_name = convert::type_name(value.ptr()).unwrap_or_else(|()| "BaseException".into());
                ffi::PyErr_Clear();
                PythonError { type_name, message: "(the exception could not be formatted)".into(), traceback: String::new() }
            }
        }
    }
}

/// What the call printed; clears the buffers.
pub fn take_output() -> Output {
    let taken = call_helper("take_output", &[]).and_then(|pair| unsafe {
        Ok(Output {
            stdout: convert::text_of(ffi::PyTuple_GetItem(pair.ptr(), 0))?,
            stderr: convert::text_of(ffi::PyTuple_GetItem(pair.ptr(), 1))?,
        })
    });
    taken.unwrap_or_else(|()| {
        unsafe { ffi::PyErr_Clear() };
        Output { stdout: String::new(), stderr: String::new() }
    })
}

/// Turns a C-API result into a value or the pending exception.
fn finish(result: Result<Owned, ()>) -> Result<Value, PythonError> {
    let obj = result.map_err(|()| take_error())?;
    convert::to_value(obj.ptr()).map_err(|()| take_error())
}

fn run_source(code: &str, start: c_int) -> Result<Owned, PythonError> {
    let source = CString::new(code).map_err(|_| PythonError {
        type_name: "ValueError".into(),
        message: "source code cannot contain null bytes".into(),
        traceback: String::new(),
    })?;
    unsafe {
        let main = ffi::PyImport_AddModule(c"__main__".as_ptr());
        let globals = ffi::PyModule_GetDict(main);
        Owned::new(ffi::PyRun_StringFlags(source.as_ptr(), start, globals, globals, std::ptr::null_mut()))
            .map_err(|()| take_error())
    }
}

/// `eval`.
pub fn eval(expression: &str) -> Result<Value, PythonError> {
    run_source(expression, ffi::Py_eval_input).and_then(|obj| finish(Ok(obj)))
}

/// `exec`.
pub fn exec(code: &str) -> Result<(), PythonError> {
    run_source(code, ffi::Py_file_input).map(drop)
}

/// `run`.
pub fn run(code: &str) -> Result<Value, PythonError> {
    let code = py_str(code).map_err(|()| take_error())?;
    finish(call_helper("run", &[code.ptr()]))
}

fn value_error(message: String) -> PythonError {
    PythonError { type_name: "ValueError".into(), message, traceback: String::new() }
}

/// `call`.
pub fn call(function: &str, args: &[Value], kwargs: &[KeywordArgument]) -> Result<Value, PythonError> {
    unsafe {
        let tuple = Owned::new(ffi::PyTuple_New(args.len() as _)).map_err(|()| take_error())?;
        for (i, arg) in args.iter().enumerate() {
            let obj = convert::from_value(arg).map_err(|e| value_error(format!("argument {i}: {e}")))?;
            ffi::PyTuple_SetItem(tuple.ptr(), i as _, obj.into_raw());
        }
        let dict = Owned::new(ffi::PyDict_New()).map_err(|()| take_error())?;
        for kw in kwargs {
            let obj = convert::from_value(&kw.value).map_err(|e| value_error(format!("argument {}: {e}", kw.name)))?;
            let name = py_str(&kw.name).map_err(|()| take_error())?;
            ffi::PyDict_SetItem(dict.ptr(), name.ptr(), obj.ptr());
        }
        let name = py_str(function).map_err(|()| take_error())?;
        finish(call_helper("call", &[name.ptr(), tuple.ptr(), dict.ptr()]))
    }
}

/// `import-module`.
pub fn import_module(name: &str) -> Result<(), PythonError> {
    let name = py_str(name).map_err(|()| take_error())?;
    call_helper("import_module", &[name.ptr()]).map(drop).map_err(|()| take_error())
}

/// `add-module`.
pub fn add_module(name: &str, source: &str, is_package: bool) -> Result<(), PythonError> {
    unsafe {
        let (name, source) = (py_str(name).map_err(|()| take_error())?, py_str(source).map_err(|()| take_error())?);
        let flag = Owned::new(ffi::PyBool_FromLong(is_package as _)).map_err(|()| take_error())?;
        call_helper("add_module", &[name.ptr(), source.ptr(), flag.ptr()]).map(drop).map_err(|()| take_error())
    }
}

/// Per instance: set once the instance's first call has run
/// `_pycomponent.on_instance_start`. It is false in the snapshot.
static mut INSTANCE_STARTED: bool = false;

/// `__wasi_prestat_t`: a tag (0 = directory) and the length of its name.
#[repr(C)]
struct Prestat {
    tag: u8,
    name_len: u32,
}

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    fn fd_prestat_get(fd: u32, prestat: *mut Prestat) -> u16;
    fn fd_prestat_dir_name(fd: u32, path: *mut u8, len: u32) -> u16;
}

unsafe extern "C" {
    fn __wasilibc_register_preopened_fd(fd: c_int, prefix: *const c_char) -> c_int;
}

/// Tells wasi-libc about the directories this instance was granted. Its
/// table of them was filled while the snapshot was made, from that run's
/// grants; without this, paths in the instance's own grants would not
/// resolve.
pub(crate) fn register_granted_directories() {
    for fd in 3u32.. {
        let mut prestat = Prestat { tag: 0, name_len: 0 };
        // SAFETY: plain WASI calls with buffers of the sizes they are given.
        unsafe {
            if fd_prestat_get(fd, &mut prestat) != 0 {
                break;
            }
            if prestat.tag != 0 {
                continue;
            }
            let mut name = vec![0u8; prestat.name_len as usize];
            if fd_prestat_dir_name(fd, name.as_mut_ptr(), prestat.name_len) != 0 {
                continue;
            }
            if let Ok(name) = CString::new(name) {
                __wasilibc_register_preopened_fd(fd as c_int, name.as_ptr());
            }
        }
    }
}

/// Starts the interpreter if the snapshot did not, then runs the
/// per-instance start-up once.
pub fn ensure_instance_started() {
    ensure_started();
    // SAFETY: the guest is single-threaded.
    unsafe {
        if !INSTANCE_STARTED {
            INSTANCE_STARTED = true;
            register_granted_directories();
            if call_helper("on_instance_start", &[]).is_err() {
                ffi::PyErr_Clear();
            }
        }
    }
}

/// Where the standard library is mounted while the snapshot is made.
pub const SNAPSHOT_STDLIB: &str = "/usr/local/lib/python3.11";

/// Modules imported into the snapshot, so that instances start with them
/// loaded: the ones most programs use.
const PRELOAD: &[&str] = &[
    "abc", "base64", "collections", "copy", "dataclasses", "datetime", "decimal", "enum", "functools",
    "hashlib", "itertools", "json", "math", "operator", "random", "re", "string", "struct", "textwrap",
    "traceback", "types", "typing",
];

/// Builds the snapshot's state: starts CPython, embeds the standard library
/// and preloads common modules. Returns the number of embedded modules, or
/// the Python error.
pub fn prepare_snapshot() -> Result<usize, PythonError> {
    ensure_started();
    let root = py_str(SNAPSHOT_STDLIB).map_err(|()| take_error())?;
    let preload = unsafe {
        let list = Owned::new(ffi::PyList_New(PRELOAD.len() as _)).map_err(|()| take_error())?;
        for (i, name) in PRELOAD.iter().enumerate() {
            ffi::PyList_SetItem(list.ptr(), i as _, py_str(name).map_err(|()| take_error())?.into_raw());
        }
        list
    };
    let count = call_helper("embed_stdlib", &[root.ptr(), preload.ptr()]).map_err(|()| take_error())?;
    unsafe {
        let mut overflow = 0;
        Ok(ffi::PyLong_AsLongLongAndOverflow(count.ptr(), &mut overflow) as usize)
    }
}
