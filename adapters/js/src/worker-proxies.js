// The PyProxy of a PythonWorker: the same object as on the calling thread
// (proxies.js), but the interpreter is in another thread, so every
// operation gives a Promise. A property read cannot be both a value and a
// method call, so a Python attribute reads as a callable thenable: `await
// proxy.attr` reads it, `await proxy.method(x)` calls it as a method (one
// call into the worker either way). An assignment, `in` and `delete` cannot
// be awaited: they throw, and setAttribute, hasAttribute and
// deleteAttribute do their work.

import {
  callArguments,
  depthOption,
  destroy,
  INSPECT,
  ITEMS_PER_CALL,
  lengthless,
  liveHandle,
  run,
  selfValue,
  splitCallKwargs,
  splitKwargs,
  stateOf,
  targetOf,
  wire,
} from './proxies.js';

/** A Promise of what `make()` gives, rejected with what it throws (a handle that cannot be used). */
function later(make) {
  try {
    return Promise.resolve(make());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Runs `objects` export `name` on a proxy's object: a Promise. */
function runLater(target, name, ...args) {
  return later(() => run(target, name, ...args));
}

/** `for await...of`: the items, in batches. */
async function* itemsLater(target) {
  const iterator = targetOf(await runLater(target, 'iterate'));
  try {
    for (;;) {
      const batch = await runLater(iterator, 'next', ITEMS_PER_CALL);
      yield* batch;
      if (batch.length < ITEMS_PER_CALL) return;
    }
  } finally {
    destroy(iterator);
  }
}

/** The members of a worker's PyProxy: as on the calling thread, each operation a Promise. */
const MEMBERS = {
  type: (target) => stateOf(target).type,
  length: (target) => runLater(target, 'length').catch(lengthless),
  toString: (target) => () => runLater(target, 'str'),
  toJs: (target) => (options) => later(() => run(target, 'toValue', depthOption(options))),
  copy: (target) => () => later(() => stateOf(target).live.run('fromValue', [selfValue(target)])),
  destroy: (target) => () => Promise.resolve(destroy(target)),
  callKwargs: (target) => (...args) => later(() => run(target, 'call', ...callArguments(target, ...splitCallKwargs(args)))),
  get: (target) => (key) => later(() => run(target, 'getItem', wire(target, key), 'value')),
  set: (target) => (key, value) => later(() => run(target, 'setItem', wire(target, key), wire(target, value))),
  has: (target) => (key) => later(() => run(target, 'contains', wire(target, key))),
  delete: (target) => (key) => later(() => run(target, 'deleteItem', wire(target, key))),
  setAttribute: (target) => (name, value) => later(() => run(target, 'setAttribute', name, wire(target, value))),
  hasAttribute: (target) => (name) => runLater(target, 'hasAttribute', name),
  deleteAttribute: (target) => (name) => runLater(target, 'deleteAttribute', name),
};

/** Attribute `name` of a proxy's object as a callable thenable: awaited, it is read; called, the method is called. */
function attribute(target, name) {
  const method = (...args) => later(() => run(target, 'callMethod', name, ...callArguments(target, ...splitKwargs(args))));
  method.then = (resolve, reject) => runLater(target, 'getAttribute', name, 'value').then(resolve, reject);
  return method;
}

/** The error of an operator that would need Python's answer at once: the member to await instead. */
function notAwaitable(operator, member, name) {
  const args = [JSON.stringify(String(name)), ...(member === 'setAttribute' ? ['value'] : [])].join(', ');
  return new TypeError(`${operator} on a worker's PyProxy cannot wait for Python: use \`await proxy.${member}(${args})\``);
}

/** The Proxy handler of a worker's PyProxy. */
export const WORKER_HANDLER = {
  get(target, prop) {
    const state = stateOf(target);
    if (typeof prop === 'symbol') {
      if (prop === Symbol.asyncIterator) return state.traits.iterable ? () => itemsLater(target) : undefined;
      if (prop === Symbol.dispose) return () => destroy(target);
      if (prop === Symbol.toStringTag) return 'PyProxy';
      if (prop === INSPECT) return () => `PyProxy(<${state.type}>)`;
      return undefined;
    }
    if (prop === 'then') {
      if (!state.traits.awaitable) return undefined;
      return (resolve, reject) =>
        later(() => state.live.runAsync([liveHandle(target, state.live), [], [], true])).then(resolve, reject);
    }
    if (Object.hasOwn(MEMBERS, prop)) return MEMBERS[prop](target);
    return attribute(target, prop);
  },
  set(_target, prop) {
    throw notAwaitable('an assignment', 'setAttribute', prop);
  },
  has(target, prop) {
    if (typeof prop === 'symbol') return prop === Symbol.asyncIterator ? !!stateOf(target).traits.iterable : prop === Symbol.dispose;
    if (Object.hasOwn(MEMBERS, prop)) return true;
    throw notAwaitable('`in`', 'hasAttribute', prop);
  },
  deleteProperty(_target, prop) {
    throw notAwaitable('`delete`', 'deleteAttribute', prop);
  },
  apply(target, _this, args) {
    return later(() => run(target, 'call', ...callArguments(target, ...splitKwargs(args))));
  },
};

/**
 * A worker's `py.globals`: `__main__`'s namespace, whose PyProxy belongs to
 * the worker running at the time of each call (a restarted worker has a new
 * one). Every operation gives a Promise; awaited, it gives the PyProxy.
 */
export class WorkerGlobals {
  #namespace;

  /** @param {() => Promise<any>} namespace a Promise of the current worker's PyProxy of the namespace */
  constructor(namespace) {
    this.#namespace = namespace;
  }

  /** `globals[name]` (plain data copied, other objects live). */
  get(name) {
    return this.#namespace().then((globals) => globals.get(name));
  }

  /** `globals[name] = value`. */
  set(name, value) {
    return this.#namespace().then((globals) => globals.set(name, value));
  }

  /** `name in globals`. */
  has(name) {
    return this.#namespace().then((globals) => globals.has(name));
  }

  /** `del globals[name]`. */
  delete(name) {
    return this.#namespace().then((globals) => globals.delete(name));
  }

  /** A copy of the namespace as JS values (see PyProxy.toJs). */
  toJs(options) {
    return this.#namespace().then((globals) => globals.toJs(options));
  }

  /** `await py.globals`: the namespace's PyProxy. */
  then(resolve, reject) {
    return this.#namespace().then(resolve, reject);
  }
}
