// One interpreter's live objects: the Python objects JS holds (PyProxy,
// proxies.js and worker-proxies.js) and the JS objects Python holds (host
// objects, host-objects.js). A LiveObjects connects them to its
// interpreter: it runs the `objects` exports for the proxies, keeps the
// handles to release before the interpreter's next call, and encodes and
// decodes values with both kinds of objects in them.

import { hostObjectImports, HostObjects } from './host-objects.js';
import { HANDLER, liveHandle, makePyProxy, targetOf } from './proxies.js';
import { fromWire, toWire } from './values.js';
import { WORKER_HANDLER } from './worker-proxies.js';

/** One interpreter's PyProxies and host objects. */
export class LiveObjects {
  /** Whether the interpreter is in a worker (its PyProxies give Promises). */
  asynchronous;
  /** Set when the interpreter is gone (a restarted worker): its PyProxies refuse. */
  retired = false;
  /** The JS objects Python holds. */
  hostObjects = new HostObjects();
  #call = null;
  #callAsync = null;
  #released = [];

  /** @param {{ asynchronous?: boolean }} [options] */
  constructor(options = {}) {
    this.asynchronous = !!options.asynchronous;
  }

  /**
   * Connects the interpreter: `call(name, args)` runs export `name` (e.g.
   * `objects.getAttribute`) and gives its decoded value, throwing
   * PythonError (in a worker: a Promise of it); `callAsync(name, args)`
   * drives an asynchronous one (`objects.callAsync`) to its Promise.
   * @param {(name: string, args: unknown[]) => any} call
   * @param {(name: string, args: unknown[]) => Promise<any>} callAsync
   */
  attach(call, callAsync) {
    this.#call = call;
    this.#callAsync = callAsync;
  }

  /** A new PyProxy for an `object` node the guest sent. */
  proxy(ref) {
    return makePyProxy(this, ref, this.asynchronous ? WORKER_HANDLER : HANDLER);
  }

  /**
   * The node of a JS value that is not plain data: a PyProxy of this
   * interpreter is its Python object again; anything else (a function, a
   * class instance, a Promise) goes in as a new host object.
   */
  nodeOf(value) {
    const target = targetOf(value);
    if (target) return { tag: 'object', val: { handle: liveHandle(target, this), typeName: '', traits: {} } };
    return { tag: 'host-object', val: this.hostObjects.add(value) };
  }

  /** The handle of a PyProxy of this interpreter (a ReferenceError PythonError if it cannot be used). */
  handleOf(proxy) {
    const target = targetOf(proxy);
    if (!target) throw new TypeError('not a PyProxy');
    return liveHandle(target, this);
  }

  /** The JS object behind a host-object handle Python holds (undefined if none). */
  hostObject(handle) {
    return this.hostObjects.get(handle);
  }

  /** Queues a PyProxy's handle, to be released before the interpreter's next call. */
  queueRelease(handle) {
    this.#released.push(handle);
  }

  /** The handles to release now (the queue is emptied). */
  takeReleased() {
    const released = this.#released;
    this.#released = [];
    return released;
  }

  /**
   * A JS value in wire form, with this interpreter's objects. With `depth`,
   * containers below that many levels go in as host objects, not copies.
   */
  wire(value, depth = undefined) {
    return toWire(value, this, depth);
  }

  /** The JS value of a node table the guest sent, with this interpreter's objects. */
  decode(value, budget) {
    return fromWire(value, budget, this);
  }

  /** @internal Runs `objects` export `name` (jco's camelCase name). */
  run(name, args) {
    return this.#call(`objects.${name}`, args);
  }

  /** @internal Drives `objects.call-async` with its arguments. */
  runAsync(args) {
    return this.#callAsync('objects.callAsync', args);
  }

  /**
   * The `host` import functions for host objects (see hostObjectImports).
   * @param {{ accepting: boolean, add: (promise: PromiseLike<unknown>, settle: Function) => bigint | number }} pending
   * @param {(value: unknown, label: string) => { tag: 'ok' | 'err', val: any }} result
   */
  hostImports(pending, result) {
    return hostObjectImports(this, pending, result);
  }
}
