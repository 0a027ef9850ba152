// The interpreter in a worker (a Web Worker in browsers, a worker thread in
// Node): the same API as Python, but every call is async, so long runs do
// not block the page, and a run can be stopped by a timeout or interrupt(),
// which end the worker and start a fresh one.

import { asHttpError, fetchWhole, HttpPolicy } from './http-client.js';
import { ASYNC_METHODS, defineExportMethods, INSTALL_WHEEL, wheelSource } from './api.js';
import { CANCEL_GRACE_MS, isThenable } from './async-calls.js';
import { canShareMemory, createChannel, send } from './host-channel.js';
import { PythonError, PythonInterruptedError, PythonTrapError } from './errors.js';
import { FileSystem } from './fs.js';
import {
  coreModule,
  describeJsError,
  jsArguments,
  moduleFunctions,
  outputSink,
  settledResult,
  stdlibSources,
  wireResult,
} from './python.js';
import { LiveObjects } from './live-objects.js';
import { depthOption, referenceError } from './proxies.js';
import { WorkerGlobals } from './worker-proxies.js';
import { encodeJson, fromWire, sizeBudget, toWire } from './values.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const ENTRY = new URL('./worker-entry.js', import.meta.url);

/** A Node worker thread or a Web Worker behind one small interface. */
async function spawn(onMessage, onExit) {
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(ENTRY);
    worker.on('message', onMessage);
    worker.on('error', (error) => onExit(error));
    worker.on('exit', (code) => onExit(new Error(`worker exited with code ${code}`)));
    return {
      post: (message) => worker.postMessage(message),
      terminate: () => worker.terminate(),
      // An idle worker does not keep Node running; a pending call does.
      busy: (busy) => (busy ? worker.ref() : worker.unref()),
    };
  }
  const worker = new Worker(ENTRY, { type: 'module' });
  worker.addEventListener('message', (event) => onMessage(event.data));
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    onExit(new Error(event.message || 'worker failed'));
  });
  return { post: (message) => worker.postMessage(message), terminate: () => worker.terminate(), busy: () => {} };
}

/** The options a worker can receive (URLs as text; a compiled module as is). */
function workerOptions(options, module, sourcesBytes) {
  return {
    wasm: module,
    indexURL: options.indexURL === undefined ? undefined : String(options.indexURL),
    fileSystemBytes: options.fileSystemBytes,
    pythonObjects: options.pythonObjects,
    sourcesBytes,
    allowHttp: options.allowHttp,
    httpTimeout: options.httpTimeout,
    maxResponseBytes: options.maxResponseBytes,
    maxRequestsPerCall: options.maxRequestsPerCall,
  };
}

/**
 * A Python interpreter in a worker. Calls run one at a time, in order. A
 * call that exceeds its timeout, or is stopped by interrupt(), rejects with
 * PythonInterruptedError and the worker is replaced by a fresh interpreter:
 * globals and imports are lost, registered JS modules and added modules are
 * kept. The methods that call the component are made from EXPORT_METHODS
 * (api.js), async; index.d.ts documents them.
 */
export class PythonWorker {
  #options;
  #httpPolicy = null; // the grants, for the final URL of a request the main thread fetches
  #module;
  #stdout;
  #stderr;
  #jsModules = new Map(); // name -> Map(function name -> function)
  #sources = new Map(); // name -> [name, source, isPackage]
  #wheels = []; // [bytes, filename] of each wheel installed, in order
  /** @type {Promise<unknown>} */
  #queue = Promise.resolve();
  #nextId = 1;
  #generation = null; // the current worker and its state
  #starting = Promise.resolve(); // the start of the current worker
  #closed = false;
  #nextCallId = 1; // ids of pending async host calls
  #globals = null; // the WorkerGlobals view

  /** Default timeout per call in milliseconds (Infinity: none). */
  timeout;

  /**
   * The interpreter's file system, as Python.FS, every operation a
   * Promise. A fresh worker (after a timeout or interrupt) starts with an
   * empty one.
   * @type {FileSystem}
   */
  FS = new FileSystem((name, ...args) => /** @type {any} */ (this).call(name, ...args));

  #sourcesBytes; // the stdlib sources, written into every fresh worker's file system

  /** @internal Use loadPythonWorker. */
  constructor(options, module, sourcesBytes) {
    this.#options = options;
    this.#module = module;
    this.#sourcesBytes = sourcesBytes;
    this.#stdout = outputSink(options.stdout, (line) => console.log(line));
    this.#stderr = outputSink(options.stderr, (line) => console.warn(line));
    this.timeout = options.timeout ?? Infinity;
  }

  static {
    defineExportMethods(this, (worker, method, args) => worker.#callExport(method, args, false));
    defineExportMethods(this, (worker, method, args) => worker.#callExport(method, args, true), ASYNC_METHODS);
  }

  async #callExport(method, args, asyncCall) {
    const options = method.callOptionsAt === undefined ? {} : (args[method.callOptionsAt] ?? {});
    // Encoded with the live objects of the worker that runs the call.
    const exportArgs = (live) => method.args((value) => live.wire(value), ...args);
    const value = await this.#request(method, exportArgs, options.timeout, asyncCall);
    // A fresh worker adds again the modules added so far.
    if (method.export === 'addModule') this.#sources.set(args[0], method.args(toWire, ...args));
    return value;
  }

  /**
   * Runs `objects` export `name` on the worker: a Promise of its decoded
   * value. `args(live)` gives the arguments, encoded with the live objects
   * of the worker that runs the call. With `owner`, the call is for a
   * PyProxy of that worker's: when another worker has replaced it by the
   * time the call runs, its handles name nothing there, and it is refused.
   * @param {string} name
   * @param {unknown[] | ((live: any) => unknown[])} args the arguments, or a function of the live objects that gives them
   * @param {{ owner?: object, asyncCall?: boolean }} [options]
   */
  #objectCall(name, args, { owner, asyncCall = false } = {}) {
    const reply = name === 'objects.usage' ? 'raw' : 'value';
    const exportArgs = (live) => {
      if (owner !== undefined && owner !== live) throw referenceError('this PyProxy belongs to an interpreter that is gone (a restarted worker)');
      return typeof args === 'function' ? args(live) : args;
    };
    return this.#request({ export: name, reply }, exportArgs, undefined, asyncCall);
  }

  /**
   * \`__main__\`'s namespace, live (see Python.globals), every operation a
   * Promise: \`await py.globals.get("f")\`, \`set\`, \`has\`, \`delete\`,
   * \`toJs()\`; \`await py.globals\` gives its PyProxy. A fresh worker has a
   * new one.
   * @type {WorkerGlobals}
   */
  get globals() {
    this.#globals ??= new WorkerGlobals(() => this.#mainNamespace());
    return this.#globals;
  }

  /** A Promise of the current worker's PyProxy of \`__main__.__dict__\`, made once per worker. */
  async #mainNamespace() {
    await this.#starting;
    const generation = this.#generation;
    if (!generation) throw new Error('the Python worker was terminated');
    if (generation.globals === null) {
      const owner = { owner: generation.live };
      const made = (async () => {
        const main = await this.#objectCall('objects.importObject', ['__main__'], owner);
        try {
          return await this.#objectCall('objects.getAttribute', (live) => [live.handleOf(main), '__dict__', 'handle'], owner);
        } finally {
          main.destroy();
        }
      })();
      generation.globals = made;
      // A failure (the handle cap, say) is not kept: the next use asks again.
      made.catch(() => {
        if (generation.globals === made) generation.globals = null;
      });
    }
    return generation.globals;
  }

  /**
   * Imports a module; a Promise of it as a PyProxy (see Python.pyimport).
   * @param {string} name
   */
  pyimport(name) {
    return this.#objectCall('objects.importObject', [name]);
  }

  /**
   * A new Python object made from a JS value; a Promise of a PyProxy (see Python.toPy).
   * @param {unknown} value
   * @param {{ depth?: number }} [options]
   */
  toPy(value, options) {
    try {
      const depth = depthOption(options);
      return this.#objectCall('objects.fromValue', (live) => [live.wire(value, depth)]);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * PyProxies held and the limit, and JS objects Python holds (see Python.objectUsage).
   * @returns {Promise<{ held: number, limit: number, hostObjects: number }>}
   */
  async objectUsage() {
    const [held, limit] = await this.#objectCall('objects.usage', []);
    return { held, limit, hostObjects: this.#generation.live.hostObjects.size };
  }

  /** @internal Starts a worker and resolves when its interpreter is ready. */
  async start() {
    const channel = canShareMemory() ? createChannel() : null;
    const live = new LiveObjects({ asynchronous: true });
    live.attach(
      (name, args) => this.#objectCall(name, args, { owner: live }),
      (name, args) => this.#objectCall(name, args, { owner: live, asyncCall: true }),
    );
    const generation = { worker: null, channel, pending: null, ready: null, failed: null, live, globals: null };
    this.#generation = generation;
    let loaded;
    const loadedPromise = new Promise((resolve) => (loaded = resolve));
    let ready;
    generation.ready = new Promise((resolve, reject) => (ready = { resolve, reject }));
    generation.ready.catch(() => {});
    generation.worker = await spawn(
      (message) => this.#onMessage(generation, message, { loaded, ready }),
      (error) => this.#onExit(generation, error, ready),
    );
    // A worker that fails to load rejects `ready` without ever saying `loaded`.
    await Promise.race([loadedPromise, generation.ready]);
    generation.worker.post({
      type: 'init',
      options: workerOptions(this.#options, this.#module, this.#sourcesBytes),
      channel,
      jsModules: Array.from(this.#jsModules, ([name, functions]) => [name, Array.from(functions.keys())]),
      sources: Array.from(this.#sources.values()),
      wheels: this.#wheels,
    });
    await generation.ready;
    generation.worker.busy(false);
  }

  #onMessage(generation, message, { loaded, ready }) {
    if (generation !== this.#generation) return; // a replaced worker's last words
    switch (message.type) {
      case 'loaded':
        loaded();
        break;
      case 'ready':
        ready.resolve();
        break;
      case 'init-error':
        ready.reject(new Error(`the Python worker failed to start: ${message.message}`));
        break;
      case 'output':
        this.#stdout.write(message.stdout);
        this.#stderr.write(message.stderr);
        break;
      case 'host-call':
        this.#answerHostCall(generation, message);
        break;
      case 'host-object':
        this.#answerHostObject(generation, message);
        break;
      case 'release-host':
        generation.live.hostObjects.release(message.handles.map(BigInt));
        break;
      case 'http-send':
        this.#answerHttpSend(generation, message);
        break;
      case 'reply': {
        const pending = generation.pending;
        if (!pending || pending.id !== message.id) break;
        generation.pending = null;
        this.#stdout.flush();
        this.#stderr.flush();
        if (message.trap !== undefined) {
          pending.reject(pending.cancelled ?? new PythonTrapError(`the component trapped: ${message.trap}; the worker was restarted`));
          this.#restart();
        } else if (pending.cancelled) {
          // Cancelled in Python (CancelledError) and ended: the worker stays.
          clearTimeout(pending.grace);
          pending.reject(pending.cancelled);
        } else if (message.result.tag === 'err') {
          pending.reject(new PythonError(message.result.val));
        } else {
          pending.resolve(message.result.val);
        }
        break;
      }
    }
  }

  #onExit(generation, error, ready) {
    if (generation !== this.#generation || this.#closed) return;
    ready.reject(error);
    const pending = generation.pending;
    generation.pending = null;
    if (pending) {
      pending.reject(new PythonInterruptedError(`the Python worker stopped (${error.message}); it was restarted`, 'worker-exit'));
      this.#restart();
    }
  }

  async #answerHostCall(generation, { module, fn, args, kwargs, async: asyncCall }) {
    const qualified = `${module}.${fn}`;
    const function_ = this.#jsModules.get(module)?.get(fn);
    let result;
    if (!function_) {
      result = { tag: 'err', val: `JS function ${qualified} is not registered` };
    } else {
      let values;
      try {
        values = jsArguments(args, kwargs, generation.live);
      } catch (error) {
        // The guest's memory may be corrupted: the call fails with the
        // MalformedValueError and the worker is replaced (it is not answered).
        this.#stop(generation, error);
        return;
      }
      try {
        const returned = function_(...values);
        if (asyncCall && isThenable(returned)) {
          // Python awaits it: the worker goes on, and gets the completion later.
          const id = this.#nextCallId++;
          result = { tag: 'pending', val: id };
          Promise.resolve(returned)
            .then((value) => ({ ok: true, value }), (value) => ({ ok: false, value }))
            .then((outcome) => {
              if (generation === this.#generation) {
                generation.worker.post({ type: 'completion', id, result: settledResult(qualified, generation.live)(outcome) });
              }
            });
        } else {
          result = wireResult(await returned, qualified, generation.live);
        }
      } catch (error) {
        result = { tag: 'err', val: describeJsError(error) };
      }
    }
    if (generation === this.#generation) await send(generation.channel, encodeJson(result));
  }

  /**
   * Answers Python's read, write or call of a JS object it holds (the
   * worker waits). A Promise a method returns is awaited in Python during
   * an asynchronous call: the answer is a pending id, completed later.
   */
  async #answerHostObject(generation, { op, args, async: asyncCall }) {
    const pending = {
      accepting: asyncCall,
      add: (promise, settle) => {
        const id = this.#nextCallId++;
        Promise.resolve(promise)
          .then((value) => ({ ok: true, value }), (value) => ({ ok: false, value }))
          .then((outcome) => {
            if (generation === this.#generation) generation.worker.post({ type: 'completion', id, result: settle(outcome) });
          });
        return id;
      },
    };
    const imports = generation.live.hostImports(pending, (value, label) => wireResult(value, label, generation.live));
    let answer;
    try {
      answer = { tag: 'ok', val: imports[op](...args) };
    } catch (error) {
      answer = { tag: 'err', val: error };
    }
    if (generation === this.#generation) await send(generation.channel, encodeJson(answer));
  }

  /** Fetches a synchronous request of the worker's Python, which waits for it (http-client.js). */
  async #answerHttpSend(generation, { url, request, ms, maxBytes }) {
    this.#httpPolicy ??= new HttpPolicy(this.#options.allowHttp ?? []);
    const answer = await fetchWhole(new URL(url), request, ms, maxBytes, this.#httpPolicy).then(
      (value) => ({ ok: true, value }),
      (error) => ({ ok: false, value: asHttpError(error, request) }),
    );
    if (generation === this.#generation) await send(generation.channel, encodeJson(answer));
  }

  /** Replaces the worker by a fresh one (its start failures surface at the next call). */
  #restart() {
    const old = this.#generation;
    old.live.retired = true;
    old.worker.terminate();
    this.#generation = null;
    const started = this.start();
    started.catch(() => {});
    this.#starting = started;
  }

  /** Runs `method` with the export's arguments on the worker; its decoded value, if it has one. */
  #request(method, exportArgs, timeout = this.timeout, asyncCall = false) {
    const run = async () => {
      if (this.#closed) throw new Error('the Python worker was terminated');
      await this.#starting;
      const generation = this.#generation;
      await generation.ready;
      const args = exportArgs(generation.live);
      const id = this.#nextId++;
      const result = new Promise((resolve, reject) => (generation.pending = { id, resolve, reject, asyncCall }));
      generation.worker.busy(true);
      // The Python objects this side let go of are released first.
      const release = generation.live.takeReleased();
      generation.worker.post({ type: asyncCall ? 'call-async' : 'call', id, method: method.export, args, release });
      let timer;
      if (Number.isFinite(timeout)) {
        timer = setTimeout(() => this.#halt(generation, 'timeout', `Python ran longer than the ${timeout} ms timeout`), timeout);
      }
      let reply;
      try {
        reply = await result;
      } finally {
        clearTimeout(timer);
        if (generation === this.#generation) generation.worker.busy(false);
      }
      if (method.reply === 'nothing') return undefined;
      // An `execution` (setting an item, say) gives nothing.
      if (method.reply === 'raw' || reply === undefined) return { value: reply };
      // Decoded before the next queued call starts, so that a malformed
      // value replaces this worker before anything else runs on it.
      try {
        return { value: fromWire(reply, sizeBudget(), generation.live) };
      } catch (error) {
        if (generation === this.#generation) this.#restart();
        throw error;
      }
    };
    const call = this.#queue.then(run, run);
    this.#queue = call.catch(() => {});
    // Unboxed outside the queue: a value that is a thenable (an awaitable
    // PyProxy) is awaited by a call of its own, which queues behind this one.
    return call.then((box) => box?.value);
  }

  /**
   * Stops the running call. An asynchronous call is cancelled in Python
   * first (asyncio.CancelledError where it awaits): if it ends within
   * CANCEL_GRACE_MS, the worker and its globals stay. Anything else
   * replaces the worker.
   */
  #halt(generation, reason, text) {
    const pending = generation.pending;
    if (!pending || generation !== this.#generation) return;
    if (pending.asyncCall && !pending.cancelled) {
      pending.cancelled = new PythonInterruptedError(`${text}; its task was cancelled`, reason);
      pending.grace = setTimeout(() => this.#stop(generation, interruption(reason, text)), CANCEL_GRACE_MS);
      generation.worker.post({ type: 'cancel-async' });
      return;
    }
    this.#stop(generation, interruption(reason, text));
  }

  /** Ends the running call with `error` and replaces the worker. */
  #stop(generation, error) {
    if (generation !== this.#generation || !generation.pending) return;
    const pending = generation.pending;
    generation.pending = null;
    clearTimeout(pending.grace);
    this.#restart();
    this.#stdout.flush();
    this.#stderr.flush();
    pending.reject(error);
  }

  /**
   * Makes a JS object's functions importable from Python. In a worker the
   * functions may be async: Python waits for the promise.
   * @param {string} name
   * @param {Record<string, unknown>} module
   */
  registerJsModule(name, module) {
    const functions = moduleFunctions(name, module);
    this.#jsModules.set(name, functions);
    this.#generation?.worker?.post({ type: 'register', name, functions: Array.from(functions.keys()) });
  }

  /**
   * Installs a pure-Python wheel, from its bytes or a URL the host fetches
   * (see Python.loadPackage). A fresh worker installs it again.
   * @param {string | URL | Uint8Array | ArrayBuffer} source
   * @param {{ filename?: string }} [options]
   * @returns {Promise<{ name: string, version: string }>}
   */
  async loadPackage(source, options) {
    const { bytes, filename } = await wheelSource(source, options);
    const [name, version] = await /** @type {any} */ (this).call(INSTALL_WHEEL, bytes, filename);
    this.#wheels.push([bytes, filename]);
    return { name, version };
  }

  /** Stops the current run, if any (it rejects with PythonInterruptedError). */
  interrupt() {
    const generation = this.#generation;
    if (generation) this.#halt(generation, 'interrupt', 'Python was interrupted');
  }

  /** Ends the worker; later calls reject. */
  terminate() {
    this.#closed = true;
    const generation = this.#generation;
    this.#generation = null;
    generation?.worker?.terminate();
    generation?.pending?.reject(new PythonInterruptedError('the Python worker was terminated', 'interrupt'));
  }
}

/** The error of a run stopped from outside. */
function interruption(reason, text) {
  return new PythonInterruptedError(`${text}; the worker was restarted (globals and imports are gone)`, reason);
}

/**
 * Loads a Python interpreter in a worker.
 * @param {import('./index.js').LoadPythonWorkerOptions} [options]
 * @returns {Promise<PythonWorker>}
 */
export async function loadPythonWorker(options = {}) {
  new HttpPolicy(options.allowHttp ?? []); // a malformed grant fails here, not in the worker
  const [module, sourcesBytes] = await Promise.all([coreModule('pycomponent.core.wasm', options), stdlibSources(options)]);
  const python = new PythonWorker(options, module, sourcesBytes);
  await python.start();
  return python;
}
