// A bounded fuzz of the value decoder (src/values.js), without the built
// component. From a fixed, printed seed it builds random values (which must
// round-trip through toWire/fromWire), random mutations of their tables and
// arbitrary tables, and checks each against a reference: a plain recursive
// reading of the rules in wit/python.wit. The decoder must give a value
// exactly when the reference accepts the table, the same value as the
// reference, and otherwise a MalformedValueError: never another exception.
//
//   node --test test/values-fuzz.test.js             CASES cases (part of npm test)
//   node test/values-fuzz.test.js --seconds 60       as many as fit in a minute
//   ... --seed 1234 [--case 17]                       another seed, or replay one case
// (or PYCOMPONENT_FUZZ_SECONDS / PYCOMPONENT_FUZZ_SEED in the environment).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MalformedValueError } from '../src/errors.js';
import { fromWire, MAX_DEPTH, PythonTuple, sizeBudget, toWire } from '../src/values.js';

const CASES = 10_000;
const DEFAULT_SEED = 0x5eed_2024;

function option(flag, variable) {
  const at = process.argv.indexOf(flag);
  const text = at >= 0 ? process.argv[at + 1] : process.env[variable];
  return text === undefined ? undefined : Number(text);
}

const SEED = option('--seed', 'PYCOMPONENT_FUZZ_SEED') ?? DEFAULT_SEED;
const SECONDS = option('--seconds', 'PYCOMPONENT_FUZZ_SECONDS');
const ONE_CASE = option('--case', 'PYCOMPONENT_FUZZ_CASE');

/** mulberry32: a small, fast generator; the same seed gives the same cases. */
function generator(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n) => Math.floor(next() * n);
  return { int, chance: (p) => next() < p, pick: (items) => items[int(items.length)] };
}

/** Each case has a seed of its own, so that one case can be replayed. */
function caseSeed(seed, index) {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index, 0xc2b2ae35)) >>> 0;
}

const TAGS = ['none', 'boolean', 'int', 'big-int', 'float', 'str', 'bytes', 'list', 'tuple', 'dict', 'set', 'frozenset', 'object', 'host-object'];

/** A Python object as the stand-in interpreter below decodes it. */
class Ref {
  constructor(handle, typeName) {
    this.handle = handle;
    this.typeName = typeName;
  }
}

/** The JS objects the stand-in's Python holds, by handle. */
const HOSTS = new Map([
  [1n, { host: 1 }],
  [2n, () => 2],
  [3n, new Date(0)],
]);

/** A stand-in for an interpreter's live objects (a LiveObjects), as fromWire uses them. */
const OBJECTS = { proxy: (ref) => new Ref(ref.handle, ref.typeName), hostObject: (handle) => HOSTS.get(handle) };
// Strings as jco decodes them from the guest's UTF-8: never a lone
// surrogate (an invalid sequence arrives as U+FFFD).
const TEXTS = ['', 'a', 'key', '__proto__', 'constructor', 'é😀', '\ufffd', '1', '-5', '0x1', ' 7', '١', '99999999999999999999'];
const JUNK = [
  undefined, null, 0, -1, 1.5, 2 ** 32, NaN, 1n, 2n ** 64n, '', '2', true, [], [1, 2, 3], {},
  new Uint8Array(2), new Uint32Array([1]),
];

// Random canonical values: they come back from fromWire(toWire(v)) equal to v.
function randomValue(r, depth) {
  const leaf = depth >= 4 || r.chance(0.45);
  if (leaf) {
    switch (r.int(8)) {
      case 0:
        return null;
      case 1:
        return r.chance(0.5);
      case 2:
        return r.int(2001) - 1000;
      case 3:
        return (r.chance(0.5) ? -1n : 1n) * (2n ** BigInt(54 + r.int(80)) + BigInt(r.int(1000)));
      case 4:
        return r.pick([0.5, -1.25, 1e300, Infinity, -Infinity, NaN, Math.PI]);
      case 5:
        return r.pick(TEXTS);
      case 6:
        return Uint8Array.from({ length: r.int(4) }, () => r.int(256));
      default:
        return PythonTuple.from([]);
    }
  }
  const count = r.int(4);
  const items = () => Array.from({ length: count }, () => randomValue(r, depth + 1));
  switch (r.int(5)) {
    case 0:
      return items();
    case 1:
      return PythonTuple.from(items());
    case 2: {
      // Primitive members only: a Set of objects would keep equal copies apart.
      return new Set(Array.from({ length: count }, () => r.pick([1, 2, 'a', 'b', null, true, 2n ** 70n])));
    }
    case 3: {
      const object = {};
      for (let i = 0; i < count; i++) {
        Object.defineProperty(object, r.pick(TEXTS), {
          value: randomValue(r, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return object;
    }
    default: {
      // A Map needs a key that is not a str, else it comes back a plain object.
      const map = new Map([[r.int(100), randomValue(r, depth + 1)]]);
      for (let i = 0; i < count; i++) map.set(r.pick([r.pick(TEXTS), r.int(100), PythonTuple.from([i])]), randomValue(r, depth + 1));
      return map;
    }
  }
}

/** A copy of a table whose index lists are plain Arrays, so that a mutation can put anything in them. */
function copyTable(nodes) {
  return nodes.map((node) => {
    if (node === null || typeof node !== 'object') return node;
    if (node.val instanceof Uint32Array) return { tag: node.tag, val: Array.from(node.val) };
    if (node.tag === 'dict' && Array.isArray(node.val)) {
      return { tag: 'dict', val: node.val.map((pair) => (Array.isArray(pair) ? [...pair] : pair)) };
    }
    return { ...node };
  });
}

function randomIndex(r, i, n) {
  return r.pick([0, i, i - 1, i + 1, r.int(n + 2), n, n - 1, 2 ** 32 - 1, -1, 1.5, '1', null]);
}

function randomLeafVal(r, tag) {
  switch (tag) {
    case 'boolean':
      return r.chance(0.8) ? r.chance(0.5) : r.pick(JUNK);
    case 'int':
      if (r.chance(0.8)) return BigInt(r.int(2001) - 1000) * r.pick([1n, 2n ** 50n, 2n ** 62n]);
      return r.pick([2n ** 63n, -(2n ** 63n) - 1n, 5, ...JUNK]);
    case 'big-int':
      return r.pick(TEXTS.concat(['-123456789012345678901234567890', '00', '-0', 'Infinity', 12]));
    case 'float':
      return r.chance(0.8) ? r.pick([0, -0, 2, 0.1, NaN, -Infinity]) : r.pick(JUNK);
    case 'str':
      return r.chance(0.8) ? r.pick(TEXTS) : r.pick(JUNK);
    case 'bytes':
      return r.chance(0.8) ? new Uint8Array(r.int(3)) : r.pick(JUNK);
    case 'object':
      if (r.chance(0.8)) return { handle: BigInt(r.int(5)), typeName: r.pick(TEXTS), traits: {} };
      return r.pick([{ typeName: 'x' }, { handle: 1, typeName: 'x' }, { handle: 1n }, ...JUNK]);
    case 'host-object':
      return r.chance(0.8) ? r.pick([...HOSTS.keys()]) : r.pick([0n, 4n, 1, ...JUNK]);
    default:
      return r.pick(JUNK);
  }
}

/** One to three random changes to a table. */
function mutate(r, nodes) {
  for (let k = 1 + r.int(3); k > 0; k--) {
    const n = nodes.length;
    const i = r.int(Math.max(n, 1));
    const node = nodes[i];
    switch (r.int(9)) {
      case 0: {
        // Point one child somewhere else.
        const containers = nodes.map((x, j) => j).filter((j) => Array.isArray(nodes[j]?.val) && nodes[j].val.length > 0);
        if (containers.length === 0) break;
        const j = r.pick(containers);
        const items = nodes[j].val;
        const at = r.int(items.length);
        if (nodes[j].tag === 'dict') {
          if (Array.isArray(items[at])) items[at][r.int(2)] = randomIndex(r, j, n);
        } else {
          items[at] = randomIndex(r, j, n);
        }
        break;
      }
      case 1: {
        const j = r.int(n);
        [nodes[i], nodes[j]] = [nodes[j], nodes[i]];
        break;
      }
      case 2:
        nodes.splice(i, 1);
        break;
      case 3:
        nodes.push(r.chance(0.5) ? { tag: 'none' } : nodes[i]);
        break;
      case 4:
        if (!Array.isArray(node?.val)) break;
        node.val.push(node.tag === 'dict' ? [randomIndex(r, i, n), randomIndex(r, i, n)] : randomIndex(r, i, n));
        break;
      case 5:
        if (node && typeof node === 'object') nodes[i] = { tag: r.pick(TAGS), val: node.val };
        break;
      case 6:
        if (node && typeof node === 'object') nodes[i] = { tag: node.tag, val: randomLeafVal(r, node.tag) };
        break;
      case 7:
        nodes[i] = r.pick([null, 3, {}, { tag: 'none' }, { tag: 'unknown' }, { tag: 'list' }, 'none']);
        break;
      default:
        if (node?.tag === 'dict' && Array.isArray(node.val) && node.val.length > 0) node.val[0] = r.pick([[1], [1, 2, 3], 5, null]);
        break;
    }
  }
  return nodes;
}

/** An arbitrary table: mostly a random tree (parents before children), with random leaves. */
function arbitraryTable(r) {
  const n = r.int(10);
  const nodes = Array.from({ length: n }, () => ({ tag: r.pick(TAGS), val: undefined }));
  // Mostly a parent before the child; sometimes any node, itself or a later one.
  const children = Array.from({ length: n }, () => []);
  for (let i = 1; i < n; i++) children[r.chance(0.9) ? r.int(i) : r.int(n)].push(i);
  nodes.forEach((node, i) => {
    if (['list', 'tuple', 'set', 'frozenset'].includes(node.tag)) node.val = children[i];
    else if (node.tag === 'dict') node.val = pairs(children[i]);
    else node.val = randomLeafVal(r, node.tag);
  });
  // Now and then a second parent, or a child before its parent.
  if (n > 1 && r.chance(0.2)) {
    const containers = nodes.filter((node) => Array.isArray(node.val) && node.tag !== 'dict');
    if (containers.length > 0) r.pick(containers).val.push(r.int(n));
  }
  return nodes;
}

/** A chain of containers around MAX_DEPTH levels deep (some above the limit, some below). */
function deepTable(r) {
  const depth = MAX_DEPTH - 5 + r.int(10);
  const nodes = [];
  for (let level = 0; level < depth; level++) {
    const here = nodes.length;
    if (r.chance(0.2)) {
      // A dict: its key (a str) is the next node, the chain goes on after it.
      nodes.push({ tag: 'dict', val: [[here + 1, here + 2]] }, { tag: 'str', val: 'k' });
    } else {
      nodes.push({ tag: r.pick(['list', 'tuple', 'set', 'frozenset']), val: [here + 1] });
    }
  }
  nodes.push({ tag: 'none' });
  return nodes;
}

function pairs(items) {
  const result = [];
  for (let i = 0; i + 1 < items.length; i += 2) result.push([items[i], items[i + 1]]);
  return result;
}

// The reference: the rules read as plainly as possible (recursive, for the
// small tables of this fuzz), and the value mapping of fromWire's doc comment.
function reference(nodes) {
  if (!Array.isArray(nodes) || nodes.length === 0) return { ok: false };
  const used = new Set();
  const isU32 = (c) => Number.isInteger(c) && c >= 0 && c <= 0xffffffff;
  const visit = (i, depth) => {
    if (depth > MAX_DEPTH) throw 'too deep';
    const node = nodes[i];
    if (node === null || typeof node !== 'object') throw 'not a node';
    const child = (c) => {
      if (!isU32(c) || c <= i || c >= nodes.length || used.has(c)) throw 'bad child';
      used.add(c);
      return visit(c, depth + 1);
    };
    const { tag, val } = node;
    const indexList = () => {
      if (!(val instanceof Uint32Array || Array.isArray(val))) throw 'not an index list';
      return Array.from(val, child);
    };
    switch (tag) {
      case 'none':
        return null;
      case 'boolean':
        if (val !== true && val !== false) throw 'bad boolean';
        return val;
      case 'int':
        if (typeof val !== 'bigint' || BigInt.asIntN(64, val) !== val) throw 'bad int';
        return Math.abs(Number(val)) <= Number.MAX_SAFE_INTEGER ? Number(val) : val;
      case 'big-int':
        if (typeof val !== 'string' || !/^-?\d+$/.test(val) || /[^-0-9]/.test(val)) throw 'bad big-int';
        return BigInt(val);
      case 'float':
        if (typeof val !== 'number') throw 'bad float';
        return val;
      case 'str':
        if (typeof val !== 'string') throw 'bad str';
        return val;
      case 'bytes':
        if (!(val instanceof Uint8Array)) throw 'bad bytes';
        return new Uint8Array(val);
      case 'object':
        if (typeof val?.handle !== 'bigint' || typeof val?.typeName !== 'string') throw 'bad object';
        return new Ref(val.handle, val.typeName);
      case 'host-object':
        if (typeof val !== 'bigint' || !HOSTS.has(val)) throw 'bad host object';
        return HOSTS.get(val);
      case 'list':
        return indexList();
      case 'tuple':
        return PythonTuple.from(indexList());
      case 'set':
      case 'frozenset':
        return new Set(indexList());
      case 'dict': {
        if (!Array.isArray(val)) throw 'bad dict';
        const entries = [];
        for (const pair of val) {
          if (!Array.isArray(pair) || pair.length !== 2) throw 'bad pair';
          const key = child(pair[0]);
          entries.push([key, child(pair[1])]);
        }
        if (entries.some(([k]) => typeof k !== 'string')) return new Map(entries);
        const object = {};
        for (const [k, v] of entries) Object.defineProperty(object, k, { value: v, enumerable: true, writable: true, configurable: true });
        return object;
      }
      default:
        throw 'unknown tag';
    }
  };
  try {
    const value = visit(0, 0);
    return used.size === nodes.length - 1 ? { ok: true, value } : { ok: false };
  } catch (reason) {
    if (typeof reason !== 'string') throw reason;
    return { ok: false };
  }
}

/** Runs case `index`; returns what it was and how it ended, or throws on a finding. */
function runCase(index) {
  const r = generator(caseSeed(SEED, index));
  const kind = r.chance(0.02) ? 'deep' : r.pick(['round trip', 'mutant', 'mutant', 'arbitrary']);
  if (kind === 'round trip') {
    const value = randomValue(r, 0);
    const wire = toWire(value);
    const back = fromWire(wire, sizeBudget(), OBJECTS);
    assert.deepStrictEqual(back, value, 'a value comes back the same');
    assert.deepStrictEqual(toWire(back), wire, 'and gives the same table again');
    return { kind, outcome: 'value' };
  }
  let nodes;
  if (kind === 'deep') nodes = r.chance(0.5) ? mutate(r, deepTable(r)) : deepTable(r);
  else if (kind === 'mutant') nodes = mutate(r, copyTable(toWire(randomValue(r, 0)).nodes));
  else nodes = arbitraryTable(r);
  const expected = reference(nodes);
  let value;
  try {
    value = fromWire({ nodes }, sizeBudget(), OBJECTS);
  } catch (error) {
    if (!(error instanceof MalformedValueError)) throw error;
    assert.ok(!expected.ok, `the reference accepts what fromWire refused (${error.message})`);
    const rule = error.message.replace(/^malformed value from the guest: /, '').replace(/ \([^()]*\)$/, '');
    return { kind, outcome: rule.replace(/\b\d+\b/g, 'N') };
  }
  assert.ok(expected.ok, 'fromWire accepts what the reference refuses');
  assert.deepStrictEqual(value, expected.value, 'fromWire and the reference give the same value');
  return { kind, outcome: 'value' };
}

function describeCase(index) {
  return `seed ${SEED} case ${index} (replay: node test/values-fuzz.test.js --seed ${SEED} --case ${index})`;
}

// The timeout turns a hang into a failure.
const timeout = (SECONDS ?? 0) * 1000 + 60_000;

test(`fuzz: the decoder gives a value or a MalformedValueError (seed ${SEED})`, { timeout }, (t) => {
  const outcomes = new Map();
  const deadline = SECONDS ? Date.now() + SECONDS * 1000 : Infinity;
  let cases = 0;
  const first = ONE_CASE ?? 0;
  for (let index = first; ; index++) {
    if (ONE_CASE !== undefined ? index > ONE_CASE : SECONDS ? Date.now() >= deadline : index >= CASES) break;
    let result;
    try {
      result = runCase(index);
    } catch (error) {
      error.message = `${describeCase(index)}: ${error.message}`;
      throw error;
    }
    cases++;
    const key = `${result.kind}: ${result.outcome}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  t.diagnostic(`seed ${SEED}: ${cases} cases, no finding`);
  for (const [key, count] of [...outcomes].sort((a, b) => b[1] - a[1])) t.diagnostic(`${String(count).padStart(8)}  ${key}`);
});
