// The value mapping between JavaScript and the component's `value` (a flat
// node table, `wit/python.wit`): toWire turns a JS value into nodes, fromWire
// turns nodes into a JS value, refusing a table that breaks the contract.
// Plain data is copied; other objects cross by handle through `objects`
// (a LiveObjects of live-objects.js): Python's as PyProxy, JS functions and
// class instances as host objects.

import { MalformedValueError } from './errors.js';

/** Nesting limit of a value, as in the component: deeper (or cyclic) values are refused. */
export const MAX_DEPTH = 1000;

/** The most nodes the values of one call may carry from the guest (as in the guest and the Wasmtime adapter). */
export const MAX_NODES = 1_000_000;

/** The most text, bytes and big-int digits the values of one call may carry from the guest (as there too). */
export const MAX_PAYLOAD = 64 << 20;

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A Python tuple on the JS side: an Array that converts back into a tuple
 * (so a tuple dict key survives a round trip).
 */
export class PythonTuple extends Array {}

/**
 * The node table of a JS value. Functions, class instances and PyProxies
 * go in by handle through `objects` (a LiveObjects); without it they have
 * no value. With `copyDepth` (and `objects`), containers nested that many
 * levels deep go in as host objects instead of copies (toPy's `depth`).
 * @param {unknown} value
 * @param {import('./live-objects.js').LiveObjects} [objects]
 * @param {number} [copyDepth]
 * @returns {{ nodes: Array<object> }}
 */
export function toWire(value, objects, copyDepth = Infinity) {
  const nodes = [];
  const add = (v, depth) => {
    if (depth > MAX_DEPTH) {
      throw new RangeError(`value nested deeper than ${MAX_DEPTH} levels (or cyclic)`);
    }
    const index = nodes.length;
    nodes.push(null);
    nodes[index] = depth >= copyDepth && objects && isContainer(v) ? objects.nodeOf(v) : nodeOf(v, depth, add, objects);
    return index;
  };
  add(value, 0);
  return { nodes };
}

/** Whether a JS value converts to a Python container (list, tuple, set, dict). */
function isContainer(v) {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v) || v instanceof Set || v instanceof Map) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A high surrogate not followed by a low one, or a low one without a high one before it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function nodeOf(v, depth, add, objects) {
  switch (typeof v) {
    case 'undefined':
      return { tag: 'none' };
    case 'boolean':
      return { tag: 'boolean', val: v };
    case 'number':
      return Number.isSafeInteger(v) ? { tag: 'int', val: BigInt(v) } : { tag: 'float', val: v };
    case 'bigint':
      return v >= I64_MIN && v <= I64_MAX ? { tag: 'int', val: v } : { tag: 'big-int', val: v.toString() };
    case 'string': {
      // A WIT string is Unicode text: the encoder would turn a lone
      // surrogate into U+FFFD, silently changing the value.
      const lone = LONE_SURROGATE.exec(v);
      if (lone) {
        const unit = lone[0].charCodeAt(0).toString(16);
        throw new TypeError(
          `a JS string with a lone surrogate ('\\u${unit}' at index ${lone.index}) has no Python str value; send its bytes instead`,
        );
      }
      return { tag: 'str', val: v };
    }
    case 'object':
      break;
    case 'function':
      if (objects) return objects.nodeOf(v);
      throw new TypeError('a JS function has no Python value here');
    default:
      throw new TypeError(`a JS ${typeof v} has no Python value`);
  }
  if (v === null) return { tag: 'none' };
  if (v instanceof Uint8Array) return { tag: 'bytes', val: v };
  if (v instanceof ArrayBuffer) return { tag: 'bytes', val: new Uint8Array(v) };
  const items = (iterable) => Uint32Array.from(Array.from(iterable, (item) => add(item, depth + 1)));
  if (v instanceof PythonTuple) return { tag: 'tuple', val: items(v) };
  if (Array.isArray(v)) return { tag: 'list', val: items(v) };
  if (v instanceof Set) return { tag: 'set', val: items(v) };
  const pairs = (entries) => Array.from(entries, ([key, item]) => [add(key, depth + 1), add(item, depth + 1)]);
  if (v instanceof Map) return { tag: 'dict', val: pairs(v) };
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) return { tag: 'dict', val: pairs(Object.entries(v)) };
  // Anything else (a class instance, a Promise, a DOM node) goes in live.
  if (objects) return objects.nodeOf(v);
  throw new TypeError(`a JS ${v.constructor?.name ?? 'object'} has no Python value here`);
}

/**
 * The JS value of a node table: None -> null, int -> number (BigInt beyond
 * 2^53), bytes -> Uint8Array, list -> Array, tuple -> PythonTuple, dict ->
 * plain object when every key is a str, else Map; set/frozenset -> Set.
 *
 * The table comes from the guest, whose memory may be corrupted, so it is
 * checked first (checkTable) and refused with a MalformedValueError that
 * names the rule and the node. `budget` is what the values of one call may
 * still spend (sizeBudget); the values of one call share it. A Python object
 * becomes a PyProxy of `objects`, a host object the JS object it stands for.
 * @param {{ nodes: Array<any> }} value
 * @param {{ nodes: number, payload: number }} [budget]
 * @param {import('./live-objects.js').LiveObjects} [objects]
 * @returns {unknown}
 */
export function fromWire(value, budget = sizeBudget(), objects = undefined) {
  const nodes = checkTable(value, budget, objects);
  // Every child comes after its parent, so from the last node back each
  // container finds its items built. No recursion: depth costs no stack.
  const values = new Array(nodes.length);
  for (let i = nodes.length - 1; i >= 0; i--) values[i] = build(nodes[i], values, objects);
  return values[0];
}

/**
 * What the values of one call may carry, as in the guest and the Wasmtime
 * adapter: MAX_NODES nodes and MAX_PAYLOAD of str, bytes, big-int digits and
 * objects' type names. Text counts in UTF-16 code units, which are
 * never more than its UTF-8 bytes: whatever the guest may send passes.
 * @returns {{ nodes: number, payload: number }}
 */
export function sizeBudget() {
  return { nodes: MAX_NODES, payload: MAX_PAYLOAD };
}

const BIG_INT_TEXT = /^-?[0-9]+$/;

/**
 * The nodes of `value` once they are known to form a value: a non-empty
 * list whose node 0 is the root and every other node the child of exactly
 * one earlier node, nested at most MAX_DEPTH levels, within `budget`, with
 * leaves of the types jco gives (s64 as BigInt, list<u8> as Uint8Array).
 * Spends the nodes and payload from `budget`.
 */
function checkTable(value, budget, objects) {
  const nodes = value?.nodes;
  if (!Array.isArray(nodes)) throw new MalformedValueError('the value has no list of nodes', null);
  const count = nodes.length;
  if (count === 0) throw new MalformedValueError('the value has no nodes', null);
  if (count > budget.nodes) {
    throw new MalformedValueError(`more than ${MAX_NODES} nodes in the values of one call`, null);
  }
  const parent = new Int32Array(count).fill(-1);
  const depth = new Uint16Array(count);
  let payload = 0;
  const adopt = (index, child) => {
    if (!Number.isInteger(child) || child < 0) {
      throw new MalformedValueError(`node ${index} has a child index that is not a u32 (${describe(child)})`, index);
    }
    if (child === index) throw new MalformedValueError(`node ${index} refers to itself`, index);
    if (child < index) {
      throw new MalformedValueError(`node ${index} refers back to node ${child} (a child comes after its parent)`, index);
    }
    if (child >= count) {
      throw new MalformedValueError(`node ${index} refers to node ${child}, past the last node (${count - 1})`, index);
    }
    if (parent[child] !== -1) {
      throw new MalformedValueError(`node ${child} is a child of both node ${parent[child]} and node ${index} (a value is a tree)`, child);
    }
    if (depth[index] >= MAX_DEPTH) {
      throw new MalformedValueError(`node ${child} nests deeper than ${MAX_DEPTH} levels`, child);
    }
    parent[child] = index;
    depth[child] = depth[index] + 1;
  };
  const leaf = (index, ok, what) => {
    if (!ok) throw new MalformedValueError(`node ${index} (${nodes[index].tag}) does not hold ${what}`, index);
  };
  for (let i = 0; i < count; i++) {
    // Parents come first: a node no earlier node adopted is unreachable.
    if (i > 0 && parent[i] === -1) {
      throw new MalformedValueError(`node ${i} is not part of the value (no node refers to it)`, i);
    }
    const node = nodes[i];
    if (node === null || typeof node !== 'object') {
      throw new MalformedValueError(`node ${i} is not a node (${describe(node)})`, i);
    }
    const { tag, val } = node;
    switch (tag) {
      case 'none':
        break;
      case 'boolean':
        leaf(i, typeof val === 'boolean', 'a boolean');
        break;
      case 'int':
        leaf(i, typeof val === 'bigint' && val >= I64_MIN && val <= I64_MAX, 'an s64 as a BigInt');
        break;
      case 'float':
        leaf(i, typeof val === 'number', 'a number');
        break;
      case 'big-int':
        leaf(i, typeof val === 'string' && BIG_INT_TEXT.test(val), "decimal text (an optional '-' and digits)");
        payload += val.length;
        break;
      case 'str':
        leaf(i, typeof val === 'string', 'a string');
        payload += val.length;
        break;
      case 'bytes':
        leaf(i, val instanceof Uint8Array, 'a Uint8Array');
        payload += val.length;
        break;
      case 'object':
        leaf(i, typeof val?.handle === 'bigint' && typeof val.typeName === 'string', 'a handle and a type name');
        leaf(i, objects !== undefined, 'an object this interpreter can hold');
        payload += val.typeName.length;
        break;
      case 'host-object':
        leaf(i, typeof val === 'bigint' && objects?.hostObject(val) !== undefined, 'a host object Python holds');
        break;
      case 'list':
      case 'tuple':
      case 'set':
      case 'frozenset':
        leaf(i, val instanceof Uint32Array || Array.isArray(val), 'a list of indices');
        for (const child of val) adopt(i, child);
        break;
      case 'dict':
        leaf(i, Array.isArray(val), 'a list of (key, value) index pairs');
        for (const pair of val) {
          leaf(i, Array.isArray(pair) && pair.length === 2, 'a list of (key, value) index pairs');
          adopt(i, pair[0]);
          adopt(i, pair[1]);
        }
        break;
      default:
        throw new MalformedValueError(`node ${i} has an unknown tag (${describe(tag)})`, i);
    }
    if (payload > budget.payload) {
      throw new MalformedValueError(
        `node ${i} passes the ${MAX_PAYLOAD >> 20} MiB of text and bytes the values of one call may carry`,
        i,
      );
    }
  }
  budget.nodes -= count;
  budget.payload -= payload;
  return nodes;
}

/** The JS value of a checked node whose children are in `values`. */
function build(node, values, objects) {
  const item = (index) => values[index];
  switch (node.tag) {
    case 'none':
      return null;
    case 'boolean':
    case 'float':
    case 'str':
      return node.val;
    case 'int':
      return node.val >= -SAFE_MAX && node.val <= SAFE_MAX ? Number(node.val) : node.val;
    case 'big-int':
      return BigInt(node.val);
    case 'bytes':
      return new Uint8Array(node.val);
    case 'list':
      return Array.from(node.val, item);
    case 'tuple':
      return PythonTuple.from(node.val, item);
    case 'set':
    case 'frozenset':
      return new Set(Array.from(node.val, item));
    case 'dict': {
      const entries = node.val.map(([k, v]) => [values[k], values[v]]);
      if (!entries.every(([k]) => typeof k === 'string')) return new Map(entries);
      const object = {};
      // defineProperty: a "__proto__" key is data, not the prototype.
      for (const [k, v] of entries) {
        Object.defineProperty(object, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return object;
    }
    case 'object':
      return objects.proxy(node.val);
    case 'host-object':
      return objects.hostObject(node.val);
  }
}

/** A short description of a value that is not what it should be, for an error message. */
function describe(x) {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}...` : x);
  if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean') return String(x);
  return x === null ? 'null' : `a ${typeof x}`;
}

/**
 * Text form of a node table for postMessage-free channels (JSON with
 * BigInt and byte arrays tagged).
 * @param {unknown} data
 * @returns {string}
 */
export function encodeJson(data) {
  return JSON.stringify(data, (_key, v) => {
    if (typeof v === 'bigint') return { $bigint: v.toString() };
    if (v instanceof Uint8Array) return { $bytes: bytesToBase64(v) };
    if (v instanceof Uint32Array) return Array.from(v);
    return v;
  });
}

/**
 * The inverse of encodeJson; index lists come back as Uint32Array.
 * @param {string} text
 * @returns {any}
 */
export function decodeJson(text) {
  return JSON.parse(text, (_key, v) => {
    if (v === null || typeof v !== 'object') return v;
    if (typeof v.$bigint === 'string') return BigInt(v.$bigint);
    if (typeof v.$bytes === 'string') return base64ToBytes(v.$bytes);
    if (['list', 'tuple', 'set', 'frozenset'].includes(v.tag) && Array.isArray(v.val)) {
      return { tag: v.tag, val: Uint32Array.from(v.val) };
    }
    return v;
  });
}

function bytesToBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
