// Node start-up and download size, pycomponent next to Pyodide (npm
// `pyodide`, a devDependency), measured in one run on this machine.
// Usage: node bench/startup.mjs [runs]   (prints Markdown; JSON with --json)
// Each start-up sample is a fresh `node` process timing, from inside,
// `import` of the package to the first result of runPython("1+1").

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const run = promisify(execFile);
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 11);

const PROBES = {
  pycomponent: `
    const t0 = performance.now();
    const { loadPython } = await import(${JSON.stringify(here('../src/index.js'))});
    const py = await loadPython();
    const value = py.runPython('1+1');
    console.log(JSON.stringify({ ms: performance.now() - t0, value }));`,
  pyodide: `
    const t0 = performance.now();
    const { loadPyodide } = await import('pyodide');
    const py = await loadPyodide();
    const value = py.runPython('1+1');
    console.log(JSON.stringify({ ms: performance.now() - t0, value }));`,
};

/** What a browser downloads to run Python, per project. */
const DOWNLOADS = {
  pycomponent: ['../dist/pycomponent.core.wasm', '../dist/pycomponent.core2.wasm', '../dist/pycomponent.core3.wasm',
    '../dist/pycomponent.core4.wasm', '../dist/pycomponent.js', '../src/index.js', '../src/python.js', '../src/worker.js',
    '../src/worker-entry.js', '../src/api.js', '../src/values.js', '../src/errors.js', '../src/sandbox-wasi.js',
    '../src/host-channel.js', '../src/async-calls.js'],
  pyodide: ['../node_modules/pyodide/pyodide.asm.wasm', '../node_modules/pyodide/python_stdlib.zip',
    '../node_modules/pyodide/pyodide.asm.mjs', '../node_modules/pyodide/pyodide.mjs', '../node_modules/pyodide/pyodide-lock.json'],
};

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), min: sorted[0], max: sorted.at(-1), runs: sorted.length };
}

async function startup(name) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROBES[name]], { cwd: here('..'), timeout: 120000 });
    const { ms, value } = JSON.parse(stdout.trim().split('\n').at(-1));
    if (value !== 2) throw new Error(`${name}: runPython("1+1") gave ${value}`);
    samples.push(ms);
  }
  return stats(samples);
}

async function sizes(name) {
  let raw = 0, gzip = 0, brotli = 0;
  for (const file of DOWNLOADS[name]) {
    const bytes = await readFile(here(file));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
    brotli += brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }).length;
  }
  return { raw, gzip, brotli, files: DOWNLOADS[name].length };
}

const versions = {
  node: process.version,
  pycomponent: JSON.parse(await readFile(here('../package.json'), 'utf8')).version,
  pyodide: JSON.parse(await readFile(here('../node_modules/pyodide/package.json'), 'utf8')).version,
};
const results = { date: new Date().toISOString(), versions, runs, projects: {} };
for (const name of ['pycomponent', 'pyodide']) {
  results.projects[name] = { startup: await startup(name), download: await sizes(name) };
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
  const ms = (s) => `${s.median.toFixed(1)} ms (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  console.log(`Node ${versions.node}, ${runs} fresh processes each; pycomponent ${versions.pycomponent}, Pyodide ${versions.pyodide}\n`);
  console.log('| | import → first `runPython("1+1")`, median (min–max) | download raw | gzip -9 | brotli -q 11 |');
  console.log('|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results.projects)) {
    console.log(`| ${name} | ${ms(r.startup)} | ${mb(r.download.raw)} | ${mb(r.download.gzip)} | ${mb(r.download.brotli)} |`);
  }
}
