// The implementation against its declarations, run by `npm run check-types`:
// each export of src/index.js, as TypeScript reads the JavaScript and its
// JSDoc (checkJs over src/), must fit what src/index.d.ts declares for it,
// and the classes must have every member declared there. The methods that
// api.js's lists generate (EXPORT_METHODS, ASYNC_METHODS) are invisible to
// TypeScript; test/api.test.js checks those by name at run time.
import type * as Declared from '../src/index.js';
import * as api from '../src/api.js';
import * as errors from '../src/errors.js';
import * as fs from '../src/fs.js';
import * as proxies from '../src/proxies.js';
import * as python from '../src/python.js';
import * as values from '../src/values.js';
import * as worker from '../src/worker.js';

type ErrorClass = abstract new (...args: any[]) => Error;

export const functions = {
  kwargs: api.kwargs satisfies (values: Record<string, Declared.ToPython>) => unknown,
  isPyProxy: proxies.isPyProxy satisfies (value: unknown) => boolean,
  loadPython: python.loadPython satisfies (options?: Declared.LoadPythonOptions) => Promise<unknown>,
  loadPythonWorker: worker.loadPythonWorker satisfies (options?: Declared.LoadPythonWorkerOptions) => Promise<unknown>,
  PythonError: errors.PythonError satisfies ErrorClass,
  PythonInterruptedError: errors.PythonInterruptedError satisfies ErrorClass,
  PythonTrapError: errors.PythonTrapError satisfies ErrorClass,
  MalformedValueError: errors.MalformedValueError satisfies ErrorClass,
  FileSystemError: errors.FileSystemError satisfies ErrorClass,
  PythonTuple: values.PythonTuple satisfies abstract new (...args: any[]) => unknown[],
};

/** The methods api.js's lists put on Python and PythonWorker. */
type Generated = 'runPython' | 'eval' | 'exec' | 'call' | 'importModule' | 'addModule' | 'runPythonAsync' | 'callAsync';

/** `never` where a declared member is missing from the implementation: this must be `true`. */
type AllPresent<Impl, Declared, Skip extends PropertyKey = never> = [Exclude<Exclude<keyof Declared, Skip>, keyof Impl>] extends [never] ? true : never;
export const present: [
  AllPresent<InstanceType<typeof python.Python>, Declared.Python, Generated>,
  AllPresent<InstanceType<typeof worker.PythonWorker>, Declared.PythonWorker, Generated>,
  AllPresent<InstanceType<typeof fs.FileSystem>, Declared.FileSystem>,
  AllPresent<InstanceType<typeof errors.PythonError>, Declared.PythonError>,
  AllPresent<InstanceType<typeof errors.PythonInterruptedError>, Declared.PythonInterruptedError>,
  AllPresent<InstanceType<typeof errors.FileSystemError>, Declared.FileSystemError>,
] = [true, true, true, true, true, true];
