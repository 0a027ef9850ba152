// Compiled with `tsc --strict` (npm run check-types): the public types in use.
import {
  kwargs,
  loadPython,
  isPyProxy,
  loadPythonWorker,
  MalformedValueError,
  PythonError,
  PythonInterruptedError,
  PythonTuple,
  type FromPython,
  type PyProxy,
  type Python,
  type PythonWorker,
  type WorkerPyProxy,
} from 'pycomponent';

async function main(): Promise<void> {
  const lines: string[] = [];
  const py: Python = await loadPython({ stdout: (line) => lines.push(line) });
  py.registerJsModule('kv', { get: (key: string) => `value of ${key}` });
  const two: FromPython = py.runPython('1 + 1');
  const joined = py.call('helpers.join', ['a', 'b'], kwargs({ sep: '-' }));
  py.addModule('helpers', 'def join(items, sep): return sep.join(items)', { isPackage: false });
  try {
    py.eval('1 / 0');
  } catch (error) {
    if (error instanceof PythonError) console.log(error.type, error.message, error.traceback);
    if (error instanceof MalformedValueError) console.log(error.node ?? 'the whole table');
  }
  const value = py.eval('(1, __import__("datetime").date.today())');
  if (value instanceof PythonTuple && isPyProxy(value[1])) console.log(value[1].type, value[1].year, value[1].toString());
  const f: PyProxy = py.pyimport('json').dumps;
  const text: string = f.callKwargs([1], { indent: 1 });
  py.globals.set('n', 1);
  const copied: unknown = py.toPy({ a: [1] }, { depth: 1 }).toJs({ depth: 1 });
  for (const item of py.eval('range(3)') as PyProxy) console.log(item);
  const usage: { held: number; limit: number; hostObjects: number } = py.objectUsage();
  // JS functions and objects go into Python live, and come back as themselves.
  class Page {
    title = 'draft';
    heading(text: string): string {
      return text.toUpperCase();
    }
  }
  const use = py.runPython('lambda page, done: done(page.heading(page.title))') as PyProxy;
  const page: FromPython = use(new Page(), (heading: string) => heading);
  const double = (await py.runPython('async def double(x):\n    return x * 2\ndouble')) as PyProxy;
  const doubled: unknown = await double(21);
  const held: PyProxy = f.copy();
  console.log(held.type);
  held.destroy();
  f.destroy();
  console.log(text, copied, usage, page, doubled);

  const worker: PythonWorker = await loadPythonWorker({ timeout: 1000, wasm: new URL('file:///x.wasm') });
  worker.registerJsModule('api', { fetchUser: async (id: number) => ({ id }) });
  const result: FromPython = await worker.runPython('2 ** 100', { timeout: 50 });
  const mean: unknown = await (await worker.pyimport('statistics')).mean([1, 2]);
  const workerGlobals: WorkerPyProxy = await worker.globals;
  await worker.globals.set('x', 1);
  const g = (await worker.globals.get('g')) as WorkerPyProxy;
  const called: unknown = await g(21);
  const year: unknown = await g.year;
  await g.setAttribute('year', 2000);
  for await (const item of (await worker.eval('range(3)')) as WorkerPyProxy) console.log(item);
  await g.destroy();
  console.log(mean, called, year, await workerGlobals.get('x'), await worker.objectUsage());
  try {
    await worker.exec('while True: pass');
  } catch (error) {
    if (error instanceof PythonInterruptedError) console.log(error.reason);
  }
  worker.interrupt();
  worker.terminate();
  console.log(two, joined, result, lines);
}

void main();
