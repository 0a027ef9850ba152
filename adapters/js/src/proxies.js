// PyProxy (Pyodide's name): a Python object that JS holds by the handle the
// guest gave it (`types.python-object` of wit/python.wit). It is a JS Proxy
// over a function, so that it can be called; its property reads, writes,
// `in` and `delete` are Python's getattr, setattr, hasattr and delattr,
// made through the component's `objects` exports. Its handle is released
// once: by destroy(), or when JS collects the proxy (a FinalizationRegistry),
// at the interpreter's next call. This module has what every PyProxy shares
// and the PyProxy of an interpreter on the calling thread; worker-proxies.js
// has a worker's, whose operations give Promises.

import { PythonError } from './errors.js';

/** Each PyProxy's target -> its state: `{ live, handle, type, traits, destroyed }`. */
const STATE = new WeakMap();
/** Each PyProxy -> its target. */
const TARGET = new WeakMap();

/** PyProxies JS collected without destroy(): their handles are released at the next call. */
const collected = new FinalizationRegistry(({ live, handle }) => live.queueRelease(handle));

/** How many items a `for...of` over a PyProxy asks Python for at a time. */
export const ITEMS_PER_CALL = 64;

/** The mark of api.js's kwargs(), accepted as the last argument of a call. */
const KWARGS_MARKER = Symbol.for('pycomponent.kwargs');

/** What Node's util.inspect (console.log) asks an object for its text. */
export const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * Whether `value` is a PyProxy (of any interpreter, on the calling thread or in a worker).
 * @param {unknown} value
 * @returns {boolean}
 */
export function isPyProxy(value) {
  return TARGET.has(/** @type {object} */ (value));
}

/**
 * @internal A new PyProxy of `live` for an `object` node the guest sent.
 * @param {import('./live-objects.js').LiveObjects} live
 * @param {{ handle: bigint, typeName: string, traits?: object }} ref
 * @param {ProxyHandler<Function>} handler
 */
export function makePyProxy(live, ref, handler) {
  // An arrow function: callable, and without a `prototype`, a property a
  // Proxy would have to report as present whatever Python says.
  const target = () => {};
  // Node's util.inspect looks at a Proxy's target, not through the Proxy.
  Object.defineProperty(target, INSPECT, { value: () => handler.get(target, INSPECT, target)(), configurable: true });
  STATE.set(target, { live, handle: ref.handle, type: ref.typeName, traits: ref.traits ?? {}, destroyed: false });
  const proxy = new Proxy(target, handler);
  TARGET.set(proxy, target);
  collected.register(proxy, { live, handle: ref.handle }, target);
  return proxy;
}

/** @internal The state of a PyProxy's target. */
export function stateOf(target) {
  return STATE.get(target);
}

/** @internal The target of a PyProxy; undefined for anything else. */
export function targetOf(proxy) {
  return TARGET.get(proxy);
}

/**
 * @internal The handle of a PyProxy's target, for a call into `live`; a
 * PythonError of type ReferenceError (as the guest gives for a released
 * handle) when it was destroyed or belongs to another interpreter.
 */
export function liveHandle(target, live) {
  const state = STATE.get(target);
  if (state.destroyed) throw referenceError(`this PyProxy (${state.type}) was destroyed`);
  if (state.live.retired) throw referenceError(`this PyProxy (${state.type}) belongs to an interpreter that is gone (a restarted worker)`);
  if (state.live !== live) throw referenceError(`this PyProxy (${state.type}) belongs to another interpreter`);
  return state.handle;
}

/** @internal The error of a handle that cannot be used, thrown before any call. */
export function referenceError(message) {
  return new PythonError({ typeName: 'ReferenceError', message, traceback: '' });
}

/** @internal Runs `objects` export `name` on the object of a PyProxy's target, its handle first. */
export function run(target, name, ...args) {
  const live = STATE.get(target).live;
  return live.run(name, [liveHandle(target, live), ...args]);
}

/** @internal A JS value in wire form, with the live objects of a PyProxy's interpreter. */
export function wire(target, value) {
  return STATE.get(target).live.wire(value);
}

/** @internal The `args` and `kwargs` of `objects.call` and `call-method`, in wire form. */
export function callArguments(target, args, keywords) {
  const kwargs = Object.entries(keywords).map(([name, value]) => ({ name, value: wire(target, value) }));
  return [args.map((arg) => wire(target, arg)), kwargs];
}

/** @internal A call's JS arguments, positional and keyword: a trailing kwargs() gives the keywords. */
export function splitKwargs(args) {
  const last = args.at(-1);
  if (last !== null && typeof last === 'object' && last[KWARGS_MARKER]) return [args.slice(0, -1), last.values];
  return [args, {}];
}

/** @internal callKwargs' arguments: the last one is the object of keyword arguments. */
export function splitCallKwargs(args) {
  const last = args.at(-1);
  if (last === null || typeof last !== 'object' || Array.isArray(last)) {
    throw new TypeError('callKwargs takes the keyword arguments as an object, its last argument');
  }
  return [args.slice(0, -1), last[KWARGS_MARKER] ? last.values : last];
}

/** @internal The `depth` of toJs and toPy (all levels unless a depth of 0 or more is given). */
export function depthOption(options = {}) {
  const depth = options.depth;
  if (depth === undefined || depth === -1) return undefined;
  if (!Number.isSafeInteger(depth) || depth < -1 || depth > 0xffffffff) throw new TypeError('depth must be a whole number of levels (-1: all)');
  return depth;
}

/**
 * @internal The object itself as a value (its `object` node): `from-value`
 * gives a new handle to it, the independent PyProxy of copy().
 */
export function selfValue(target) {
  const live = STATE.get(target).live;
  return { nodes: [{ tag: 'object', val: { handle: liveHandle(target, live), typeName: '', traits: {} } }] };
}

/** @internal Releases a PyProxy's handle (sent at the interpreter's next call); harmless twice. */
export function destroy(target) {
  const state = STATE.get(target);
  if (state.destroyed) return;
  state.destroyed = true;
  collected.unregister(target);
  state.live.queueRelease(state.handle);
}

/**
 * @internal `length` of an object `len()` refuses (a function, say): undefined,
 * as a JS object without one (JS code reads a function's `length`).
 */
export function lengthless(error) {
  if (error instanceof PythonError && error.type === 'TypeError') return undefined;
  throw error;
}

/** Calls the object with positional arguments and an object of keyword arguments. */
function call(target, args, keywords) {
  return run(target, 'call', ...callArguments(target, args, keywords));
}

/** `for...of`: the items, asked of Python in batches through `iterate` and `next`. */
function* items(target) {
  const iterator = TARGET.get(run(target, 'iterate'));
  try {
    for (;;) {
      const batch = run(iterator, 'next', ITEMS_PER_CALL);
      yield* batch;
      if (batch.length < ITEMS_PER_CALL) return;
    }
  } finally {
    destroy(iterator);
  }
}

/** What util.inspect shows: the object's repr, or its type when Python cannot be asked now. */
function inspect(target) {
  try {
    return `PyProxy(${run(target, 'repr')})`;
  } catch {
    return `PyProxy(<${STATE.get(target).type}>)`;
  }
}

/** The members every PyProxy has (Pyodide's names); any other name is a Python attribute. */
const MEMBERS = {
  type: (target) => STATE.get(target).type,
  length: (target) => {
    try {
      return run(target, 'length');
    } catch (error) {
      return lengthless(error);
    }
  },
  toString: (target) => () => run(target, 'str'),
  toJs: (target) => (options) => run(target, 'toValue', depthOption(options)),
  copy: (target) => () => STATE.get(target).live.run('fromValue', [selfValue(target)]),
  destroy: (target) => () => destroy(target),
  callKwargs: (target) => (...args) => call(target, ...splitCallKwargs(args)),
  get: (target) => (key) => run(target, 'getItem', wire(target, key), 'value'),
  set: (target) => (key, value) => run(target, 'setItem', wire(target, key), wire(target, value)),
  has: (target) => (key) => run(target, 'contains', wire(target, key)),
  delete: (target) => (key) => run(target, 'deleteItem', wire(target, key)),
};

/** The Proxy handler of a PyProxy on the calling thread. */
export const HANDLER = {
  get(target, prop) {
    const state = STATE.get(target);
    if (typeof prop === 'symbol') {
      if (prop === Symbol.iterator) return state.traits.iterable ? () => items(target) : undefined;
      if (prop === Symbol.dispose) return () => destroy(target);
      if (prop === Symbol.toStringTag) return 'PyProxy';
      if (prop === INSPECT) return () => inspect(target);
      return undefined;
    }
    // Only an awaitable is a thenable: `await proxy` must not ask Python for `then`.
    if (prop === 'then') {
      if (!state.traits.awaitable) return undefined;
      return (resolve, reject) => state.live.runAsync([liveHandle(target, state.live), [], [], true]).then(resolve, reject);
    }
    if (Object.hasOwn(MEMBERS, prop)) return MEMBERS[prop](target);
    try {
      return run(target, 'getAttribute', prop, 'value');
    } catch (error) {
      // As in Pyodide, a missing attribute reads as undefined.
      if (error instanceof PythonError && error.type === 'AttributeError') return undefined;
      throw error;
    }
  },
  set(target, prop, value) {
    if (typeof prop === 'symbol') return false;
    run(target, 'setAttribute', prop, wire(target, value));
    return true;
  },
  has(target, prop) {
    if (typeof prop === 'symbol') return prop === Symbol.iterator ? !!STATE.get(target).traits.iterable : prop === Symbol.dispose;
    return Object.hasOwn(MEMBERS, prop) || run(target, 'hasAttribute', prop);
  },
  deleteProperty(target, prop) {
    if (typeof prop === 'symbol') return false;
    run(target, 'deleteAttribute', prop);
    return true;
  },
  apply(target, _this, args) {
    return call(target, ...splitKwargs(args));
  },
};
