// Live objects in Node, on the main thread, pycomponent next to Pyodide (npm
// `pyodide`, a devDependency) in one run: the cost of reading an attribute
// of a Python object through its PyProxy (`obj.size`), and of calling a
// Python function through its PyProxy (`f(1)`), each done 10 000 times in
// a row.
// Usage: node bench/proxies.mjs [runs]   (prints JSON: ns per operation, median of the runs)

import { loadPyodide } from 'pyodide';

import { loadPython } from '../src/index.js';

const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 11);
const OPERATIONS = 10_000;
const SETUP = 'class Box:\n    size = 3\nbox = Box()\ndef f(x):\n    return x\n';

/** The median of `runs` timings of `operation` done OPERATIONS times, in ns per operation. */
function perOperation(operation) {
  for (let i = 0; i < OPERATIONS; i++) operation(); // warm-up
  const samples = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < OPERATIONS; i++) operation();
    samples.push(((performance.now() - t0) * 1e6) / OPERATIONS);
  }
  samples.sort((a, b) => a - b);
  return Math.round(samples[Math.floor(samples.length / 2)]);
}

/** Attribute read and call through the proxies of `box` and `f`, checked once. */
function measure(box, f) {
  if (box.size !== 3 || f(1) !== 1) throw new Error('the proxies do not give the expected values');
  return { attribute: perOperation(() => box.size), call: perOperation(() => f(1)) };
}

const py = await loadPython({ stdout: () => {}, stderr: () => {} });
py.exec(SETUP);
const pycomponent = measure(py.globals.get('box'), py.globals.get('f'));

const pyodide = await loadPyodide({ stdout: () => {}, stderr: () => {} });
pyodide.runPython(SETUP);
const pyodideFigures = measure(pyodide.globals.get('box'), pyodide.globals.get('f'));

console.log(JSON.stringify({ pycomponent, pyodide: pyodideFigures }));
