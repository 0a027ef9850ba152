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
"""

import asyncio
import time
from asyncio import base_events, events

# The longest one sleep of the loop lasts: the host's call timeout is
# checked between slices (a sleep inside the host cannot be interrupted).
SLEEP_SLICE = 0.05


class _TimerWait:
    """Stands in for the selector: ``select(timeout)`` sleeps and reports
    no I/O events, since the loop has no descriptors to watch."""

    def select(self, timeout):
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


class ComponentEventLoopPolicy(events.BaseDefaultEventLoopPolicy):
    """Makes ``ComponentEventLoop`` the loop of ``asyncio.run`` and
    ``asyncio.new_event_loop``."""

    _loop_factory = ComponentEventLoop


def install():
    """Makes this loop asyncio's default (called when ``asyncio`` is imported)."""
    asyncio.set_event_loop_policy(ComponentEventLoopPolicy())
