// The package as a browser app bundles it: installed from its tarball,
// bundled by esbuild with no options for it, and loaded in headless
// Chromium, where the page's Python answers. The wasm files are served
// beside the bundle and found through `indexURL` (a bundle has no package
// directory next to it). Needs Debian's chromium, as browser.test.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { serve } from '../../../examples/browser/serve.mjs';
import { packAndInstall, packageDir, run } from './pack.js';

const CHROMIUM = process.env.PYCOMPONENT_CHROMIUM ?? '/usr/bin/chromium';
const esbuild = join(packageDir, 'node_modules/.bin/esbuild');

const ENTRY = `import { loadPython } from 'pycomponent';

const started = performance.now();
const py = await loadPython({ indexURL: new URL('./pycomponent/', import.meta.url) });
const answer = py.runPython('import sys, statistics; [statistics.mean([1, 2, 6]), sys.platform, sys.version_info[:2]]');
document.body.dataset.result = JSON.stringify(answer);
document.body.dataset.ms = String(Math.round(performance.now() - started));
`;

test('esbuild bundles the installed package, and the bundle runs Python in Chromium', async () => {
  const { project, cleanup } = await packAndInstall();
  let server;
  let browser;
  try {
    await writeFile(join(project, 'main.js'), ENTRY);
    const site = join(project, 'site');
    await mkdir(site);
    await run(esbuild, ['main.js', '--bundle', '--format=esm', '--platform=browser', '--log-level=warning', `--outfile=${join(site, 'app.js')}`], {
      cwd: project,
    });
    // What the app serves beside its bundle: the package's dist/ files.
    await cp(join(project, 'node_modules/pycomponent/dist'), join(site, 'pycomponent'), { recursive: true });
    await writeFile(join(site, 'index.html'), '<!doctype html><title>bundled</title><script type="module" src="app.js"></script>\n');

    server = await serve(0, site);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    const requested = [];
    page.on('request', (request) => requested.push(new URL(request.url()).pathname));
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    await page.waitForFunction(() => document.body.dataset.result !== undefined || null, null, { timeout: 60000 }).catch(() => {
      throw new Error(`the page gave no result; errors: ${errors.join('\n')}`);
    });
    assert.deepEqual(JSON.parse(await page.evaluate(() => document.body.dataset.result)), [3, 'wasi', [3, 11]]);
    assert.deepEqual(errors, []);
    // The interpreter's wasm came from indexURL, and the bundle carried the JS.
    assert.ok(requested.includes('/pycomponent/pycomponent.core.wasm'), requested.join(', '));
    assert.ok(!requested.some((path) => path.endsWith('.js') && path !== '/app.js'), requested.join(', '));
  } finally {
    await browser?.close();
    server?.close();
    await cleanup();
  }
});
