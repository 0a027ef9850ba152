// The JS adapter in Node against the real component (dist/, built by
// `cargo xtask js`): the behaviours host-tests/ checks through Wasmtime,
// plus the worker's timeout and interrupt.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { inspect, promisify } from 'node:util';

import {
  FileSystemError,
  kwargs,
  loadPython,
  loadPythonWorker,
  isPyProxy,
  PythonError,
  PythonInterruptedError,
  PythonTuple,
} from 'pycomponent';

const quiet = { stdout: () => {}, stderr: () => {} };

/** A pure-Python wheel of project `demo-pkg` 1.0, written by Python's zipfile in a scratch interpreter. */
async function demoWheel(files = { 'demo_pkg/__init__.py': "from importlib.metadata import version\nVERSION = version('demo-pkg')\n" }) {
  const py = await loadPython(quiet);
  py.exec(
    'import io, zipfile\n' +
      'def wheel(files):\n' +
      '    out = io.BytesIO()\n' +
      '    with zipfile.ZipFile(out, "w") as z:\n' +
      '        z.writestr("demo_pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: demo-pkg\\nVersion: 1.0\\n")\n' +
      '        z.writestr("demo_pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\n")\n' +
      '        for path, text in files.items():\n' +
      '            z.writestr(path, text)\n' +
      '    return out.getvalue()\n',
  );
  return py.call('wheel', files);
}

/** An interpreter whose output lines are collected. */
async function collecting(load = loadPython, options = {}) {
  const out = [];
  const err = [];
  const py = await load({ stdout: (l) => out.push(l), stderr: (l) => err.push(l), ...options });
  return { py, out, err };
}

describe('values', () => {
  test('Python values come back as JS values', async () => {
    const py = await loadPython(quiet);
    assert.equal(py.eval('1 + 1'), 2);
    assert.equal(py.eval('None'), null);
    assert.equal(py.eval('True'), true);
    assert.equal(py.eval('2.5'), 2.5);
    assert.ok(Number.isNaN(py.eval("float('nan')")));
    assert.equal(py.eval("float('-inf')"), -Infinity);
    assert.equal(py.eval('2**53 - 1'), Number.MAX_SAFE_INTEGER);
    assert.equal(py.eval('2**53'), 2n ** 53n, 'beyond 2^53 an int is a BigInt');
    assert.equal(py.eval('-2**100'), -(2n ** 100n));
    assert.equal(py.eval("'é' * 2 + '😀'"), 'éé😀');
    assert.deepEqual(py.eval("b'\\x00\\xff'"), new Uint8Array([0, 255]));
    assert.deepEqual(py.eval("bytearray(b'ab')"), new Uint8Array([97, 98]));
    assert.deepEqual(py.eval('[1, [2, []]]'), [1, [2, []]]);
    const tuple = py.eval('(1, "a")');
    assert.ok(tuple instanceof PythonTuple && Array.isArray(tuple));
    assert.deepEqual([...tuple], [1, 'a']);
    assert.deepEqual(py.eval("{'a': 1, 'b': {'c': None}}"), { a: 1, b: { c: null } });
    assert.deepEqual(py.eval("{1: 'one', 'x': 2}"), new Map([[1, 'one'], ['x', 2]]), 'non-str keys give a Map');
    assert.deepEqual(py.eval('{1, 2}'), new Set([1, 2]));
    assert.deepEqual(py.eval('frozenset({3})'), new Set([3]));
    const proto = py.eval("{'__proto__': 1}");
    assert.equal(Object.getPrototypeOf(proto), Object.prototype, 'a __proto__ key is data');
    assert.equal(proto.__proto__, 1);
    // Other objects come back live (see 'live objects').
    const date = py.eval('__import__("datetime").date(2024, 2, 29)');
    assert.ok(isPyProxy(date));
    assert.equal(date.type, 'datetime.date');
    assert.equal(String(date), '2024-02-29');
  });

  test('JS values go into Python', async () => {
    const py = await loadPython(quiet);
    py.exec('def describe(x): return repr(x)');
    const cases = [
      [null, 'None'],
      [undefined, 'None'],
      [true, 'True'],
      [42, '42'],
      [-0.5, '-0.5'],
      [2 ** 60, '1.152921504606847e+18'],
      [2n ** 60n, '1152921504606846976'],
      [2n ** 100n, '1267650600228229401496703205376'],
      ['héllo', "'héllo'"],
      [new Uint8Array([1, 2]), "b'\\x01\\x02'"],
      [new Uint8Array([3]).buffer, "b'\\x03'"],
      [[1, [2]], '[1, [2]]'],
      [PythonTuple.from([1, 2]), '(1, 2)'],
      [{ a: 1, b: [true] }, "{'a': 1, 'b': [True]}"],
      [new Map([[PythonTuple.from([1, 2]), 'pair']]), "{(1, 2): 'pair'}"],
      [new Set(['x']), "{'x'}"],
    ];
    for (const [value, repr] of cases) assert.equal(py.call('describe', value), repr, String(value));
    // Functions and class instances go in live, as host objects.
    assert.match(py.call('describe', () => 1), /^<HostObject \d+>$/);
    assert.match(py.call('describe', new Date()), /^<HostObject \d+>$/);
    const cyclic = [];
    cyclic.push(cyclic);
    assert.throws(() => py.call('describe', cyclic), /nested deeper than 1000 levels/);
    assert.match(py.call('describe', py.eval('object()')), /^<object object at/);
  });

  test('values round-trip', async () => {
    const py = await loadPython(quiet);
    const value = { list: [1, 2.5, 'three', null, new Uint8Array([4])], nested: { deep: [[[true]]] }, big: 2n ** 70n };
    assert.deepEqual(py.call('copy.deepcopy', value), value);
    const big = Array.from({ length: 10000 }, (_, i) => ({ i, s: `item ${i}` }));
    assert.deepEqual(py.call('list', big), big);
  });

  test('keyword arguments', async () => {
    const py = await loadPython(quiet);
    assert.equal(py.call('json.dumps', { b: 1, a: 2 }, kwargs({ sort_keys: true, separators: PythonTuple.from([',', ':']) })), '{"a":2,"b":1}');
  });
});

describe('interpreter', () => {
  test('runPython returns the value of the last expression and state persists', async () => {
    const py = await loadPython(quiet);
    assert.equal(py.runPython('import math\nx = 5\nmath.factorial(x)'), 120);
    assert.equal(py.runPython('y = x + 1'), null, 'a final statement gives null');
    assert.equal(py.runPython('for i in range(3):\n    y += i\ny'), 9);
    assert.equal(py.eval('y'), 9);
    py.exec('counter = 41');
    py.exec('counter += 1');
    assert.equal(py.call('str', py.eval('counter')), '42');
  });

  test('exceptions are PythonError values and the interpreter stays usable', async () => {
    const py = await loadPython(quiet);
    assert.throws(() => py.eval('1 / 0'), PythonError);
    let error;
    try {
      py.runPython('def f():\n    return 1 / 0\nf()');
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof PythonError);
    assert.equal(error.type, 'ZeroDivisionError');
    assert.equal(error.message, 'division by zero');
    assert.match(error.traceback, /Traceback \(most recent call last\):\n {2}File "<string>", line 3/);
    assert.match(error.traceback, /line 2, in f/);
    assert.throws(() => py.exec('import json\njson.loads("{")'), { name: 'PythonError', type: 'json.decoder.JSONDecodeError' });
    assert.throws(() => py.exec('def f(:'), { type: 'SyntaxError' });
    assert.throws(() => py.exec('raise SystemExit(3)'), { type: 'SystemExit' });
    assert.throws(() => py.call('no_such_function'), { type: 'NameError' });
    assert.equal(py.eval('"still here"'), 'still here');
  });

  test('output goes to the callbacks, line by line', async () => {
    const { py, out, err } = await collecting();
    py.exec("import sys\nprint('hello')\nprint('a\\nb')\nprint('oops', file=sys.stderr)\nprint('no newline', end='')");
    assert.deepEqual(out, ['hello', 'a', 'b', 'no newline']);
    assert.deepEqual(err, ['oops']);
    assert.throws(() => py.exec("print('before')\nraise KeyError('k')"), { type: 'KeyError' });
    assert.equal(out.at(-1), 'before', 'output is kept when the call fails');
  });

  test('stdlib modules not imported by the snapshot load at run time', async () => {
    const py = await loadPython(quiet);
    assert.equal(py.eval("'csv' in __import__('sys').modules"), false);
    const rows = py.runPython("import csv, io\nlist(csv.reader(io.StringIO('a,b\\n1,2')))");
    assert.deepEqual(rows, [['a', 'b'], ['1', '2']]);
    assert.equal(py.runPython("import sqlite3\nsqlite3.connect(':memory:').execute('select 6*7').fetchone()[0]"), 42);
    assert.equal(py.runPython("import zlib\nlen(zlib.compress(b'a' * 1000))") < 50, true);
    assert.equal(py.runPython("import hashlib\nhashlib.sha256(b'pycomponent').hexdigest()[:16]"), '843c79ede15b99cd');
    assert.equal(py.runPython("import fractions\nstr(fractions.Fraction(1, 3) + fractions.Fraction(1, 6))"), '1/2');
  });

  test('time zones come with the component; stdlib tracebacks name installed paths', async () => {
    const py = await loadPython(quiet);
    const paris = py.runPython(
      "from zoneinfo import ZoneInfo\nfrom datetime import datetime, timezone\n" +
        "str(datetime(2026, 7, 1, 12, tzinfo=timezone.utc).astimezone(ZoneInfo('Europe/Paris')))",
    );
    assert.equal(paris, '2026-07-01 14:00:00+02:00');
    assert.throws(() => py.exec('import json\njson.loads("{")'), (error) => {
      assert.match(error.traceback, /File "\/usr\/local\/lib\/python3\.11\/json\/decoder\.py", line \d+, in raw_decode/);
      return true;
    });
  });

  test('a str with a lone surrogate is refused, not changed', async () => {
    const py = await loadPython(quiet);
    assert.throws(() => py.eval("'a\\ud800b'"), (error) => {
      assert.equal(error.type, 'ValueError');
      assert.match(error.message, /lone surrogate \('\\ud800' at index 1\)/);
      return true;
    });
  });

  test('loadPackage installs a pure-Python wheel from bytes or a URL', async () => {
    const wheel = await demoWheel();
    const py = await loadPython(quiet);
    assert.deepEqual(await py.loadPackage(wheel), { name: 'demo-pkg', version: '1.0' });
    assert.equal(py.runPython('import demo_pkg\ndemo_pkg.VERSION'), '1.0');

    const server = createServer((request, response) => {
      if (request.url === '/wheels/demo_pkg-1.0-py3-none-any.whl') response.end(wheel);
      else response.writeHead(404).end();
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${server.address().port}/wheels/`;
      const other = await loadPython(quiet);
      assert.deepEqual(await other.loadPackage(`${base}demo_pkg-1.0-py3-none-any.whl`), { name: 'demo-pkg', version: '1.0' });
      assert.equal(other.runPython("__import__('importlib.metadata').metadata.version('demo_pkg')"), '1.0');
      await assert.rejects(other.loadPackage(`${base}missing.whl`), /HTTP 404/);
    } finally {
      server.close();
    }
    const native = await demoWheel({ 'fast/_speedups.cpython-311-x86_64-linux-gnu.so': '' });
    await assert.rejects(py.loadPackage(native, { filename: 'fast.whl' }), (error) => {
      assert.equal(error.type, 'ValueError');
      assert.match(error.message, /fast\.whl: the wheel has native code \(fast\/_speedups/);
      return true;
    });
    await assert.rejects(py.loadPackage('not a url'), TypeError);
    await assert.rejects(py.loadPackage(42), TypeError);
  });

  test('user modules and packages', async () => {
    const py = await loadPython(quiet);
    py.addModule('shapes', 'from . import area\n', { isPackage: true });
    py.addModule('shapes.area', 'def square(s):\n    return s * s\n');
    assert.equal(py.runPython('import shapes\nshapes.area.square(7)'), 49);
    assert.equal(py.call('shapes.area.square', 3), 9);
    assert.throws(() => py.addModule('broken', 'def f(:'), { type: 'SyntaxError' });
    assert.throws(() => py.importModule('not_a_module'), { type: 'ModuleNotFoundError' });
  });

  test('Python calls JS functions; a thrown error is a catchable Python exception', async () => {
    const py = await loadPython(quiet);
    const store = new Map([['a', 1]]);
    py.registerJsModule('kv', {
      get: (key) => store.get(key) ?? null,
      put: (key, value) => void store.set(key, value),
      keys: () => Array.from(store.keys()),
      echo: (...args) => args,
      fail: () => {
        throw new TypeError('no such key');
      },
      later: async () => 1,
    });
    assert.equal(py.runPython('import kv\nkv.put("b", {"n": [1, 2]})\nkv.get("a")'), 1);
    assert.deepEqual(store.get('b'), { n: [1, 2] });
    assert.deepEqual(py.eval('kv.keys()'), ['a', 'b']);
    assert.deepEqual(py.eval('kv.echo(1, "x", flag=True)'), [1, 'x', { flag: true }]);
    assert.equal(py.runPython('try:\n    kv.fail()\nexcept RuntimeError as e:\n    msg = str(e)\nmsg'), 'TypeError: no such key');
    assert.throws(() => py.eval('kv.later()'), { type: 'RuntimeError', message: /call it as `await kv\.later\(\.\.\.\)`/ });
    // A module registered after Python has started importing is found too.
    py.registerJsModule('clock', { now: () => 7 });
    assert.equal(py.runPython('import clock\nclock.now()'), 7);
    assert.throws(() => py.registerJsModule('not valid', { f() {} }), /Python identifier/);
    assert.throws(() => py.registerJsModule('empty', {}), /has no functions/);
  });

  test('a JS function cannot call back into the interpreter that called it', async () => {
    const py = await loadPython(quiet);
    py.registerJsModule('h', { again: () => py.eval('1 + 1') });
    const message = py.runPython('import h\ntry:\n    h.again()\nexcept RuntimeError as e:\n    m = str(e)\nm');
    assert.match(message, /re-entrant call/);
    assert.equal(py.eval('40 + 2'), 42, 'the interpreter goes on');
  });

  test('interpreters are isolated from each other', async () => {
    const a = await loadPython(quiet);
    const b = await loadPython(quiet);
    a.exec('import json\njson.secret = 1\nshared = 2');
    assert.throws(() => b.eval('shared'), { type: 'NameError' });
    assert.equal(b.eval("hasattr(__import__('json'), 'secret')"), false);
    assert.notEqual(a.eval('__import__("random").random()'), b.eval('__import__("random").random()'));
  });

  test('the sandbox grants no host files, environment or subprocesses', async () => {
    const py = await loadPython(quiet);
    assert.deepEqual(py.eval('dict(__import__("os").environ)'), { HOME: '/home/user' }, "only the guest's own HOME");
    assert.throws(() => py.eval('open("/etc/passwd").read()'), { type: 'FileNotFoundError' });
    assert.deepEqual(py.eval('sorted(__import__("os").listdir("/"))'), ['dev', 'home', 'tmp', 'usr'], "the interpreter's own tree");
    assert.throws(() => py.runPython('import subprocess\nsubprocess.run(["ls"])'), PythonError);
    const elapsed = py.runPython('import time\nt = time.monotonic()\ntime.sleep(0.05)\ntime.monotonic() - t');
    assert.ok(elapsed >= 0.045, `sleep works: ${elapsed}`);
    assert.ok(Math.abs(py.eval('__import__("time").time()') - Date.now() / 1000) < 5, 'the wall clock is real');
  });

  test('a compiled module and bytes are accepted as the wasm source', async () => {
    const bytes = await readFile(new URL('../dist/pycomponent.core.wasm', import.meta.url));
    const fromBytes = await loadPython({ ...quiet, wasm: bytes });
    assert.equal(fromBytes.eval('6 * 7'), 42);
    const fromModule = await loadPython({ ...quiet, wasm: await WebAssembly.compile(bytes) });
    assert.equal(fromModule.eval('6 * 7'), 42);
    await assert.rejects(loadPython({ ...quiet, wasm: '/no/such/file.wasm' }), /ENOENT/);
  });

  test('the numpy variant loads with the same API, in a worker too', async () => {
    const py = await loadPython({ ...quiet, variant: 'numpy' });
    assert.equal(py.eval("'numpy' in __import__('sys').modules"), false);
    py.exec('import numpy as np');
    assert.equal(py.eval('float(np.linalg.det(np.array([[1., 2.], [3., 4.]])).round(6))'), -2);
    // Arrays cross as lists (tolist()) or bytes (tobytes()).
    assert.deepEqual(py.eval('np.arange(6).reshape(2, 3).tolist()'), [[0, 1, 2], [3, 4, 5]]);
    assert.deepEqual([...py.eval("np.array([1, 2], dtype='<u2').tobytes()")], [1, 0, 2, 0]);
    const worker = await loadPythonWorker({ ...quiet, variant: 'numpy' });
    try {
      assert.equal(await worker.eval('int(__import__("numpy").arange(10).sum())'), 45);
    } finally {
      await worker.terminate();
    }
    await assert.rejects(loadPython({ ...quiet, variant: 'nosuch' }), /variant "nosuch" is not at/);
    await assert.rejects(loadPython({ ...quiet, variant: '../x' }), TypeError);
  });
});

describe('file system', () => {
  test('Python writes and reads /tmp and home; FS reads and writes the same files', async () => {
    const py = await loadPython(quiet);
    py.FS.mkdirTree('/data/in');
    py.FS.writeFile('/data/in/numbers.txt', '1\n2\n3\n');
    py.FS.writeFile('bytes.bin', new Uint8Array([0, 255]));
    const result = py.runPython(
      'import os, tempfile, pathlib, json, sys\n' +
        "total = sum(int(line) for line in open('/data/in/numbers.txt'))\n" +
        "p = pathlib.Path(tempfile.mkdtemp()) / 'out.json'\n" +
        "p.write_text(json.dumps({'total': total}))\n" +
        "[str(p), os.getcwd(), sorted(os.listdir('/')), open('bytes.bin', 'rb').read(), sys.stderr.fileno(), open(os.devnull, 'w').write('x')]",
    );
    const [out, cwd, root, bytes, stderrFd, written] = result;
    assert.equal(cwd, '/home/user');
    assert.deepEqual(root, ['data', 'dev', 'home', 'tmp', 'usr']);
    assert.deepEqual(bytes, new Uint8Array([0, 255]));
    assert.deepEqual([stderrFd, written], [2, 1]);
    assert.equal(py.FS.readFile(out, { encoding: 'utf8' }), '{"total": 6}');
    assert.deepEqual(py.FS.readdir('/data'), ['.', '..', 'in']);
    const stat = py.FS.stat('/data/in/numbers.txt');
    assert.equal(stat.size, 6);
    assert.ok(py.FS.isFile(stat.mode) && py.FS.isDir(py.FS.stat('/data').mode));
    assert.ok(stat.mtime instanceof Date && stat.mtime.getFullYear() >= 2024);
    py.FS.rename('/data/in/numbers.txt', '/data/numbers.txt');
    py.FS.unlink('/data/numbers.txt');
    py.FS.rmdir('/data/in');
    assert.equal(py.FS.exists('/data/in'), false);
    assert.throws(() => py.FS.readFile('/nope'), (e) => e instanceof FileSystemError && e.code === 'ENOENT');
    assert.throws(() => py.FS.mkdir('/tmp'), { code: 'EEXIST' });
    assert.throws(() => py.FS.rmdir('/home'), { code: 'ENOTEMPTY' });
    assert.throws(() => py.FS.readFile(42), TypeError);
    assert.equal(py.eval('1 + 1'), 2, 'the interpreter is fine after the errors');
  });

  test('each interpreter has its own tree, and nothing reaches the host', async () => {
    const a = await loadPython(quiet);
    const b = await loadPython(quiet);
    a.exec("open('/tmp/only-a', 'w').write('a')");
    assert.deepEqual(b.FS.readdir('/tmp'), ['.', '..']);
    assert.throws(() => b.exec("open('/etc/hostname')"), { type: 'FileNotFoundError' });
    a.exec("open('/tmp/host-canary', 'w').write('guest')");
    await assert.rejects(readFile('/tmp/only-a'), { code: 'ENOENT' });
  });

  test('the cap gives ENOSPC and the interpreter goes on', async () => {
    const py = await loadPython({ ...quiet, fileSystemBytes: 1 << 20 });
    const outcome = py.runPython(
      "import errno\ntry:\n    open('/tmp/big', 'wb').write(b'x' * (2 << 20))\n    r = 'written'\nexcept OSError as e:\n    r = errno.errorcode[e.errno]\nr",
    );
    assert.equal(outcome, 'ENOSPC');
    assert.throws(() => py.FS.writeFile('/tmp/big', new Uint8Array(2 << 20)), { code: 'ENOSPC' });
    py.FS.writeFile('/tmp/small', new Uint8Array(1000));
    assert.equal(py.eval('6 * 7'), 42);
    await assert.rejects(loadPython({ ...quiet, fileSystemBytes: -1 }), TypeError);
  });

  test('with stdlibSources, tracebacks show library source lines', async () => {
    const plain = await loadPython(quiet);
    const err = (py) => {
      try {
        py.exec("import json; json.loads('{')");
      } catch (error) {
        return error.traceback;
      }
      assert.fail('no exception');
    };
    const line = '  File "/usr/local/lib/python3.11/json/decoder.py", line 353, in raw_decode\n    obj, end = self.scan_once(s, idx)\n';
    assert.ok(!err(plain).includes(line));
    const py = await loadPython({ ...quiet, stdlibSources: true });
    assert.ok(err(py).includes(line), err(py));
    assert.equal(py.eval('__import__("inspect").getsource(__import__("json").dumps)[:9]'), 'def dumps');
    const worker = await loadPythonWorker({ ...quiet, stdlibSources: true });
    try {
      assert.equal(await worker.eval('__import__("inspect").getsource(__import__("json").dumps)[:9]'), 'def dumps');
    } finally {
      worker.terminate();
    }
    await assert.rejects(loadPython({ ...quiet, stdlibSources: 42 }), TypeError);
  });

  test('in a worker every operation is a Promise', async () => {
    const py = await loadPythonWorker(quiet);
    try {
      // Modules and zip files in the tree import from sys.path, as in CPython.
      await py.FS.mkdirTree('/home/user/lib/pkg');
      await py.FS.writeFile('/home/user/lib/pkg/__init__.py', 'from .core import VALUE\n');
      await py.FS.writeFile('/home/user/lib/pkg/core.py', "VALUE = 'from a file'\n");
      const imported = await py.runPython(
        "import sys, zipfile\nwith zipfile.ZipFile('/tmp/lib.zip', 'w') as z:\n    z.writestr('zipped.py', 'WHERE = __file__')\n" +
          "sys.path[:0] = ['/home/user/lib', '/tmp/lib.zip']\nimport pkg, zipped\n[pkg.VALUE, zipped.WHERE]",
      );
      assert.deepEqual(imported, ['from a file', '/tmp/lib.zip/zipped.py']);
      await py.FS.writeFile('/tmp/in.txt', 'from JS');
      assert.equal(await py.eval("open('/tmp/in.txt').read()"), 'from JS');
      await py.exec("open('/tmp/out.txt', 'w').write('from Python')");
      assert.equal(await py.FS.readFile('/tmp/out.txt', { encoding: 'utf8' }), 'from Python');
      await assert.rejects(py.FS.readFile('/tmp/none'), { name: 'FileSystemError', code: 'ENOENT' });
    } finally {
      py.terminate();
    }
  });
});

describe('asyncio', () => {
  test('asyncio.run works on the main thread and in a worker', async () => {
    const code =
      'import asyncio\nasync def main():\n    return await asyncio.gather(*(asyncio.sleep(0.05, result=i) for i in range(5)))\nasyncio.run(main())';
    const py = await loadPython(quiet);
    assert.deepEqual(py.runPython(code), [0, 1, 2, 3, 4]);
    assert.equal(py.runPython('import asyncio\nawait asyncio.sleep(0.01, result=3)'), 3, 'top-level await');
    const worker = await loadPythonWorker(quiet);
    try {
      assert.deepEqual(await worker.runPython(code), [0, 1, 2, 3, 4]);
    } finally {
      worker.terminate();
    }
  });
});

/** `kv.fetch(key)` answers after `ms`, counting the calls in flight; `kv.fail()` rejects; `kv.never()` never settles. */
function slowStore(ms = 200) {
  const counts = { now: 0, most: 0 };
  const fetch = async (key) => {
    counts.most = Math.max(counts.most, ++counts.now);
    await new Promise((resolve) => setTimeout(resolve, ms));
    counts.now--;
    return `value of ${key}`;
  };
  const store = {
    fetch,
    fail: async () => {
      throw new Error('the store is down');
    },
    never: () => new Promise(() => {}),
    size: () => 3,
  };
  return { store, counts };
}

describe('async calls', () => {
  for (const [where, load] of [
    ['on the main thread', loadPython],
    ['in a worker', loadPythonWorker],
  ]) {
    test(`Promise-returning JS functions are awaited concurrently ${where}, and JS keeps running`, async () => {
      const py = await load(quiet);
      try {
        const { store, counts } = slowStore(200);
        py.registerJsModule('kv', store);
        let ticks = 0;
        const ticker = setInterval(() => ticks++, 10);
        const started = performance.now();
        const code = 'import asyncio, kv\nvalues = await asyncio.gather(*(kv.fetch(f"k{i}") for i in range(10)))\n[values[0], values[9], len(values), kv.size()]';
        const values = await py.runPythonAsync(code);
        const elapsed = performance.now() - started;
        clearInterval(ticker);
        assert.deepEqual(values, ['value of k0', 'value of k9', 10, 3]);
        assert.equal(counts.most, 10, 'all ten calls were in flight at once');
        assert.ok(elapsed < 1500, `ten 200 ms calls took ${elapsed} ms`);
        assert.ok(ticks >= 5, `the JS event loop ran meanwhile (${ticks} ticks)`);
        // A rejection is a RuntimeError in Python; uncaught, a PythonError with the traceback.
        assert.equal(await py.runPythonAsync('try:\n    await kv.fail()\nexcept RuntimeError as e:\n    r = str(e)\nr'), 'Error: the store is down');
        await assert.rejects(py.runPythonAsync('async def inner():\n    await kv.fail()\nawait inner()'), (e) => e.type === 'RuntimeError' && /in inner/.test(e.traceback));
        if (load === loadPython) {
          // Synchronous code on the main thread cannot wait: an error that says to await.
          assert.throws(() => py.runPython('kv.fetch("a")'), (e) => e.type === 'RuntimeError' && /`await kv\.fetch\(\.\.\.\)`/.test(e.message));
        } else {
          // A worker's synchronous call waits for the Promise, as before.
          assert.equal(await py.runPython('kv.fetch("a")'), 'value of a');
        }
        // callAsync awaits an async def; a plain function is just called.
        await py.exec('async def double(n, *, wait=0.01):\n    await asyncio.sleep(wait)\n    return n * 2');
        assert.equal(await py.callAsync('double', 4, kwargs({ wait: 0 })), 8);
        assert.equal(await py.callAsync('abs', -4), 4);
        assert.equal(await py.runPythonAsync('1 + 1'), 2);
      } finally {
        py.terminate?.();
      }
    });

    test(`a timeout cancels a waiting task ${where}, and the interpreter stays`, async () => {
      const py = await load(quiet);
      try {
        py.registerJsModule('kv', slowStore().store);
        const code = 'import asyncio, kv\nstate = "waiting"\ntry:\n    await kv.never()\nexcept asyncio.CancelledError:\n    state = "cancelled"\n    raise';
        await assert.rejects(py.runPythonAsync(code, { timeout: 200 }), (e) => e instanceof PythonInterruptedError && e.reason === 'timeout');
        assert.equal(await py.eval('state'), 'cancelled');
        await assert.rejects(py.runPythonAsync('await asyncio.sleep(30)', { timeout: 100 }), PythonInterruptedError);
        assert.equal(await py.runPythonAsync('await asyncio.sleep(0, result="usable")'), 'usable');
      } finally {
        py.terminate?.();
      }
    });
  }

  test('interrupt() cancels a waiting task in a worker; a busy one restarts the worker', async () => {
    const py = await loadPythonWorker(quiet);
    try {
      await py.exec('import asyncio\nstate = "kept"');
      const run = py.runPythonAsync('try:\n    await asyncio.sleep(30)\nexcept asyncio.CancelledError:\n    state = "cancelled"\n    raise');
      await new Promise((resolve) => setTimeout(resolve, 100));
      py.interrupt();
      await assert.rejects(run, (e) => e instanceof PythonInterruptedError && e.reason === 'interrupt');
      assert.equal(await py.eval('state'), 'cancelled', 'the worker and its globals stayed');
      const busy = py.runPythonAsync('await asyncio.sleep(0.01)\nwhile True: pass');
      await new Promise((resolve) => setTimeout(resolve, 200));
      py.interrupt();
      await assert.rejects(busy, PythonInterruptedError);
      await assert.rejects(py.eval('state'), { type: 'NameError' }, 'a fresh worker');
    } finally {
      py.terminate();
    }
  });
});

/** A loopback upstream for outgoing HTTP: `/echo`, `/redirect?to=URL`, `/slow`, `/big`, anything else 'hello'. */
async function upstream() {
  let requests = 0;
  const server = createServer((request, response) => {
    requests += 1;
    const url = new URL(request.url, 'http://x');
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      if (url.pathname === '/echo') {
        response.setHeader('x-upstream', 'yes');
        response.end(`${request.method} ${request.url} ${request.headers['x-token'] ?? '-'} ${Buffer.concat(chunks)}`);
      } else if (url.pathname === '/redirect') response.writeHead(302, { location: url.searchParams.get('to') }).end();
      else if (url.pathname === '/slow') setTimeout(() => response.end('late'), 3000);
      else if (url.pathname === '/big') response.end(Buffer.alloc(2048, 120));
      else response.end('hello');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, grant: base, requests: () => requests, close: () => server.close() };
}

describe('outgoing HTTP', () => {
  test('fetch reaches granted URLs only; every redirect hop is checked', async () => {
    const up = await upstream();
    const other = await upstream();
    try {
      const py = await loadPython({ ...quiet, allowHttp: [up.grant] });
      const code = `import pycomponent.http as h
r = await h.fetch('${up.base}/echo?q=1', method='POST', body='data', headers={'X-Token': 't'})
(r.status, await r.text(), r.headers['x-upstream'], r.ok)`;
      assert.deepEqual(Array.from(await py.runPythonAsync(code)), [200, 'POST /echo?q=1 t data', 'yes', true]);
      const followed = await py.runPythonAsync(`(await __import__('pycomponent.http').http.fetch('${up.base}/redirect?to=/echo')).url`);
      assert.equal(followed, `${up.base}/echo`);
      await assert.rejects(
        py.runPythonAsync(`await __import__('pycomponent.http').http.fetch('${up.base}/redirect?to=${other.base}/')`),
        (e) => e.type === 'pycomponent.http.HTTPDenied' && e.message.includes(`allowHttp: ['${other.grant}']`),
      );
      assert.equal(other.requests(), 0);
      const denied = await loadPython(quiet);
      await assert.rejects(
        denied.runPythonAsync(`await __import__('pycomponent.http').http.fetch('${up.base}/')`),
        (e) => e.type === 'pycomponent.http.HTTPDenied' && e.message.includes(`${up.base}/`),
      );
      // The main thread cannot wait: urllib says what to use instead.
      assert.throws(
        () => py.runPython(`import urllib.request\nurllib.request.urlopen('${up.base}/')`),
        (e) => e.type === 'pycomponent.http.HTTPConnectionFailed' && /runPythonAsync/.test(e.message),
      );
    } finally {
      up.close();
      other.close();
    }
  });

  test('limits: time, size and requests per call; malformed grants are refused', async () => {
    const up = await upstream();
    try {
      const py = await loadPython({ ...quiet, allowHttp: [up.grant], httpTimeout: 200, maxResponseBytes: 1024, maxRequestsPerCall: 2 });
      const fetch = (path) => `await __import__('pycomponent.http').http.fetch('${up.base}${path}')`;
      await assert.rejects(py.runPythonAsync(fetch('/slow')), { type: 'pycomponent.http.HTTPTimeout' });
      await assert.rejects(py.runPythonAsync(fetch('/big')), { type: 'pycomponent.http.ResponseTooLarge' });
      await assert.rejects(py.runPythonAsync(`${fetch('/')}\n${fetch('/')}\n${fetch('/')}`), { type: 'pycomponent.http.TooManyRequests' });
      assert.equal(await py.runPythonAsync(`(${fetch('/')}).status`), 200);
      await assert.rejects(loadPython({ allowHttp: ['example.com'] }), (e) => e instanceof TypeError && /scheme/.test(e.message));
      await assert.rejects(loadPythonWorker({ allowHttp: ['https://x/path'] }), (e) => e instanceof TypeError && /no path/.test(e.message));
    } finally {
      up.close();
    }
  });

  test('in a worker, urllib and http.client work synchronously', async () => {
    const up = await upstream();
    const py = await loadPythonWorker({ ...quiet, allowHttp: [up.grant] });
    try {
      const code = `import urllib.request
r = urllib.request.urlopen('${up.base}/echo', data=b'x=1')
(r.status, r.read().decode())`;
      assert.deepEqual(Array.from(await py.runPython(code)), [200, 'POST /echo - x=1']);
      await assert.rejects(py.runPython(`urllib.request.urlopen('http://127.0.0.1:1/')`), { type: 'pycomponent.http.HTTPDenied' });
      assert.equal(await py.runPythonAsync(`(await __import__('pycomponent.http').http.fetch('${up.base}/')).status`), 200);
    } finally {
      py.terminate();
      up.close();
    }
  });
});

describe('worker', () => {
  test('the same API, async, with async JS functions', async () => {
    const { py, out } = await collecting(loadPythonWorker);
    try {
      py.registerJsModule('api', { user: async (id) => ({ id, name: `user ${id}` }), big: () => 'x'.repeat(300000) });
      assert.equal(await py.runPython("import api\nprint('in the worker')\napi.user(7)['name']"), 'user 7');
      assert.deepEqual(out, ['in the worker']);
      assert.equal(await py.eval('len(api.big())'), 300000, 'an answer larger than the shared buffer arrives whole');
      await py.addModule('helpers', 'def double(x):\n    return 2 * x\n');
      assert.equal(await py.call('helpers.double', 21), 42);
      assert.deepEqual(await py.eval('{"t": (1, 2**64)}'), { t: PythonTuple.from([1, 2n ** 64n]) });
      await assert.rejects(py.eval('1 / 0'), { name: 'PythonError', type: 'ZeroDivisionError' });
      assert.equal(await py.eval('"usable"'), 'usable');
    } finally {
      py.terminate();
    }
  });

  test('a timeout stops a stuck run; the worker restarts with modules kept', async () => {
    const py = await loadPythonWorker({ ...quiet, timeout: 5000 });
    try {
      py.registerJsModule('kv', { get: () => 'kept' });
      await py.addModule('helpers', 'def one():\n    return 1\n');
      await py.loadPackage(await demoWheel());
      await py.exec('state = "lost"');
      const stuck = [
        'while True: pass',
        'try:\n    while True: pass\nexcept BaseException:\n    pass',
        "import re\nre.match('(a+)+$', 'a' * 40 + 'b')",
      ];
      for (const code of stuck) {
        await assert.rejects(py.exec(code, { timeout: 300 }), (e) => e instanceof PythonInterruptedError && e.reason === 'timeout');
      }
      await assert.rejects(py.eval('state'), { type: 'NameError' });
      assert.deepEqual(await py.runPython('import helpers, kv, demo_pkg\n[helpers.one(), kv.get(), demo_pkg.VERSION]'), [1, 'kept', '1.0']);
    } finally {
      py.terminate();
    }
  });

  test('interrupt() stops the current run, queued calls go on', async () => {
    const py = await loadPythonWorker(quiet);
    try {
      const stuck = py.exec('while True: pass');
      const queued = py.eval('6 * 7');
      setTimeout(() => py.interrupt(), 200);
      await assert.rejects(stuck, { name: 'PythonInterruptedError', reason: 'interrupt' });
      assert.equal(await queued, 42);
    } finally {
      py.terminate();
    }
    await assert.rejects(py.eval('1'), /terminated/);
  });

  test('a missing wasm file is a clear error, not a hang', async () => {
    await assert.rejects(loadPythonWorker({ ...quiet, wasm: '/no/such/file.wasm' }), /ENOENT/);
  });
});

test('examples/node/hello.mjs prints its expected output', async () => {
  const example = new URL('../../../examples/node/hello.mjs', import.meta.url);
  const expected = await readFile(new URL('../../../examples/node/hello.expected', import.meta.url), 'utf8');
  const { stdout } = await promisify(execFile)(process.execPath, [example.pathname], { timeout: 60000 });
  assert.equal(stdout, expected);
});

describe('live objects', () => {
  test('a Python function and a module are called from JS (PyProxy)', async () => {
    const py = await loadPython(quiet);
    const f = py.runPython('def f(x):\n    return x * 2\nf');
    assert.equal(f(21), 42);
    assert.equal(f.type, 'function');
    assert.equal(f.length, undefined, 'a function has no len()');
    assert.equal('prototype' in f, false, 'in asks Python (hasattr)');
    assert.equal(inspect(f), 'PyProxy(<function f at ' + py.eval('hex(id(f))') + '>)', 'console.log shows its repr');
    assert.equal(py.pyimport('statistics').mean([1, 2, 3]), 2);
    assert.equal(py.pyimport('json').dumps([1], kwargs({ indent: 1 })), '[\n 1\n]');
    assert.equal(py.pyimport('json').dumps.callKwargs([1], { indent: 1 }), '[\n 1\n]');
  });

  test('globals, attributes, items, iteration and toJs act on the live object', async () => {
    const py = await loadPython(quiet);
    py.globals.set('x', 5);
    assert.equal(py.runPython('x + 1'), 6);
    assert.equal(py.globals.get('x'), 5);
    assert.equal(py.globals.has('nope'), false);
    py.exec('class Box:\n    size = 3\nbox = Box()\ncounts = {"a": 1}');
    const box = py.globals.get('box');
    assert.equal(box.type, '__main__.Box');
    assert.equal(box.size, 3);
    box.size = 7;
    assert.equal(py.eval('box.size'), 7);
    assert.equal(box.nope, undefined, 'a missing attribute reads as undefined');
    assert.ok('size' in box);
    delete box.size;
    assert.equal(py.eval('box.size'), 3);
    assert.deepEqual(py.globals.get('counts'), { a: 1 }, 'plain data is copied');
    assert.deepEqual([...py.eval('range(3)')], [0, 1, 2]);
    assert.equal([...py.eval('range(200)')].length, 200, 'more items than one batch');
    const ordered = py.runPython('import collections\ncollections.OrderedDict(a=[1, [2]])');
    assert.deepEqual(ordered.toJs(), { a: [1, [2]] });
    const shallow = ordered.toJs({ depth: 1 });
    assert.ok(isPyProxy(shallow.a));
    assert.deepEqual(shallow.a.toJs(), [1, [2]]);
    assert.equal(ordered.length, 1);
    const proxy = py.toPy({ k: [1] });
    assert.equal(proxy.type, 'dict');
    proxy.set('j', 2);
    assert.deepEqual(proxy.toJs(), { k: [1], j: 2 });
    assert.equal(proxy.has('k'), true);
    proxy.delete('k');
    assert.equal(proxy.has('k'), false);
    assert.equal(proxy.length, 1);
    assert.throws(() => proxy.get('k'), (e) => e instanceof PythonError && e.type === 'KeyError');
    py.globals.delete('x');
    assert.equal(py.globals.has('x'), false);
    // toPy's depth: containers below it go in as host objects.
    const inner = [2];
    const shallowDict = py.toPy({ a: inner, b: 1 }, { depth: 1 });
    assert.equal(py.eval('lambda d: type(d["a"]).__name__')(shallowDict), 'HostObject');
    assert.equal(shallowDict.get('a'), inner, 'the same JS array, not a copy');
    // copy(): another handle to the same object, released on its own.
    const copy = box.copy();
    box.destroy();
    assert.equal(copy.type, '__main__.Box');
    assert.equal(py.eval('lambda a, b: a is b')(copy, py.globals.get('box')), true);
    assert.equal(inspect(copy), 'PyProxy(<__main__.Box object at ' + py.eval('hex(id(box))') + '>)');
  });

  test('JS objects and callbacks go into Python live (HostObject)', async () => {
    const py = await loadPython(quiet);
    class Page {
      constructor() {
        this.title = 'draft';
      }
      heading(text) {
        return `${text.toUpperCase()} (${this.title})`;
      }
    }
    const page = new Page();
    const use = py.runPython('def use(page, done):\n    page.title = "final"\n    return done(page.heading("hi"))\nuse');
    assert.equal(use(page, (text) => `${text}!`), 'HI (final)!');
    assert.equal(page.title, 'final');
    assert.equal(py.runPython('lambda o: o')(page), page, 'the same JS object comes back');
    // A callback Python registers, called by JS after the call returned.
    py.exec('handlers = []\ndef on(event, handler):\n    handlers.append(handler)');
    py.call('on', 'click', py.runPython('lambda e: f"clicked {e}"'));
    const [handler] = py.eval('handlers');
    assert.equal(handler('button'), 'clicked button');
  });

  test('errors cross both ways as typed errors', async () => {
    const py = await loadPython(quiet);
    const explode = py.runPython('def explode(n):\n    return 1 // n\nexplode');
    assert.throws(() => explode(0), (e) => e instanceof PythonError && e.type === 'ZeroDivisionError' && /in explode/.test(e.traceback));
    assert.equal(explode(1), 1);
    function refuseFromJs() {
      throw new TypeError('js says no');
    }
    const catching = py.runPython(
      'def t(f):\n    try:\n        f()\n    except RuntimeError as e:\n        return [type(e).__qualname__, type(e).__module__, e.type_name, e.message, e.stack, e.__notes__[0]]\nt',
    );
    const [name, module, typeName, message, stack, note] = catching(refuseFromJs);
    assert.deepEqual([name, module, typeName, message], ['HostError', 'pycomponent', 'TypeError', 'js says no']);
    assert.match(stack, /^TypeError: js says no\n +at refuseFromJs /, 'the JS stack, from where it was thrown');
    assert.doesNotMatch(stack, /host-objects\.js|pycomponent\.js/, 'without the adapter\'s frames');
    assert.ok(note.includes('at refuseFromJs'), 'the stack is a note of the traceback');
    // Uncaught, it reaches JS again as a PythonError whose traceback shows both sides.
    assert.throws(
      () => py.runPython('lambda f: f()')(refuseFromJs),
      (e) => e instanceof PythonError && e.type === 'pycomponent.HostError' && /at refuseFromJs/.test(e.traceback),
    );
  });

  test('destroy, another interpreter, re-entrance and the handle limit are typed errors', async () => {
    const py = await loadPython({ ...quiet, pythonObjects: 3 });
    const other = await loadPython(quiet);
    const f = py.eval('len');
    assert.throws(() => other.call('len', f), (e) => e instanceof PythonError && e.type === 'ReferenceError' && /another interpreter/.test(e.message));
    f.destroy();
    f.destroy();
    assert.throws(() => f('ab'), (e) => e instanceof PythonError && e.type === 'ReferenceError' && /destroyed/.test(e.message));
    const held = [py.eval('object()'), py.eval('object()'), py.eval('object()')];
    assert.throws(() => py.eval('object()'), (e) => e instanceof PythonError && e.type === 'MemoryError' && /pythonObjects/.test(e.message));
    for (const object of held) object[Symbol.dispose]();
    assert.ok(isPyProxy(py.eval('object()')), 'released handles free the cap');
    const g = py.eval('abs');
    py.registerJsModule('cb', { now: () => g(-1) });
    assert.throws(() => py.exec('import cb\ncb.now()'), /re-entrant call/);
    assert.equal(g(-2), 2, 'after the call returned, the callback works');
  });

  test('awaiting: an async Python function from JS, a JS Promise from Python', async () => {
    const py = await loadPython(quiet);
    const add = py.runPython('async def add(x):\n    import asyncio\n    await asyncio.sleep(0)\n    return x + 1\nadd');
    assert.equal(await add(1), 2);
    const later = (x) => new Promise((resolve) => setTimeout(() => resolve(x * 10), 5));
    py.globals.set('later', later);
    assert.equal(await py.runPythonAsync('await later(4)'), 40);
    // A Promise object, a rejected one, and an object that is not a thenable.
    py.globals.set('ready', new Promise((resolve) => setTimeout(() => resolve('settled'), 5)));
    const refused = Promise.reject(new TypeError('no'));
    refused.catch(() => {}); // handled: Python awaits it below
    py.globals.set('refused', refused);
    const plain = new (class Plain {})();
    py.globals.set('plain', plain);
    assert.equal(await py.runPythonAsync('await ready'), 'settled');
    assert.deepEqual(await py.runPythonAsync('try:\n    await refused\nexcept RuntimeError as e:\n    r = str(e)\nr'), 'TypeError: no');
    assert.equal(await py.runPythonAsync('await plain'), plain, 'awaiting a non-thenable gives the object itself');
    // While Python awaits, JS may call back into the interpreter (it is not in a call).
    const g = py.runPython('def g(x):\n    return x + 100\ng');
    py.globals.set('callsBack', async (x) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return g(x);
    });
    assert.equal(await py.runPythonAsync('await callsBack(1)'), 101);
    // An awaitable PyProxy awaited twice: a coroutine runs once.
    const coroutine = add(5);
    assert.equal(coroutine.type, 'coroutine');
    assert.equal(await coroutine, 6);
    await assert.rejects(async () => await coroutine, (e) => e instanceof PythonError && e.type === 'RuntimeError' && /cannot reuse/.test(e.message));
  });

  test('in a worker, the same API with every operation a Promise', async () => {
    const py = await loadPythonWorker(quiet);
    try {
      const f = await py.runPython('def f(x):\n    return x * 2\nf');
      assert.equal(await f(21), 42);
      assert.equal(await (await py.pyimport('statistics')).mean([1, 2, 3]), 2);
      const globals = await py.globals;
      await globals.set('x', 5);
      assert.equal(await py.runPython('x + 1'), 6);
      assert.equal(await globals.get('x'), 5);
      const date = await py.runPython('import datetime\ndatetime.date(2026, 1, 2)');
      assert.equal(date.type, 'datetime.date');
      assert.equal(await date.year, 2026);
      assert.equal(await date.toString(), '2026-01-02');
      assert.deepEqual([...(await date.timetuple().then((t) => t.toJs()))], [2026, 1, 2, 0, 0, 0, 4, 2, -1]);
      await date.setAttribute('year', 1).then(
        () => assert.fail('a date is immutable'),
        (e) => assert.equal(e.type, 'AttributeError'),
      );
      const items = [];
      for await (const item of await py.runPython('range(3)')) items.push(item);
      assert.deepEqual(items, [0, 1, 2]);
      class Page {
        title = 'draft';
        heading(text) {
          return `${text.toUpperCase()} (${this.title})`;
        }
      }
      const page = new Page();
      const use = await py.runPython('def use(page, done):\n    page.title = "final"\n    return done(page.heading("hi"))\nuse');
      assert.equal(await use(page, (text) => `${text}!`), 'HI (final)!');
      assert.equal(page.title, 'final');
      assert.equal(await (await py.runPython('lambda o: o'))(page), page);
      const add = await py.runPython('async def add(x):\n    return x + 1\nadd');
      assert.equal(await add(1), 2);
      f.destroy();
      await assert.rejects(f(1), (e) => e instanceof PythonError && e.type === 'ReferenceError');
      const usage = await py.objectUsage();
      assert.ok(usage.held >= 1 && usage.limit === 100_000);
    } finally {
      py.terminate();
    }
  });

  test('in a worker: globals, items, keywords, attribute members and errors both ways', async () => {
    const py = await loadPythonWorker(quiet);
    try {
      await py.exec('def f(x, scale=1):\n    return x * scale\nclass Box:\n    size = 3\nbox = Box()');
      assert.equal(await (await py.globals.get('f'))(21), 21);
      assert.equal(await (await py.globals.get('f')).callKwargs(21, { scale: 2 }), 42);
      assert.equal(await (await py.globals.get('f'))(2, kwargs({ scale: 5 })), 10);
      await py.globals.set('limit', 10);
      assert.equal(await py.globals.has('limit'), true);
      await py.globals.delete('limit');
      assert.equal(await py.globals.has('limit'), false);
      const box = await py.globals.get('box');
      assert.equal(await box.size, 3);
      assert.throws(() => {
        box.size = 4;
      }, (e) => e instanceof TypeError && /setAttribute\("size", value\)/.test(e.message));
      assert.throws(() => 'size' in box, (e) => e instanceof TypeError && /hasAttribute\("size"\)/.test(e.message));
      await box.setAttribute('size', 4);
      assert.equal(await box.hasAttribute('size'), true);
      assert.equal(await py.eval('box.size'), 4);
      await box.deleteAttribute('size');
      assert.equal(await py.eval('box.size'), 3);
      const counts = await py.toPy({ a: 1 });
      await counts.set('b', 2);
      assert.equal(await counts.get('b'), 2);
      assert.equal(await counts.length, 2);
      assert.deepEqual(await counts.toJs(), { a: 1, b: 2 });
      const explode = await py.runPython('def explode(n):\n    return 1 // n\nexplode');
      await assert.rejects(explode(0), (e) => e instanceof PythonError && e.type === 'ZeroDivisionError' && /in explode/.test(e.traceback));
      function refuseFromJs() {
        throw new RangeError('main thread says no');
      }
      const caught = await (await py.runPython('def t(f):\n    try:\n        f()\n    except RuntimeError as e:\n        return [e.type_name, e.message, e.stack]\nt'))(refuseFromJs);
      assert.deepEqual(caught.slice(0, 2), ['RangeError', 'main thread says no']);
      assert.match(caught[2], /at refuseFromJs /);
      // An async JS function and a Promise, awaited by Python in the worker.
      await py.globals.set('later', async (x) => x * 10);
      await py.globals.set('ready', Promise.resolve('settled'));
      assert.deepEqual(await py.runPythonAsync('[await later(4), await ready]'), [40, 'settled']);
    } finally {
      py.terminate();
    }
  });

  test('a restarted worker refuses the PyProxies of the one it replaced, even calls queued before', async () => {
    const py = await loadPythonWorker({ ...quiet, timeout: 300 });
    try {
      const f = await py.runPython('def f(x):\n    return x * 2\nf');
      const stuck = py.exec('while True: pass');
      // Queued behind the stuck run: by the time it runs, another worker has other objects.
      const queued = f(1);
      await assert.rejects(stuck, PythonInterruptedError);
      await assert.rejects(queued, (e) => e instanceof PythonError && e.type === 'ReferenceError' && /gone/.test(e.message));
      await assert.rejects(f(1), (e) => e instanceof PythonError && e.type === 'ReferenceError');
      await py.exec('def f(x):\n    return x * 3');
      assert.equal(await (await py.globals.get('f'))(1), 3, 'globals is the new worker\'s');
    } finally {
      py.terminate();
    }
  });

  test('a PyProxy JS collects is released (FinalizationRegistry)', async () => {
    assert.equal(typeof globalThis.gc, 'function', 'the suite runs with node --expose-gc');
    const py = await loadPython(quiet);
    const start = py.objectUsage().held;
    (() => {
      for (let i = 0; i < 100; i++) py.eval('object()');
    })();
    assert.equal(py.objectUsage().held, start + 100);
    for (let round = 0; round < 20 && py.objectUsage().held > start; round++) {
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 10)); // finalizers run between tasks
      py.eval('None'); // releases what was collected
    }
    assert.equal(py.objectUsage().held, start);
  });

  test('100 000 create and release rounds leave no handle and flat memory', async () => {
    const py = await loadPython(quiet);
    py.exec('import sys\ndef f(x):\n    return x');
    const globals = py.globals; // held for the interpreter's life
    const start = py.objectUsage().held;
    const blocks = py.eval('sys.getallocatedblocks()');
    for (let i = 0; i < 100_000; i++) globals.get('f').destroy();
    py.eval('None');
    assert.equal(py.objectUsage().held, start);
    assert.ok(py.eval('sys.getallocatedblocks()') - blocks < 100);
    py.exec('def churn(o, n):\n    for _ in range(n):\n        o.child()');
    py.call('churn', new (class { child() { return new Date(); } })(), 10_000);
    py.eval('None');
    assert.equal(py.objectUsage().hostObjects, 0);
  });
});
