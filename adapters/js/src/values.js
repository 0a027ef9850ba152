// The value mapping between JavaScript and the component's `value` (a flat
// node table, `wit/python.wit`): toWire turns a JS value into nodes, fromWire
// turns nodes into a JS value.

/** Nesting limit of a value, as in the component: deeper (or cyclic) values are refused. */
export const MAX_DEPTH = 1000;

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A Python object with no JS mapping (a `datetime.date`, a class instance, ...):
 * its type name and `repr()`. It cannot be sent back into Python.
 */
export class OpaqueObject {
  /**
   * @param {string} typeName
   * @param {string} repr
   */
  constructor(typeName, repr) {
    this.typeName = typeName;
    this.repr = repr;
  }

  toString() {
    return this.repr;
  }
}

/**
 * A Python tuple on the JS side: an Array that converts back into a tuple
 * (so a tuple dict key survives a round trip).
 */
export class PythonTuple extends Array {}

/**
 * The node table of a JS value.
 * @param {unknown} value
 * @returns {{ nodes: Array<object> }}
 */
export function toWire(value) {
  const nodes = [];
  const add = (v, depth) => {
    if (depth > MAX_DEPTH) {
      throw new RangeError(`value nested deeper than ${MAX_DEPTH} levels (or cyclic)`);
    }
    const index = nodes.length;
    nodes.push(null);
    nodes[index] = nodeOf(v, depth, add);
    return index;
  };
  add(value, 0);
  return { nodes };
}

function nodeOf(v, depth, add) {
  switch (typeof v) {
    case 'undefined':
      return { tag: 'none' };
    case 'boolean':
      return { tag: 'boolean', val: v };
    case 'number':
      return Number.isSafeInteger(v) ? { tag: 'int', val: BigInt(v) } : { tag: 'float', val: v };
    case 'bigint':
      return v >= I64_MIN && v <= I64_MAX ? { tag: 'int', val: v } : { tag: 'big-int', val: v.toString() };
    case 'string':
      return { tag: 'str', val: v };
    case 'object':
      break;
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
  if (v instanceof OpaqueObject) {
    throw new TypeError(`a ${v.typeName} object (${v.repr}) cannot be sent back into Python`);
  }
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) return { tag: 'dict', val: pairs(Object.entries(v)) };
  throw new TypeError(`a JS ${v.constructor?.name ?? 'object'} has no Python value`);
}

/**
 * The JS value of a node table: None -> null, int -> number (BigInt beyond
 * 2^53), bytes -> Uint8Array, list -> Array, tuple -> PythonTuple, dict ->
 * plain object when every key is a str, else Map; set/frozenset -> Set.
 * @param {{ nodes: Array<any> }} value
 * @returns {unknown}
 */
export function fromWire(value) {
  const { nodes } = value;
  const at = (index) => {
    const node = nodes[index];
    if (node === undefined) throw new RangeError(`value refers to missing node ${index}`);
    switch (node.tag) {
      case 'none':
        return null;
      case 'boolean':
      case 'float':
      case 'str':
        return node.val;
      case 'int': {
        const n = BigInt(node.val);
        return n >= -SAFE_MAX && n <= SAFE_MAX ? Number(n) : n;
      }
      case 'big-int':
        return BigInt(node.val);
      case 'bytes':
        return new Uint8Array(node.val);
      case 'list':
        return Array.from(node.val, at);
      case 'tuple':
        return PythonTuple.from(node.val, at);
      case 'set':
      case 'frozenset':
        return new Set(Array.from(node.val, at));
      case 'dict': {
        const entries = node.val.map(([k, v]) => [at(k), at(v)]);
        if (!entries.every(([k]) => typeof k === 'string')) return new Map(entries);
        const object = {};
        // defineProperty: a "__proto__" key is data, not the prototype.
        for (const [k, v] of entries) {
          Object.defineProperty(object, k, { value: v, enumerable: true, writable: true, configurable: true });
        }
        return object;
      }
      case 'opaque':
        return new OpaqueObject(node.val.typeName, node.val.repr);
      default:
        throw new TypeError(`unknown value node ${JSON.stringify(node.tag)}`);
    }
  };
  return at(0);
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
