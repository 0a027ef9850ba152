// The Python API, described once. EXPORT_METHODS are the methods that call
// an `interpreter` export of the component: Python (python.js) and
// PythonWorker (worker.js) both make theirs from this list with
// defineExportMethods, so adding one is adding an entry here and its types
// in index.d.ts. LOCAL_METHODS and WORKER_METHODS are written by hand in
// the classes and only named here; test/api.test.js checks both classes,
// index.d.ts and wit/python.wit against these lists.

/**
 * @typedef {object} ExportMethod
 * @property {string} name the JS method
 * @property {string} export the `interpreter` export it calls (jco's camelCase name)
 * @property {(wire: (value: unknown) => any, ...args: any[]) => unknown[]} args the export's arguments, from the method's
 *   (`wire` encodes a value with the interpreter's live objects)
 * @property {'value' | 'nothing'} reply what the method gives back: the decoded value
 *   (the export returns an `evaluation`) or nothing (an `execution`)
 * @property {number} [callOptionsAt] the position of the per-call `{ timeout }` that
 *   PythonWorker's method takes, if it takes one
 */

/** @type {ReadonlyArray<ExportMethod>} */
export const EXPORT_METHODS = [
  { name: 'runPython', export: 'run', args: (_wire, code) => [code], reply: 'value', callOptionsAt: 1 },
  { name: 'eval', export: 'eval', args: (_wire, expression) => [expression], reply: 'value', callOptionsAt: 1 },
  { name: 'exec', export: 'exec', args: (_wire, code) => [code], reply: 'nothing', callOptionsAt: 1 },
  { name: 'call', export: 'call', args: callArguments, reply: 'value' },
  { name: 'importModule', export: 'importModule', args: (_wire, name) => [name], reply: 'nothing' },
  {
    name: 'addModule',
    export: 'addModule',
    args: (_wire, name, source, options = {}) => [name, source, !!options.isPackage],
    reply: 'nothing',
  },
];

/**
 * The asynchronous methods: each starts an asynchronous call of the guest
 * (`run-async`, `call-async`), which the host drives with `resume` (and
 * `cancel`) until it is done. They resolve with the decoded value.
 * @type {ReadonlyArray<ExportMethod>}
 */
export const ASYNC_METHODS = [
  { name: 'runPythonAsync', export: 'runAsync', args: (_wire, code) => [code], reply: 'value', callOptionsAt: 1 },
  { name: 'callAsync', export: 'callAsync', args: callArguments, reply: 'value' },
];

/** The exports that go on with an asynchronous call: used by the methods above, not methods. */
export const CONTINUATION_EXPORTS = ['resume', 'cancel'];

/** Methods of both classes written by hand: not one export each. */
export const LOCAL_METHODS = ['registerJsModule', 'loadPackage'];

/** Methods of live objects, written by hand in both classes (a worker's give Promises). */
export const LIVE_OBJECT_METHODS = ['pyimport', 'toPy', 'objectUsage'];

/**
 * The bytes and file name of a wheel given to loadPackage: bytes as they
 * are, or fetched by the host from a URL (relative to the page, in a browser).
 * @param {string | URL | Uint8Array | ArrayBuffer} source
 * @param {{ filename?: string }} [options]
 * @returns {Promise<{ bytes: Uint8Array, filename: string }>}
 */
export async function wheelSource(source, options = {}) {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    const bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : source;
    return { bytes, filename: options.filename ?? 'package.whl' };
  }
  if (typeof source === 'string' || source instanceof URL) {
    const url = new URL(source, globalThis.location?.href);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`loadPackage: fetching ${url} gave HTTP ${response.status}`);
    const filename = options.filename ?? (decodeURIComponent(url.pathname.split('/').pop() ?? '') || 'package.whl');
    return { bytes: new Uint8Array(await response.arrayBuffer()), filename };
  }
  throw new TypeError('loadPackage takes the URL of a wheel, or its bytes (a Uint8Array or an ArrayBuffer)');
}

/** The Python function `call` runs to install a wheel (bootstrap.py). */
export const INSTALL_WHEEL = '_pycomponent.install_wheel';

/** Methods only PythonWorker has. */
export const WORKER_METHODS = ['interrupt', 'terminate'];

/**
 * Defines each of `methods` (EXPORT_METHODS unless given) on `cls.prototype` as a method (named,
 * not enumerable, like one written in the class) that runs
 * `body(instance, method, args)`.
 * @param {Function} cls
 * @param {(instance: any, method: ExportMethod, args: unknown[]) => unknown} body
 */
export function defineExportMethods(cls, body, methods = EXPORT_METHODS) {
  for (const method of methods) {
    const function_ = {
      [method.name](...args) {
        return body(this, method, args);
      },
    }[method.name];
    Object.defineProperty(cls.prototype, method.name, { value: function_, writable: true, configurable: true });
  }
}

const KWARGS = Symbol.for('pycomponent.kwargs');

/**
 * Marks an object as keyword arguments for `call`: `py.call("f", 1, kwargs({ sep: "-" }))`.
 * @param {Record<string, unknown>} values
 */
export function kwargs(values) {
  return { [KWARGS]: true, values };
}

/** The `call` export's arguments: the dotted name, the positional values and the keyword arguments. */
function callArguments(wire, name, ...args) {
  const last = args.at(-1);
  if (last && typeof last === 'object' && last[KWARGS]) {
    const keywords = Object.entries(last.values).map(([key, value]) => ({ name: key, value: wire(value) }));
    return [name, args.slice(0, -1).map((arg) => wire(arg)), keywords];
  }
  return [name, args.map((arg) => wire(arg)), []];
}
