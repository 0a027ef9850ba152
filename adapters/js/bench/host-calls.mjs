// Host calls in Node, on the main thread: a synchronous JS function called
// 1000 times in a row from Python, a Promise-returning one awaited 1000
// times in a row (each await hands control back to JS and resumes Python),
// and 1000 gathered (all awaited at once).
// Usage: node bench/host-calls.mjs [runs]   (prints JSON: µs per call, median of the runs)

import { loadPython } from '../src/index.js';

const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 11);
const CALLS = 1000;

const py = await loadPython({ stdout: () => {}, stderr: () => {} });
py.registerJsModule('h', { echo: (x) => x, later: async (x) => x });
py.exec(
  'import asyncio, h\n' +
    'def calls(n):\n    for i in range(n):\n        h.echo(i)\n' +
    'async def awaits(n):\n    for i in range(n):\n        await h.later(i)\n' +
    'async def gathered(n):\n    await asyncio.gather(*(h.later(i) for i in range(n)))\n',
);

async function perCall(run) {
  await run(); // warm-up
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run();
    samples.push(((performance.now() - t0) * 1000) / CALLS);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const figures = {
  sync: await perCall(async () => py.call('calls', CALLS)),
  awaited: await perCall(() => py.callAsync('awaits', CALLS)),
  gathered: await perCall(() => py.callAsync('gathered', CALLS)),
};
console.log(JSON.stringify(figures));
