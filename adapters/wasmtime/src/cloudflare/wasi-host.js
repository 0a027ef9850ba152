// The WASI 0.2 host of a pycomponent app inside a Cloudflare Worker (or any
// runtime with Fetch and JSPI): wasi:http over the Worker's Request,
// Response and fetch, and the rest of WASI granting nothing (no files, no
// environment variables, an empty stdin). Written by `pycomponent build
// --target cloudflare`; jco's bindings call it with JSPI, so the methods
// that wait (pollable.block, blocking reads and poll) may return a Promise.

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Grants of outgoing HTTP as the CLI's --allow-http parsed them. */
function grantMatches(grant, url) {
  const scheme = url.protocol.slice(0, -1);
  if (grant.scheme !== null && grant.scheme !== scheme) return false;
  const host = url.hostname;
  let hostMatches;
  if (grant.host.any) hostMatches = host !== '';
  else if (grant.host.exact !== undefined) hostMatches = host === grant.host.exact;
  else {
    const suffix = `.${grant.host.subdomains}`;
    hostMatches = host.endsWith(suffix) && host.length > suffix.length;
  }
  const defaultPort = url.port === '';
  const port = defaultPort ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  let portMatches;
  if (grant.port === 'default') portMatches = defaultPort;
  else if (grant.port === 'any') portMatches = true;
  else portMatches = port >= grant.port[0] && port <= grant.port[1];
  return hostMatches && portMatches;
}

/** The grant that would allow `url`, as --allow-http spells it. */
function grantFor(url) {
  return `${url.protocol}//${url.host}`;
}

/** Something a pollable waits for: ready now, at a time, or when a promise settles. */
class Pollable {
  /** @param {() => boolean} isReady @param {() => Promise<void>} wait */
  constructor(isReady, wait) {
    this.isReady = isReady;
    this.wait = wait;
  }
  static readyNow() {
    return new Pollable(() => true, () => Promise.resolve());
  }
  static at(deadlineNs) {
    const left = () => Number(deadlineNs - monotonicNow()) / 1e6;
    // A timer may fire a little before the clock reads its deadline
    // (rounding, a coarse clock): wait again until it does.
    const wait = async () => {
      while (left() > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(left()))));
    };
    return new Pollable(() => left() <= 0, wait);
  }
  ready() {
    return this.isReady();
  }
  block() {
    return this.isReady() ? undefined : this.wait();
  }
}

function monotonicNow() {
  return BigInt(Math.round(performance.now() * 1e6));
}

class IoError {
  constructor(message) {
    this.message = message;
  }
  toDebugString() {
    return this.message;
  }
}

const streamFailed = (message) => ({ tag: 'last-operation-failed', val: new IoError(message) });

/**
 * Bytes that arrive from a source: an HTTP body read from a Fetch
 * ReadableStream, or nothing at all (stdin).
 */
class InputStream {
  #reader;
  #buffer = EMPTY;
  #done;
  #failure = null;
  #pending = null;

  /** @param {ReadableStream<Uint8Array> | null} body */
  constructor(body) {
    this.#reader = body ? body.getReader() : null;
    this.#done = !body;
  }

  /** Fetches the next chunk into the buffer; settles when one arrived or the stream ended. */
  #fill() {
    this.#pending ??= this.#reader.read().then(
      ({ value, done }) => {
        this.#pending = null;
        if (done) this.#done = true;
        else this.#buffer = value instanceof Uint8Array ? value : new Uint8Array(value);
      },
      (error) => {
        this.#pending = null;
        this.#failure = String(error?.message ?? error);
      },
    );
    return this.#pending;
  }

  #take(len) {
    const count = Math.min(Number(len), this.#buffer.length);
    const bytes = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return bytes.slice();
  }

  #available() {
    return this.#buffer.length > 0 || this.#done || this.#failure !== null;
  }

  read(len) {
    if (this.#buffer.length > 0) return this.#take(len);
    if (this.#failure !== null) throw streamFailed(this.#failure);
    if (this.#done) throw { tag: 'closed' };
    this.#fill();
    return EMPTY;
  }

  /** Settles once there are bytes, an end or a failure to report (an empty chunk is not one). */
  async #untilAvailable() {
    while (!this.#available()) await this.#fill();
  }

  blockingRead(len) {
    if (this.#available()) return this.read(len);
    return this.#untilAvailable().then(() => this.read(len));
  }

  skip(len) {
    return BigInt(this.read(len).length);
  }

  blockingSkip(len) {
    const skipped = this.blockingRead(len);
    return skipped instanceof Promise ? skipped.then((b) => BigInt(b.length)) : BigInt(skipped.length);
  }

  subscribe() {
    return new Pollable(() => this.#available(), () => this.#untilAvailable());
  }

  [Symbol.dispose]() {
    this.#reader?.cancel().catch(() => {});
  }
}

/** Bytes written to a sink: a response body, an outgoing request body, or the log. */
class OutputStream {
  /** @param {(bytes: Uint8Array) => void} sink @param {() => void} [onFlush] */
  constructor(sink, onFlush = () => {}) {
    this.sink = sink;
    this.onFlush = onFlush;
    this.closed = false;
  }
  checkWrite() {
    if (this.closed) throw { tag: 'closed' };
    return 1n << 20n;
  }
  write(contents) {
    if (this.closed) throw { tag: 'closed' };
    this.sink(contents);
  }
  blockingWriteAndFlush(contents) {
    this.write(contents);
    this.onFlush();
  }
  flush() {
    this.onFlush();
  }
  blockingFlush() {
    this.onFlush();
  }
  writeZeroes(len) {
    this.write(new Uint8Array(Number(len)));
  }
  blockingWriteZeroesAndFlush(len) {
    this.blockingWriteAndFlush(new Uint8Array(Number(len)));
  }
  splice() {
    throw streamFailed('splice is not supported');
  }
  blockingSplice() {
    throw streamFailed('splice is not supported');
  }
  subscribe() {
    return Pollable.readyNow();
  }
}

/** The log: complete lines go to console.log or console.error. */
function logStream(write) {
  const decoder = new TextDecoder();
  let pending = '';
  const stream = new OutputStream(
    (bytes) => {
      pending += decoder.decode(bytes, { stream: true });
      const end = pending.lastIndexOf('\n');
      if (end >= 0) {
        write(pending.slice(0, end));
        pending = pending.slice(end + 1);
      }
    },
    () => {},
  );
  stream.drain = () => {
    if (pending) write(pending);
    pending = '';
  };
  return stream;
}

const FORBIDDEN_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** HTTP header fields: a list of (name, value) pairs, names lower-cased. */
class Fields {
  constructor(entries = [], immutable = false) {
    this.list = entries;
    this.immutable = immutable;
  }
  static fromList(entries) {
    for (const [name] of entries) Fields.check(name);
    return new Fields(entries.map(([name, value]) => [name.toLowerCase(), value.slice()]));
  }
  static check(name) {
    if (!TOKEN.test(name)) throw { tag: 'invalid-syntax' };
    if (FORBIDDEN_HEADERS.has(name.toLowerCase())) throw { tag: 'forbidden' };
  }
  #mutate(name) {
    if (this.immutable) throw { tag: 'immutable' };
    Fields.check(name);
    return name.toLowerCase();
  }
  get(name) {
    const key = name.toLowerCase();
    return this.list.filter(([n]) => n === key).map(([, v]) => v.slice());
  }
  has(name) {
    const key = name.toLowerCase();
    return this.list.some(([n]) => n === key);
  }
  set(name, values) {
    const key = this.#mutate(name);
    this.list = this.list.filter(([n]) => n !== key).concat(values.map((v) => [key, v.slice()]));
  }
  delete(name) {
    const key = this.#mutate(name);
    this.list = this.list.filter(([n]) => n !== key);
  }
  append(name, value) {
    this.list.push([this.#mutate(name), value.slice()]);
  }
  entries() {
    return this.list.map(([n, v]) => [n, v.slice()]);
  }
  clone() {
    return new Fields(this.entries());
  }
  /** As Fetch Headers; a value that is not valid there is left out with a note. */
  toHeaders(log) {
    const headers = new Headers();
    const decoder = new TextDecoder();
    for (const [name, value] of this.list) {
      try {
        headers.append(name, decoder.decode(value));
      } catch (error) {
        log(`pycomponent: header ${name} left out: ${error.message}`);
      }
    }
    return headers;
  }
  static fromHeaders(headers) {
    return new Fields([...headers].map(([name, value]) => [name, encoder.encode(value)]), true);
  }
}

const METHODS = ['get', 'head', 'post', 'put', 'delete', 'connect', 'options', 'trace', 'patch'];
const methodVariant = (name) => (METHODS.includes(name.toLowerCase()) ? { tag: name.toLowerCase() } : { tag: 'other', val: name });
const methodName = (variant) => (variant.tag === 'other' ? variant.val : variant.tag.toUpperCase());

/** A request's or response's body, read by the guest. */
class IncomingBody {
  constructor(stream) {
    this.input = stream;
    this.taken = false;
  }
  stream() {
    if (this.taken) throw undefined;
    this.taken = true;
    return this.input;
  }
  static finish(_body) {
    return new FutureTrailers();
  }
}

class FutureTrailers {
  subscribe() {
    return Pollable.readyNow();
  }
  get() {
    return { tag: 'ok', val: { tag: 'ok', val: undefined } };
  }
}

/** A request or response the guest reads: its headers, and its body once. */
class IncomingMessage {
  /** @param {Headers} headers @param {ReadableStream<Uint8Array> | null} body */
  constructor(headers, body) {
    this.fields = Fields.fromHeaders(headers);
    this.source = body;
    this.consumed = false;
  }
  headers() {
    return this.fields;
  }
  consume() {
    if (this.consumed) throw undefined;
    this.consumed = true;
    return new IncomingBody(new InputStream(this.source));
  }
}

class IncomingRequest extends IncomingMessage {
  /** @param {Request} request */
  constructor(request) {
    super(request.headers, request.body);
    this.request = request;
    this.url = new URL(request.url);
  }
  method() {
    return methodVariant(this.request.method);
  }
  pathWithQuery() {
    return this.url.pathname + this.url.search;
  }
  scheme() {
    return this.url.protocol === 'https:' ? { tag: 'HTTPS' } : { tag: 'HTTP' };
  }
  authority() {
    return this.url.host;
  }
}

/**
 * A body the guest writes: to a ReadableStream that a Response sends as it
 * is written, or into a buffer (an outgoing request's body).
 */
class OutgoingBody {
  constructor() {
    this.chunks = [];
    this.controller = null;
    this.taken = false;
    this.finished = false;
    this.onFinish = () => {};
    this.output = new OutputStream((bytes) => {
      if (this.controller) this.controller.enqueue(bytes);
      else this.chunks.push(bytes);
    });
  }
  /** A ReadableStream of what was written and what will be. */
  readable() {
    return new ReadableStream({
      start: (controller) => {
        for (const chunk of this.chunks) controller.enqueue(chunk);
        this.chunks = [];
        if (this.finished) controller.close();
        else this.controller = controller;
      },
    });
  }
  bytes() {
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return all;
  }
  write() {
    if (this.taken) throw undefined;
    this.taken = true;
    return this.output;
  }
  static finish(body, _trailers) {
    body.finished = true;
    body.output.closed = true;
    body.controller?.close();
    body.onFinish();
  }
  /** Ends the body without finishing it: the client sees a cut-short response. */
  abandon(reason) {
    if (this.finished) return;
    this.finished = true;
    this.output.closed = true;
    this.controller?.error(new Error(reason));
  }
}

class OutgoingResponse {
  constructor(headers) {
    this.status = 200;
    this.fields = headers;
    this.fields.immutable = true;
    this.outgoing = new OutgoingBody();
    this.bodyTaken = false;
  }
  statusCode() {
    return this.status;
  }
  setStatusCode(code) {
    if (code < 100 || code > 599) throw undefined;
    this.status = code;
  }
  headers() {
    return this.fields;
  }
  body() {
    if (this.bodyTaken) throw undefined;
    this.bodyTaken = true;
    return this.outgoing;
  }
}

/** Where the guest puts its response: settles `promise` with a Fetch Response or an error code. */
class ResponseOutparam {
  constructor(log) {
    this.log = log;
    this.response = null;
    this.promise = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }
  static set(param, result) {
    if (param.response) return;
    if (result.tag === 'err') {
      param.resolve({ error: result.val });
      return;
    }
    const response = result.val;
    param.response = response;
    const nullBody = [101, 204, 205, 304].includes(response.status);
    param.resolve({
      response: new Response(nullBody ? null : response.outgoing.readable(), {
        status: response.status,
        headers: response.fields.toHeaders(param.log),
      }),
      body: response.outgoing,
    });
  }
}

class RequestOptions {
  constructor() {
    this.timeouts = {};
  }
  connectTimeout() {
    return this.timeouts.connect;
  }
  setConnectTimeout(ns) {
    this.timeouts.connect = ns;
  }
  firstByteTimeout() {
    return this.timeouts.firstByte;
  }
  setFirstByteTimeout(ns) {
    this.timeouts.firstByte = ns;
  }
  betweenBytesTimeout() {
    return this.timeouts.betweenBytes;
  }
  setBetweenBytesTimeout(ns) {
    this.timeouts.betweenBytes = ns;
  }
  /** The longest the whole request may take, in ms: the smallest timeout set, at most `cap`. */
  totalMs(cap) {
    const set = Object.values(this.timeouts).filter((ns) => ns !== undefined).map((ns) => Number(ns) / 1e6);
    return Math.min(cap, ...set);
  }
}

class OutgoingRequest {
  constructor(headers) {
    this.fields = headers;
    this.fields.immutable = true;
    this.methodValue = { tag: 'get' };
    this.schemeValue = undefined;
    this.authorityValue = undefined;
    this.pathValue = undefined;
    this.outgoing = new OutgoingBody();
    this.bodyTaken = false;
  }
  method() {
    return this.methodValue;
  }
  setMethod(method) {
    if (method.tag === 'other' && !TOKEN.test(method.val)) throw undefined;
    this.methodValue = method;
  }
  pathWithQuery() {
    return this.pathValue;
  }
  setPathWithQuery(path) {
    this.pathValue = path;
  }
  scheme() {
    return this.schemeValue;
  }
  setScheme(scheme) {
    if (scheme?.tag === 'other') throw undefined;
    this.schemeValue = scheme;
  }
  authority() {
    return this.authorityValue;
  }
  setAuthority(authority) {
    this.authorityValue = authority;
  }
  headers() {
    return this.fields;
  }
  body() {
    if (this.bodyTaken) throw undefined;
    this.bodyTaken = true;
    return this.outgoing;
  }
}

class IncomingResponse extends IncomingMessage {
  /** @param {Response} response */
  constructor(response) {
    super(response.headers, response.body);
    this.code = response.status;
  }
  status() {
    return this.code;
  }
}

/**
 * A response that is on its way: the fetch starts when the request's body
 * is finished (or when the guest first waits for the response).
 */
class FutureIncomingResponse {
  constructor(send) {
    this.send = send;
    this.outcome = undefined;
    this.taken = false;
    this.running = null;
  }
  start() {
    this.running ??= this.send().then(
      (response) => {
        this.outcome = { tag: 'ok', val: new IncomingResponse(response) };
      },
      (errorCode) => {
        this.outcome = { tag: 'err', val: errorCode };
      },
    );
    return this.running;
  }
  subscribe() {
    return new Pollable(() => this.outcome !== undefined, () => this.start());
  }
  get() {
    if (this.outcome === undefined) return undefined;
    if (this.taken) return { tag: 'err', val: undefined };
    this.taken = true;
    return { tag: 'ok', val: this.outcome };
  }
}

/** Fetch's failure as a wasi:http error code. */
function errorCodeOf(error, timedOut) {
  if (timedOut) return { tag: 'connection-read-timeout' };
  const message = String(error?.message ?? error);
  return { tag: 'internal-error', val: message };
}

/**
 * The import object for jco's `instantiate`, and the functions that run one
 * incoming request through the component.
 * @param {{ allowHttp: object[], requestTimeoutMs: number, maxRequestsPerRequest: number }} policy
 *   the grants of outgoing HTTP (parsed by the CLI) and its limits
 */
export function workerHost(policy) {
  const stdout = logStream((line) => console.log(line));
  const stderr = logStream((line) => console.error(line));
  let sent = 0;

  function handle(request, options) {
    const scheme = request.schemeValue?.tag === 'HTTP' ? 'http:' : 'https:';
    let url;
    try {
      url = new URL(`${scheme}//${request.authorityValue ?? ''}${request.pathValue ?? '/'}`);
    } catch {
      throw { tag: 'HTTP-request-URI-invalid' };
    }
    if (!policy.allowHttp.some((grant) => grantMatches(grant, url))) {
      console.error(`pycomponent: ${methodName(request.methodValue)} ${url} denied: the Worker was built without --allow-http ${grantFor(url)}`);
      throw { tag: 'HTTP-request-denied' };
    }
    if (sent >= policy.maxRequestsPerRequest) throw { tag: 'connection-limit-reached' };
    sent += 1;
    const timeoutMs = (options ?? new RequestOptions()).totalMs(policy.requestTimeoutMs);
    const method = methodName(request.methodValue);
    const future = new FutureIncomingResponse(async () => {
      const body = ['GET', 'HEAD'].includes(method) ? undefined : request.outgoing.bytes();
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
      try {
        const headers = request.fields.toHeaders(console.error);
        return await fetch(url, { method, headers, body, redirect: 'manual', signal: controller.signal });
      } catch (error) {
        throw errorCodeOf(error, timedOut);
      } finally {
        clearTimeout(timer);
      }
    });
    // The body is complete when the guest finishes it; a guest that waits
    // for the response first sends what it wrote so far.
    request.outgoing.onFinish = () => future.start();
    return future;
  }

  const notAFile = () => {
    throw 'bad-descriptor';
  };
  class Descriptor {
    constructor() {
      notAFile();
    }
  }
  class DirectoryEntryStream {
    constructor() {
      notAFile();
    }
  }
  class Terminal {}

  const imports = {
    'wasi:cli/environment': { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined },
    'wasi:cli/exit': {
      exit(status) {
        throw new Error(`the component exited (${status.tag === 'ok' ? 'status 0' : 'with an error'})`);
      },
    },
    'wasi:cli/stdin': { getStdin: () => new InputStream(null) },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/terminal-input': { TerminalInput: Terminal },
    'wasi:cli/terminal-output': { TerminalOutput: Terminal },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:clocks/monotonic-clock': {
      now: monotonicNow,
      resolution: () => 1000n,
      subscribeInstant: (at) => Pollable.at(at),
      subscribeDuration: (ns) => Pollable.at(monotonicNow() + ns),
    },
    'wasi:clocks/wall-clock': {
      now() {
        const ms = Date.now();
        return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1e6 };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1e6 }),
    },
    'wasi:filesystem/preopens': { getDirectories: () => [] },
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
    'wasi:http/outgoing-handler': { handle },
    'wasi:http/types': {
      Fields,
      FutureIncomingResponse,
      FutureTrailers,
      IncomingBody,
      IncomingRequest,
      IncomingResponse,
      OutgoingBody,
      OutgoingRequest,
      OutgoingResponse,
      RequestOptions,
      ResponseOutparam,
    },
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': {
      Pollable,
      // Returns the indices of the ready pollables, never none: the WASI
      // adapter takes an empty answer for an error (ENOTSUP in Python).
      poll(list) {
        const ready = () => Uint32Array.from(list.flatMap((p, i) => (p.ready() ? [i] : [])));
        const now = ready();
        if (now.length > 0) return now;
        return (async () => {
          for (;;) {
            await Promise.race(list.map((p) => p.wait()));
            const found = ready();
            if (found.length > 0) return found;
          }
        })();
      },
    },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:random/random': {
      getRandomBytes(len) {
        const bytes = new Uint8Array(Number(len));
        for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
        return bytes;
      },
      getRandomU64() {
        const [value] = crypto.getRandomValues(new BigUint64Array(1));
        return value;
      },
    },
  };

  /**
   * Runs one request through `incomingHandler.handle`; resolves to the
   * Response as soon as the guest sets it (its body may still be streaming)
   * and to `done` when the handler returned.
   */
  function serve(incomingHandler, request) {
    sent = 0;
    const outparam = new ResponseOutparam(console.error);
    const done = Promise.resolve()
      .then(() => incomingHandler.handle(new IncomingRequest(request), outparam))
      .finally(() => {
        stdout.drain();
        stderr.drain();
      });
    return { outparam, done };
  }

  return { imports, serve };
}
