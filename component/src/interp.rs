//! The interpreter: start-up, running code, turning exceptions into values
//! and collecting each call's output.

use std::ffi::CString;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3_ffi as ffi;

use crate::convert;
use crate::py::{self, Owned, PyErr, PyResult, SourceKind};
use crate::pycomponent::python::types::{KeywordArgument, Output, PythonError, Value};

/// The Python half of the guest (see that file).
const BOOTSTRAP: &str = include_str!("bootstrap.py");

/// The asyncio event loop of the component (see that file), added as module
/// `_pycomponent_asyncio`.
const EVENT_LOOP: &str = include_str!("event_loop.py");

/// Python's HTTP client over the embedder's (see that file), added as
/// module `_pycomponent_http`.
const HTTP_CLIENT: &str = include_str!("http_client.py");

/// The `ssl` module without OpenSSL: TLS is the host's (see that file).
const SSL: &str = include_str!("ssl.py");

/// The embedder's objects in Python (see that file), added as module
/// `_pycomponent_objects`.
#[cfg(not(feature = "http"))]
const HOST_OBJECTS: &str = include_str!("host_objects.py");

/// The package `pycomponent` of the interpreter world.
#[cfg(not(feature = "http"))]
const PYCOMPONENT_PACKAGE: &str = "\"\"\"What pycomponent adds to Python: `pycomponent.http`, outgoing HTTP; \
`HostObject`, the embedder's objects.\"\"\"\n\
from _pycomponent_objects import HostError, HostMethod, HostObject\n";

/// `pycomponent.http` of the interpreter world: outgoing HTTP.
#[cfg(not(feature = "http"))]
const PYCOMPONENT_HTTP: &str = "\"\"\"Outgoing HTTP through the host: `await fetch(url, ...)`, `request(...)`.\"\"\"\n\
from _pycomponent_http import *\n\
from _pycomponent_http import __all__\n";

static START: Once = Once::new();

/// The extension modules of a component variant's native packages (none in
/// the default build), written by build.rs.
mod native {
    include!(concat!(env!("OUT_DIR"), "/native_modules.rs"));
}

/// Starts CPython and runs the bootstrap, once per instance. A failure is
/// a bug of the guest: it panics (a trap), since nothing can run without it.
pub fn ensure_started() {
    START.call_once(|| {
        // SAFETY: the interpreter's configuration flags are plain ints read
        // by Py_InitializeEx; nothing else runs yet (single-threaded guest).
        // They are deprecated from Python 3.12 on; this is 3.11.
        #[allow(deprecated)]
        unsafe {
            // No site-packages, no PYTHON* variables, no .pyc writes: the
            // guest sees only what the embedder grants.
            ffi::Py_IsolatedFlag = 1;
            ffi::Py_NoSiteFlag = 1;
            ffi::Py_IgnoreEnvironmentFlag = 1;
            ffi::Py_DontWriteBytecodeFlag = 1;
            ffi::Py_NoUserSiteDirectory = 1;
            // Native modules are built-in modules under their dotted names
            // (`numpy._core._multiarray_umath`); the inittab is read by
            // Py_InitializeEx, so they are added before it. The names are
            // static, as the inittab keeps the pointers.
            for (name, init) in native::NATIVE_MODULES {
                if ffi::PyImport_AppendInittab(name.as_ptr(), Some(*init)) != 0 {
                    panic!("the inittab could not take {name:?}");
                }
            }
            ffi::Py_InitializeEx(0);
        }
        if let Err(err) = run_bootstrap() {
            panic!("the guest's bootstrap failed:\n{}", describe(err).traceback);
        }
    });
}

/// Creates `_pycomponent` and runs bootstrap.py in it.
fn run_bootstrap() -> PyResult<()> {
    let module = py::add_module(c"_pycomponent")?;
    let globals = py::module_dict(&module)?;
    let builtins = py::import(c"builtins")?;
    py::dict_set(&globals, &py::str("__builtins__")?, &builtins)?;
    py::run_string(BOOTSTRAP, SourceKind::Statements, &globals)?;
    keep_standard_streams()?;
    let add = |name: &str, source: &str, is_package: bool| {
        call_helper("add_module", &[&py::str(name)?, &py::str(source)?, &py::bool(is_package)?])
    };
    add("_pycomponent_asyncio", EVENT_LOOP, false)?;
    add("_pycomponent_http", HTTP_CLIENT, false)?;
    add("ssl", SSL, false)?;
    crate::http_client::install(&module)?;
    #[cfg(feature = "http")]
    crate::http_stream::install(&module)?;
    // An HTTP app has no host functions: Python's stand-ins stay, so
    // that `import` finds no host modules and a host call raises.
    #[cfg(not(feature = "http"))]
    {
        crate::host_bridge::install(&module)?;
        add("_pycomponent_objects", HOST_OBJECTS, false)?;
        crate::host_objects::install(&py::import(c"_pycomponent_objects")?)?;
        // An HTTP app's `pycomponent.http` is http.py, which adds the app's
        // request and response types to these.
        add("pycomponent", PYCOMPONENT_PACKAGE, true)?;
        add("pycomponent.http", PYCOMPONENT_HTTP, false)?;
    }
    Ok(())
}

/// Calls `_pycomponent.<name>(*args)`.
pub(crate) fn call_helper(name: &str, args: &[&Owned]) -> PyResult<Owned> {
    let name = CString::new(name).expect("helper names hold no NUL");
    py::add_module(c"_pycomponent")?.getattr(&name)?.call(args)
}

/// The exception as a WIT value, formatted by `_pycomponent.describe`
/// (qualified type name, `str()`, traceback without the guest's frames).
pub(crate) fn describe(err: PyErr) -> PythonError {
    let described = call_helper("describe", &[err.exception()]).and_then(|d| {
        let part = |i| py::tuple_item(&d, i).and_then(|p| py::text_of(&p));
        Ok(PythonError { type_name: part(0)?, message: part(1)?, traceback: part(2)? })
    });
    described.unwrap_or_else(|_| PythonError {
        type_name: py::type_name(err.exception()).unwrap_or_else(|_| "BaseException".into()),
        message: "(the exception could not be formatted)".into(),
        traceback: String::new(),
    })
}

thread_local! {
    /// `sys.stdout` and `sys.stderr` as the bootstrap made them: unbuffered
    /// and write-through, so that what they were given is in the file
    /// system's capture already.
    static STANDARD_STREAMS: std::cell::RefCell<Option<(Owned, Owned)>> = const { std::cell::RefCell::new(None) };
}

/// Keeps the standard streams the bootstrap installed (see [`take_output`]).
fn keep_standard_streams() -> PyResult<()> {
    let sys = py::import(c"sys")?;
    let streams = (sys.getattr(c"stdout")?, sys.getattr(c"stderr")?);
    STANDARD_STREAMS.set(Some(streams));
    Ok(())
}

/// Flushes `sys.stdout` and `sys.stderr` (bootstrap's `flush_output`).
fn flush_streams() {
    if let Err(err) = call_helper("flush_output", &[]) {
        crate::vfs::log(format_args!(
            "pycomponent: the call's output could not be flushed: {}",
            describe(err).message
        ));
    }
}

/// Whether a program put other objects in `sys.stdout` or `sys.stderr`.
fn streams_replaced() -> bool {
    STANDARD_STREAMS.with_borrow(|streams| {
        let Some((stdout, stderr)) = streams else { return true };
        // SAFETY: borrowed references from the sys module's dict, or NULL;
        // only their addresses are compared.
        unsafe {
            ffi::PySys_GetObject(c"stdout".as_ptr()) != stdout.as_ptr()
                || ffi::PySys_GetObject(c"stderr".as_ptr()) != stderr.as_ptr()
        }
    })
}

/// What the call printed; clears the buffers. Python's streams are
/// flushed first when a program put buffered ones in their place (the
/// standard ones hold nothing back: a call of a few microseconds, such as
/// a PyProxy's attribute read, does not pay for a Python-level flush).
pub fn take_output() -> Output {
    if streams_replaced() {
        flush_streams();
    }
    let (stdout, stderr) = crate::vfs::take_output();
    Output { stdout, stderr }
}

/// Turns a result object into a value, or the exception into an error.
fn finish(result: PyResult<Owned>) -> Result<Value, PythonError> {
    result.and_then(|obj| convert::to_value(&obj)).map_err(describe)
}

fn run_source(code: &str, kind: SourceKind) -> PyResult<Owned> {
    let globals = py::module_dict(&py::add_module(c"__main__")?)?;
    py::run_string(code, kind, &globals)
}

/// `eval`.
pub fn eval(expression: &str) -> Result<Value, PythonError> {
    finish(run_source(expression, SourceKind::Expression))
}

/// `exec`.
pub fn exec(code: &str) -> Result<(), PythonError> {
    run_source(code, SourceKind::Statements).map(drop).map_err(describe)
}

/// `run`.
pub fn run(code: &str) -> Result<Value, PythonError> {
    finish(py::str(code).and_then(|code| call_helper("run", &[&code])))
}

/// The embedder's arguments of a call, as Python's positional tuple and
/// keyword dict.
pub fn arguments(args: &[Value], kwargs: &[KeywordArgument]) -> PyResult<(Owned, Owned)> {
    let args = args
        .iter()
        .enumerate()
        .map(|(i, arg)| convert::from_value(arg).map_err(|e| e.into_py_err(&format!("argument {i}"))))
        .collect::<PyResult<Vec<_>>>()?;
    let dict = py::dict()?;
    for kw in kwargs {
        let value =
            convert::from_value(&kw.value).map_err(|e| e.into_py_err(&format!("argument {}", kw.name)))?;
        py::dict_set(&dict, &py::str(&kw.name)?, &value)?;
    }
    Ok((py::tuple(args.into_iter())?, dict))
}

/// The arguments of `call` and `call-async` for bootstrap's helpers: the
/// dotted name, the positional arguments as a tuple, the keywords as a dict.
pub fn call_arguments(function: &str, args: &[Value], kwargs: &[KeywordArgument]) -> PyResult<Vec<Owned>> {
    let (args, kwargs) = arguments(args, kwargs)?;
    Ok(vec![py::str(function)?, args, kwargs])
}

/// `call`.
pub fn call(function: &str, args: &[Value], kwargs: &[KeywordArgument]) -> Result<Value, PythonError> {
    let call = || -> PyResult<Owned> {
        let args = call_arguments(function, args, kwargs)?;
        call_helper("call", &[&args[0], &args[1], &args[2]])
    };
    finish(call())
}

/// `import-module`.
pub fn import_module(name: &str) -> Result<(), PythonError> {
    py::str(name).and_then(|name| call_helper("import_module", &[&name])).map(drop).map_err(describe)
}

/// `add-module`.
pub fn add_module(name: &str, source: &str, is_package: bool) -> Result<(), PythonError> {
    let add = || call_helper("add_module", &[&py::str(name)?, &py::str(source)?, &py::bool(is_package)?]);
    add().map(drop).map_err(describe)
}

/// Per instance: set once the instance's first call has run
/// `_pycomponent.on_instance_start`. It is false in the snapshot.
static INSTANCE_STARTED: AtomicBool = AtomicBool::new(false);

unsafe extern "C" {
    /// wasi-libc's `chdir`, which keeps the working directory as a path.
    fn chdir(path: *const std::ffi::c_char) -> std::ffi::c_int;
}

/// Starts the interpreter if the snapshot did not, then runs the
/// per-instance start-up once.
pub fn ensure_instance_started() {
    ensure_started();
    crate::host_objects::send_released();
    if !INSTANCE_STARTED.swap(true, Ordering::Relaxed) {
        crate::vfs::on_instance_start();
        if let Err(err) = call_helper("on_instance_start", &[]) {
            let err = describe(err);
            crate::vfs::log(format_args!(
                "pycomponent: instance start-up failed: {}: {}",
                err.type_name, err.message
            ));
        }
    }
}

/// Where the standard library is mounted while the snapshot is made.
pub const SNAPSHOT_STDLIB: &str = "/usr/local/lib/python3.11";

/// Where the pure-Python packages the component carries (tzdata) are
/// mounted while the snapshot is made, as pip would install them.
pub const SNAPSHOT_SITE_PACKAGES: &str = "/usr/local/lib/python3.11/site-packages";

/// Modules imported into the snapshot, so that instances start with them
/// loaded: the ones most programs use.
const PRELOAD: &[&str] = &[
    "abc",
    // The event loop of asynchronous calls: 40 ms to import, once per
    // instance, when the snapshot does not hold it.
    "asyncio",
    "base64",
    "collections",
    "copy",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "functools",
    "hashlib",
    "itertools",
    "json",
    "math",
    "operator",
    "random",
    "re",
    "string",
    "struct",
    "textwrap",
    "traceback",
    "types",
    "typing",
];

/// Builds the snapshot's state: starts CPython, embeds the standard library
/// and preloads common modules. Returns the number of embedded modules, or
/// the Python error.
pub fn prepare_snapshot() -> Result<usize, PythonError> {
    ensure_started();
    // Kept in the snapshot: every instance starts at home, as a login does.
    let home = CString::new(crate::vfs::HOME).expect("no NUL");
    // SAFETY: a NUL-terminated path, copied by wasi-libc.
    if unsafe { chdir(home.as_ptr()) } != 0 {
        crate::vfs::log(format_args!(
            "pycomponent: the working directory could not be set to {}",
            crate::vfs::HOME
        ));
    }
    let embed = || -> PyResult<usize> {
        let preload =
            py::list(PRELOAD.iter().map(|name| py::str(name)).collect::<PyResult<Vec<_>>>()?.into_iter())?;
        let count = call_helper(
            "embed_stdlib",
            &[&py::str(SNAPSHOT_STDLIB)?, &py::str(SNAPSHOT_SITE_PACKAGES)?, &preload],
        )?;
        Ok(py::int_value(&count)?.unwrap_or(0).max(0) as usize)
    };
    embed().map_err(describe)
}
