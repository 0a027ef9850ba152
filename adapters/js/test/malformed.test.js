// What a malformed value from the component does to an interpreter, on the
// calling thread and in a worker. The real guest never sends one, so this
// runs the adapter's sources against a stand-in component
// (fixtures/stand-in-component.js, copied in as dist/pycomponent.js); it
// needs no build. The last tests drive Python with stand-in exports
// directly, step by step.

import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { MalformedValueError, PythonTrapError } from '../src/errors.js';
import { hostImport, LineBuffer, Python } from '../src/python.js';
import { toWire } from '../src/values.js';

let api;
let dir;
// No core wasm is compiled from it; it only has to be a module.
const options = { stdout: () => {}, stderr: () => {}, wasm: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]) };
const kv = { get: (key) => `value of ${key}` };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pycomponent-stand-in-'));
  await cp(fileURLToPath(new URL('../src', import.meta.url)), join(dir, 'src'), { recursive: true });
  await cp(fileURLToPath(new URL('./fixtures/stand-in-component.js', import.meta.url)), join(dir, 'dist/pycomponent.js'));
  api = await import(join(dir, 'src/index.js'));
});

after(() => rm(dir, { recursive: true, force: true }));

describe('on the calling thread the interpreter is retired', () => {
  test('after a malformed result', async () => {
    const py = await api.loadPython(options);
    assert.deepEqual(py.eval('good'), [42]);
    assert.throws(() => py.eval('malformed'), api.MalformedValueError);
    assert.throws(() => py.eval('good'), (e) => e instanceof api.PythonTrapError && /cannot be used: malformed value/.test(e.message));
  });

  test('after malformed host-call arguments: the function is not called, Python sees an error, the call fails', async () => {
    const py = await api.loadPython(options);
    const calls = [];
    py.registerJsModule('kv', { get: (key) => calls.push(key) });
    assert.throws(() => py.eval('host-malformed'), api.MalformedValueError);
    assert.deepEqual(calls, []);
    assert.throws(() => py.exec('pass'), api.PythonTrapError);
  });
});

describe('a worker is replaced by a fresh interpreter', () => {
  test('after a malformed result, and the calls queued behind it run on the fresh one', async () => {
    const worker = await api.loadPythonWorker(options);
    try {
      worker.registerJsModule('kv', kv);
      const calls = [worker.eval('malformed'), worker.eval('good'), worker.eval('host-good')];
      await assert.rejects(calls[0], api.MalformedValueError);
      assert.deepEqual(await calls[1], [42]);
      assert.equal(await calls[2], 'value of a', 'registered JS modules are kept');
    } finally {
      worker.terminate();
    }
  });

  test('after malformed host-call arguments', async () => {
    const worker = await api.loadPythonWorker(options);
    try {
      worker.registerJsModule('kv', kv);
      await assert.rejects(worker.runPython('host-malformed'), api.MalformedValueError);
      assert.deepEqual(await worker.runPython('good'), [42]);
    } finally {
      worker.terminate();
    }
  });
});

describe('the retirement step by step, with stand-in exports', () => {
  const quiet = () => new LineBuffer(() => {});
  const reply = (val) => ({ output: { stdout: '', stderr: '' }, result: { tag: 'ok', val } });
  const malformed = { nodes: [{ tag: 'list', val: Uint32Array.of(0) }] };

  test('in a result: the call fails with MalformedValueError, later calls with PythonTrapError', () => {
    let calls = 0;
    const exports = {
      eval: () => {
        calls++;
        return reply(malformed);
      },
    };
    const py = new Python(exports, quiet(), quiet(), new Map(), { error: null });
    assert.throws(() => py.eval('x'), MalformedValueError);
    assert.throws(
      () => py.eval('x'),
      (e) => e instanceof PythonTrapError && /cannot be used: malformed value from the guest/.test(e.message),
    );
    assert.equal(calls, 1, 'the retired interpreter is not called again');
  });

  test('in a host call: Python sees an error, then the call fails and the interpreter is retired', () => {
    const jsModules = new Map([['kv', new Map([['get', () => 'never']])]]);
    const hostFault = { error: null };
    const host = hostImport(jsModules, hostFault);
    const seen = [];
    const exports = {
      exec: () => {
        for (const args of [[malformed], [toWire(1)]]) {
          try {
            host.call('kv', 'get', args, []);
          } catch (error) {
            seen.push(error);
          }
        }
        return reply(undefined);
      },
    };
    const py = new Python(exports, quiet(), quiet(), jsModules, hostFault);
    assert.throws(() => py.exec('kv.get(...)'), MalformedValueError);
    assert.equal(seen.length, 2);
    assert.match(seen[0], /being retired: malformed value from the guest: node 0 refers to itself/);
    assert.match(seen[1], /being retired/, 'a later host call of the same run is refused too');
    assert.throws(() => py.exec('pass'), PythonTrapError);
  });
});
