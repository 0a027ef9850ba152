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
const port = isNode ? (await import('node:worker_threads')).parentPort : globalThis;
const post = (message) => port.postMessage(message);
const onMessage = (handler) => {
  if (isNode) port.on('message', handler);
  else port.addEventListener('message', (event) => handler(event.data));
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
      return { tag: 'pending', val: pending.add(settled, ({ value }) => value) };
    }
    return { tag: 'value', val: result.val };
  },
};

// Live objects do not cross to the main thread yet: no JS object reaches
// Python from there (its values are plain data), and a Python object in a
// result goes back as its type and repr (opaqueResult).
const noHostObjects = () => {
  throw { typeName: 'TypeError', message: 'a worker holds no JS objects', stack: '' };
};
Object.assign(host, { objectGet: noHostObjects, objectSet: noHostObjects, objectCall: noHostObjects, releaseObjects() {} });

/** A result whose Python objects are replaced by their type and repr, their handles released. */
function opaqueResult(result) {
  if (result.tag !== 'ok' || !result.val?.nodes?.some((node) => node.tag === 'object')) return result;
  const handles = [];
  const nodes = result.val.nodes.map((node) => {
    if (node.tag !== 'object') return node;
    handles.push(node.val.handle);
    const shown = interpreter.objects.repr(node.val.handle).result;
    const repr = shown.tag === 'ok' && shown.val.nodes[0].tag === 'str' ? shown.val.nodes[0].val : `<${node.val.typeName} object>`;
    return { tag: 'opaque', val: { typeName: node.val.typeName, repr } };
  });
  interpreter.objects.release(BigUint64Array.from(handles));
  return { tag: 'ok', val: { nodes } };
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
  return finish(interpreter[method](...args));
}

function finish(reply) {
  if (reply.output.stdout || reply.output.stderr) post({ type: 'output', ...reply.output });
  return opaqueResult(reply.result);
}

/** Runs an asynchronous call to its end; the worker's event loop runs while Python waits. */
async function callAsync(message) {
  const step = (name, args) => {
    pending.accepting = true;
    try {
      return interpreter[name](...args);
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
