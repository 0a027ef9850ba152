//! Asynchronous calls (WIT `run-async`, `call-async`, `resume`, `cancel`):
//! the steps of the driven event loop (`_pycomponent_asyncio.AsyncRun`),
//! turned into `progress` values for the host.

use crate::convert;
use crate::exports::pycomponent::python::interpreter::{Completion, Evaluation, Progress, Waiting};
use crate::interp::{self, call_helper, describe};
use crate::py::{self, ExceptionKind, Owned, PyErr, PyResult};

/// Runs one step through bootstrap helper `helper` and gives its progress:
/// `("done", value)` or `("waiting", [call ids], wake_after_ns or None)`
/// from Python, an exception as a `done` with the error. The output is the
/// whole call's: it is handed over only when the call is done.
pub fn step(helper: &str, args: impl FnOnce() -> PyResult<Vec<Owned>>) -> Progress {
    interp::ensure_instance_started();
    let outcome = args().and_then(|args| {
        let args: Vec<&Owned> = args.iter().collect();
        call_helper(helper, &args)
    });
    match outcome.and_then(|progress| read_progress(&progress)) {
        Ok(Step::Waiting(waiting)) => Progress::Waiting(waiting),
        Ok(Step::Done(value)) => done(convert::to_value(&value).map_err(describe)),
        Err(err) => done(Err(describe(err))),
    }
}

fn done(
    result: Result<crate::pycomponent::python::types::Value, crate::pycomponent::python::types::PythonError>,
) -> Progress {
    Progress::Done(Evaluation { result, output: interp::take_output() })
}

enum Step {
    Done(Owned),
    Waiting(Waiting),
}

fn read_progress(progress: &Owned) -> PyResult<Step> {
    let state = py::text_of(&py::tuple_item(progress, 0)?)?;
    match state.as_str() {
        "done" => Ok(Step::Done(py::tuple_item(progress, 1)?)),
        "waiting" => {
            let calls = py::sequence_items(&py::tuple_item(progress, 1)?)?
                .iter()
                .map(py::uint_value)
                .collect::<PyResult<Vec<u64>>>()?;
            let wake = py::tuple_item(progress, 2)?;
            let wake_after_ns = if wake.is_none() { None } else { Some(py::uint_value(&wake)?) };
            Ok(Step::Waiting(Waiting { calls, wake_after_ns }))
        }
        other => Err(PyErr::new(ExceptionKind::Runtime, &format!("unknown progress state {other:?}"))),
    }
}

/// The completions as Python's `[(id, ok, value_or_message)]`. A value that
/// breaks the WIT contract reaches its awaiting task as a `TypeError`.
pub fn completions(completions: &[Completion]) -> PyResult<Vec<Owned>> {
    let items = completions
        .iter()
        .map(|completion| {
            let (ok, payload) = match &completion.result {
                Ok(value) => match convert::from_value(value) {
                    Ok(object) => (true, object),
                    Err(convert::FromValueError::Python(err)) => (false, err.exception().clone_ref()),
                    Err(convert::FromValueError::Malformed(message)) => (
                        false,
                        PyErr::new(
                            ExceptionKind::Type,
                            &format!("the host returned an invalid value: {message}"),
                        )
                        .exception()
                        .clone_ref(),
                    ),
                },
                Err(message) => (false, py::str(message)?),
            };
            py::tuple([py::uint(completion.id)?, py::bool(ok)?, payload].into_iter())
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(vec![py::list(items.into_iter())?])
}
