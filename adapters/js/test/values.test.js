// The value decoder (src/values.js) against the rules of the node table in
// wit/python.wit, without the built component: one test per rule, the size
// caps at their limits, and round trips of every kind. What a malformed
// value does to an interpreter: test/malformed.test.js.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { MalformedValueError, PythonError } from '../src/errors.js';
import { LiveObjects } from '../src/live-objects.js';
import { isPyProxy } from '../src/proxies.js';
import { jsArguments } from '../src/python.js';
import { fromWire, MAX_DEPTH, MAX_NODES, MAX_PAYLOAD, PythonTuple, sizeBudget, toWire } from '../src/values.js';

/**
 * Asserts that `nodes` is refused with a MalformedValueError whose message
 * matches `rule`; decoded with the live objects `objects`, if given.
 */
function refused(nodes, rule, node, objects = undefined) {
  assert.throws(
    () => fromWire({ nodes }, sizeBudget(), objects),
    (error) => {
      assert.ok(error instanceof MalformedValueError, `a MalformedValueError, got ${error?.name}: ${error?.message}`);
      assert.match(error.message, /^malformed value from the guest: /);
      assert.match(error.message, rule);
      if (node !== undefined) assert.equal(error.node, node);
      return true;
    },
  );
}

const list = (...items) => ({ tag: 'list', val: Uint32Array.from(items) });
const none = { tag: 'none' };
const str = (val) => ({ tag: 'str', val });

/** A list nested `depth` levels below the root: depth + 1 nodes. */
function chain(depth) {
  const nodes = new Array(depth + 1);
  for (let i = 0; i < depth; i++) nodes[i] = { tag: 'list', val: [i + 1] };
  nodes[depth] = none;
  return nodes;
}

describe('the node table must be a tree', () => {
  test('shared child refused', () => {
    refused([list(1, 1), none], /node 1 is a child of both node 0 and node 0 \(a value is a tree\)/, 1);
    refused([list(1, 2), list(3), list(3), none], /node 3 is a child of both node 1 and node 2/, 3);
    refused([{ tag: 'dict', val: [[1, 1]] }, str('k')], /node 1 is a child of both/);
  });

  test('back-reference refused', () => {
    refused([list(1), list(0)], /node 1 refers back to node 0 \(a child comes after its parent\)/, 1);
    refused([list(1, 2), none, list(1)], /node 2 refers back to node 1/, 2);
  });

  test('self-reference refused', () => {
    refused([list(0)], /node 0 refers to itself/, 0);
    refused([{ tag: 'tuple', val: [1] }, { tag: 'set', val: [1] }], /node 1 refers to itself/, 1);
  });

  test('out-of-range refused', () => {
    refused([list(1)], /node 0 refers to node 1, past the last node \(0\)/, 0);
    refused([list(1, 0xffffffff), none], /refers to node 4294967295, past the last node \(1\)/);
    refused([{ tag: 'list', val: [1.5] }, none], /node 0 has a child index that is not a u32 \(1\.5\)/);
    refused([{ tag: 'list', val: [-1] }, none], /not a u32 \(-1\)/);
    refused([{ tag: 'list', val: ['1'] }, none], /not a u32 \("1"\)/);
    refused([{ tag: 'dict', val: [[1]] }, none], /node 0 \(dict\) does not hold a list of \(key, value\) index pairs/);
  });

  test('unused node refused', () => {
    refused([none, none], /node 1 is not part of the value \(no node refers to it\)/, 1);
    refused([list(2), none, none], /node 1 is not part of the value/, 1);
    refused([list(1), none, str('orphan')], /node 2 is not part of the value/, 2);
  });

  test('depth cap', () => {
    assert.equal(MAX_DEPTH, 1000);
    let value = fromWire({ nodes: chain(MAX_DEPTH) });
    for (let i = 0; i < MAX_DEPTH; i++) value = value[0];
    assert.equal(value, null, 'a value nested MAX_DEPTH levels decodes');
    refused(chain(MAX_DEPTH + 1), /node 1001 nests deeper than 1000 levels/, MAX_DEPTH + 1);
    // The encoder draws the line at the same depth.
    let deep = null;
    for (let i = 0; i < MAX_DEPTH; i++) deep = [deep];
    assert.equal(toWire(deep).nodes.length, MAX_DEPTH + 1);
    assert.throws(() => toWire([deep]), RangeError);
  });

  test('million-deep chain refused without a stack overflow', () => {
    // A million nodes (the cap), each the only item of the one before.
    refused(chain(MAX_NODES - 1), /node 1001 nests deeper than 1000 levels/);
  });

  test('children need not be laid out depth first', () => {
    // Breadth first: still a tree whose children come after their parent.
    assert.deepEqual(fromWire({ nodes: [list(1, 2), list(3), list(4), str('a'), str('b')] }), [['a'], ['b']]);
  });
});

describe('the size caps apply to what comes in', () => {
  test('node-count cap', () => {
    assert.equal(MAX_NODES, 1_000_000);
    const items = Uint32Array.from({ length: MAX_NODES - 1 }, (_, i) => i + 1);
    const nodes = [{ tag: 'list', val: items }].concat(new Array(MAX_NODES - 1).fill(none));
    assert.equal(fromWire({ nodes }).length, MAX_NODES - 1, 'MAX_NODES nodes decode');
    nodes.push(none);
    refused(nodes, /more than 1000000 nodes in the values of one call/, null);
  });

  test('node-count cap is shared by the values of one call', () => {
    const root = { tag: 'list', val: Uint32Array.from({ length: 599_999 }, (_, i) => i + 1) };
    const half = { nodes: [root].concat(new Array(599_999).fill(none)) };
    assert.equal(jsArguments([half], []).length, 1);
    assert.throws(() => jsArguments([half], [{ name: 'more', value: half }]), MalformedValueError);
    const budget = sizeBudget();
    fromWire(half, budget);
    assert.equal(budget.nodes, MAX_NODES - 600_000);
  });

  test('payload cap', () => {
    assert.equal(MAX_PAYLOAD, 64 << 20);
    assert.equal(fromWire({ nodes: [str('x'.repeat(MAX_PAYLOAD))] }).length, MAX_PAYLOAD, '64 MiB decode');
    refused([str('x'.repeat(MAX_PAYLOAD + 1))], /node 0 passes the 64 MiB of text and bytes/, 0);
    // str, bytes, big-int digits and objects' type names all count.
    const quarter = MAX_PAYLOAD / 4;
    refused(
      [
        list(1, 2, 3, 4),
        str('s'.repeat(quarter)),
        { tag: 'bytes', val: new Uint8Array(quarter) },
        { tag: 'big-int', val: '9'.repeat(quarter) },
        { tag: 'object', val: { handle: 1n, typeName: 't'.repeat(quarter + 1), traits: {} } },
      ],
      /node 4 passes the 64 MiB/,
      4,
      new LiveObjects(),
    );
  });
});

describe('leaves hold what the contract says', () => {
  test('bad big-int refused', () => {
    for (const text of ['', '-', ' 1', '1 ', '+1', '--1', '0x10', '1e5', '1_000', '1.0', '١٢', 'Infinity']) {
      refused([{ tag: 'big-int', val: text }], /node 0 \(big-int\) does not hold decimal text/, 0);
    }
    refused([{ tag: 'big-int', val: 12 }], /does not hold decimal text/);
    assert.equal(fromWire({ nodes: [{ tag: 'big-int', val: '-00123' }] }), -123n);
  });

  test('int is an s64 BigInt', () => {
    refused([{ tag: 'int', val: 1 }], /node 0 \(int\) does not hold an s64 as a BigInt/);
    refused([{ tag: 'int', val: 2n ** 63n }], /does not hold an s64/);
    refused([{ tag: 'int', val: -(2n ** 63n) - 1n }], /does not hold an s64/);
    assert.equal(fromWire({ nodes: [{ tag: 'int', val: -(2n ** 63n) }] }), -(2n ** 63n));
  });

  test('other leaves of the wrong type refused', () => {
    refused([{ tag: 'boolean', val: 1 }], /\(boolean\) does not hold a boolean/);
    refused([{ tag: 'float', val: 1n }], /\(float\) does not hold a number/);
    refused([{ tag: 'str', val: new Uint8Array(1) }], /\(str\) does not hold a string/);
    refused([{ tag: 'bytes', val: [1, 2] }], /\(bytes\) does not hold a Uint8Array/);
    const live = new LiveObjects();
    refused([{ tag: 'object', val: { handle: 1, typeName: 'x' } }], /\(object\) does not hold a handle and a type name/, 0, live);
    refused([{ tag: 'object' }], /\(object\) does not hold a handle and a type name/, 0, live);
    refused([{ tag: 'object', val: { handle: 1n, typeName: 'x' } }], /\(object\) does not hold an object this interpreter can hold/, 0);
    refused([{ tag: 'host-object', val: 1n }], /\(host-object\) does not hold a host object Python holds/, 0, live);
    refused([{ tag: 'host-object', val: live.hostObjects.add({}) }], /\(host-object\) does not hold a host object Python holds/, 0);
    refused([{ tag: 'list', val: 'ab' }], /\(list\) does not hold a list of indices/);
    refused([{ tag: 'dict', val: new Uint32Array(2) }], /\(dict\) does not hold a list of \(key, value\)/);
  });

  test('a table that is not a table refused', () => {
    for (const value of [null, 42, {}, { nodes: 'abc' }, { nodes: new Uint32Array(1) }]) {
      assert.throws(() => fromWire(value), (e) => e instanceof MalformedValueError && e.node === null);
    }
    refused([], /the value has no nodes/, null);
    refused([null], /node 0 is not a node \(null\)/, 0);
    refused([list(1), 7], /node 1 is not a node \(7\)/, 1);
    refused([{ tag: 'complex', val: 1 }], /node 0 has an unknown tag \("complex"\)/, 0);
    refused([{}], /node 0 has an unknown tag \(a undefined\)/, 0);
  });
});

describe('round trips', () => {
  test('every kind of value', () => {
    const values = [
      null,
      true,
      false,
      0,
      -7,
      Number.MAX_SAFE_INTEGER,
      2n ** 53n,
      -(2n ** 63n),
      2n ** 63n - 1n,
      2n ** 63n,
      -(10n ** 40n),
      0.5,
      Infinity,
      -Infinity,
      '',
      'héllo 😀',
      new Uint8Array([0, 255]),
      [],
      [1, [2, ['three']]],
      PythonTuple.from([1, 'a']),
      { a: 1, b: { c: null } },
      new Map([
        [1, 'one'],
        ['x', 2],
        [PythonTuple.from([1, 2]), new Set([3])],
      ]),
      new Set([1, 'a', PythonTuple.from([])]),
    ];
    for (const value of values) {
      assert.deepEqual(fromWire(toWire(value)), value, `${String(value)} comes back the same`);
    }
    assert.ok(Number.isNaN(fromWire(toWire(NaN))));
    assert.ok(fromWire(toWire(PythonTuple.from([1]))) instanceof PythonTuple);
    const proto = fromWire(toWire(JSON.parse('{"__proto__": 1}')));
    assert.equal(Object.getPrototypeOf(proto), Object.prototype, 'a __proto__ key is data');
    assert.equal(Object.getOwnPropertyDescriptor(proto, '__proto__').value, 1);
  });

  test('tables built by hand: frozenset, objects, bytes copied', () => {
    assert.deepEqual(fromWire({ nodes: [{ tag: 'frozenset', val: [1] }, str('a')] }), new Set(['a']));
    const live = new LiveObjects();
    const element = { tagName: 'SECTION' };
    const objects = fromWire(
      { nodes: [list(1, 2), { tag: 'object', val: { handle: 7n, typeName: 'datetime.date', traits: {} } }, { tag: 'host-object', val: live.hostObjects.add(element) }] },
      sizeBudget(),
      live,
    );
    assert.ok(isPyProxy(objects[0]));
    assert.equal(objects[0].type, 'datetime.date');
    assert.equal(objects[1], element, 'a host object is the JS object again');
    const bytes = new Uint8Array([1, 2]);
    const decoded = fromWire({ nodes: [{ tag: 'bytes', val: bytes }] });
    bytes[0] = 9;
    assert.deepEqual(decoded, new Uint8Array([1, 2]), 'the decoded bytes are a copy');
  });
});

describe('live objects in values', () => {
  test('functions and class instances go in as host objects, a fresh handle each time', () => {
    const live = new LiveObjects();
    const callback = () => 1;
    const first = toWire([callback, new Date(0), callback], live).nodes;
    assert.deepEqual(first.slice(1).map((node) => node.tag), ['host-object', 'host-object', 'host-object']);
    assert.equal(new Set(first.slice(1).map((node) => node.val)).size, 3);
    assert.equal(live.hostObject(first[1].val), callback);
    assert.throws(() => toWire(callback), /a JS function has no Python value here/);
    assert.throws(() => toWire(new Date()), /a JS Date has no Python value here/);
  });

  test('a PyProxy goes back as its handle, only into its own interpreter', () => {
    const live = new LiveObjects();
    const proxy = live.proxy({ handle: 42n, typeName: 'function', traits: { callable: true } });
    assert.deepEqual(toWire({ f: proxy }, live).nodes[2], { tag: 'object', val: { handle: 42n, typeName: '', traits: {} } });
    assert.throws(() => toWire(proxy, new LiveObjects()), (e) => e instanceof PythonError && e.type === 'ReferenceError' && /another interpreter/.test(e.message));
    proxy.destroy();
    proxy.destroy();
    assert.deepEqual(live.takeReleased(), [42n], 'released once');
    assert.throws(() => toWire(proxy, live), (e) => e instanceof PythonError && e.type === 'ReferenceError' && /destroyed/.test(e.message));
  });

  test('with a copy depth, deeper containers go in as host objects', () => {
    const live = new LiveObjects();
    const inner = [2];
    const nodes = toWire({ a: [1, inner], b: new Uint8Array(1) }, live, 2).nodes;
    assert.deepEqual(nodes.map((node) => node.tag), ['dict', 'str', 'list', 'int', 'host-object', 'str', 'bytes']);
    assert.equal(live.hostObject(nodes[4].val), inner);
  });
});

describe('strings', () => {
  test('a lone surrogate is refused, not replaced; pairs are text', () => {
    for (const [text, unit, index] of [
      ['a\uD800b', 'd800', 1],
      ['\uDC00', 'dc00', 0],
      ['ok \uD83D\uDE00 then \uDBFF', 'dbff', 11],
    ]) {
      assert.throws(
        () => toWire(text),
        (error) => {
          assert.ok(error instanceof TypeError);
          assert.equal(error.message.includes(`'\\u${unit}' at index ${index}`), true, error.message);
          return true;
        },
      );
    }
    assert.deepEqual(toWire('emoji \uD83D\uDE00'), { nodes: [{ tag: 'str', val: 'emoji \uD83D\uDE00' }] });
    assert.throws(() => toWire({ key: ['\uDFFF'] }), TypeError);
  });
});

