// The WASI 0.2 imports of the component, implemented so that they grant
// nothing: no files (no preopened directories), no environment variables,
// an empty stdin, no network. Clocks and randomness are real. The same code
// runs in Node and in browsers, so the sandbox does not depend on the host.

/** @type {Crypto} */
const webcrypto = globalThis.crypto ?? /** @type {Crypto} */ ((await import('node:crypto')).webcrypto);

const MAX_RANDOM_CHUNK = 65536; // getRandomValues' limit per call

/** Blocks the current thread for `ms` milliseconds (where blocking is allowed; spins elsewhere). */
function sleep(ms) {
  if (ms <= 0) return;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    return;
  } catch {
    // A browser's main thread may not block, and a page without cross-origin
    // isolation has no SharedArrayBuffer: wait actively instead.
  }
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

function monotonicNow() {
  return BigInt(Math.round(performance.now() * 1e6));
}

/**
 * The import object for jco's `instantiate`, keyed by interface name.
 * @param {{ stdout: (bytes: Uint8Array) => void, stderr: (bytes: Uint8Array) => void }} sinks
 *   where C-level writes to fds 1 and 2 go (Python's own print is captured per call)
 */
export function sandboxWasi(sinks) {
  class Pollable {
    /** @param {bigint} deadline monotonic nanoseconds; 0n: ready now */
    constructor(deadline = 0n) {
      this.deadline = deadline;
    }
    ready() {
      return monotonicNow() >= this.deadline;
    }
    block() {
      sleep(Number(this.deadline - monotonicNow()) / 1e6);
    }
  }

  class IoError {
    toDebugString() {
      return 'I/O error';
    }
  }

  class InputStream {
    read(_len) {
      throw { tag: 'closed' };
    }
    blockingRead(_len) {
      throw { tag: 'closed' };
    }
    subscribe() {
      return new Pollable();
    }
  }

  class OutputStream {
    constructor(sink) {
      this.sink = sink;
    }
    checkWrite() {
      return 1n << 20n;
    }
    write(contents) {
      this.sink(contents);
    }
    blockingWriteAndFlush(contents) {
      this.sink(contents);
    }
    flush() {}
    blockingFlush() {}
    subscribe() {
      return new Pollable();
    }
  }

  // Resource types the component names but never receives: without
  // preopens and terminals no such object exists.
  class Descriptor {}
  class DirectoryEntryStream {}
  class TerminalInput {}
  class TerminalOutput {}

  const stdin = new InputStream();
  const stdout = new OutputStream(sinks.stdout);
  const stderr = new OutputStream(sinks.stderr);

  return {
    'wasi:cli/environment': { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined },
    'wasi:cli/exit': {
      exit(status) {
        throw new Error(`Python exited the process (${status.tag === 'ok' ? 'success' : 'failure'})`);
      },
    },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:clocks/monotonic-clock': {
      now: monotonicNow,
      resolution: () => 1000n,
      subscribeInstant: (instant) => new Pollable(instant),
      subscribeDuration: (duration) => new Pollable(monotonicNow() + duration),
    },
    'wasi:clocks/wall-clock': {
      now() {
        const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
        return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1000 }),
    },
    'wasi:filesystem/preopens': { getDirectories: () => [] },
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': {
      Pollable,
      poll(pollables) {
        if (pollables.length === 0) return new Uint32Array(0);
        for (;;) {
          const ready = [];
          pollables.forEach((p, i) => p.ready() && ready.push(i));
          if (ready.length > 0) return new Uint32Array(ready);
          const next = pollables.reduce((min, p) => (p.deadline < min ? p.deadline : min), pollables[0].deadline);
          sleep(Number(next - monotonicNow()) / 1e6);
        }
      },
    },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:random/random': {
      getRandomBytes(len) {
        const bytes = new Uint8Array(Number(len));
        for (let i = 0; i < bytes.length; i += MAX_RANDOM_CHUNK) {
          webcrypto.getRandomValues(bytes.subarray(i, i + MAX_RANDOM_CHUNK));
        }
        return bytes;
      },
      getRandomU64() {
        return webcrypto.getRandomValues(new BigUint64Array(1))[0];
      },
    },
  };
}
