// pycomponent for JavaScript: CPython 3.11 as a WebAssembly component,
// transpiled by jco, with an API modelled on Pyodide's.

export { loadPython, Python, kwargs } from './python.js';
export { loadPythonWorker, PythonWorker } from './worker.js';
export { PythonError, PythonInterruptedError, PythonTrapError } from './errors.js';
export { OpaqueObject, PythonTuple } from './values.js';
