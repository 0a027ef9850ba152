//! Asynchronous calls: [`Instance::run_async`] and [`Instance::call_async`]
//! drive the guest's event loop through the continuation interface of the
//! WIT (`run-async`, `call-async`, `resume`, `cancel`). Each step runs
//! Python until every task waits; the guest then hands back the host calls
//! it awaits and its next timer, and the host awaits them (tokio) without
//! holding a thread, so many instances can wait at once.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use crate::Error;
use crate::bindings::exports::pycomponent::python::interpreter::{Completion, Progress, Waiting};
use crate::host::{PendingCall, wire_result};
use crate::objects::Objects;
use crate::runtime::{Instance, Reply, check_source};
use crate::value::Value;

/// How long Python may run to unwind a call cancelled by its timeout (its
/// `finally` blocks and `except CancelledError` handlers) before the
/// instance is retired instead.
const CANCEL_GRACE: Duration = Duration::from_millis(500);

/// What the host's wait ended with.
enum Wake {
    /// Host calls finished (none when the timer woke it).
    Resume(Vec<Completion>),
    /// The call's timeout passed.
    TimedOut,
}

impl Instance {
    /// Runs a cell like [`Instance::run`], on the guest's asyncio event
    /// loop: it may `await` at top level (as in a notebook or Pyodide's
    /// `runPythonAsync`), and await asynchronous host functions
    /// ([`HostModules::async_function`](crate::HostModules::async_function)).
    /// While every Python task waits, this future waits too, without
    /// blocking a thread: `asyncio.sleep` is a tokio timer, and awaited host
    /// calls run concurrently. Must be awaited inside a tokio runtime with
    /// its time driver enabled.
    ///
    /// The timeout of [`Limits`](crate::Limits) covers the whole call,
    /// waiting included. When it passes while Python waits, the task is
    /// cancelled (`asyncio.CancelledError` where it awaits) and the
    /// instance stays usable if the task ends within a short grace period;
    /// it is retired otherwise, and when the timeout stops running Python
    /// code. Dropping this future before it ends leaves the run waiting in
    /// the guest; the instance's next call cancels it first.
    pub async fn run_async(&mut self, code: &str) -> Result<Reply<Value>, Error> {
        check_source(code)?;
        self.drive(|instance| {
            instance.python.pycomponent_python_interpreter().call_run_async(&mut instance.store, code)
        })
        .await
    }

    /// Calls a function by dotted name like [`Instance::call`]; when it
    /// gives an awaitable (an `async def` function does), the awaitable is
    /// run as [`Instance::run_async`] runs a cell.
    pub async fn call_async(
        &mut self,
        function: &str,
        args: &[Value],
        kwargs: &[(&str, Value)],
    ) -> Result<Reply<Value>, Error> {
        let (args, kwargs) = self.wire_arguments(args, kwargs)?;
        self.drive(|instance| {
            instance.python.pycomponent_python_interpreter().call_call_async(
                &mut instance.store,
                function,
                &args,
                &kwargs,
            )
        })
        .await
    }

    /// Runs the first step, then waits and resumes until the call is done.
    pub(crate) async fn drive(
        &mut self,
        first: impl FnOnce(&mut Instance) -> wasmtime::Result<Progress> + Send,
    ) -> Result<Reply<Value>, Error> {
        self.guard()?;
        let deadline = self.timeout.map(|timeout| Instant::now() + timeout);
        // One timer for the whole call, not one per wait.
        let mut timed_out = std::pin::pin!(async move {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        });
        self.store.data_mut().host.pending.accepting = true;
        let mut progress = self.step(first)?;
        loop {
            let waiting = match progress {
                Progress::Done(evaluation) => {
                    self.end_async_call();
                    return self.evaluation(evaluation);
                }
                Progress::Waiting(waiting) => waiting,
            };
            let completions = match self.wait(waiting, timed_out.as_mut()).await {
                Wake::Resume(completions) => completions,
                Wake::TimedOut => return Err(self.cancel_after_timeout()),
            };
            if let Some(deadline) = deadline {
                self.arm_timeout(deadline.saturating_duration_since(Instant::now()));
            }
            progress = self.step(|instance| {
                instance
                    .python
                    .pycomponent_python_interpreter()
                    .call_resume(&mut instance.store, &completions)
            })?;
        }
    }

    /// Runs one step in the guest; a trap retires the instance.
    fn step(
        &mut self,
        step: impl FnOnce(&mut Instance) -> wasmtime::Result<Progress> + Send,
    ) -> Result<Progress, Error> {
        let progress = self.in_guest(step);
        if progress.is_err() {
            self.end_async_call();
        }
        progress
    }

    /// Waits, without blocking, until a host call Python awaits finishes,
    /// the guest's timer is due, or the call's deadline passes (`timed_out`). Pending
    /// calls Python no longer awaits are dropped first.
    async fn wait(&mut self, waiting: Waiting, timed_out: Pin<&mut impl Future<Output = ()>>) -> Wake {
        let host = &mut self.store.data_mut().host;
        let (pending, objects) = (&mut host.pending.calls, &mut host.objects);
        pending.retain(|id, _| waiting.calls.contains(id));
        let unknown: Vec<Completion> = waiting
            .calls
            .iter()
            .filter(|id| !pending.contains_key(id))
            .map(|&id| Completion { id, result: Err(format!("the host holds no pending call #{id}")) })
            .collect();
        if !unknown.is_empty() {
            return Wake::Resume(unknown);
        }
        let timer = async move {
            match waiting.wake_after_ns {
                Some(ns) => tokio::time::sleep(Duration::from_nanos(ns)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            completions = poll_fn(|cx| poll_calls(pending, objects, cx)) => Wake::Resume(completions),
            () = timer => Wake::Resume(Vec::new()),
            () = timed_out => Wake::TimedOut,
        }
    }

    /// The timeout passed while Python waited: its task is cancelled, with
    /// a short grace period to unwind. The instance is retired when it does
    /// not end in time.
    fn cancel_after_timeout(&mut self) -> Error {
        let timeout = Error::Timeout(self.timeout.unwrap_or_default());
        self.store.data_mut().host.pending.calls.clear();
        match self.cancel_in_guest() {
            Ok(()) => timeout,
            Err(Error::Trapped) => timeout,
            Err(error) => error,
        }
    }

    /// Cancels an asynchronous call that a dropped [`Instance::run_async`]
    /// future left waiting in the guest, before the next call runs.
    pub(crate) fn cancel_abandoned_call(&mut self) -> Result<(), Error> {
        self.cancel_in_guest()
    }

    /// Cancels the waiting call in the guest and lets it unwind for
    /// [`CANCEL_GRACE`]; a call that is still not done then (or traps)
    /// retires the instance ([`Error::Trapped`]).
    fn cancel_in_guest(&mut self) -> Result<(), Error> {
        self.store.data_mut().host.pending.calls.clear();
        if self.timeout.is_some() {
            self.arm_timeout(CANCEL_GRACE);
        }
        let progress = self.in_guest(|i| i.python.pycomponent_python_interpreter().call_cancel(&mut i.store));
        self.end_async_call();
        match progress {
            Ok(Progress::Done(_)) => Ok(()),
            Ok(Progress::Waiting(_)) => {
                self.retire();
                Err(Error::Trapped)
            }
            Err(_) => Err(Error::Trapped),
        }
    }

    /// The asynchronous call is over: no host call may start, and the
    /// pending ones are dropped.
    fn end_async_call(&mut self) {
        let host = &mut self.store.data_mut().host;
        host.pending.accepting = false;
        host.pending.calls.clear();
        host.http.end_async_call();
    }
}

/// Polls every pending host call once; ready when at least one finished,
/// with the results of all that did.
fn poll_calls(
    pending: &mut HashMap<u64, PendingCall>,
    objects: &mut Objects,
    cx: &mut std::task::Context<'_>,
) -> Poll<Vec<Completion>> {
    let mut completions = Vec::new();
    pending.retain(|&id, call| {
        // A panicking future is a host error, as for a synchronous function.
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call.future.as_mut().poll(cx)));
        let result = match polled {
            Ok(Poll::Pending) => return true,
            Ok(Poll::Ready(result)) => wire_result(&call.label, result, objects),
            Err(_) => Err(format!("host function {} panicked", call.label)),
        };
        completions.push(Completion { id, result });
        false
    });
    if completions.is_empty() { Poll::Pending } else { Poll::Ready(completions) }
}
