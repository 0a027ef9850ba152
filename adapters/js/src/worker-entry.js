// The inside of a Python worker (a Web Worker or a Node worker thread): one
// interpreter, driven by messages from PythonWorker (worker.js). Values
// travel in their wire form; host calls go back to the main thread and
// wait for the answer on the shared channel (host-channel.js).

import { drive, PendingCalls } from './async-calls.js';
import { receive } from './host-channel.js';
import { httpClientImport } from './http-client.js';
import { instantiateInterpreter, LineBuffer } from './python.js';
import { INSTALL_WHEEL } from './api.js';
import { decodeJson, toWire } from './values.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
/** @type {any} the worker's port: Node's parentPort, or the Web Worker's global scope */
const port = isNode ? (await import('node:worker_threads')).parentPort : globalThis;
const post = (message) => port.postMessage(message);
const onMessage = (handler) => {
  if (isNode) port.on('message', handler);
  else port.addEventListener('message', (/** @type {MessageEvent} */ event) => handler(event.data));
};

let interpreter = null;
let channel = null;
let http = null; // the http-client import, made from the options at init
const jsModules = new Map(); // name -> function names
// Host calls Python awaits; each settles when the main thread posts its completion.
const pending = new PendingCalls();
const completions = new Map(); // the main thread's id of a pending call -> resolve
let cancelAsync = null; // resolves the running asynchronous call's cancellation

const host = {
  modules: () => Array.from(jsModules, ([name, functions]) => ({ name, functions })),
  call(module, fn, args, kwargs) {
    if (!channel) {
      // A thrown string is the `err` case of the import's result.
      throw 'JS modules in a worker need SharedArrayBuffer: serve the page cross-origin isolated (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp)';
    }
    post({ type: 'host-call', module, fn, args, kwargs, async: pending.accepting });
    const result = decodeJson(receive(channel));
    if (result.tag === 'err') throw result.val;
    if (result.tag === 'pending') {
      const settled = new Promise((resolve) => completions.set(result.val, resolve));
      return { tag: 'pending', val: pending.add(settled, ({ value }) => /** @type {{ tag: string, val: unknown }} */ (value)) };
    }
    return { tag: 'value', val: result.val };
  },
};

// The JS objects Python holds stay on the main thread: Python's reads,
// writes and calls of them are answered there, synchronously, like host
// functions; a release needs no answer.
const hostObject = (op) => (...args) => {
  if (!channel) throw { typeName: 'TypeError', message: 'JS objects in a worker need SharedArrayBuffer', stack: '' };
  post({ type: 'host-object', op, args, async: pending.accepting });
  const result = decodeJson(receive(channel));
  if (result.tag === 'err') throw result.val;
  if (op === 'objectCall' && result.val.tag === 'pending') {
    const settled = new Promise((resolve) => completions.set(result.val.val, resolve));
    return { tag: 'pending', val: pending.add(settled, ({ value }) => /** @type {{ tag: string, val: unknown }} */ (value)) };
  }
  return result.val;
};
Object.assign(host, {
  objectGet: hostObject('objectGet'),
  objectSet: hostObject('objectSet'),
  objectCall: hostObject('objectCall'),
  releaseObjects: (handles) => post({ type: 'release-host', handles: Array.from(handles) }),
});

/** The export `name` of the interpreter: `objects.x` is one of the `objects` interface. */
function exportFunction(name) {
  return name.startsWith('objects.') ? interpreter.objects[name.slice('objects.'.length)] : interpreter[name];
}

/** Releases the Python objects the main thread no longer holds. */
function release(handles) {
  if (handles?.length > 0) interpreter.objects.release(BigUint64Array.from(handles, BigInt));
}

/** A synchronous request: the main thread fetches it while this thread waits. */
function sendThroughMainThread(url, request, ms, maxBytes) {
  post({ type: 'http-send', url, request, ms, maxBytes });
  const answer = decodeJson(receive(channel));
  if (!answer.ok) throw answer.value;
  return answer.value;
}

// C-level writes to fds 1 and 2 (Python's own output is captured per call).
const sinks = {
  stdout: new LineBuffer((line) => post({ type: 'output', stdout: `${line}\n`, stderr: '' })),
  stderr: new LineBuffer((line) => post({ type: 'output', stdout: '', stderr: `${line}\n` })),
};

function invoke(method, args) {
  http?.beginCall();
  const reply = exportFunction(method)(...args);
  // An export that gives nothing but a value (objects.usage).
  return reply?.output === undefined ? { tag: 'ok', val: reply } : finish(reply);
}

function finish(reply) {
  if (reply.output.stdout || reply.output.stderr) post({ type: 'output', ...reply.output });
  return reply.result;
}

/** Runs an asynchronous call to its end; the worker's event loop runs while Python waits. */
async function callAsync(message) {
  const step = (name, args) => {
    pending.accepting = true;
    try {
      return exportFunction(name)(...args);
    } finally {
      pending.accepting = false;
    }
  };
  const cancelled = new Promise((resolve) => (cancelAsync = resolve));
  http?.beginCall(true);
  try {
    const done = await drive(step, message.method, message.args, pending, { cancelled });
    if (!done.unwound) {
      post({ type: 'reply', id: message.id, trap: 'the cancelled task did not end' });
      return;
    }
    post({ type: 'reply', id: message.id, result: finish(done.evaluation) });
  } catch (error) {
    // A trap: this interpreter is done; the main side starts a new worker.
    post({ type: 'reply', id: message.id, trap: String(error?.message ?? error) });
  } finally {
    cancelAsync = null;
    completions.clear();
  }
}

async function init(message) {
  channel = message.channel;
  for (const [name, functions] of message.jsModules) jsModules.set(name, functions);
  http = httpClientImport(message.options, pending, channel ? sendThroughMainThread : undefined);
  interpreter = await instantiateInterpreter(message.options, host, sinks, http);
  for (const [name, source, isPackage] of message.sources) {
    const result = invoke('addModule', [name, source, isPackage]);
    if (result.tag === 'err') throw new Error(`re-adding module ${name}: ${result.val.message}`);
  }
  for (const [bytes, filename] of message.wheels) {
    const result = invoke('call', [INSTALL_WHEEL, [toWire(bytes), toWire(filename)], []]);
    if (result.tag === 'err') throw new Error(`installing ${filename} again: ${result.val.message}`);
  }
}

onMessage((message) => {
  switch (message.type) {
    case 'init':
      init(message).then(
        () => post({ type: 'ready' }),
        (error) => post({ type: 'init-error', message: String(error?.stack ?? error) }),
      );
      break;
    case 'call-async':
      release(message.release);
      callAsync(message);
      break;
    case 'cancel-async':
      cancelAsync?.('cancel');
      break;
    case 'completion':
      completions.get(message.id)?.(message.result);
      completions.delete(message.id);
      break;
    case 'register':
      jsModules.set(message.name, message.functions);
      break;
    case 'call': {
      let result;
      try {
        release(message.release);
        result = invoke(message.method, message.args);
      } catch (error) {
        // A trap: this interpreter is done; the main side starts a new worker.
        post({ type: 'reply', id: message.id, trap: String(error?.message ?? error) });
        break;
      }
      post({ type: 'reply', id: message.id, result });
      break;
    }
  }
});
post({ type: 'loaded' });
