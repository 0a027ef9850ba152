// The Worker's main module, written by `pycomponent build --target
// cloudflare`: each `fetch` event goes to the app's wasi:http handler. The
// component is instantiated on the first request (a Worker may not make
// random values at global scope, and CPython does as it starts) and kept
// for the requests after it, one at a time, as a Worker keeps its globals.
// A request that traps the instance gets a 500 and the next one a fresh
// instance from the same snapshot.
//
// Requests wait for the instance with a timer of their own: workerd cancels
// a request that waits only on a promise another request settles (it takes
// it for hung), and ctx.waitUntil keeps a request alive until the app
// returns, so that an instance is never left suspended in a request that
// was cancelled.

import { instantiate } from './component/app.js';
import { CORES } from './component/cores.js';
import { workerHost } from './wasi-host.js';
import settings from './settings.js';

/** @type {Promise<{ handler: object, host: ReturnType<typeof workerHost> }> | null} */
let loaded = null;
/** The request that has the instance: settles `released` when it gives it back. */
let holder = null;
/** How often a waiting request looks again, in ms (it also wakes when the instance is released). */
const WAIT_POLL_MS = 50;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for the instance; resolves to the function that gives it back. */
async function acquire() {
  while (holder) await Promise.race([holder.released, sleep(WAIT_POLL_MS)]);
  let release;
  holder = { released: new Promise((resolve) => (release = resolve)) };
  return () => {
    holder = null;
    release();
  };
}

function load() {
  loaded ??= (async () => {
    const host = workerHost(settings);
    const exports = await instantiate((name) => CORES[name], host.imports);
    return { handler: exports.incomingHandler, host };
  })();
  return loaded;
}

const failure = (status, text) => new Response(`${text}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });

/** One request through the instance; resolves to its Response and, in `left`, to when the handler returned. */
async function run(request) {
  const app = await load().catch((error) => {
    loaded = null;
    throw error;
  });
  const { outparam, done } = app.host.serve(app.handler, request);
  const returned = done.then(
    () => null,
    (error) => {
      // A trap leaves the instance unusable: the next request gets a new one.
      loaded = null;
      console.error(`pycomponent: the app trapped: ${error?.stack ?? error}`);
      return error;
    },
  );
  const first = await Promise.race([outparam.promise, returned.then((error) => ({ returned: true, error }))]);
  returned.then(() => {
    // A body the handler did not finish before it returned (or trapped) is cut short.
    if (first.body && !first.body.finished) first.body.abandon('the app did not finish its response');
  });
  let response;
  if (first.response) response = first.response;
  else if (first.error !== undefined && !first.returned) {
    console.error(`pycomponent: the app answered with error ${JSON.stringify(first.error)}`);
    response = failure(500, 'Internal Server Error');
  } else if (first.error) response = failure(500, 'Internal Server Error');
  else {
    console.error('pycomponent: the app returned without a response');
    response = failure(500, 'Internal Server Error');
  }
  return { response, left: returned };
}

export default {
  /** @param {Request} request @param {unknown} env @param {{ waitUntil(p: Promise<unknown>): void }} ctx */
  async fetch(request, env, ctx) {
    const release = await acquire();
    let result;
    try {
      result = await run(request);
    } catch (error) {
      release();
      console.error(`pycomponent: the app could not start: ${error?.stack ?? error}`);
      return failure(500, 'Internal Server Error');
    }
    const left = result.left.finally(release);
    ctx?.waitUntil?.(left);
    return result.response;
  },
};
