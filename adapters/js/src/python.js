// The interpreter on the calling thread: loading the component's core wasm,
// instantiating it with the sandboxed WASI and the JS host modules, and the
// Pyodide-like API over the component's `interpreter` interface.

import { PythonError, PythonTrapError } from './errors.js';
import { sandboxWasi } from './sandbox-wasi.js';
import { fromWire, toWire } from './values.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const DIST = new URL('../dist/', import.meta.url);
const MAIN_MODULE = 'pycomponent.core.wasm';

/** Compiled core modules by URL: a second interpreter only instantiates. */
const compiled = new Map();

async function compileUrl(url) {
  if (url.protocol === 'file:' && isNode) {
    const { readFile } = await import('node:fs/promises');
    return WebAssembly.compile(await readFile(url));
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

/**
 * The compiled core module named `name`, from the options' sources.
 * @param {string} name
 * @param {{ wasm?: any, indexURL?: string | URL }} options
 * @returns {Promise<WebAssembly.Module>}
 */
export async function coreModule(name, options) {
  const source = name === MAIN_MODULE ? options.wasm : undefined;
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return WebAssembly.compile(source);
  let base = DIST;
  if (options.indexURL !== undefined) {
    base = toUrl(String(options.indexURL).replace(/\/?$/, '/'));
  }
  const url = source !== undefined ? toUrl(source) : new URL(name, base);
  const key = url.href;
  if (!compiled.has(key)) {
    const pending = compileUrl(url);
    compiled.set(key, pending);
    pending.catch(() => compiled.delete(key));
  }
  return compiled.get(key);
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

/** The JS arguments of a host call: the positional values, then keyword arguments as one object, if any. */
export function jsArguments(args, kwargs) {
  const values = args.map(fromWire);
  if (kwargs.length > 0) values.push(Object.fromEntries(kwargs.map((k) => [k.name, fromWire(k.value)])));
  return values;
}

/** A JS function's result as the component's `result<value, string>` (thrown errors become messages). */
export function callJsFunction(fn, qualified, args, kwargs) {
  let result;
  try {
    result = fn(...jsArguments(args, kwargs));
  } catch (error) {
    return { tag: 'err', val: describeJsError(error) };
  }
  if (result instanceof Promise) {
    return {
      tag: 'err',
      val: `${qualified} returned a Promise: host functions called on the main thread must be synchronous (loadPythonWorker accepts async ones)`,
    };
  }
  return wireResult(result, qualified);
}

/** The component's `result<value, string>` for a host function's return value. */
export function wireResult(result, qualified) {
  try {
    return { tag: 'ok', val: toWire(result) };
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
 * responsive or to stop long runs.
 */
export class Python {
  #exports;
  #stdout;
  #stderr;
  #jsModules;
  #trapped = null;
  #busy = false;

  /** @internal Use loadPython. */
  constructor(exports, stdout, stderr, jsModules) {
    this.#exports = exports;
    this.#stdout = stdout;
    this.#stderr = stderr;
    this.#jsModules = jsModules;
  }

  #invoke(name, args) {
    if (this.#trapped) throw new PythonTrapError(`the interpreter failed earlier and cannot be used: ${this.#trapped.message}`, this.#trapped);
    // A JS function that Python called must not call back into the same
    // interpreter: the component is in the middle of a call (its output
    // capture and return buffers belong to the outer call).
    if (this.#busy) throw new Error(`re-entrant call: a JS function called from Python cannot call ${name}() on the same interpreter`);
    let reply;
    this.#busy = true;
    try {
      reply = this.#exports[name](...args);
    } catch (error) {
      this.#trapped = error instanceof Error ? error : new Error(String(error));
      throw new PythonTrapError(`the component trapped in ${name}: ${this.#trapped.message}`, error);
    } finally {
      this.#busy = false;
    }
    this.#stdout.write(reply.output.stdout);
    this.#stdout.flush();
    this.#stderr.write(reply.output.stderr);
    this.#stderr.flush();
    if (reply.result.tag === 'err') throw new PythonError(reply.result.val);
    return reply.result.val;
  }

  /**
   * Runs statements; returns the value of the last one when it is an
   * expression, else null (like Pyodide's runPython).
   * @param {string} code
   */
  runPython(code) {
    return fromWire(this.#invoke('run', [code]));
  }

  /**
   * Evaluates one expression.
   * @param {string} expression
   */
  eval(expression) {
    return fromWire(this.#invoke('eval', [expression]));
  }

  /**
   * Executes statements.
   * @param {string} code
   */
  exec(code) {
    this.#invoke('exec', [code]);
  }

  /**
   * Calls a function by dotted name (`module.function`, or a global of
   * `__main__`, or a builtin). A last argument made with `kwargs({...})`
   * gives keyword arguments.
   * @param {string} name
   * @param {...unknown} args
   */
  call(name, ...args) {
    const { positional, keywords } = splitKeywords(args);
    return fromWire(this.#invoke('call', [name, positional.map(toWire), keywords]));
  }

  /**
   * Imports a module (stdlib, added, or a registered JS module).
   * @param {string} name
   */
  importModule(name) {
    this.#invoke('importModule', [name]);
  }

  /**
   * Adds a Python module from source so that `import name` finds it.
   * @param {string} name
   * @param {string} source
   * @param {{ isPackage?: boolean }} [options]
   */
  addModule(name, source, options = {}) {
    this.#invoke('addModule', [name, source, !!options.isPackage]);
  }

  /**
   * Makes a JS object's functions importable from Python: after
   * `registerJsModule("kv", { get })`, Python runs `import kv; kv.get("a")`.
   * A thrown error becomes a Python RuntimeError. Registering a name again
   * replaces it for later imports.
   * @param {string} name
   * @param {Record<string, unknown>} module
   */
  registerJsModule(name, module) {
    this.#jsModules.set(name, moduleFunctions(name, module));
  }
}

const KWARGS = Symbol('pycomponent.kwargs');

/**
 * Marks an object as keyword arguments for `call`: `py.call("f", 1, kwargs({ sep: "-" }))`.
 * @param {Record<string, unknown>} values
 */
export function kwargs(values) {
  return { [KWARGS]: true, values };
}

/** Positional arguments and keyword arguments (on the wire) of a call's argument list. */
export function splitKeywords(args) {
  const last = args.at(-1);
  if (last && typeof last === 'object' && last[KWARGS]) {
    const keywords = Object.entries(last.values).map(([name, value]) => ({ name, value: toWire(value) }));
    return { positional: args.slice(0, -1), keywords };
  }
  return { positional: args, keywords: [] };
}

/** Turns an output option into a line sink. */
export function outputSink(option, fallback) {
  return new LineBuffer(typeof option === 'function' ? option : fallback);
}

/**
 * Instantiates the component: the raw `interpreter` exports, with the sandboxed
 * WASI and the given `pycomponent:python/host` import.
 * @param {{ wasm?: any, indexURL?: string | URL }} options where the core wasm comes from
 * @param {{ modules: () => any[], call: (...args: any[]) => any }} host
 * @param {{ stdout: LineBuffer, stderr: LineBuffer }} sinks where C-level writes to fds 1 and 2 go
 */
export async function instantiateInterpreter(options, host, sinks) {
  const decoder = (sink) => {
    const text = new TextDecoder();
    return (bytes) => sink.write(text.decode(bytes, { stream: true }));
  };
  const imports = {
    ...sandboxWasi({ stdout: decoder(sinks.stdout), stderr: decoder(sinks.stderr) }),
    'pycomponent:python/host': host,
  };
  // jco's module is parsed while V8 compiles the core wasm in the background.
  const main = coreModule(MAIN_MODULE, options);
  const { instantiate } = await import('../dist/pycomponent.js');
  await main;
  const root = await instantiate((name) => coreModule(name, options), imports);
  return root.interpreter;
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
  const host = {
    modules: () => Array.from(jsModules, ([name, functions]) => ({ name, functions: Array.from(functions.keys()) })),
    call(module, fn, args, kwargs) {
      const function_ = jsModules.get(module)?.get(fn);
      const qualified = `${module}.${fn}`;
      // A thrown string is the `err` case of the import's result.
      if (!function_) throw `JS function ${qualified} is not registered`;
      const result = callJsFunction(function_, qualified, args, kwargs);
      if (result.tag === 'err') throw result.val;
      return result.val;
    },
  };
  const exports = await instantiateInterpreter(options, host, { stdout, stderr });
  return new Python(exports, stdout, stderr, jsModules);
}
