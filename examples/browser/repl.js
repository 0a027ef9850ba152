// The REPL page: one interpreter on the main thread and one in a Web Worker,
// both with the JS module `page` registered.
import { isPyProxy, loadPython, loadPythonWorker, PythonTuple } from '../../adapters/js/src/index.js';

const $ = (id) => document.getElementById(id);
const output = $('output');

function show(text, kind) {
  const line = document.createElement('div');
  if (kind) line.className = kind;
  line.textContent = text;
  output.append(line);
}

/**
 * The repr() of each live Python object (PyProxy) in a value, asked of the
 * interpreter that gave it before the value is written (a worker answers
 * with Promises).
 */
async function reprsIn(value, python) {
  const reprs = new Map();
  const visit = async (item) => {
    if (isPyProxy(item)) reprs.set(item, await python.call('repr', item));
    else if (item instanceof Map) for (const [key, entry] of item) await visit(key).then(() => visit(entry));
    else if (item instanceof Set || Array.isArray(item)) for (const entry of item) await visit(entry);
    else if (item !== null && typeof item === 'object' && !(item instanceof Uint8Array)) for (const entry of Object.values(item)) await visit(entry);
  };
  await visit(value);
  return reprs;
}

/** The JS value Python returned, written as JS (the page shows what JS receives); `reprs` from reprsIn. */
function format(value, reprs) {
  const item = (v) => format(v, reprs);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  // A live Python object (a function, a class instance): its repr.
  if (isPyProxy(value)) return `PyProxy(${reprs.get(value)})`;
  if (value === null || typeof value !== 'object') return String(value);
  if (value instanceof Uint8Array) return `Uint8Array [${value.join(', ')}]`;
  if (value instanceof PythonTuple) return `PythonTuple [${value.map(item).join(', ')}]`;
  if (Array.isArray(value)) return `[${value.map(item).join(', ')}]`;
  if (value instanceof Set) return `Set {${[...value].map(item).join(', ')}}`;
  if (value instanceof Map) return `Map {${[...value].map(([k, v]) => `${item(k)} => ${item(v)}`).join(', ')}}`;
  return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${item(v)}`).join(', ')}}`;
}

const options = { stdout: (line) => show(line), stderr: (line) => show(line, 'error') };
const page = {
  greet: (name) => `Hello, ${name}, from ${navigator.userAgent.includes('Headless') ? 'headless ' : ''}JavaScript!`,
  title: () => document.title,
};

const started = performance.now();
const [mainPython, workerPython] = await Promise.all([loadPython(options), loadPythonWorker(options)]);
mainPython.registerJsModule('page', page);
workerPython.registerJsModule('page', page);
$('status').textContent = `ready in ${Math.round(performance.now() - started)} ms`;
$('run').disabled = false;

$('run').addEventListener('click', async () => {
  const where = document.querySelector('input[name=where]:checked').value;
  const code = $('code').value;
  output.replaceChildren();
  $('run').disabled = true;
  $('stop').disabled = where !== 'worker';
  $('status').textContent = `running (${where === 'worker' ? 'Web Worker' : 'main thread'})…`;
  const t0 = performance.now();
  try {
    const python = where === 'worker' ? workerPython : mainPython;
    // Not awaited on the main thread: an awaitable result (a coroutine) is shown, not run.
    const value = where === 'worker' ? await workerPython.runPython(code) : mainPython.runPython(code);
    if (value !== null) show(format(value, await reprsIn(value, python)), 'value');
  } catch (error) {
    show(error.traceback ?? `${error.name}: ${error.message}`, 'error');
  } finally {
    $('status').textContent = `done in ${(performance.now() - t0).toFixed(1)} ms`;
    $('run').disabled = false;
    $('stop').disabled = true;
  }
});
$('stop').addEventListener('click', () => workerPython.interrupt());
document.body.dataset.ready = 'true';
