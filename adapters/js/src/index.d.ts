// Types of the pycomponent JS API (src/index.js).

/**
 * A JS value that converts into a Python value: null/undefined -> None,
 * boolean -> bool, number -> int when it is a safe integer else float,
 * bigint -> int, string -> str, Uint8Array/ArrayBuffer -> bytes, Array -> list,
 * PythonTuple -> tuple, Map or plain object -> dict, Set -> set (all copied);
 * a PyProxy -> its Python object; any other function or object -> a
 * `pycomponent.HostObject` (see HostValue).
 */
export type ToPython =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | ArrayBuffer
  | ToPython[]
  | PythonTuple
  | Map<ToPython, ToPython>
  | Set<ToPython>
  | { [key: string]: ToPython }
  | PyProxy
  | WorkerPyProxy
  | HostValue;

/**
 * A JS function, or a JS object that is not plain data (a class instance, a
 * DOM node, a Promise): it goes into Python live, as a `pycomponent.HostObject`
 * (Pyodide's JsProxy) whose attribute reads, writes and calls come back to it,
 * and it comes back from Python as itself.
 */
export type HostValue = ((...args: any[]) => unknown) | object;

/**
 * A Python value in JS: None -> null, bool -> boolean, int -> number (bigint
 * beyond 2^53), float -> number, str -> string, bytes -> Uint8Array, list ->
 * Array, tuple -> PythonTuple, dict -> plain object when every key is a str
 * (else Map), set/frozenset -> Set (all copied); a `pycomponent.HostObject`
 * -> the JS object it stands for; any other object (a function, a module, a
 * class instance) -> a live `Proxy`: a PyProxy on the calling thread, a
 * WorkerPyProxy from a PythonWorker.
 */
export type FromPython<Proxy = PyProxy> =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | FromPython<Proxy>[]
  | PythonTuple
  | Map<FromPython<Proxy>, FromPython<Proxy>>
  | Set<FromPython<Proxy>>
  | Proxy
  | { [key: string]: FromPython<Proxy> }
  | HostValue;

/** A Python tuple on the JS side: an Array that goes back into Python as a tuple. */
export class PythonTuple extends Array<FromPython<any>> {}

/** A Python exception raised by the code a call ran. The interpreter stays usable. */
export class PythonError extends Error {
  /** Qualified exception type name, e.g. `ValueError`, `json.decoder.JSONDecodeError`. */
  readonly type: string;
  /** `str()` of the exception. */
  readonly message: string;
  /** The formatted Python traceback. */
  readonly traceback: string;
}

/**
 * A worker call stopped by its timeout, by interrupt(), or by the worker's
 * end. The worker was replaced by a fresh interpreter.
 */
export class PythonInterruptedError extends Error {
  readonly reason: 'timeout' | 'interrupt' | 'worker-exit';
}

/**
 * The component trapped (a bug or an exhausted resource); that interpreter is
 * unusable, and its later calls throw this error too.
 */
export class PythonTrapError extends Error {}

/**
 * The component sent a value that breaks the node-table rules of
 * `wit/python.wit` (not a tree, nested deeper than 1000 levels, more than
 * 1 000 000 nodes or 64 MiB of text and bytes in one call, a leaf of the wrong
 * kind). Its memory may be corrupted, so the interpreter is retired: on the
 * calling thread later calls throw PythonTrapError; a worker is replaced by a
 * fresh interpreter.
 */
export class MalformedValueError extends Error {
  /** The index of the offending node, or null when the table as a whole is wrong. */
  readonly node: number | null;
}

/** Keyword arguments for `call`, made by `kwargs()`. */
export interface Kwargs {
  readonly values: Record<string, ToPython>;
}

/** Marks an object as keyword arguments: `py.call("f", 1, kwargs({ sep: "-" }))`. */
export function kwargs(values: Record<string, ToPython>): Kwargs;

/**
 * A live Python object (Pyodide's name): a function, module or class
 * instance that a call on the calling thread gave back. Property reads and
 * writes are Python attributes (a missing one reads as undefined), `in` is
 * hasattr, `delete` delattr; calling it calls the object (a trailing
 * `kwargs({...})` gives keyword arguments), `for...of` iterates it, `await`
 * runs an awaitable one (a coroutine). It keeps its Python object alive
 * until destroy(), `using`, or JS collects it. Using a destroyed PyProxy, or
 * one of another interpreter, throws a PythonError of type `ReferenceError`.
 */
export interface PyProxy {
  (...args: any[]): any;
  /** The qualified name of the object's type, e.g. `function`, `datetime.date`. */
  readonly type: string;
  /** `len(obj)`; undefined when it has no length (a function). */
  readonly length: number | undefined;
  /** `str(obj)`. */
  toString(): string;
  /** A deep copy as JS values, `depth` levels of containers (all by default, or -1). */
  toJs(options?: { depth?: number }): unknown;
  /** A new PyProxy of the same object, released on its own. */
  copy(): PyProxy;
  /**
   * Releases the object; harmless twice. `[Symbol.dispose]` does the same, for `using` (not
   * declared here: it needs TypeScript's `esnext.disposable` library).
   */
  destroy(): void;
  /** Calls it with keyword arguments, given as an object, the last argument. */
  callKwargs(...args: any[]): any;
  /** `obj[key]`. */
  get(key: unknown): any;
  /** `obj[key] = value`. */
  set(key: unknown, value: unknown): void;
  /** `key in obj`. */
  has(key: unknown): boolean;
  /** `del obj[key]`. */
  delete(key: unknown): void;
  /** Iterates it (`iter(obj)`), when it is iterable. */
  [Symbol.iterator](): Iterator<any>;

  /** A Python attribute (getattr; undefined when it has none). */
  [attribute: string]: any;
}

/**
 * A live Python object of a PythonWorker: PyProxy's members, each giving a
 * Promise. A Python attribute reads as a callable thenable: `await
 * proxy.attr` reads it, `await proxy.method(x)` calls the method. Attribute
 * assignment, `in` and `delete` throw a TypeError: use setAttribute,
 * hasAttribute and deleteAttribute. `for await...of` iterates it.
 */
export interface WorkerPyProxy {
  (...args: any[]): Promise<any>;
  /** The qualified name of the object's type. */
  readonly type: string;
  /** `len(obj)`; undefined when it has no length. */
  readonly length: Promise<number | undefined>;
  /** `str(obj)`. */
  toString(): Promise<string>;
  /** A deep copy as JS values (see PyProxy.toJs). */
  toJs(options?: { depth?: number }): Promise<unknown>;
  /** A new WorkerPyProxy of the same object, released on its own. */
  copy(): Promise<WorkerPyProxy>;
  /** Releases the object (at the worker's next call); harmless twice. */
  destroy(): Promise<void>;
  /** Calls it with keyword arguments, given as an object, the last argument. */
  callKwargs(...args: any[]): Promise<any>;
  /** `obj[key]`. */
  get(key: unknown): Promise<any>;
  /** `obj[key] = value`. */
  set(key: unknown, value: unknown): Promise<void>;
  /** `key in obj`. */
  has(key: unknown): Promise<boolean>;
  /** `del obj[key]`. */
  delete(key: unknown): Promise<void>;
  /** `setattr(obj, name, value)`. */
  setAttribute(name: string, value: unknown): Promise<void>;
  /** `hasattr(obj, name)`. */
  hasAttribute(name: string): Promise<boolean>;
  /** `delattr(obj, name)`. */
  deleteAttribute(name: string): Promise<void>;
  /** Iterates it, when it is iterable. */
  [Symbol.asyncIterator](): AsyncIterator<any>;

  /** A Python attribute: awaited, its value; called, the method's Promise. */
  [attribute: string]: any;
}

/**
 * A PythonWorker's `globals`: `__main__`'s namespace, every operation a
 * Promise; awaited, its WorkerPyProxy.
 */
export interface WorkerGlobals extends PromiseLike<WorkerPyProxy> {
  /** `globals[name]`. */
  get(name: string): Promise<any>;
  /** `globals[name] = value`. */
  set(name: string, value: ToPython): Promise<void>;
  /** `name in globals`. */
  has(name: string): Promise<boolean>;
  /** `del globals[name]`. */
  delete(name: string): Promise<void>;
  /** A copy of the namespace as JS values. */
  toJs(options?: { depth?: number }): Promise<unknown>;
}

/** Whether a value is a PyProxy (of the calling thread or of a worker). */
export function isPyProxy(value: unknown): value is PyProxy | WorkerPyProxy;

/** A function Python can call; its arguments are Python values, keyword arguments come last as an object. */
export type JsFunction = (...args: any[]) => unknown;

/** Where the core wasm comes from. */
export type WasmSource = string | URL | Uint8Array | ArrayBuffer | WebAssembly.Module;

export interface LoadPythonOptions {
  /** Called with each line Python writes to stdout (default: console.log). */
  stdout?: (line: string) => void;
  /** Called with each line Python writes to stderr (default: console.warn). */
  stderr?: (line: string) => void;
  /**
   * The main core module `pycomponent.core.wasm`: a path (Node), a URL, its
   * bytes or a compiled module. Default: the one in the package's `dist/`.
   */
  wasm?: WasmSource;
  /**
   * A component variant to load instead of the default component: `"numpy"` loads
   * `pycomponent-numpy.core.wasm` from `dist/`, CPython with numpy linked in (33 MB; the default
   * is 19 MB). Same API; not with `wasm`.
   */
  variant?: string;
  /** Where the package's `dist/` files are served from (default: next to this module). */
  indexURL?: string | URL;
  /**
   * The most bytes the interpreter's in-memory file system (/tmp, /home/user) holds, file data
   * and entries together (default: 64 MiB); past it, writes fail with `OSError(ENOSPC)`.
   */
  fileSystemBytes?: number;
  /**
   * The most Python objects JS may hold as PyProxies at once (default: 100 000): past it, a call
   * that would give another throws a PythonError of type `MemoryError`.
   */
  pythonObjects?: number;
  /**
   * The standard library's sources, so that tracebacks through library modules show their source
   * lines and `inspect.getsource` works on them: `true` loads `python311.zip` from `dist/` (2.4 MB,
   * fetched at load), or give its URL or bytes. Default: none (library frames show paths and line
   * numbers only).
   */
  stdlibSources?: boolean | string | URL | Uint8Array | ArrayBuffer;
  /**
   * The outgoing HTTP requests Python may make (`await pycomponent.http.fetch(url)` in
   * runPythonAsync), as grants of scheme, host and port: `https://api.example.com` (its default
   * port), `https://*.example.org:8443` (subdomains), `http://127.0.0.1:*`, `*://*:*` (everything).
   * Default: none; a request raises `PermissionError` naming the grant it needs.
   */
  allowHttp?: string[];
  /** The longest one request may take, in milliseconds (default: 30 000). */
  httpTimeout?: number;
  /** The largest response body accepted, in bytes (default: 16 MiB). */
  maxResponseBytes?: number;
  /** The most requests one call may make (default: 100). */
  maxRequestsPerCall?: number;
}

/** What FS.stat tells of a path. */
export interface FileStat {
  /** File type bits (test them with FS.isFile / FS.isDir). */
  mode: number;
  /** Size in bytes. */
  size: number;
  /** When the content last changed. */
  mtime: Date;
}

/**
 * An interpreter's file system, in Pyodide's `pyodide.FS` names: the in-memory tree Python code
 * reads and writes (/tmp, the home and working directory /home/user). `R<T>` is `T` on the main
 * thread and `Promise<T>` in a worker. A failure throws (or rejects with) FileSystemError.
 */
export class FileSystem<Sync extends boolean = true> {
  private constructor();
  /** Writes a file (text as UTF-8), replacing one that is there. */
  writeFile(path: string, data: string | Uint8Array | ArrayBuffer): R<Sync, void>;
  /** Reads a whole file: bytes, or text with `{ encoding: 'utf8' }`. */
  readFile(path: string, options?: { encoding?: 'binary' }): R<Sync, Uint8Array>;
  readFile(path: string, options: { encoding: 'utf8' | 'utf-8' }): R<Sync, string>;
  /** Makes a directory; its parent must exist. */
  mkdir(path: string): R<Sync, void>;
  /** Makes a directory and the missing ones above it. */
  mkdirTree(path: string): R<Sync, void>;
  /** The names in a directory, `.` and `..` first. */
  readdir(path: string): R<Sync, string[]>;
  /** Removes a file. */
  unlink(path: string): R<Sync, void>;
  /** Removes an empty directory. */
  rmdir(path: string): R<Sync, void>;
  /** Renames a file or directory. */
  rename(oldPath: string, newPath: string): R<Sync, void>;
  /** What a path names. */
  stat(path: string): R<Sync, FileStat>;
  /** Whether a path exists. */
  exists(path: string): R<Sync, boolean>;
  /**
   * Keeps a directory of the tree in IndexedDB (browsers and Web Workers), like Pyodide's IDBFS:
   * `populate = false` saves it, `true` copies the saved files back into the tree.
   */
  syncfs(populate?: boolean, options?: { path?: string; database?: string }): Promise<void>;
  /** Whether a `mode` from stat is a regular file's. */
  isFile(mode: number): boolean;
  /** Whether a `mode` from stat is a directory's. */
  isDir(mode: number): boolean;
}

/** `T` on the main thread, `Promise<T>` in a worker. */
export type R<Sync extends boolean, T> = Sync extends true ? T : Promise<T>;

/** A file operation of `FS` failed; the interpreter stays usable. */
export class FileSystemError extends Error {
  /** The POSIX name of the error: `ENOENT`, `EEXIST`, `EISDIR`, `ENOTDIR`, `ENOTEMPTY`, `ENOSPC`, ... */
  code: string;
}

export interface LoadPythonWorkerOptions extends LoadPythonOptions {
  /** Default timeout per call in milliseconds (default: none). */
  timeout?: number;
}

/** Per-call options of a worker. */
export interface CallOptions {
  /** Stop the run after this many milliseconds (overrides the worker's default). */
  timeout?: number;
}

/** A Python interpreter on the calling thread: calls are synchronous. */
export class Python {
  private constructor();
  /** Runs statements; returns the value of the last one when it is an expression, else null. */
  runPython(code: string): FromPython;
  /** Evaluates one expression. */
  eval(expression: string): FromPython;
  /** Executes statements. */
  exec(code: string): void;
  /** Calls a function by dotted name (`module.function`, a global of `__main__`, or a builtin). */
  call(name: string, ...args: Array<ToPython | Kwargs>): FromPython;
  /** Imports a module: stdlib, added or registered JS module. */
  importModule(name: string): void;
  /** Adds a Python module from source so that `import name` finds it. */
  addModule(name: string, source: string, options?: { isPackage?: boolean }): void;
  /**
   * Runs a cell like runPython on Python's asyncio event loop: it may `await` at top level and
   * await JS functions that return Promises. The JS event loop runs while Python waits. With
   * `timeout`, the task is cancelled (asyncio.CancelledError) after that many milliseconds and the
   * call rejects with PythonInterruptedError. One asynchronous call runs at a time.
   */
  runPythonAsync(code: string, options?: CallOptions): Promise<FromPython>;
  /** Calls a function by dotted name like call; an awaitable result (an `async def`) is awaited. */
  callAsync(name: string, ...args: Array<ToPython | Kwargs>): Promise<FromPython>;
  /** `__main__`'s namespace, live (Pyodide's `globals`): `globals.get("f")`, `globals.set("x", 1)`, `has`, `delete`. */
  readonly globals: PyProxy;
  /** Imports a module and gives it live (Pyodide's `pyimport`). */
  pyimport(name: string): PyProxy;
  /**
   * A new Python object made from a JS value, live (Pyodide's `toPy`). With `depth`, containers
   * nested deeper than that many levels go in as HostObjects instead of copies.
   */
  toPy(value: ToPython, options?: { depth?: number }): PyProxy;
  /** How many PyProxies JS holds (and the limit, the `pythonObjects` option), and how many JS objects Python holds. */
  objectUsage(): ObjectUsage;
  /**
   * Makes the functions of `module` importable from Python as module `name`. A function that
   * returns a Promise gives Python an awaitable in runPythonAsync and callAsync.
   */
  registerJsModule(name: string, module: Record<string, unknown>): void;
  /**
   * Installs a pure-Python wheel into this interpreter, in memory: from its bytes, or from a URL
   * the host fetches. A wheel with native code rejects with a PythonError (`ValueError`).
   */
  loadPackage(source: string | URL | Uint8Array | ArrayBuffer, options?: { filename?: string }): Promise<InstalledPackage>;
  /** The interpreter's file system (see FileSystem). */
  FS: FileSystem<true>;
}

/** What objectUsage reports. */
export interface ObjectUsage {
  /** Python objects JS holds now (PyProxies not yet released). */
  held: number;
  /** The most it may hold (the `pythonObjects` option). */
  limit: number;
  /** JS objects Python holds now (HostObjects it has not dropped). */
  hostObjects: number;
}

/** What loadPackage installed: the project's name and version, from its metadata. */
export interface InstalledPackage {
  name: string;
  version: string;
}

/** A Python interpreter in a worker: the same API, async, with timeouts and interrupt(). */
export class PythonWorker {
  private constructor();
  /** Default timeout per call in milliseconds (Infinity: none). */
  timeout: number;
  runPython(code: string, options?: CallOptions): Promise<FromPython<WorkerPyProxy>>;
  eval(expression: string, options?: CallOptions): Promise<FromPython<WorkerPyProxy>>;
  exec(code: string, options?: CallOptions): Promise<void>;
  call(name: string, ...args: Array<ToPython | Kwargs>): Promise<FromPython<WorkerPyProxy>>;
  importModule(name: string): Promise<void>;
  addModule(name: string, source: string, options?: { isPackage?: boolean }): Promise<void>;
  /**
   * As Python.runPythonAsync. A timeout or interrupt() cancels the task first; the worker is
   * replaced only when it does not end within half a second.
   */
  runPythonAsync(code: string, options?: CallOptions): Promise<FromPython<WorkerPyProxy>>;
  /** As Python.callAsync. */
  callAsync(name: string, ...args: Array<ToPython | Kwargs>): Promise<FromPython<WorkerPyProxy>>;
  /** `__main__`'s namespace, every operation a Promise: `await py.globals.get("f")`. */
  readonly globals: WorkerGlobals;
  /** Imports a module; a Promise of it, live. */
  pyimport(name: string): Promise<WorkerPyProxy>;
  /** A new Python object made from a JS value (see Python.toPy); a Promise of it, live. */
  toPy(value: ToPython, options?: { depth?: number }): Promise<WorkerPyProxy>;
  /** PyProxies held (and the limit), and JS objects Python holds. */
  objectUsage(): Promise<ObjectUsage>;
  /**
   * Makes the functions of `module` importable from Python; they may be async: a synchronous call
   * waits for the Promise, an asynchronous one gives Python an awaitable.
   */
  registerJsModule(name: string, module: Record<string, unknown>): void;
  /** Installs a pure-Python wheel (see Python.loadPackage); a fresh worker installs it again. */
  loadPackage(source: string | URL | Uint8Array | ArrayBuffer, options?: { filename?: string }): Promise<InstalledPackage>;
  /** The interpreter's file system, every operation a Promise; a fresh worker starts with an empty one. */
  FS: FileSystem<false>;
  /** Stops the current run, if any: it rejects with PythonInterruptedError. */
  interrupt(): void;
  /** Ends the worker; later calls reject. */
  terminate(): void;
}

/** Loads a Python interpreter on the calling thread. */
export function loadPython(options?: LoadPythonOptions): Promise<Python>;

/** Loads a Python interpreter in a Web Worker (browser) or a worker thread (Node). */
export function loadPythonWorker(options?: LoadPythonWorkerOptions): Promise<PythonWorker>;
