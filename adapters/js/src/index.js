// pycomponent for JavaScript: CPython 3.11 as a WebAssembly component,
// transpiled by jco, with an API modelled on Pyodide's.

export { kwargs } from './api.js';
export { loadPython, Python } from './python.js';
export { loadPythonWorker, PythonWorker } from './worker.js';
export { FileSystemError, MalformedValueError, PythonError, PythonInterruptedError, PythonTrapError } from './errors.js';
export { FileSystem } from './fs.js';
export { PythonTuple } from './values.js';
export { isPyProxy } from './proxies.js';
