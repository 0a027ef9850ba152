// The API surface, described once in src/api.js: Python, PythonWorker,
// index.d.ts and the `interpreter` interface of wit/python.wit must all
// agree with it. Needs no built component.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

import { ASYNC_METHODS, CONTINUATION_EXPORTS, EXPORT_METHODS, LIVE_OBJECT_METHODS, LOCAL_METHODS, WORKER_METHODS } from '../src/api.js';
import * as index from '../src/index.js';
import { Python } from '../src/python.js';
import { PythonWorker } from '../src/worker.js';

const sorted = (names) => [...names].sort();
const exportNames = [...EXPORT_METHODS, ...ASYNC_METHODS].map((method) => method.name);

/** The public methods a class defines (not the constructor, nor the ones marked @internal). */
function classMethods(cls, internal = []) {
  return Object.getOwnPropertyNames(cls.prototype).filter(
    (name) => name !== 'constructor' && !internal.includes(name) && typeof Object.getOwnPropertyDescriptor(cls.prototype, name).value === 'function',
  );
}

/** The methods index.d.ts declares in `export class <name> { ... }`. */
async function declaredMethods(name) {
  const text = await readFile(new URL('../src/index.d.ts', import.meta.url), 'utf8');
  const body = text.match(new RegExp(`^export class ${name} \\{\\n([\\s\\S]*?)^\\}`, 'm'));
  assert.ok(body, `index.d.ts declares class ${name}`);
  return [...body[1].matchAll(/^ {2}(\w+)\(/gm)].map((m) => m[1]).filter((method) => method !== 'constructor');
}

test('Python has the methods api.js lists, and index.d.ts declares them', async () => {
  const expected = sorted([...exportNames, ...LOCAL_METHODS, ...LIVE_OBJECT_METHODS]);
  assert.deepEqual(sorted(classMethods(Python)), expected);
  assert.deepEqual(sorted(await declaredMethods('Python')), expected);
});

test('PythonWorker has the same methods plus its own, and index.d.ts declares them', async () => {
  const expected = sorted([...exportNames, ...LOCAL_METHODS, ...LIVE_OBJECT_METHODS, ...WORKER_METHODS]);
  assert.deepEqual(sorted(classMethods(PythonWorker, ['start'])), expected);
  assert.deepEqual(sorted(await declaredMethods('PythonWorker')), expected);
});

test('the generated methods are named like hand-written ones', () => {
  for (const cls of [Python, PythonWorker]) {
    for (const name of exportNames) {
      const descriptor = Object.getOwnPropertyDescriptor(cls.prototype, name);
      assert.equal(descriptor.value.name, name);
      assert.equal(descriptor.enumerable, false);
    }
  }
});

test('every interpreter export of wit/python.wit has one method, with the right reply', async () => {
  const wit = await readFile(new URL('../../../wit/python.wit', import.meta.url), 'utf8');
  const body = wit.match(/^interface interpreter \{\n([\s\S]*?)^\}/m);
  assert.ok(body, 'wit/python.wit has interface interpreter');
  // jco names a kebab-case export in camelCase.
  const exports = new Map(
    [...body[1].matchAll(/^ {4}([\w-]+): func\(.*\) -> (\w+);/gm)].map(([, name, result]) => [
      name.replace(/-(\w)/g, (_, c) => c.toUpperCase()),
      result,
    ]),
  );
  const methods = [...EXPORT_METHODS, ...ASYNC_METHODS];
  assert.deepEqual(sorted([...methods.map((method) => method.export), ...CONTINUATION_EXPORTS]), sorted(exports.keys()));
  for (const method of methods) {
    // An asynchronous call's `progress` ends in an evaluation.
    const reply = ['evaluation', 'progress'].includes(exports.get(method.export)) ? 'value' : 'nothing';
    assert.equal(method.reply, reply, `${method.name}: ${method.export} returns an ${exports.get(method.export)}`);
  }
});

test('index.js exports what index.d.ts declares', async () => {
  const text = await readFile(new URL('../src/index.d.ts', import.meta.url), 'utf8');
  const declared = [...text.matchAll(/^export (?:class|function) (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual(sorted(Object.keys(index)), sorted(declared));
});
