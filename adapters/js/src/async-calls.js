// Asynchronous calls (runPythonAsync, callAsync): the host side of the
// component's continuation interface. A step (`runAsync`, `callAsync`,
// `resume`, `cancel`) runs Python until every task waits; it then returns
// the host calls Python awaits and its next timer. The host waits for them
// without blocking the JS event loop, and resumes the step with the calls
// that finished. Shared by Python (python.js) and the worker (worker-entry.js).

/** What `wait` gives when the call's deadline passed. */
export const TIMED_OUT = Symbol('timed out');

/** How long a cancelled run may take to unwind before the interpreter is given up. */
export const CANCEL_GRACE_MS = 500;

/** The message of an async host function called where nothing can await it. */
export function notAwaitable(qualified) {
  return `${qualified} returned a Promise: call it as \`await ${qualified}(...)\` in code that runPythonAsync or callAsync runs`;
}

/** Whether `value` is a Promise or another thenable. */
export function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function';
}

/**
 * The host calls Python awaits, by id (the `pending` ids of `host.call`).
 * Each settles into a completion: `{ id, result: { tag: 'ok' | 'err', val } }`.
 */
export class PendingCalls {
  /** Whether an asynchronous call is running, so that a host call may stay pending. */
  accepting = false;
  #next = 0n;
  #calls = new Map(); // id -> { settled: completion | null, done: Promise<void> }

  /**
   * Keeps a pending call; its id for `outcome.pending`. `settle` gives the
   * completion's result when `promise` settles.
   * @param {PromiseLike<unknown>} promise
   * @param {(outcome: { ok: boolean, value: unknown }) => { tag: string, val: unknown }} settle
   */
  add(promise, settle) {
    const id = ++this.#next;
    const entry = { settled: null, done: null };
    const finish = (ok) => (value) => {
      entry.settled = { id, result: settle({ ok, value }) };
    };
    entry.done = Promise.resolve(promise).then(finish(true), finish(false));
    this.#calls.set(id, entry);
    return id;
  }

  /** Drops every pending call (the run ended). */
  clear() {
    this.#calls.clear();
  }

  /**
   * Waits until a call Python awaits settles, the guest's timer is due, or
   * `deadline` (a performance.now() time) passes. Calls Python no longer
   * awaits are dropped first. Gives the completions of the calls that
   * settled (none when the timer woke it), or TIMED_OUT.
   * @param {{ calls: ArrayLike<bigint>, wakeAfterNs?: bigint }} waiting
   * @param {number} deadline
   */
  async wait(waiting, deadline) {
    const listed = new Set(Array.from(waiting.calls, BigInt));
    for (const id of this.#calls.keys()) if (!listed.has(id)) this.#calls.delete(id);
    const unknown = [...listed].filter((id) => !this.#calls.has(id));
    if (unknown.length > 0) {
      return unknown.map((id) => ({ id, result: { tag: 'err', val: `the host holds no pending call #${id}` } }));
    }
    let settled = this.#settled();
    if (settled.length > 0) return settled;
    const timers = [];
    const after = (ms, value) =>
      new Promise((resolve) => timers.push(setTimeout(() => resolve(value), Math.max(0, ms))));
    const race = [...this.#calls.values()].map((entry) => entry.done);
    if (waiting.wakeAfterNs !== undefined) race.push(after(Math.ceil(Number(waiting.wakeAfterNs) / 1e6)));
    if (Number.isFinite(deadline)) race.push(after(deadline - performance.now(), TIMED_OUT));
    const woke = await Promise.race(race);
    for (const timer of timers) clearTimeout(timer);
    if (woke === TIMED_OUT) return TIMED_OUT;
    settled = this.#settled();
    return settled;
  }

  /** The completions of the calls that settled, which are then forgotten. */
  #settled() {
    const completions = [];
    for (const [id, entry] of this.#calls) {
      if (entry.settled) {
        completions.push(entry.settled);
        this.#calls.delete(id);
      }
    }
    return completions;
  }
}

/**
 * Drives one asynchronous call to its end.
 * @param {(name: string, args: unknown[]) => any} step runs an export of the
 *   guest (`runAsync`, `callAsync`, `resume`, `cancel`) and gives its `progress`
 * @param {string} start the export that starts the call
 * @param {unknown[]} args its arguments
 * @param {PendingCalls} pending
 * @param {{ deadline?: number, cancelled?: Promise<unknown> }} [limits] when the
 *   deadline passes or `cancelled` resolves, the task is cancelled (CancelledError)
 * @returns {Promise<{ evaluation: any, cancelled: unknown, unwound: boolean }>} the
 *   `done` evaluation; `cancelled` is why it was cancelled (TIMED_OUT or the value
 *   of `cancelled`), and `unwound` false when it did not end within CANCEL_GRACE_MS
 */
export async function drive(step, start, args, pending, limits = {}) {
  const INTERRUPTED = Symbol('interrupted');
  let deadline = limits.deadline ?? Infinity;
  let cancelled;
  let reason;
  let interrupt = limits.cancelled?.then((why) => {
    reason = why;
    return INTERRUPTED;
  });
  let progress = step(start, args);
  try {
    while (progress.tag === 'waiting') {
      const waited = pending.wait(progress.val, deadline);
      const woke = interrupt ? await Promise.race([waited, interrupt]) : await waited;
      if (woke === TIMED_OUT || woke === INTERRUPTED) {
        if (cancelled !== undefined) return { evaluation: null, cancelled, unwound: false };
        cancelled = woke === TIMED_OUT ? TIMED_OUT : reason;
        interrupt = undefined;
        deadline = performance.now() + CANCEL_GRACE_MS;
        pending.clear();
        progress = step('cancel', []);
      } else {
        progress = step('resume', [woke]);
      }
    }
  } finally {
    pending.clear();
  }
  return { evaluation: progress.val, cancelled, unwound: true };
}
