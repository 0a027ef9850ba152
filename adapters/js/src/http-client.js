// Outgoing HTTP of Python code in JS hosts: the component's
// `pycomponent:python/http-client` import, over the host's `fetch`, behind the
// grants of `loadPython({ allowHttp })`. Nothing is allowed by default.
// Requests run while an asynchronous call waits (`await
// pycomponent.http.fetch(...)` in runPythonAsync); JS has no way to wait for
// `fetch` synchronously on its main thread, so there a synchronous request
// (`urllib.request.urlopen` in runPython) fails with a message that says so;
// in a worker it blocks while the main thread fetches (host-channel.js).

import { toWire } from './values.js';

/** The limits of outgoing requests, unless loadPython's options set them. */
export const HTTP_DEFAULTS = Object.freeze({ timeoutMs: 30_000, maxResponseBytes: 16 << 20, maxRequestsPerCall: 100 });

/** Headers of one connection, which `fetch` sets itself. */
const CONNECTION_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade']);

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** A WIT `http-client.error`, thrown so that jco makes it the import's `err`. */
const httpError = (tag, message) => ({ tag, val: message });

/**
 * Which URLs Python may request: grants of scheme, host and port, the same
 * grammar as the CLI's --allow-http (`https://api.example.com`,
 * `https://*.example.org:8443`, `http://127.0.0.1:*`, `*://*:*`).
 */
export class HttpPolicy {
  #grants;

  /** @param {string[]} grants */
  constructor(grants = []) {
    if (!Array.isArray(grants)) throw new TypeError('allowHttp must be an array of patterns such as "https://api.example.com"');
    this.#grants = grants.map(parseGrant);
  }

  /** Whether a request to `url` (a URL) is allowed. */
  allows(url) {
    return this.#grants.some((grant) => grantMatches(grant, url));
  }
}

/** Parses one grant; a TypeError says what is wrong with a malformed one. */
function parseGrant(text) {
  const fail = (why) => {
    throw new TypeError(`invalid HTTP grant ${JSON.stringify(text)}: ${why}`);
  };
  if (typeof text !== 'string') fail('a grant is a string');
  const separator = text.indexOf('://');
  if (separator < 0) fail('it needs a scheme, as in `https://api.example.com`');
  const scheme = text.slice(0, separator).toLowerCase();
  if (!['http', 'https', '*'].includes(scheme)) fail(`the scheme must be http, https or *, not ${JSON.stringify(scheme)}`);
  let authority = text.slice(separator + 3);
  if (authority.endsWith('/')) authority = authority.slice(0, -1);
  if (/[/?#]/.test(authority)) fail('a grant has no path, query or fragment: only scheme, host and port');
  if (authority.includes('@')) fail('a grant has no user name or password');
  const colon = authority.lastIndexOf(':');
  const hasPort = colon >= 0 && !authority.slice(colon).includes(']');
  const hostText = hasPort ? authority.slice(0, colon) : authority;
  const portText = hasPort ? authority.slice(colon + 1) : null;
  const normal = (host) => {
    try {
      return new URL(`http://${host}/`).hostname;
    } catch {
      return fail(`invalid host ${JSON.stringify(host)}`);
    }
  };
  let host;
  if (hostText === '*') host = { any: true };
  else if (hostText.startsWith('*.')) {
    const suffix = normal(hostText.slice(2));
    if (/^[\d.]+$/.test(suffix) || suffix.startsWith('[')) fail('`*.` goes before a domain name, not an address');
    host = { suffix };
  } else if (hostText === '') fail('it needs a host (or `*`)');
  else if (hostText.includes('*')) fail('`*` stands for a whole host or a leading `*.` label only');
  else host = { exact: normal(hostText) };
  let port;
  if (portText === null) port = 'default';
  else if (portText === '*') port = 'any';
  else {
    const number = (p) => {
      if (!/^\d+$/.test(p) || Number(p) > 65535) fail(`invalid port ${JSON.stringify(p)}`);
      return Number(p);
    };
    const [low, high] = portText.includes('-') ? portText.split('-', 2).map(number) : [number(portText), number(portText)];
    if (low > high) fail(`the port range ${JSON.stringify(portText)} is empty`);
    port = [low, high];
  }
  return { scheme: scheme === '*' ? null : scheme, host, port };
}

function grantMatches(grant, url) {
  const scheme = url.protocol.slice(0, -1);
  if (grant.scheme && grant.scheme !== scheme) return false;
  const hostname = url.hostname;
  if (grant.host.exact !== undefined && grant.host.exact !== hostname) return false;
  if (grant.host.suffix !== undefined && !(hostname.endsWith(`.${grant.host.suffix}`))) return false;
  const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  if (grant.port === 'default') return url.port === '';
  if (grant.port === 'any') return true;
  return port >= grant.port[0] && port <= grant.port[1];
}

/** The grant that would allow `url`. */
function grantFor(url) {
  return `${url.protocol}//${url.host}`;
}

/**
 * The `pycomponent:python/http-client` import of one interpreter.
 * @param {{ allowHttp?: string[], httpTimeout?: number, maxResponseBytes?: number, maxRequestsPerCall?: number }} options
 * @param {import('./async-calls.js').PendingCalls} pending
 * @param {((url: string, request: object, ms: number, maxBytes: number) => object) | undefined} [sendBlocking]
 *   sends a request and blocks until its response (a worker waits for the main thread
 *   to fetch it); without it, synchronous requests fail with a message that says why
 */
export function httpClientImport(options, pending, sendBlocking) {
  const policy = new HttpPolicy(options.allowHttp ?? []);
  const timeoutMs = options.httpTimeout ?? HTTP_DEFAULTS.timeoutMs;
  const maxBytes = options.maxResponseBytes ?? HTTP_DEFAULTS.maxResponseBytes;
  const maxRequests = options.maxRequestsPerCall ?? HTTP_DEFAULTS.maxRequestsPerCall;
  const finished = new Map(); // id -> { ok, value }
  let requests = 0;

  /** Checks a request against the grants and the per-call cap; its URL. */
  const admit = (request) => {
    let url;
    try {
      url = new URL(request.url);
    } catch {
      throw httpError('invalid', `invalid URL ${JSON.stringify(request.url)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw httpError('invalid', `${url}: only http and https URLs with a host can be requested`);
    }
    if (!policy.allows(url)) {
      const grant = grantFor(url);
      throw httpError(
        'denied',
        `${request.method} ${url} is not allowed: this host grants no outgoing HTTP to ${grant}; grant it with loadPython({ allowHttp: ['${grant}'] })`,
      );
    }
    if (requests >= maxRequests) {
      throw httpError('too-many-requests', `${url}: this call has made ${maxRequests} HTTP requests, the most the host allows in one call`);
    }
    requests += 1;
    return url;
  };

  return {
    /**
     * A new call starts: its requests are counted from zero. An asynchronous
     * one also drops the results the last one left untaken.
     */
    beginCall(async = false) {
      requests = 0;
      if (async) finished.clear();
    },
    send(request) {
      const url = admit(request);
      const ms = Math.min(timeoutMs, request.timeoutMs === undefined ? Infinity : Number(request.timeoutMs));
      if (sendBlocking) return sendBlocking(url.href, request, ms, maxBytes);
      throw httpError(
        'failed',
        `${request.method} ${request.url}: the main thread of a JavaScript host cannot wait for a request; ` +
          'use `await pycomponent.http.fetch(url)` in code that runPythonAsync or callAsync runs, or loadPythonWorker',
      );
    },
    start(request) {
      if (!pending.accepting) throw httpError('invalid', 'a request can be started only in an asynchronous call');
      const url = admit(request);
      const ms = Math.min(timeoutMs, request.timeoutMs === undefined ? Infinity : Number(request.timeoutMs));
      const exchange = fetchWhole(url, request, ms, maxBytes, policy);
      // Settled after pending.add returned, so `id` is set by then.
      const id = pending.add(exchange, ({ ok, value }) => {
        finished.set(id, ok ? { ok, value } : { ok, value: asHttpError(value, request) });
        return { tag: 'ok', val: toWire(null) };
      });
      return id;
    },
    finish(id) {
      const result = finished.get(id);
      if (!result) throw httpError('invalid', `no completed request #${id}`);
      finished.delete(id);
      if (!result.ok) throw result.value;
      return result.value;
    },
  };
}

/** A failure of `fetchWhole` as a WIT error. */
export function asHttpError(error, request) {
  if (error && typeof error.tag === 'string') return error;
  const label = `${request.method} ${request.url}`;
  const cause = error?.cause?.message ?? error?.message ?? String(error);
  return httpError('failed', `${label}: ${cause}`);
}

/** ISO-8859-1 text of header bytes (as Python's http.client reads them). */
const latin1 = (bytes) => String.fromCharCode(...bytes);

/**
 * Sends one request with `fetch` and reads the whole response, within `ms`
 * and `maxBytes`. Redirects are not followed in Node (Python follows them,
 * each hop checked); a browser hides redirect responses, so there `fetch`
 * follows them and the final URL is checked against the grants.
 */
export async function fetchWhole(url, request, ms, maxBytes, policy) {
  const label = `${request.method} ${url}`;
  const headers = new Headers();
  for (const [name, value] of request.headers) {
    if (!CONNECTION_HEADERS.has(name.toLowerCase())) headers.append(name, latin1(value));
  }
  if (url.username || url.password) {
    if (!headers.has('authorization')) {
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      const bytes = new TextEncoder().encode(credentials);
      headers.set('authorization', `Basic ${btoa(latin1(bytes))}`);
    }
    url = new URL(url);
    url.username = '';
    url.password = '';
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Number.isFinite(ms) ? ms : 2 ** 31 - 1);
  try {
    const response = await fetch(url, {
      method: request.method,
      headers,
      body: request.body.length > 0 ? request.body : undefined,
      redirect: isNode ? 'manual' : 'follow',
      signal: controller.signal,
    });
    if (response.url && !policy.allows(new URL(response.url))) {
      throw httpError('denied', `${label} was redirected to ${response.url}, which is not allowed`);
    }
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(label, maxBytes);
    const chunks = [];
    let size = 0;
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size > maxBytes) {
          reader.cancel().catch(() => {});
          throw tooLarge(label, maxBytes);
        }
        chunks.push(value);
      }
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    // fetch has decoded a compressed body already: its encoding and length
    // headers would describe bytes Python never gets.
    const responseHeaders = [];
    for (const [name, value] of response.headers) {
      if (name === 'content-encoding' || name === 'content-length') continue;
      responseHeaders.push([name, Uint8Array.from(value, (c) => c.charCodeAt(0) & 0xff)]);
    }
    return { status: response.status, reason: response.statusText, headers: responseHeaders, body };
  } catch (error) {
    if (controller.signal.aborted) throw httpError('timeout', `${label}: no complete response within ${ms} ms`);
    throw asHttpError(error, request);
  } finally {
    clearTimeout(timer);
  }
}

function tooLarge(label, maxBytes) {
  return httpError('too-large', `${label}: the response body is larger than the host's cap of ${maxBytes} bytes`);
}
