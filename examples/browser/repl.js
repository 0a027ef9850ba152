// The REPL page: one interpreter on the main thread and one in a Web Worker,
// both with the JS module `page` registered.
import { isPyProxy, loadPython, loadPythonWorker, OpaqueObject, PythonTuple } from '../../adapters/js/src/index.js';

const $ = (id) => document.getElementById(id);
const output = $('output');

function show(text, kind) {
  const line = document.createElement('div');
  if (kind) line.className = kind;
  line.textContent = text;
  output.append(line);
}

/** The JS value Python returned, written as JS (the page shows what JS receives). */
function format(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  // A live Python object (a function, a class instance): its type.
  if (isPyProxy(value)) return `PyProxy(${value.type})`;
  if (value === null || typeof value !== 'object') return String(value);
  if (value instanceof OpaqueObject) return `OpaqueObject(${value.repr})`;
  if (value instanceof Uint8Array) return `Uint8Array [${value.join(', ')}]`;
  if (value instanceof PythonTuple) return `PythonTuple [${value.map(format).join(', ')}]`;
  if (Array.isArray(value)) return `[${value.map(format).join(', ')}]`;
  if (value instanceof Set) return `Set {${[...value].map(format).join(', ')}}`;
  if (value instanceof Map) return `Map {${[...value].map(([k, v]) => `${format(k)} => ${format(v)}`).join(', ')}}`;
  return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${format(v)}`).join(', ')}}`;
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
    const value = where === 'worker' ? await workerPython.runPython(code) : mainPython.runPython(code);
    if (value !== null) show(format(value), 'value');
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
