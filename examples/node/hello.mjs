// Python in Node with pycomponent: run code, call a JS function from Python,
// catch a Python exception, hold Python objects live in JS (and JS ones in
// Python), and stop a runaway loop in a worker.
import { loadPython, loadPythonWorker, PythonError } from 'pycomponent';

const py = await loadPython();
py.registerJsModule('kv', { get: (key) => `value of ${key}` });
console.log(py.runPython('import sys, kv\nf"Python {sys.version.split()[0]} on {sys.platform}: {kv.get(\'user:1\')}"'));
console.log(py.runPython('import json\njson.dumps({"sum": sum(range(10)), "primes": [n for n in range(2, 20) if all(n % d for d in range(2, n))]})'));
try {
  py.eval('1 / 0');
} catch (error) {
  if (!(error instanceof PythonError)) throw error;
  console.log(`${error.type}: ${error.message}`);
}
// A Python function called from JS, and a JS callback called from Python.
const { mean } = py.pyimport('statistics');
console.log(mean([1, 2, 3, 4]));
const applyPlusOne = py.runPython('def apply_plus_one(f, x):\n    return f(x) + 1\napply_plus_one');
console.log(applyPlusOne((x) => x * 10, 4));

const worker = await loadPythonWorker({ timeout: 500 });
try {
  await worker.exec('while True: pass');
} catch (error) {
  console.log(`${error.name} (${error.reason})`);
}
console.log(await worker.eval('"the worker was restarted: " + str(6 * 7)'));
worker.terminate();
