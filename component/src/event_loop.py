"""The asyncio event loop of the component (module ``_pycomponent_asyncio``).

CPython's default loop on Unix waits in a selector and wakes itself through
a socket pair; WASI preview 1 has neither sockets nor threads, so
``asyncio.run`` fails there. This loop is asyncio's own ``BaseEventLoop``
(tasks, futures, timers, ``gather``, ``wait_for``, queues) with the waiting
step replaced: when nothing is ready it sleeps until the next timer, in
short slices so that the host's call timeout can stop it. It is installed
as the default policy when ``asyncio`` is first imported, so plain
``asyncio.run(main())`` works. ``run_in_executor`` runs the function at once
(there are no threads).

The embedder's asynchronous calls (``run-async``, ``call-async`` of the WIT)
drive a loop of this kind step by step instead (``AsyncRun``): each step
runs every callback that is ready and, when all tasks wait, hands control
back to the host with what they wait for (host calls, the next timer). The
host waits without blocking and resumes the step with the results. The
interpreter's C stack is empty between steps: all the state of a waiting
run is in the loop's tasks.
"""

import asyncio
import sys
from threading import get_ident as _get_ident
import time
from asyncio import base_events, events

# The longest one sleep of the loop lasts: the host's call timeout is
# checked between slices (a sleep inside the host cannot be interrupted).
SLEEP_SLICE = 0.05


class _TimerWait:
    """Stands in for the selector: ``select(timeout)`` sleeps and reports
    no I/O events, since the loop has no descriptors to watch."""

    # Set while the host drives the loop: then the host does the waiting.
    driven = False

    def select(self, timeout):
        if self.driven:
            return []
        if timeout is None:
            raise RuntimeError(
                "the event loop has nothing to wait for: every task waits on something "
                "that nothing in this interpreter will complete"
            )
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, SLEEP_SLICE))
        return []


class ComponentEventLoop(base_events.BaseEventLoop):
    """``asyncio.BaseEventLoop`` without a selector, a self-pipe or threads."""

    def __init__(self):
        super().__init__()
        self._selector = _TimerWait()
        # Pending asynchronous host calls by the host's id (driven loops only).
        self.host_calls = {}

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        # Wakes a loop blocked in its selector from another thread; there
        # are no other threads.
        pass

    def run_in_executor(self, executor, func, *args):
        """Runs ``func(*args)`` now and gives a finished future: there are
        no threads to run it on."""
        self._check_closed()
        future = self.create_future()
        try:
            future.set_result(func(*args))
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # noqa: BLE001 - the future carries any exception
            future.set_exception(exc)
        return future


class AsyncRun:
    """One asynchronous call of the embedder: a task on the instance's
    driven loop, run in steps. Each step gives ``("done", value)`` or
    ``("waiting", call_ids, wake_after_ns)``; an exception of the task is
    raised from the step that finds it done."""

    def __init__(self, loop, awaitable, finish):
        self.loop = loop
        self.finish = finish
        self.stuck = None
        hooks = _enter(loop)
        try:
            self.task = asyncio.ensure_future(awaitable, loop=loop)
        finally:
            _leave(loop, hooks)

    def step(self):
        loop = self.loop
        hooks = _enter(loop)
        try:
            while True:
                if loop._scheduled or loop._debug:
                    loop._run_once()
                else:
                    _run_ready(loop)
                if self.task.done():
                    break
                if loop._ready:
                    continue
                if loop._scheduled:
                    due = _next_timer(loop)
                    if due is not None and due <= loop.time() + loop._clock_resolution:
                        continue
                break
        finally:
            _leave(loop, hooks)
        if self.task.done():
            return self._done()
        host_calls = loop.host_calls
        calls = [i for i, f in host_calls.items() if not f.done()]
        if len(calls) != len(host_calls):
            loop.host_calls = {i: host_calls[i] for i in calls}
        due = _next_timer(loop) if loop._scheduled else None
        if not calls and due is None:
            # Nothing can ever wake a task: in a blocking loop this would
            # hang. The task is cancelled so that it can clean up, and the
            # run ends with the reason.
            self.stuck = RuntimeError(
                "the event loop has nothing to wait for: every task waits on something that "
                "nothing in this interpreter will complete"
            )
            self.task.cancel()
            return self.step()
        wake = None if due is None else max(0, int((due - loop.time()) * 1e9))
        return ("waiting", calls, wake)

    def resume(self, completions):
        """Gives the host calls' results to their futures: ``completions`` is
        ``[(id, ok, value_or_message)]``; a call Python no longer awaits is skipped."""
        for call_id, ok, value in completions:
            future = self.loop.host_calls.pop(call_id, None)
            if future is None or future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value if isinstance(value, BaseException) else RuntimeError(value))
        return self.step()

    def cancel(self):
        self.task.cancel()
        return self.step()

    def _done(self):
        # Host calls still pending belong to tasks the run left behind; the
        # host drops them when the run ends, so those tasks see a cancellation.
        for future in self.loop.host_calls.values():
            future.cancel()
        self.loop.host_calls.clear()
        task, self.task = self.task, None
        if self.stuck is not None:
            raise self.stuck
        return ("done", self.finish(task.result()))


def _run_ready(loop):
    """``_run_once`` for a loop with no timers, outside debug mode: there
    is nothing to select and nothing due, so one iteration runs the
    callbacks that are ready now (each step round trip goes through here)."""
    ready = loop._ready
    for _ in range(len(ready)):
        handle = ready.popleft()
        if not handle._cancelled:
            handle._run()


def _enter(loop):
    """Puts the loop in the running state for one step, as ``run_forever``
    does; gives what ``_leave`` restores."""
    if loop._closed or loop._thread_id is not None or events._get_running_loop() is not None:
        loop._check_closed()
        loop._check_running()
    if loop._debug:
        loop._set_coroutine_origin_tracking(True)
    hooks = sys.get_asyncgen_hooks()
    loop._thread_id = _get_ident()
    sys.set_asyncgen_hooks(loop._asyncgen_firstiter_hook, loop._asyncgen_finalizer_hook)
    loop._selector.driven = True
    events._set_running_loop(loop)
    return hooks


def _leave(loop, hooks):
    loop._selector.driven = False
    loop._thread_id = None
    events._set_running_loop(None)
    if loop._debug:
        loop._set_coroutine_origin_tracking(False)
    sys.set_asyncgen_hooks(*hooks)


def _next_timer(loop):
    """When the loop's next live timer is due (loop time), or None."""
    return min((h._when for h in loop._scheduled if not h._cancelled), default=None)


# The instance's driven loop and its asynchronous call in progress, made at
# the first asynchronous call (never in the snapshot).
_driven_loop = None
_run = None


def start(awaitable, finish=lambda value: value):
    """Starts an asynchronous call that awaits ``awaitable`` and gives
    ``finish(its result)``; returns the first step's progress."""
    global _driven_loop, _run
    if _run is not None:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()  # never started: no "never awaited" warning
        raise RuntimeError(
            "an asynchronous call is already in progress in this interpreter: wait for it to end"
        )
    if _driven_loop is None or _driven_loop.is_closed():
        _driven_loop = ComponentEventLoop()
    _run = AsyncRun(_driven_loop, awaitable, finish)
    return _step(_run.step)


def resume(completions):
    return _step(lambda: _current().resume(completions))


def cancel():
    return _step(lambda: _current().cancel())


def _current():
    if _run is None:
        raise RuntimeError("no asynchronous call is in progress in this interpreter")
    return _run


def _step(step):
    """Runs one step; the call is over once it is done or raised."""
    global _run
    try:
        progress = step()
    except BaseException:
        # The task's own exception (or a SystemExit it let through) ends the call.
        if _run is not None and (_run.task is None or _run.task.done()):
            _run = None
        raise
    if progress[0] == "done":
        _run = None
    return progress


def host_call_future(call_id, label, value=None, ready=False):
    """The awaitable of an asynchronous host call, on the running driven
    loop (the host only lets an asynchronous call reach it): pending under
    the host's ``call_id`` until ``resume`` completes it, or, when the host
    finished it at once (``ready``), already done with ``value``."""
    loop = events._get_running_loop()
    if loop is None or loop is not _driven_loop:
        raise RuntimeError(
            f"{label} is an asynchronous host function: await it (`await {label}(...)`) in a "
            "coroutine of the asynchronous call"
        )
    future = loop.create_future()
    if ready:
        future.set_result(value)
    else:
        loop.host_calls[call_id] = future
    return future


class ComponentEventLoopPolicy(events.BaseDefaultEventLoopPolicy):
    """Makes ``ComponentEventLoop`` the loop of ``asyncio.run`` and
    ``asyncio.new_event_loop``."""

    _loop_factory = ComponentEventLoop


def install(asyncio_module=asyncio):
    """Makes this loop asyncio's default (called when ``asyncio`` is imported)."""
    asyncio_module.set_event_loop_policy(ComponentEventLoopPolicy())


def run_anyio_threads_inline(backend):
    """Makes anyio's ``to_thread.run_sync`` run the function at once, in the
    event loop's thread (called when anyio's asyncio backend is imported):
    WASI has no threads. Starlette and FastAPI run their synchronous
    endpoints this way; they hold the loop while they run, as any blocking
    code in a coroutine does."""

    async def run_sync_in_worker_thread(cls, func, args, *_, **__):
        await cls.checkpoint()
        return func(*args)

    backend.AsyncIOBackend.run_sync_in_worker_thread = classmethod(run_sync_in_worker_thread)
