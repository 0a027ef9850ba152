// The errors the JS API throws: a Python exception as a value, and a run
// that was stopped from outside.

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
 * interpreter that trapped refuses further calls; load a new one.
 */
export class PythonTrapError extends Error {
  /**
   * @param {string} message
   * @param {unknown} cause
   */
  constructor(message, cause) {
    super(message, { cause });
    this.name = 'PythonTrapError';
  }
}
