// The errors the JS API throws: a Python exception as a value, a run that
// was stopped from outside, a failed component, a malformed value from it,
// and a failed file operation.

/** A Python exception raised by the code a call ran. The interpreter stays usable. */
export class PythonError extends Error {
  /**
   * @param {{ typeName: string, message: string, traceback: string }} error
   */
  constructor(error) {
    super(error.message);
    this.name = 'PythonError';
    /** Qualified exception type name, e.g. `ValueError`, `json.decoder.JSONDecodeError`. */
    this.type = error.typeName;
    /** The formatted Python traceback. */
    this.traceback = error.traceback;
  }

  toString() {
    return `PythonError: ${this.type}: ${this.message}`;
  }
}

/**
 * A worker call that was stopped by its timeout or by `interrupt()`. The worker
 * was replaced by a fresh interpreter: globals and imported modules are gone,
 * registered JS modules and added modules are kept.
 */
export class PythonInterruptedError extends Error {
  /**
   * @param {string} message
   * @param {'timeout' | 'interrupt' | 'worker-exit'} reason
   */
  constructor(message, reason) {
    super(message);
    this.name = 'PythonInterruptedError';
    /** Why the run stopped. */
    this.reason = reason;
  }
}

/**
 * The component itself failed (a trap: a bug or an exhausted resource). The
 * interpreter that trapped refuses further calls, with this error too; load a
 * new one.
 */
export class PythonTrapError extends Error {
  /**
   * @param {string} message
   * @param {unknown} [cause]
   */
  constructor(message, cause) {
    super(message, { cause });
    this.name = 'PythonTrapError';
  }
}

/**
 * The component sent a value that breaks the rules of the node table
 * (`wit/python.wit`, `interface types`): not a tree, too deep, too large, or
 * a leaf of the wrong kind. Python never builds such a table, so the guest's
 * memory may be corrupted: the interpreter is retired like after a trap (on
 * the calling thread later calls throw PythonTrapError; a worker is replaced
 * by a fresh interpreter).
 */
export class MalformedValueError extends Error {
  /**
   * @param {string} rule what is wrong, e.g. `node 3 refers to node 1, which is not after it`
   * @param {number | null} node the index of the offending node, or null for the table as a whole
   */
  constructor(rule, node) {
    super(`malformed value from the guest: ${rule}`);
    this.name = 'MalformedValueError';
    /** The index of the offending node, or null when the table as a whole is wrong. */
    this.node = node;
  }
}

/** A file operation of `py.FS` failed. The interpreter stays usable. */
export class FileSystemError extends Error {
  /**
   * @param {string} code the POSIX name of the error, e.g. `ENOENT`
   * @param {string} message a message naming the path
   */
  constructor(code, message) {
    super(message);
    this.name = 'FileSystemError';
    /** The POSIX name of the error: `ENOENT`, `EEXIST`, `EISDIR`, `ENOTDIR`, `ENOTEMPTY`, `ENOSPC`, ... */
    this.code = code;
  }
}
