"""event_loop.py: asyncio on the component's loop, which has no selector,
no self-pipe and no threads (run natively here with the same class)."""

import asyncio
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
