// Synchronous answers to a worker: Python calls a host function
// synchronously, but the function lives on the main thread (and may be
// async). The worker posts the request and blocks in Atomics.wait; the main
// thread writes the answer into shared memory, in chunks of CHUNK_BYTES, so
// that an answer of any size fits.

const IDLE = 0;
const MORE = 1;
const LAST = 2;

/** Size of the shared data buffer: the largest chunk of one answer. */
export const CHUNK_BYTES = 1 << 16;

/** Whether this context can share memory with a worker (browsers: cross-origin isolation). */
export function canShareMemory() {
  return typeof SharedArrayBuffer !== 'undefined' && (globalThis.crossOriginIsolated ?? true);
}

/** A new channel: shared control words and a shared data buffer. */
export function createChannel() {
  return { control: new SharedArrayBuffer(8), data: new SharedArrayBuffer(CHUNK_BYTES) };
}

/**
 * Worker side: blocks until the whole answer has arrived.
 * @param {{ control: SharedArrayBuffer, data: SharedArrayBuffer }} channel
 * @returns {string}
 */
export function receive(channel) {
  const control = new Int32Array(channel.control);
  const data = new Uint8Array(channel.data);
  const chunks = [];
  for (;;) {
    Atomics.wait(control, 0, IDLE);
    const state = Atomics.load(control, 0);
    chunks.push(data.slice(0, control[1]));
    Atomics.store(control, 0, IDLE);
    Atomics.notify(control, 0);
    if (state === LAST) break;
  }
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * Main side: writes the answer chunk by chunk, waiting (without blocking)
 * for the worker to take each one.
 * @param {{ control: SharedArrayBuffer, data: SharedArrayBuffer }} channel
 * @param {string} text
 */
export async function send(channel, text) {
  const control = new Int32Array(channel.control);
  const data = new Uint8Array(channel.data);
  const bytes = new TextEncoder().encode(text);
  for (let offset = 0; ; offset += CHUNK_BYTES) {
    const chunk = bytes.subarray(offset, offset + CHUNK_BYTES);
    data.set(chunk);
    control[1] = chunk.length;
    const last = offset + CHUNK_BYTES >= bytes.length;
    Atomics.store(control, 0, last ? LAST : MORE);
    Atomics.notify(control, 0);
    if (last) return;
    await untilIdle(control);
  }
}

/** @param {Int32Array} control */
async function untilIdle(control) {
  for (;;) {
    const state = Atomics.load(control, 0);
    if (state === IDLE) return;
    const waiting = Atomics.waitAsync ? Atomics.waitAsync(control, 0, state) : null;
    if (waiting?.async) await waiting.value;
    else if (!waiting) await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
