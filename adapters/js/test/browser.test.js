// The REPL page (examples/browser/) in a real headless Chromium: Python on
// the main thread and in a Web Worker, a JS function called from Python, a
// stuck run stopped. Needs Debian's chromium (`cargo xtask test` installs it);
// the screenshot goes to target/browser/repl.png.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { serve } from '../../../examples/browser/serve.mjs';

const CHROMIUM = process.env.PYCOMPONENT_CHROMIUM ?? '/usr/bin/chromium';
// The machine's network is closed: no background connections, no updates.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

let server;
let browser;
let page;
const consoleErrors = [];

before(async () => {
  server = await serve(0);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  page = await browser.newPage();
  page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  const { port } = server.address();
  await page.goto(`http://127.0.0.1:${port}/examples/browser/index.html`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** Runs code in the page's REPL and returns the output area's text. */
async function run(code, where) {
  await page.check(`input[name=where][value=${where}]`);
  await page.fill('#code', code);
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('done'), null, { timeout: 30000 });
  return page.textContent('#output');
}

test('the page is cross-origin isolated, so workers can call JS modules', async () => {
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true);
  assert.match(await page.textContent('#status'), /^ready in \d+ ms$/);
});

test('Python runs on the main thread and calls a JS function of the page', async () => {
  const text = await run('import page, statistics\nprint(page.greet("browser"))\nstatistics.mean([1, 2, 3, 4])', 'main');
  assert.equal(text, 'Hello, browser, from headless JavaScript!2.5');
  assert.equal(await run('import sys\n{"platform": sys.platform, "big": 2**64, "t": (1, b"x")}', 'main'),
    '{"platform": "wasi", "big": 18446744073709551616n, "t": PythonTuple [1, Uint8Array [120]]}');
});

test('Python runs in a Web Worker, with the page\'s JS module', async () => {
  const text = await run('import page\nprint(page.title())\nsum(i * i for i in range(1000))', 'worker');
  assert.equal(text, 'pycomponent REPL332833500');
});

test('exceptions show their traceback and the REPL goes on', async () => {
  for (const where of ['main', 'worker']) {
    const text = await run('def f():\n    return {}["missing"]\nf()', where);
    assert.match(text, /Traceback \(most recent call last\):[\s\S]*line 2, in f[\s\S]*KeyError: 'missing'/);
    assert.equal(await run('"fine"', where), '"fine"');
  }
});

test('the REPL shows a live Python object by its repr, on the main thread and in a worker', async () => {
  for (const where of ['main', 'worker']) {
    assert.equal(
      await run('import datetime\n[datetime.date(2024, 2, 29), len]', where),
      '[PyProxy(datetime.date(2024, 2, 29)), PyProxy(<built-in function len>)]',
      where,
    );
  }
});

test('FS.syncfs keeps a directory in IndexedDB for the next interpreter', async () => {
  const result = await page.evaluate(async () => {
    const { loadPython, loadPythonWorker } = await import('/adapters/js/src/index.js');
    const quiet = { stdout() {}, stderr() {} };
    const first = await loadPython(quiet);
    first.exec(
      "import os\nos.makedirs('/home/user/notes/sub')\nopen('/home/user/notes/a.txt', 'w').write('kept')\n" +
        "open('/home/user/notes/sub/b.bin', 'wb').write(bytes(range(5)))\nopen('/tmp/scratch', 'w').write('not kept')",
    );
    await first.FS.syncfs(false, { database: 'pycomponent-test' });
    const second = await loadPythonWorker(quiet);
    await second.FS.syncfs(true, { database: 'pycomponent-test' });
    const restored = await second.runPython(
      "import os\n[open('/home/user/notes/a.txt').read(), list(open('/home/user/notes/sub/b.bin', 'rb').read()), os.path.exists('/tmp/scratch')]",
    );
    // A file removed and saved again is gone from the database too.
    await second.exec("os.remove('/home/user/notes/a.txt')");
    await second.FS.syncfs(false, { database: 'pycomponent-test' });
    second.terminate();
    const third = await loadPython(quiet);
    await third.FS.syncfs(true, { database: 'pycomponent-test' });
    return [...restored, third.runPython("import os\nsorted(os.listdir('/home/user/notes'))")];
  });
  assert.deepEqual(result, ['kept', [0, 1, 2, 3, 4], false, ['sub']]);
});

test('runPythonAsync awaits the page\'s Promises concurrently, on the main thread and in a worker', async () => {
  const result = await page.evaluate(async () => {
    const { loadPython, loadPythonWorker } = await import('/adapters/js/src/index.js');
    const quiet = { stdout() {}, stderr() {} };
    const figures = {};
    for (const [where, load] of [['main', loadPython], ['worker', loadPythonWorker]]) {
      const py = await load(quiet);
      py.registerJsModule('page', {
        later: (value) => new Promise((resolve) => setTimeout(() => resolve(value), 200)),
        title: async () => document.title,
      });
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      const started = performance.now();
      const values = await py.runPythonAsync(
        'import asyncio, page\nvalues = await asyncio.gather(*(page.later(i) for i in range(10)))\n[sum(values), len(await page.title()) > 0]',
      );
      figures[where] = { values, ms: performance.now() - started, ticks };
      clearInterval(ticker);
      py.terminate?.();
    }
    return figures;
  });
  for (const where of ['main', 'worker']) {
    const { values, ms, ticks } = result[where];
    assert.deepEqual(values, [45, true], where);
    assert.ok(ms < 1500, `${where}: ten 200 ms Promises took ${ms} ms`);
    assert.ok(ticks >= 5, `${where}: the page's event loop ran meanwhile (${ticks} ticks)`);
  }
});

test('a page passes a DOM element and a callback into Python, which registers a handler the page calls later', async () => {
  const result = await page.evaluate(async () => {
    const { loadPython, loadPythonWorker } = await import('/adapters/js/src/index.js');
    const quiet = { stdout() {}, stderr() {} };
    const plugin = [
      'handlers = []',
      'def install(element, notify):',
      '    element.textContent = "installed by Python"',
      '    element.setAttribute("data-plugin", "yes")',
      '    handlers.append(lambda event: notify(f"{event} on {element.tagName.lower()} ({element.textContent})"))',
      '    return element.getAttribute("data-plugin")',
      'install',
    ].join('\n');
    const seen = {};
    for (const [where, load] of [['main', loadPython], ['worker', loadPythonWorker]]) {
      const py = await load(quiet);
      const element = document.createElement('section');
      const notes = [];
      const install = await py.runPython(plugin);
      const installed = await install(element, (text) => notes.push(text));
      // A list is copied: an Array of the Python handlers (live).
      const [handler] = await (await py.globals).get('handlers');
      // Later, after the call returned, the page calls the Python handler.
      await handler('click');
      seen[where] = { installed, text: element.textContent, notes };
      py.terminate?.();
    }
    return seen;
  });
  for (const where of ['main', 'worker']) {
    assert.deepEqual(result[where], {
      installed: 'yes',
      text: 'installed by Python',
      notes: ['click on section (installed by Python)'],
    }, where);
  }
});

test('a Python function and module are live in the page (PyProxy), on the main thread and in a worker', async () => {
  const result = await page.evaluate(async () => {
    const { loadPython, loadPythonWorker } = await import('/adapters/js/src/index.js');
    const quiet = { stdout() {}, stderr() {} };
    const main = await loadPython(quiet);
    const f = main.runPython('def f(x):\n    return x * 2\nf');
    const worker = await loadPythonWorker(quiet);
    const g = await worker.runPython('def g(x):\n    return x * 3\ng');
    const values = [f(21), main.pyimport('statistics').mean([1, 2, 3]), await g(14), await (await worker.pyimport('statistics')).mean([2, 4])];
    f.destroy();
    let destroyed;
    try {
      f(1);
    } catch (error) {
      destroyed = error.type;
    }
    // The worker's: globals, for await, an awaited coroutine, a JS error in Python, destroy.
    await worker.exec('async def twice(x):\n    return x * 2\ndef t(f):\n    try:\n        f()\n    except RuntimeError as e:\n        return e.type_name');
    const items = [];
    for await (const item of await worker.eval('range(3)')) items.push(item);
    const twice = await worker.globals.get('twice');
    const caught = await (await worker.globals.get('t'))(() => {
      throw new SyntaxError('page says no');
    });
    await g.destroy();
    const workerDestroyed = await g(1).then(() => 'not refused', (error) => error.type);
    const workerValues = [items, await twice(21), caught, workerDestroyed];
    worker.terminate();
    // 100 000 rounds of a live object made and released leave no handle behind.
    const globals = main.globals;
    const held = main.objectUsage().held;
    for (let i = 0; i < 100_000; i++) globals.get('f').destroy();
    main.eval('None');
    return [...values, destroyed, workerValues, main.objectUsage().held - held];
  });
  assert.deepEqual(result, [42, 2, 42, 3, 'ReferenceError', [[0, 1, 2], 42, 'SyntaxError', 'ReferenceError'], 0]);
});

test('Stop ends a stuck run in the worker; the page stays responsive', async () => {
  await page.check('input[name=where][value=worker]');
  await page.fill('#code', 'while True: pass');
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('running'));
  // The page answers while Python spins in the worker.
  assert.equal(await page.evaluate(() => 6 * 7), 42);
  await page.click('#stop');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('done'), null, { timeout: 30000 });
  assert.match(await page.textContent('#output'), /PythonInterruptedError: Python was interrupted/);
  assert.equal(await run('"restarted"', 'worker'), '"restarted"');
  await mkdir(new URL('../../../target/browser/', import.meta.url), { recursive: true });
  await run('import page, platform\nprint(page.greet("screenshot"))\n[platform.python_version(), 2**100]', 'worker');
  await page.screenshot({ path: new URL('../../../target/browser/repl.png', import.meta.url).pathname, fullPage: true });
  assert.deepEqual(consoleErrors, []);
});
