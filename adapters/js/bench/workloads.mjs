// Runs the workload programs of bench/workloads/ in Node, in pycomponent
// (loadPython) and in Pyodide (npm `pyodide`), timed inside Python by
// bench/harness.py exactly as for native CPython. Prints one JSON object:
// { pycomponent: { name: { check, times } | { error } }, pyodide: { ... } }.
// Usage: node bench/workloads.mjs REPEAT

import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { loadPyodide } from 'pyodide';

import { loadPython } from '../src/index.js';

const benchDir = fileURLToPath(new URL('../../../bench/', import.meta.url));
const repeat = Number(process.argv[2] ?? 5);
const harness = await readFile(`${benchDir}harness.py`, 'utf8');
const names = (await readdir(`${benchDir}workloads`)).filter((f) => f.endsWith('.py')).map((f) => f.slice(0, -3)).sort();
const quiet = { stdout: () => {}, stderr: () => {} };

async function pycomponent(name, source) {
  const py = await loadPython(quiet);
  py.addModule('pycomponent_harness', harness);
  return py.call('pycomponent_harness.measure', source, name, repeat);
}

async function pyodide(name, source) {
  const py = await loadPyodide(quiet);
  py.runPython(harness.replace('if __name__ == "__main__":', 'if False:'));
  const measured = py.globals.get('measure')(source, name, repeat);
  const result = measured.toJs({ dict_converter: Object.fromEntries });
  measured.destroy();
  return result;
}

const results = { pycomponent: {}, pyodide: {} };
for (const [runtime, run] of [['pycomponent', pycomponent], ['pyodide', pyodide]]) {
  for (const name of names) {
    const source = await readFile(`${benchDir}workloads/${name}.py`, 'utf8');
    try {
      results[runtime][name] = await run(name, source);
    } catch (error) {
      // A program the runtime cannot run (Pyodide's npm package lacks sqlite3, say) is reported, not fatal.
      results[runtime][name] = { error: String(error.message ?? error).split('\n').filter(Boolean).at(-1) };
    }
    process.stderr.write(`node ${runtime}: ${name} done\n`);
  }
}
console.log(JSON.stringify(results));
