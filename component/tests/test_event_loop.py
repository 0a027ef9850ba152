"""event_loop.py: asyncio on the component's loop, which has no selector,
no self-pipe and no threads (run natively here with the same class)."""

import asyncio
import time
import types
import unittest

from guest import source


def load():
    module = types.ModuleType("_pycomponent_asyncio")
    exec(compile(source("event_loop.py"), "<_pycomponent_asyncio>", "exec"), module.__dict__)
    return module


class EventLoopTest(unittest.TestCase):
    def setUp(self):
        self.loop_module = load()

    def run_async(self, coroutine):
        with asyncio.Runner(loop_factory=self.loop_module.ComponentEventLoop) as runner:
            return runner.run(coroutine)

    def test_sleep_gives_its_result(self):
        self.assertEqual(self.run_async(asyncio.sleep(0.01, result=7)), 7)

    def test_tasks_gather_and_timeouts(self):
        async def main():
            order = []

            async def step(name, delay):
                await asyncio.sleep(delay)
                order.append(name)
                return name

            gathered = await asyncio.gather(step("slow", 0.03), step("fast", 0.01))
            task = asyncio.create_task(step("task", 0))
            await task
            try:
                await asyncio.wait_for(asyncio.sleep(10), timeout=0.01)
                timed_out = False
            except asyncio.TimeoutError:
                timed_out = True
            return gathered, order, timed_out

        self.assertEqual(self.run_async(main()), (["slow", "fast"], ["fast", "slow", "task"], True))

    def test_queues_async_generators_and_context_managers(self):
        async def main():
            queue = asyncio.Queue()

            async def produce():
                for i in range(3):
                    await queue.put(i)
                    await asyncio.sleep(0)
                await queue.put(None)

            async def numbers():
                while (item := await queue.get()) is not None:
                    yield item

            class Managed:
                async def __aenter__(self):
                    return "entered"

                async def __aexit__(self, *exc):
                    return False

            producer = asyncio.create_task(produce())
            received = [n async for n in numbers()]
            await producer
            async with Managed() as state:
                return received, state

        self.assertEqual(self.run_async(main()), ([0, 1, 2], "entered"))

    def test_run_in_executor_and_to_thread_run_inline(self):
        async def main():
            loop = asyncio.get_running_loop()
            direct = await loop.run_in_executor(None, sum, [1, 2, 3])
            threaded = await asyncio.to_thread(str.upper, "inline")
            try:
                await loop.run_in_executor(None, int, "x")
            except ValueError as exc:
                return direct, threaded, str(exc)

        self.assertEqual(self.run_async(main()), (6, "INLINE", "invalid literal for int() with base 10: 'x'"))

    def test_waiting_for_what_never_comes_is_an_error_not_a_hang(self):
        async def main():
            await asyncio.get_running_loop().create_future()

        with self.assertRaisesRegex(RuntimeError, "nothing to wait for"):
            self.run_async(main())

    def test_install_makes_it_the_default(self):
        saved = asyncio.get_event_loop_policy()
        self.addCleanup(asyncio.set_event_loop_policy, saved)
        self.loop_module.install()

        async def which():
            return type(asyncio.get_running_loop()).__name__

        self.assertEqual(asyncio.run(which()), "ComponentEventLoop")


class DrivenLoopTest(unittest.TestCase):
    """The steps of an asynchronous call of the embedder (AsyncRun), with
    this test standing in for the host."""

    def setUp(self):
        self.loop_module = load()

    def tearDown(self):
        # An instance keeps its driven loop for its life; a test closes it.
        if self.loop_module._driven_loop is not None:
            self.loop_module._driven_loop.close()

    def drive(self, progress, answer=lambda call_id: ("value", call_id)):
        """Plays the host: sleeps for timers, answers host calls with ``answer``."""
        steps = 0
        while progress[0] == "waiting":
            steps += 1
            _, calls, wake = progress
            if calls:
                completions = []
                for call_id in calls:
                    kind, value = answer(call_id)
                    completions.append((call_id, kind == "value", value))
                progress = self.loop_module.resume(completions)
            else:
                self.assertIsNotNone(wake, "a waiting call names what wakes it")
                time.sleep(wake / 1e9)
                progress = self.loop_module.resume([])
        return progress[1], steps

    def test_timers_are_the_hosts_to_wait_for(self):
        progress = self.loop_module.start(asyncio.sleep(0.02, result="slept"))
        self.assertEqual(progress[0], "waiting")
        self.assertEqual(progress[1], [])
        self.assertGreater(progress[2], 0)
        self.assertEqual(self.drive(progress)[0], "slept")

    def test_host_calls_complete_their_futures(self):
        host_calls = []

        async def main():
            # What host_bridge.rs does when the host answers `pending`.
            futures = []
            for call_id in (1, 2, 3):
                host_calls.append(call_id)
                futures.append(self.loop_module.host_call_future(call_id, "kv.fetch"))
            return await asyncio.gather(*futures)

        value, steps = self.drive(self.loop_module.start(main()), lambda i: ("value", i * 10))
        self.assertEqual(value, [10, 20, 30])
        self.assertEqual(steps, 1, "the three calls were awaited together")

    def test_a_failed_host_call_raises_where_it_is_awaited(self):
        async def main():
            try:
                await self.loop_module.host_call_future(7, "kv.fail")
            except RuntimeError as error:
                return str(error)

        value, _ = self.drive(self.loop_module.start(main()), lambda i: ("error", "down"))
        self.assertEqual(value, "down")

    def test_cancel_reaches_the_task(self):
        async def main():
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                return "cleaned up"

        progress = self.loop_module.start(main())
        self.assertEqual(progress[0], "waiting")
        self.assertEqual(self.loop_module.cancel(), ("done", "cleaned up"))

    def test_a_task_nothing_can_wake_ends_the_call(self):
        async def main():
            await asyncio.get_running_loop().create_future()

        with self.assertRaisesRegex(RuntimeError, "nothing to wait for"):
            self.loop_module.start(main())
        self.assertEqual(self.loop_module.start(asyncio.sleep(0, result=1)), ("done", 1))

    def test_one_call_at_a_time_and_no_loop_left_running(self):
        progress = self.loop_module.start(asyncio.sleep(0.01))
        with self.assertRaisesRegex(RuntimeError, "already in progress"):
            self.loop_module.start(asyncio.sleep(0))
        self.assertIsNone(asyncio._get_running_loop(), "between steps no loop runs")
        self.drive(progress)
        with self.assertRaisesRegex(RuntimeError, "no asynchronous call"):
            self.loop_module.resume([])
