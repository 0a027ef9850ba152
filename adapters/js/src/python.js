// The interpreter on the calling thread: loading the component's core wasm,
// instantiating it with the sandboxed WASI and the JS host modules, and the
// Pyodide-like API over the component's `interpreter` interface.

import { ASYNC_METHODS, defineExportMethods, INSTALL_WHEEL, wheelSource } from './api.js';
import { httpClientImport } from './http-client.js';
import { drive, isThenable, notAwaitable, PendingCalls, TIMED_OUT } from './async-calls.js';
import { PythonError, PythonInterruptedError, PythonTrapError } from './errors.js';
import { FileSystem } from './fs.js';
import { LiveObjects } from './live-objects.js';
import { depthOption } from './proxies.js';
import { sandboxWasi } from './sandbox-wasi.js';
import { fromWire, sizeBudget, toWire } from './values.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const DIST = new URL('../dist/', import.meta.url);
const MAIN_MODULE = 'pycomponent.core.wasm';

/** Compiled core modules by URL: a second interpreter only instantiates. */
const compiled = new Map();

/** The bytes at `url`: read from disk in Node for a file: URL, else fetched. */
async function fetchBytes(url) {
  if (url.protocol === 'file:' && isNode) {
    // One read of the whole file: `readFile` reads 512 KiB at a time, each
    // a trip through libuv's thread pool, which for the 25 MB core module
    // took 35 ms more.
    const { open } = await import('node:fs/promises');
    const file = await open(url);
    try {
      const size = (await file.stat()).size;
      const bytes = new Uint8Array(size);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await file.read(bytes, done, size - done, done);
        if (bytesRead === 0) throw new Error(`reading ${url}: the file ended after ${done} of ${size} bytes`);
        done += bytesRead;
      }
      return bytes;
    } finally {
      await file.close();
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function compileUrl(url) {
  if (url.protocol === 'file:' && isNode) {
    return WebAssembly.compile(await fetchBytes(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  if (response.headers.get('content-type')?.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

/** The URL a `wasm`/`indexURL` option names: a URL, or a path (Node) or address (browser). */
function toUrl(location, base) {
  if (location instanceof URL) return location;
  if (isNode && !/^[a-z][a-z0-9+.-]*:/i.test(location)) {
    return new URL(`file://${location.startsWith('/') ? '' : `${process.cwd()}/`}${location}`);
  }
  return new URL(location, base ?? globalThis.location?.href);
}

/** Where the package's `dist/` files are: the `indexURL` option, or the package's own. */
function distBase(options) {
  return options.indexURL === undefined ? DIST : toUrl(String(options.indexURL).replace(/\/?$/, '/'));
}

/** Where the guest looks for the stdlib sources (`STDLIB_SOURCES` in component/src/bootstrap.py). */
const SOURCES_PATH = '/usr/local/lib/python311.zip';
const SOURCES_FILE = 'python311.zip';

/**
 * The `stdlibSources` option as bytes: `true` fetches `python311.zip` from
 * `dist/`, a string or URL names the file, bytes are taken as they are.
 * @param {{ stdlibSources?: boolean | string | URL | Uint8Array | ArrayBuffer, indexURL?: string | URL }} options
 * @returns {Promise<Uint8Array | undefined>}
 */
export async function stdlibSources(options) {
  const option = options.stdlibSources;
  if (option === undefined || option === false) return undefined;
  if (option instanceof Uint8Array) return option;
  if (option instanceof ArrayBuffer) return new Uint8Array(option);
  if (option === true) return fetchBytes(new URL(SOURCES_FILE, distBase(options)));
  if (typeof option === 'string' || option instanceof URL) return fetchBytes(toUrl(option));
  throw new TypeError('stdlibSources takes true, the URL of python311.zip, or its bytes');
}

/**
 * The compiled core module named `name`, from the options' sources.
 * @param {string} name
 * @param {import('./index.js').LoadPythonOptions} options
 * @returns {Promise<WebAssembly.Module>}
 */
export async function coreModule(name, options) {
  const source = name === MAIN_MODULE ? options.wasm : undefined;
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return WebAssembly.compile(/** @type {BufferSource} */ (source));
  const file = name === MAIN_MODULE ? mainModuleFile(options) : name;
  const url = source !== undefined ? toUrl(source) : new URL(file, distBase(options));
  const key = url.href;
  if (!compiled.has(key)) {
    const pending = compileUrl(url).catch((error) => {
      if (options.variant === undefined) throw error;
      throw new Error(`the component variant "${options.variant}" is not at ${url} (\`cargo xtask js\` puts the variants in dist/): ${error.message}`, { cause: error });
    });
    compiled.set(key, pending);
    pending.catch(() => compiled.delete(key));
  }
  return compiled.get(key);
}

/**
 * The main core module's file in `dist/`: the default component's, or with
 * the `variant` option a variant's (`pycomponent-numpy.core.wasm`), which
 * has the same interface and is used with the same code.
 */
function mainModuleFile(options) {
  const variant = options.variant;
  if (variant === undefined) return MAIN_MODULE;
  if (options.wasm !== undefined) throw new TypeError('give the wasm option or the variant option, not both');
  if (typeof variant !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(variant)) {
    throw new TypeError('variant must be the name of a component variant, such as "numpy"');
  }
  return `pycomponent-${variant}.core.wasm`;
}

/** Splits text into lines for a line-wise output callback, keeping an unfinished last line. */
export class LineBuffer {
  /** @param {(line: string) => void} emit */
  constructor(emit) {
    this.emit = emit;
    this.pending = '';
  }
  /** @param {string} text */
  write(text) {
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop();
    for (const line of lines) this.emit(line);
  }
  /** Emits an unfinished last line, if any. */
  flush() {
    if (this.pending !== '') this.emit(this.pending);
    this.pending = '';
  }
}

/**
 * The JS arguments of a host call: the positional values, then keyword
 * arguments as one object, if any. The values of one call share one size
 * budget; a malformed one throws MalformedValueError.
 */
export function jsArguments(args, kwargs, live = undefined) {
  const budget = sizeBudget();
  const values = args.map((arg) => fromWire(arg, budget, live));
  if (kwargs.length > 0) values.push(Object.fromEntries(kwargs.map((k) => [k.name, fromWire(k.value, budget, live)])));
  return values;
}

/** The completion result of a pending call's settled Promise (see PendingCalls.add). */
export function settledResult(qualified, live = undefined) {
  return ({ ok, value }) => (ok ? wireResult(value, qualified, live) : { tag: 'err', val: describeJsError(value) });
}

/**
 * The component's `result<value, string>` for a host function's return value.
 * @returns {{ tag: 'ok', val: any } | { tag: 'err', val: string }}
 */
export function wireResult(result, qualified, live = undefined) {
  try {
    return { tag: 'ok', val: toWire(result, live) };
  } catch (error) {
    return { tag: 'err', val: `${qualified} returned a value Python cannot take: ${describeJsError(error)}` };
  }
}

/** The message Python sees for a thrown JS value. */
export function describeJsError(error) {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The functions of a module object given to registerJsModule, by name. */
export function moduleFunctions(name, module) {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new TypeError(`a JS module name must be a Python identifier, got ${JSON.stringify(name)}`);
  }
  if (module === null || typeof module !== 'object') {
    throw new TypeError(`registerJsModule(${JSON.stringify(name)}, ...) takes an object of functions`);
  }
  const functions = new Map();
  for (const [key, value] of Object.entries(module)) {
    if (typeof value === 'function') functions.set(key, value);
  }
  if (functions.size === 0) throw new TypeError(`JS module ${JSON.stringify(name)} has no functions`);
  return functions;
}

/**
 * A Python interpreter running on the calling thread. Calls are synchronous
 * and block the thread while Python runs; use loadPythonWorker to keep a page
 * responsive or to stop long runs. The methods that call the component
 * (runPython, eval, exec, call, importModule, addModule) are made from
 * EXPORT_METHODS (api.js); index.d.ts documents them.
 */
export class Python {
  #exports;
  #stdout;
  #stderr;
  #jsModules;
  #hostFault;
  #failure = null; // the trap or malformed value that retired this interpreter
  #busy = false;
  #pending;
  #http; // the http-client import: its per-call count starts at each call
  /** @type {Promise<unknown>} */
  #asyncQueue = Promise.resolve(); // asynchronous calls run one at a time
  #live; // the PyProxies and host objects of this interpreter
  #globals = null;

  /**
   * The interpreter's file system (Pyodide's `pyodide.FS` names): the
   * in-memory tree of /tmp and the home directory /home/user that Python
   * code reads and writes. It starts empty and is gone with the interpreter.
   * @type {FileSystem}
   */
  FS = new FileSystem((name, ...args) => /** @type {any} */ (this).call(name, ...args));

  /** @internal Use loadPython. */
  constructor(exports, stdout, stderr, jsModules, hostFault, pending = new PendingCalls(), http = null, live = new LiveObjects()) {
    this.#exports = exports;
    this.#live = live;
    live.attach(
      (name, args) => this.#decode(this.#finish(this.#enter(name, args))),
      (name, args) => this.#drive(name, args, {}),
    );
    this.#http = http;
    this.#stdout = stdout;
    this.#stderr = stderr;
    this.#jsModules = jsModules;
    this.#hostFault = hostFault;
    this.#pending = pending;
  }

  static {
    defineExportMethods(this, (python, method, args) => python.#callExport(method, args));
    defineExportMethods(this, (python, method, args) => python.#callAsync(method, args), ASYNC_METHODS);
  }

  #callExport(method, args) {
    this.#http?.beginCall();
    const reply = this.#finish(this.#enter(method.export, method.args((v) => this.#live.wire(v), ...args)));
    if (method.reply === 'nothing') return undefined;
    return this.#decode(reply);
  }

  #decode(wire) {
    if (wire === undefined) return undefined;
    try {
      return fromWire(wire, sizeBudget(), this.#live);
    } catch (error) {
      // A table Python never builds: the guest's memory may be corrupted.
      this.#failure = error;
      throw error;
    }
  }

  /**
   * Runs an asynchronous call (runPythonAsync, callAsync) to its end: the
   * JS event loop runs while Python waits. One runs at a time; synchronous
   * calls may be made meanwhile. `{ timeout }` cancels the task
   * (asyncio.CancelledError) after that many milliseconds.
   */
  #callAsync(method, args) {
    const options = method.callOptionsAt === undefined ? {} : (args[method.callOptionsAt] ?? {});
    const exportArgs = method.args((v) => this.#live.wire(v), ...args);
    return this.#drive(method.export, exportArgs, options);
  }

  /** Drives asynchronous export `name` (see #callAsync). */
  #drive(name, exportArgs, options) {
    const run = async () => {
      const timeout = options.timeout ?? Infinity;
      const deadline = Number.isFinite(timeout) ? performance.now() + timeout : Infinity;
      this.#http?.beginCall(true);
      const step = (name, stepArgs) => {
        this.#pending.accepting = true;
        try {
          return this.#enter(name, stepArgs);
        } finally {
          this.#pending.accepting = false;
        }
      };
      const { evaluation, cancelled, unwound } = await drive(step, name, exportArgs, this.#pending, { deadline });
      const stopped = () => new PythonInterruptedError(`Python ran longer than the ${timeout} ms timeout; its task was cancelled`, 'timeout');
      if (!unwound) {
        this.#failure = stopped();
        throw new PythonInterruptedError(`${this.#failure.message} and did not end: the interpreter cannot be used again`, 'timeout');
      }
      const value = this.#finish(evaluation, cancelled !== undefined);
      if (cancelled === TIMED_OUT) throw stopped();
      return this.#decode(value);
    };
    const call = this.#asyncQueue.then(run, run);
    this.#asyncQueue = call.catch(() => {});
    return call;
  }

  /** Calls export `name` of the guest; the raw reply (an evaluation, execution or progress). */
  #enter(name, args) {
    if (this.#failure) {
      throw new PythonTrapError(`the interpreter failed earlier and cannot be used: ${this.#failure.message}`, this.#failure);
    }
    // A JS function that Python called must not call back into the same
    // interpreter: the component is in the middle of a call (its output
    // capture and return buffers belong to the outer call).
    if (this.#busy) throw new Error(`re-entrant call: a JS function called from Python cannot call ${name}() on the same interpreter`);
    this.#busy = true;
    try {
      // The PyProxies destroyed or collected since the last call.
      const released = this.#live.takeReleased();
      if (released.length > 0) this.#exports.objects.release(BigUint64Array.from(released));
      if (name.startsWith('objects.')) return this.#exports.objects[name.slice('objects.'.length)](...args);
      return this.#exports[name](...args);
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      throw new PythonTrapError(`the component trapped in ${name}: ${this.#failure.message}`, error);
    } finally {
      this.#busy = false;
    }
  }

  /** Prints a reply's output; its value, or its exception thrown (unless `quiet`). */
  #finish(reply, quiet = false) {
    this.#stdout.write(reply.output.stdout);
    this.#stdout.flush();
    this.#stderr.write(reply.output.stderr);
    this.#stderr.flush();
    if (this.#hostFault.error) {
      this.#failure = this.#hostFault.error;
      throw this.#failure;
    }
    if (reply.result.tag === 'err' && !quiet) throw new PythonError(reply.result.val);
    return reply.result.val;
  }

  /**
   * Makes a JS object's functions importable from Python: after
   * `registerJsModule("kv", { get })`, Python runs `import kv; kv.get("a")`.
   * A thrown error becomes a Python RuntimeError. A function may return a
   * Promise: Python awaits it (`await kv.fetch(key)`) in code that
   * runPythonAsync or callAsync runs. Registering a name again replaces it
   * for later imports.
   * @param {string} name
   * @param {Record<string, unknown>} module
   */
  registerJsModule(name, module) {
    this.#jsModules.set(name, moduleFunctions(name, module));
  }

  /**
   * `__main__`'s namespace, live (Pyodide's `pyodide.globals`):
   * `py.globals.get("f")`, `py.globals.set("x", 1)`, `has`, `delete`.
   * @type {any}
   */
  get globals() {
    if (this.#globals === null) {
      const main = this.#live.run('importObject', ['__main__']);
      try {
        this.#globals = this.#live.run('getAttribute', [this.#live.handleOf(main), '__dict__', 'handle']);
      } finally {
        main.destroy();
      }
    }
    return this.#globals;
  }

  /**
   * Imports a module and gives it as a PyProxy (Pyodide's `pyimport`):
   * `py.pyimport("statistics").mean([1, 2, 3])`.
   * @param {string} name
   */
  pyimport(name) {
    return this.#live.run('importObject', [name]);
  }

  /**
   * A new Python object made from a JS value (a dict from an object, a list
   * from an Array...), as a PyProxy (Pyodide's `toPy`). With `depth`,
   * containers nested deeper than that many levels go in as host objects.
   * @param {unknown} value
   * @param {{ depth?: number }} [options]
   */
  toPy(value, options) {
    const depth = depthOption(options);
    return this.#live.run('fromValue', [this.#live.wire(value, depth)]);
  }

  /**
   * How many Python objects JS holds (PyProxies not yet released) and the
   * limit (the `pythonObjects` option), and how many JS objects Python holds.
   * @returns {{ held: number, limit: number, hostObjects: number }}
   */
  objectUsage() {
    const [held, limit] = this.#enter('objects.usage', []);
    return { held, limit, hostObjects: this.#live.hostObjects.size };
  }

  /**
   * Installs a pure-Python wheel into this interpreter, in memory, as pip
   * would into site-packages: from its bytes, or from a URL that the host
   * fetches (Python itself has no network). Install its dependencies the
   * same way. A wheel with native code rejects with a PythonError
   * (`ValueError`) naming the file.
   * @param {string | URL | Uint8Array | ArrayBuffer} source
   * @param {{ filename?: string }} [options]
   * @returns {Promise<{ name: string, version: string }>}
   */
  async loadPackage(source, options) {
    const { bytes, filename } = await wheelSource(source, options);
    const [name, version] = /** @type {any} */ (this).call(INSTALL_WHEEL, bytes, filename);
    return { name, version };
  }
}

/** Turns an output option into a line sink. */
export function outputSink(option, fallback) {
  return new LineBuffer(typeof option === 'function' ? option : fallback);
}

/**
 * Instantiates the component: the raw `interpreter` exports, with the sandboxed
 * WASI and the given `pycomponent:python/host` and `http-client` imports.
 * @param {import('./index.js').LoadPythonOptions & { sourcesBytes?: Uint8Array }} options
 *   where the core wasm comes from, the cap of the in-memory file system, and the stdlib sources
 *   (see stdlibSources)
 * @param {{ modules: () => any[], call: (...args: any[]) => any }} host
 * @param {{ stdout: LineBuffer, stderr: LineBuffer }} sinks where C-level writes to fds 1 and 2 go
 * @param {object} http the `pycomponent:python/http-client` import (http-client.js)
 */
export async function instantiateInterpreter(options, host, sinks, http) {
  const decoder = (sink) => {
    const text = new TextDecoder();
    return (bytes) => sink.write(text.decode(bytes, { stream: true }));
  };
  const imports = {
    ...sandboxWasi({ stdout: decoder(sinks.stdout), stderr: decoder(sinks.stderr) }),
    'pycomponent:python/host': host,
    'pycomponent:python/http-client': http,
  };
  // jco's module is parsed while V8 compiles the core wasm in the background.
  const main = coreModule(MAIN_MODULE, options);
  const { instantiate } = await import('../dist/pycomponent.js');
  await main;
  // jco's types name the imports with their versions; it takes them without.
  const root = await instantiate((name) => coreModule(name, options), /** @type {any} */ (imports));
  if (options.fileSystemBytes !== undefined) {
    const bytes = options.fileSystemBytes;
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new TypeError('fileSystemBytes must be a whole number of bytes, 0 or more');
    root.files.setCapacity(BigInt(bytes));
  }
  if (options.sourcesBytes !== undefined) {
    // Read only when a traceback or inspect asks for a library line.
    root.files.writeFile(SOURCES_PATH, options.sourcesBytes);
  }
  if (options.pythonObjects !== undefined) {
    const count = options.pythonObjects;
    if (!Number.isSafeInteger(count) || count < 0 || count > 0xffffffff) throw new TypeError('pythonObjects must be a whole number of objects, 0 or more');
    root.objects.setLimit(count);
  }
  return { ...root.interpreter, objects: root.objects };
}

/**
 * The `pycomponent:python/host` import of an interpreter on the calling
 * thread: the functions in `jsModules`, called synchronously. A malformed
 * value in a call's arguments goes into `hostFault.error`: the guest sees an
 * error, and the export call that is running fails with it when it returns
 * (Python#finish), which retires the interpreter. A function that returns a
 * Promise gives Python an awaitable during an asynchronous call.
 * @param {Map<string, Map<string, Function>>} jsModules
 * @param {{ error: Error | null }} hostFault
 */
export function hostImport(jsModules, hostFault, pending = new PendingCalls(), live = new LiveObjects()) {
  return {
    ...live.hostImports(pending, (value, label) => wireResult(value, label, live)),
    modules: () => Array.from(jsModules, ([name, functions]) => ({ name, functions: Array.from(functions.keys()) })),
    call(module, fn, args, kwargs) {
      // A thrown string is the `err` case of the import's result.
      if (hostFault.error) throw `the interpreter is being retired: ${hostFault.error.message}`;
      const function_ = jsModules.get(module)?.get(fn);
      const qualified = `${module}.${fn}`;
      if (!function_) throw `JS function ${qualified} is not registered`;
      let values;
      try {
        values = jsArguments(args, kwargs, live);
      } catch (error) {
        hostFault.error = error;
        throw `the interpreter is being retired: ${error.message}`;
      }
      let returned;
      try {
        returned = function_(...values);
      } catch (error) {
        throw describeJsError(error);
      }
      if (isThenable(returned)) {
        if (!pending.accepting) throw notAwaitable(qualified);
        return { tag: 'pending', val: pending.add(returned, settledResult(qualified, live)) };
      }
      const result = wireResult(returned, qualified, live);
      if (result.tag === 'err') throw result.val;
      return { tag: 'value', val: result.val };
    },
  };
}

/**
 * Loads a Python interpreter on the calling thread.
 * @param {import('./index.js').LoadPythonOptions} [options]
 * @returns {Promise<Python>}
 */
export async function loadPython(options = {}) {
  const stdout = outputSink(options.stdout, (line) => console.log(line));
  const stderr = outputSink(options.stderr, (line) => console.warn(line));
  const jsModules = new Map();
  const hostFault = { error: null };
  const pending = new PendingCalls();
  const live = new LiveObjects();
  const host = hostImport(jsModules, hostFault, pending, live);
  const http = httpClientImport(options, pending);
  const sourcesBytes = await stdlibSources(options);
  const exports = await instantiateInterpreter({ ...options, sourcesBytes }, host, { stdout, stderr }, http);
  return new Python(exports, stdout, stderr, jsModules, hostFault, pending, http, live);
}
