//! The pycomponent guest: CPython 3.11 behind the WIT interface of `../wit`.
//!
//! `interp` owns the interpreter, `convert` the value mapping, `objects`
//! the Python objects the embedder holds and `host_objects` the embedder's
//! that Python holds, `py` the safe layer over CPython's C API (pyo3-ffi),
//! `vfs` the file system below wasi-libc, `files` the embedder's access to
//! it; this file connects them to the generated bindings.
//!
//! Built without features, the crate is world `python` (host functions
//! imported through `host_bridge`); with feature `http`, it is world
//! `http-app`, whose requests `http` serves.

mod async_run;
mod convert;
mod files;
#[cfg(not(feature = "http"))]
mod host_bridge;
mod host_objects;
#[cfg(feature = "http")]
mod http;
mod http_client;
#[cfg(feature = "http")]
mod http_outgoing;
#[cfg(feature = "http")]
mod http_stream;
mod interp;
mod objects;
mod py;
mod snapshot_memory;
mod vfs;

use exports::pycomponent::python::files::{self as files_api, EntryStat, FileError};
use exports::pycomponent::python::interpreter::{Completion, Evaluation, Execution, Guest, Progress};
use exports::pycomponent::python::objects::{self as objects_api, ResultForm};
use pycomponent::python::types::{KeywordArgument, Value};

#[cfg(not(feature = "http"))]
wit_bindgen::generate!({
    world: "python",
    path: "../wit",
});

#[cfg(feature = "http")]
wit_bindgen::generate!({
    world: "http-app",
    path: "../wit",
    generate_all,
});

struct Component;

export!(Component);

fn evaluation(run: impl FnOnce() -> Result<Value, pycomponent::python::types::PythonError>) -> Evaluation {
    interp::ensure_instance_started();
    let result = run();
    Evaluation { result, output: interp::take_output() }
}

fn execution(run: impl FnOnce() -> Result<(), pycomponent::python::types::PythonError>) -> Execution {
    interp::ensure_instance_started();
    let result = run();
    Execution { result, output: interp::take_output() }
}

impl Guest for Component {
    fn eval(expression: String) -> Evaluation {
        evaluation(|| interp::eval(&expression))
    }

    fn exec(code: String) -> Execution {
        execution(|| interp::exec(&code))
    }

    fn run(code: String) -> Evaluation {
        evaluation(|| interp::run(&code))
    }

    fn call(function: String, args: Vec<Value>, kwargs: Vec<KeywordArgument>) -> Evaluation {
        evaluation(|| interp::call(&function, &args, &kwargs))
    }

    fn run_async(code: String) -> Progress {
        async_run::step("run_async", || Ok(vec![py::str(&code)?]))
    }

    fn call_async(function: String, args: Vec<Value>, kwargs: Vec<KeywordArgument>) -> Progress {
        async_run::step("call_async", || interp::call_arguments(&function, &args, &kwargs))
    }

    fn resume(completions: Vec<Completion>) -> Progress {
        async_run::step("resume_async", || async_run::completions(&completions))
    }

    fn cancel() -> Progress {
        async_run::step("cancel_async", || Ok(vec![]))
    }

    fn import_module(name: String) -> Execution {
        execution(|| interp::import_module(&name))
    }

    fn add_module(name: String, source: String, is_package: bool) -> Execution {
        execution(|| interp::add_module(&name, &source, is_package))
    }
}

impl objects_api::Guest for Component {
    fn global(name: String, form: ResultForm) -> Evaluation {
        objects::evaluate(form, || objects::global(&name))
    }

    fn import_object(module: String) -> Evaluation {
        objects::evaluate(ResultForm::Handle, || objects::import(&module))
    }

    fn from_value(value: Value) -> Evaluation {
        objects::evaluate(ResultForm::Handle, || objects::argument(&value, "value"))
    }

    fn get_attribute(object: u64, name: String, form: ResultForm) -> Evaluation {
        objects::evaluate(form, || objects::get(object)?.getattr_str(&name))
    }

    fn set_attribute(object: u64, name: String, value: Value) -> Execution {
        objects::execute(|| {
            objects::get(object)?.setattr_str(&name, Some(&objects::argument(&value, "value")?))
        })
    }

    fn delete_attribute(object: u64, name: String) -> Execution {
        objects::execute(|| objects::get(object)?.setattr_str(&name, None))
    }

    fn has_attribute(object: u64, name: String) -> Evaluation {
        objects::evaluate(ResultForm::Value, || {
            let object = objects::get(object)?;
            match object.getattr_str(&name) {
                Ok(_) => py::bool(true),
                Err(err) if err.is_instance_of(py::ExceptionKind::Attribute) => py::bool(false),
                Err(err) => Err(err),
            }
        })
    }

    fn get_item(object: u64, key: Value, form: ResultForm) -> Evaluation {
        objects::evaluate(form, || objects::get(object)?.get_item(&objects::argument(&key, "key")?))
    }

    fn set_item(object: u64, key: Value, value: Value) -> Execution {
        objects::execute(|| {
            let object = objects::get(object)?;
            object.set_item(&objects::argument(&key, "key")?, Some(&objects::argument(&value, "value")?))
        })
    }

    fn delete_item(object: u64, key: Value) -> Execution {
        objects::execute(|| objects::get(object)?.set_item(&objects::argument(&key, "key")?, None))
    }

    fn contains(object: u64, key: Value) -> Evaluation {
        objects::evaluate(ResultForm::Value, || {
            py::bool(objects::get(object)?.contains(&objects::argument(&key, "key")?)?)
        })
    }

    fn call(object: u64, args: Vec<Value>, kwargs: Vec<KeywordArgument>) -> Evaluation {
        objects::evaluate(ResultForm::Value, || objects::call(&objects::get(object)?, &args, &kwargs))
    }

    fn call_method(object: u64, name: String, args: Vec<Value>, kwargs: Vec<KeywordArgument>) -> Evaluation {
        objects::evaluate(ResultForm::Value, || {
            objects::call(&objects::get(object)?.getattr_str(&name)?, &args, &kwargs)
        })
    }

    fn call_async(
        object: u64,
        args: Vec<Value>,
        kwargs: Vec<KeywordArgument>,
        await_object: bool,
    ) -> Progress {
        async_run::step("call_async_object", || {
            let (call_args, call_kwargs) = interp::arguments(&args, &kwargs)?;
            Ok(vec![objects::get(object)?, call_args, call_kwargs, py::bool(await_object)?])
        })
    }

    fn length(object: u64) -> Evaluation {
        objects::evaluate(ResultForm::Value, || py::uint(objects::get(object)?.len()? as u64))
    }

    fn iterate(object: u64) -> Evaluation {
        objects::evaluate(ResultForm::Handle, || objects::get(object)?.iter())
    }

    fn next(iterator: u64, count: u32) -> Evaluation {
        objects::evaluate(ResultForm::Value, || objects::next(&objects::get(iterator)?, count))
    }

    fn repr(object: u64) -> Evaluation {
        objects::evaluate(ResultForm::Value, || objects::get(object)?.repr())
    }

    fn str(object: u64) -> Evaluation {
        objects::evaluate(ResultForm::Value, || objects::get(object)?.str())
    }

    fn to_value(object: u64, depth: Option<u32>) -> Evaluation {
        evaluation(|| {
            objects::get(object).map_err(interp::describe).and_then(|o| objects::to_value(&o, depth))
        })
    }

    fn release(handles: Vec<u64>) {
        objects::release(&handles);
    }

    fn set_limit(count: u32) {
        objects::set_limit(count);
    }

    fn usage() -> (u32, u32) {
        objects::usage()
    }
}

impl files_api::Guest for Component {
    fn write_file(path: String, data: Vec<u8>) -> Result<(), FileError> {
        files::write_file(&path, &data)
    }

    fn read_file(path: String) -> Result<Vec<u8>, FileError> {
        files::read_file(&path)
    }

    fn create_directory(path: String, parents: bool) -> Result<(), FileError> {
        files::create_directory(&path, parents)
    }

    fn list_directory(path: String) -> Result<Vec<String>, FileError> {
        files::list_directory(&path)
    }

    fn stat(path: String) -> Result<EntryStat, FileError> {
        files::stat(&path)
    }

    fn remove_file(path: String) -> Result<(), FileError> {
        files::remove_file(&path)
    }

    fn remove_directory(path: String) -> Result<(), FileError> {
        files::remove_directory(&path)
    }

    fn rename(from: String, to: String) -> Result<(), FileError> {
        files::rename(&from, &to)
    }

    fn set_capacity(bytes: u64) {
        vfs::set_capacity(bytes);
    }

    fn usage() -> (u64, u64) {
        vfs::usage()
    }
}

/// The pre-initialization entry point, run once by wizer while the
/// component is built: the memory it leaves behind is what every instance
/// starts from. A failure aborts the build with the Python error.
#[unsafe(export_name = "wizer-initialize")]
pub extern "C" fn wizer_initialize() {
    wit_bindgen::rt::run_ctors_once();
    // Kept in the snapshot: every instance reports its panics to the host.
    vfs::report_panics_to_host();
    match interp::prepare_snapshot() {
        Ok(count) => {
            let retired = snapshot_memory::retire_free_memory();
            vfs::write_to_host(
                2,
                format!("pycomponent: snapshot holds {count} stdlib modules; {retired} bytes of free memory retired\n")
                    .as_bytes(),
            )
        }
        Err(err) => {
            vfs::write_to_host(
                2,
                format!("pycomponent: pre-initialization failed:\n{}\n", err.traceback).as_bytes(),
            );
            std::process::abort();
        }
    }
}

/// The second pre-initialization entry point, of the `http-app` world: run
/// by wizer when `pycomponent build` takes the user's app (mounted at
/// `/app`) into the snapshot. A failure aborts the build with the Python
/// error.
#[cfg(feature = "http")]
#[unsafe(export_name = "pycomponent-initialize-app")]
pub extern "C" fn initialize_app() {
    if let Err(err) = http::load_app() {
        vfs::write_to_host(2, format!("{}\n", err.traceback.trim_end()).as_bytes());
        std::process::abort();
    }
    snapshot_memory::retire_free_memory();
}
