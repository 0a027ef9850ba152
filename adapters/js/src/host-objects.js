// The JS objects Python holds: host objects (`types.node.host-object` of
// wit/python.wit), which Python sees as `pycomponent.HostObject`, Pyodide's
// JsProxy. A JS function, or a JS object that is not plain data, goes into
// Python as a handle of its interpreter's table, a fresh one each time and
// never reused; Python reads, sets and calls it through the `host` import
// functions made here, and releases the handle when it drops its last
// reference (`host.release-objects`).

import { isThenable, notAwaitable } from './async-calls.js';
import { isPyProxy } from './proxies.js';
import { sizeBudget } from './values.js';

/** One interpreter's table of the JS objects Python holds, by handle. */
export class HostObjects {
  #objects = new Map();
  #last = 0n;

  /**
   * Puts `object` in the table; its new handle.
   * @param {unknown} object
   * @returns {bigint}
   */
  add(object) {
    this.#last += 1n;
    this.#objects.set(this.#last, object);
    return this.#last;
  }

  /** Whether Python holds handle `handle`. */
  has(handle) {
    return this.#objects.has(handle);
  }

  /** The JS object behind a handle (undefined when Python does not hold it). */
  get(handle) {
    return this.#objects.get(handle);
  }

  /** Python dropped these handles: their objects are forgotten. */
  release(handles) {
    for (const handle of handles) this.#objects.delete(handle);
  }

  /** How many handles Python holds. */
  get size() {
    return this.#objects.size;
  }
}

/**
 * A thrown JS value as the `host-error` record of wit/python.wit. Thrown
 * from an import, a value that is not an Error becomes the `err` case of
 * its result (jco's getErrorPayload), so the record itself is thrown.
 * @param {unknown} error
 * @returns {{ typeName: string, message: string, stack: string }}
 */
export function hostError(error) {
  if (error instanceof Error) return { typeName: error.name, message: error.message, stack: ownStack(error.stack ?? '') };
  return { typeName: 'Error', message: String(error), stack: '' };
}

/** This module's file, as JS stacks name it. */
const HERE = import.meta.url;

/**
 * The frames of a JS stack above the adapter: from the first frame of this
 * module down, the stack is the adapter's and jco's way into the guest.
 */
function ownStack(stack) {
  const lines = stack.split('\n');
  const adapter = lines.findIndex((line) => line.includes(HERE));
  return adapter < 0 ? stack : lines.slice(0, adapter).join('\n');
}

/** The message of a rejected Promise's reason, for a completion's `err` (a string). */
function reasonText(reason) {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}

/**
 * The `host` import functions for host objects: `object-get`, `object-set`,
 * `object-call` and `release-objects`. A JS error is thrown to the guest as
 * a `host-error`. A Promise that a call gives is awaited in Python during
 * an asynchronous call (`pending`), refused otherwise.
 * @param {import('./live-objects.js').LiveObjects} live the interpreter's live objects
 * @param {{ accepting: boolean, add: (promise: PromiseLike<unknown>, settle: Function) => bigint | number }} pending
 *   the calls Python awaits (PendingCalls, or a worker's stand-in that numbers them on the main thread)
 * @param {(value: unknown, label: string) => { tag: 'ok' | 'err', val: any }} result a returned value
 *   as the `result<value, string>` of a host call
 */
export function hostObjectImports(live, pending, result) {
  const objects = live.hostObjects;
  const target = (handle) => {
    if (!objects.has(handle)) throw hostError(new ReferenceError(`Python holds no host object ${handle}`));
    return objects.get(handle);
  };
  // The arguments as JS values: positional, then the keywords as one object.
  const jsArguments = (values, kwargs) => {
    const budget = sizeBudget();
    const decoded = values.map((value) => live.decode(value, budget));
    if (kwargs.length > 0) decoded.push(Object.fromEntries(kwargs.map((k) => [k.name, live.decode(k.value, budget)])));
    return decoded;
  };
  /** The `outcome` of a returned value: a `host-error` when Python cannot take it. */
  const outcome = (tag, value, label) => {
    const wired = result(value, label);
    if (wired.tag === 'err') throw hostError(new TypeError(wired.val));
    return { tag, val: wired.val };
  };
  return {
    objectGet(handle, name) {
      const object = target(handle);
      let value;
      try {
        if (!(name in Object(object))) return { tag: 'missing' };
        value = object[name];
      } catch (error) {
        throw hostError(error);
      }
      // Python calls it as a method of `object`, so that `this` is right.
      if (typeof value === 'function') return { tag: 'method' };
      try {
        return { tag: 'value', val: live.wire(value) };
      } catch (error) {
        throw hostError(error);
      }
    },
    objectSet(handle, name, value) {
      const object = target(handle);
      try {
        object[name] = live.decode(value, sizeBudget());
      } catch (error) {
        throw hostError(error);
      }
    },
    objectCall(handle, method, values, kwargs) {
      const object = target(handle);
      const label = method === undefined ? 'a JS function' : `JS method ${method}`;
      // `await obj` in Python: a thenable is awaited, anything else is its own value.
      const awaited = method === '__await__';
      let returned;
      try {
        if (awaited) returned = object;
        else if (method === undefined) returned = object(...jsArguments(values, kwargs));
        else returned = object[method](...jsArguments(values, kwargs));
      } catch (error) {
        throw hostError(error);
      }
      if (isThenable(returned) && !isPyProxy(returned)) {
        if (!pending.accepting) throw hostError(new TypeError(notAwaitable(label)));
        const settle = ({ ok, value }) => (ok ? result(value, label) : { tag: 'err', val: reasonText(value) });
        return { tag: 'pending', val: pending.add(returned, settle) };
      }
      return outcome(awaited ? 'ready' : 'value', returned, label);
    },
    releaseObjects(handles) {
      objects.release(handles);
    },
  };
}
