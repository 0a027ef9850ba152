// Live objects across the boundary: PyProxy (a Python object JS holds,
// Pyodide's name) and the table of JS objects that Python holds (host
// objects: Python's `pycomponent.HostObject`, Pyodide's JsProxy). One
// LiveObjects per interpreter; a worker's (asynchronous) PyProxies give
// Promises.

import { isThenable, notAwaitable } from './async-calls.js';
import { PythonError } from './errors.js';
import { fromWire, sizeBudget, toWire } from './values.js';

/** Each PyProxy's target function -> its state (handle, type, traits, owner). */
const STATE = new WeakMap();
/** Each PyProxy -> its target function. */
const TARGET = new WeakMap();

/** Python objects whose PyProxy was collected without destroy(): released at the next call. */
const collected = new FinalizationRegistry(({ live, handle }) => live.queueRelease(handle));

/** How many items a `for...of` over a PyProxy asks Python for at a time. */
const ITEMS_PER_CALL = 64;

/** Whether `value` is a PyProxy (of any interpreter). */
export function isPyProxy(value) {
  return TARGET.has(value);
}

/**
 * One interpreter's live objects: it makes the PyProxies of the Python
 * objects the guest sends, and keeps the JS objects Python holds.
 */
export class LiveObjects {
  /** Whether the interpreter answers with Promises (a worker). */
  asynchronous;
  /** Set when the interpreter is gone (a worker replaced): its proxies refuse. */
  retired = false;
  #call = null;
  #callAsync = null;
  #released = [];
  #host = new Map();
  #nextHost = 0n;

  /** @param {{ asynchronous?: boolean }} [options] */
  constructor(options = {}) {
    this.asynchronous = !!options.asynchronous;
  }

  /**
   * Connects the interpreter: `call(name, args)` runs `objects` export `name`
   * and gives its decoded value (throwing PythonError); `callAsync(name,
   * args)` drives an asynchronous one to its Promise.
   * @param {(name: string, args: unknown[]) => any} call
   * @param {(name: string, args: unknown[]) => Promise<any>} callAsync
   */
  attach(call, callAsync) {
    this.#call = call;
    this.#callAsync = callAsync;
  }

  /** A new PyProxy for an `object` node the guest sent. */
  proxy(ref) {
    const target = function PyProxy() {};
    STATE.set(target, { live: this, handle: ref.handle, type: ref.typeName, traits: ref.traits ?? {}, destroyed: false });
    const proxy = new Proxy(target, this.asynchronous ? ASYNC_HANDLER : HANDLER);
    TARGET.set(proxy, target);
    collected.register(proxy, { live: this, handle: ref.handle }, target);
    return proxy;
  }

  /** The node of a JS value that is not plain data: a PyProxy's own handle, or a new host object. */
  nodeOf(value) {
    const target = TARGET.get(value);
    if (target) return { tag: 'object', val: { handle: handleOf(STATE.get(target), this), typeName: '', traits: {} } };
    this.#nextHost += 1n;
    this.#host.set(this.#nextHost, value);
    return { tag: 'host-object', val: this.#nextHost };
  }

  /** The handle of a live PyProxy of this interpreter (a typed error otherwise). */
  handleOf(proxy) {
    const target = TARGET.get(proxy);
    if (!target) throw new TypeError('not a PyProxy');
    return handleOf(STATE.get(target), this);
  }

  /** The JS object behind a host-object handle Python holds (undefined if none). */
  hostObject(handle) {
    return this.#host.get(handle);
  }

  /** How many JS objects Python holds now. */
  get hostObjectsHeld() {
    return this.#host.size;
  }

  /** Python dropped these host objects: forgets them. */
  releaseHost(handles) {
    for (const handle of handles) this.#host.delete(handle);
  }

  /** A handle to release before the interpreter's next call. */
  queueRelease(handle) {
    this.#released.push(handle);
  }

  /** The handles to release now; cleared. */
  takeReleased() {
    const released = this.#released;
    this.#released = [];
    return released;
  }

  /** A JS value in wire form, with this interpreter's objects. */
  wire(value) {
    return toWire(value, this);
  }

  /** @internal Runs `objects` export `name` (jco's camelCase name). */
  run(name, args) {
    return this.#call(`objects.${name}`, args);
  }

  /** @internal Drives `objects.call-async`. */
  runAsync(args) {
    return this.#callAsync('objects.callAsync', args);
  }

  /**
   * The `host` import functions for host objects: Python reads attributes
   * of, sets them on and calls the JS objects it holds. A JS error is thrown
   * to the guest as a `host-error`; a Promise is awaited during an
   * asynchronous call (`pending`).
   * @param {import('./async-calls.js').PendingCalls} pending
   * @param {(value: unknown, label: string) => any} result the `outcome` of a returned value
   */
  hostImports(pending, result) {
    const target = (handle) => {
      if (!this.#host.has(handle)) throw hostError(new ReferenceError(`Python holds no host object ${handle}`));
      return this.#host.get(handle);
    };
    // The arguments as JS values: positional, then the keywords as one object.
    const args = (values, kwargs) => {
      const budget = sizeBudget();
      const decoded = values.map((value) => fromWire(value, budget, this));
      if (kwargs.length > 0) decoded.push(Object.fromEntries(kwargs.map((k) => [k.name, fromWire(k.value, budget, this)])));
      return decoded;
    };
    return {
      objectGet: (handle, name) => {
        const object = target(handle);
        let value;
        try {
          if (!(name in Object(object))) return { tag: 'missing' };
          value = object[name];
        } catch (error) {
          throw hostError(error);
        }
        if (typeof value === 'function') return { tag: 'method' };
        try {
          return { tag: 'value', val: this.wire(value) };
        } catch (error) {
          throw hostError(error);
        }
      },
      objectSet: (handle, name, value) => {
        try {
          target(handle)[name] = fromWire(value, sizeBudget(), this);
        } catch (error) {
          throw hostError(error);
        }
      },
      objectCall: (handle, method, values, kwargs) => {
        const object = target(handle);
        const label = method === undefined ? 'a JS function' : `JS method ${method}`;
        let returned;
        try {
          if (method === '__await__') returned = object;
          else if (method === undefined) returned = object(...args(values, kwargs));
          else returned = object[method](...args(values, kwargs));
        } catch (error) {
          throw hostError(error);
        }
        if (isThenable(returned) && !isPyProxy(returned)) {
          if (!pending.accepting) throw hostError(new TypeError(notAwaitable(label)));
          return { tag: 'pending', val: pending.add(returned, ({ ok, value }) => ok ? result(value, label) : { tag: 'err', val: describe(value) }) };
        }
        const outcome = result(returned, label);
        if (outcome.tag === 'err') throw hostError(new TypeError(outcome.val));
        return { tag: 'value', val: outcome.val };
      },
      releaseObjects: (handles) => this.releaseHost(handles),
    };
  }
}

/** A thrown JS value as the component's `host-error` (thrown: jco makes it the `err` case). */
function hostError(error) {
  if (error instanceof Error) return { typeName: error.name, message: error.message, stack: error.stack ?? '' };
  return { typeName: 'Error', message: String(error), stack: '' };
}

/** The message of a rejected Promise's reason. */
function describe(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The handle of a live PyProxy of `live`; a typed error otherwise. */
function handleOf(state, live) {
  if (state.destroyed) throw referenceError(`this PyProxy (${state.type}) was destroyed`);
  if (state.live.retired) throw referenceError(`this PyProxy (${state.type}) belongs to an interpreter that is gone (a restarted worker)`);
  if (state.live !== live) throw referenceError(`this PyProxy (${state.type}) belongs to another interpreter`);
  return state.handle;
}

/** The PythonError Python would raise for a released handle, thrown before any call. */
function referenceError(message) {
  return new PythonError({ typeName: 'ReferenceError', message, traceback: '' });
}

/** Runs `objects` export `name` on a proxy's object (by its target), the handle first. */
function run(target, name, ...args) {
  const state = STATE.get(target);
  return state.live.run(name, [handleOf(state, state.live), ...args]);
}

/** Calls the object: positional arguments and an object of keyword arguments. */
function call(target, args, keywords = {}) {
  const state = STATE.get(target);
  const kwargs = Object.entries(keywords).map(([name, value]) => ({ name, value: state.live.wire(value) }));
  return run(target, 'call', args.map((arg) => state.live.wire(arg)), kwargs);
}

/** The kwargs() marker of api.js, as the last argument of a call. */
const KWARGS_MARKER = Symbol.for('pycomponent.kwargs');

/** Releases a proxy's handle (at the interpreter's next call); harmless twice. */
function destroy(target) {
  const state = STATE.get(target);
  if (state.destroyed) return;
  state.destroyed = true;
  collected.unregister(target);
  state.live.queueRelease(state.handle);
}

/** `for...of`: items in batches through iterate and next. */
function* items(target) {
  const iterator = run(target, 'iterate');
  const iteratorTarget = TARGET.get(iterator);
  try {
    for (;;) {
      const batch = run(iteratorTarget, 'next', ITEMS_PER_CALL);
      yield* batch;
      if (batch.length < ITEMS_PER_CALL) return;
    }
  } finally {
    destroy(iteratorTarget);
  }
}

/** A value argument in wire form. */
const wire = (target, value) => STATE.get(target).live.wire(value);

/** The members every PyProxy has (Pyodide's names); any other name is a Python attribute. */
const MEMBERS = {
  type: (target) => STATE.get(target).type,
  toString: (target) => () => run(target, 'str'),
  toJs: (target) => (options = {}) => {
    const depth = options.depth === undefined || options.depth < 0 ? undefined : options.depth;
    return run(target, 'toValue', depth);
  },
  destroy: (target) => () => destroy(target),
  callKwargs: (target) => (...args) => call(target, args.slice(0, -1), args.at(-1) ?? {}),
  get: (target) => (key) => run(target, 'getItem', wire(target, key), 'value'),
  set: (target) => (key, value) => run(target, 'setItem', wire(target, key), wire(target, value)),
  has: (target) => (key) => run(target, 'contains', wire(target, key)),
  delete: (target) => (key) => run(target, 'deleteItem', wire(target, key)),
  length: (target) => run(target, 'length'),
};

const HANDLER = {
  get(target, prop) {
    const state = STATE.get(target);
    if (prop === Symbol.iterator) return state.traits.iterable ? () => items(target) : undefined;
    if (prop === Symbol.dispose) return () => destroy(target);
    if (prop === Symbol.toStringTag) return 'PyProxy';
    if (typeof prop === 'symbol') return undefined;
    // Only an awaitable is a thenable: `await proxy` must not ask Python for `then`.
    if (prop === 'then') {
      if (!state.traits.awaitable) return undefined;
      return (resolve, reject) => state.live.runAsync([handleOf(state, state.live), [], [], true]).then(resolve, reject);
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
    if (typeof prop === 'symbol') return prop === Symbol.iterator && STATE.get(target).traits.iterable;
    return Object.hasOwn(MEMBERS, prop) || run(target, 'hasAttribute', prop);
  },
  deleteProperty(target, prop) {
    if (typeof prop === 'symbol') return false;
    run(target, 'deleteAttribute', prop);
    return true;
  },
  apply(target, _this, args) {
    const last = args.at(-1);
    if (last && typeof last === 'object' && last[KWARGS_MARKER]) return call(target, args.slice(0, -1), last.values);
    return call(target, args);
  },
};

/** Runs `objects` export `name` on a worker's proxy: a Promise, and a rejection for a bad handle. */
function runLater(target, name, ...args) {
  try {
    return Promise.resolve(run(target, name, ...args));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Calls a worker's proxy: a Promise. */
function callLater(target, args, keywords) {
  try {
    return Promise.resolve(call(target, args, keywords));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `for await...of` over a worker's proxy. */
async function* itemsLater(target) {
  const iterator = await runLater(target, 'iterate');
  const iteratorTarget = TARGET.get(iterator);
  try {
    for (;;) {
      const batch = await runLater(iteratorTarget, 'next', ITEMS_PER_CALL);
      yield* batch;
      if (batch.length < ITEMS_PER_CALL) return;
    }
  } finally {
    destroy(iteratorTarget);
  }
}

/** A worker's proxy members: every operation a Promise. */
const ASYNC_MEMBERS = {
  type: (target) => STATE.get(target).type,
  toString: (target) => () => runLater(target, 'str'),
  toJs: (target) => (options = {}) => {
    const depth = options.depth === undefined || options.depth < 0 ? undefined : options.depth;
    return runLater(target, 'toValue', depth);
  },
  destroy: (target) => () => Promise.resolve(destroy(target)),
  callKwargs: (target) => (...args) => callLater(target, args.slice(0, -1), args.at(-1) ?? {}),
  get: (target) => (key) => runLater(target, 'getItem', wire(target, key), 'value'),
  set: (target) => (key, value) => runLater(target, 'setItem', wire(target, key), wire(target, value)),
  has: (target) => (key) => runLater(target, 'contains', wire(target, key)),
  delete: (target) => (key) => runLater(target, 'deleteItem', wire(target, key)),
  length: (target) => runLater(target, 'length'),
  setAttribute: (target) => (name, value) => runLater(target, 'setAttribute', name, wire(target, value)),
};

/**
 * A worker's PyProxy: `await proxy.attr` reads an attribute, `await
 * proxy.method(x)` calls a method (an attribute is a callable thenable),
 * `await proxy(x)` calls it, `for await...of` iterates. Attributes are set
 * with `await proxy.setAttribute(name, value)`: an assignment could not be
 * awaited, so it is refused.
 */
const ASYNC_HANDLER = {
  get(target, prop) {
    const state = STATE.get(target);
    if (prop === Symbol.asyncIterator) return state.traits.iterable ? () => itemsLater(target) : undefined;
    if (prop === Symbol.dispose) return () => destroy(target);
    if (prop === Symbol.toStringTag) return 'PyProxy';
    if (typeof prop === 'symbol') return undefined;
    if (prop === 'then') {
      if (!state.traits.awaitable) return undefined;
      return (resolve, reject) => {
        try {
          return state.live.runAsync([handleOf(state, state.live), [], [], true]).then(resolve, reject);
        } catch (error) {
          return Promise.reject(error).then(resolve, reject);
        }
      };
    }
    if (Object.hasOwn(ASYNC_MEMBERS, prop)) return ASYNC_MEMBERS[prop](target);
    const method = (...args) => {
      const last = args.at(-1);
      const keywords = last && typeof last === 'object' && last[KWARGS_MARKER] ? args.pop().values : {};
      try {
        const kwargs = Object.entries(keywords).map(([name, value]) => ({ name, value: wire(target, value) }));
        return runLater(target, 'callMethod', prop, args.map((arg) => wire(target, arg)), kwargs);
      } catch (error) {
        return Promise.reject(error);
      }
    };
    method.then = (resolve, reject) => runLater(target, 'getAttribute', prop, 'value').then(resolve, reject);
    return method;
  },
  set(_target, prop) {
    throw new TypeError(`a worker's PyProxy sets attributes with \`await proxy.setAttribute(${JSON.stringify(String(prop))}, value)\``);
  },
  apply(target, _this, args) {
    const last = args.at(-1);
    if (last && typeof last === 'object' && last[KWARGS_MARKER]) return callLater(target, args.slice(0, -1), last.values);
    return callLater(target, args);
  },
};
