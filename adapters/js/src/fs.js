// py.FS: the host's access to an interpreter's file system, in the names of
// Pyodide's (Emscripten's) FS where they exist. The file system itself is
// the component's own (component/src/vfs): the in-memory tree (/tmp, the
// home directory /home/user) with the same behaviour in every host. Each
// method runs one operation of `_pycomponent.file_operation`, the function
// behind the WIT `files` interface, through `call`: synchronously on the
// main thread, as a Promise in a worker.

import { FileSystemError } from './errors.js';

const FILE_OPERATION = '_pycomponent.file_operation';
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const KIND_MODES = [S_IFREG, S_IFDIR, S_IFCHR];

/** The IndexedDB store of FS.syncfs: one record per file or directory, keyed by its path. */
const STORE = 'entries';

/** Opens (creating if needed) the IndexedDB database `name`. */
function openDatabase(name) {
  if (typeof indexedDB === 'undefined') {
    return Promise.reject(new Error('FS.syncfs needs IndexedDB: a browser page or Web Worker (Node has none)'));
  }
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Runs `body(store)` in one transaction; resolves with what `body` gives once it commits. */
function transaction(db, mode, body) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    let result;
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    result = body(tx.objectStore(STORE));
  });
}

/** Runs `then` on a value or on the value a Promise gives. */
function after(value, then) {
  return value instanceof Promise ? value.then(then) : then(value);
}

function checkPath(path, method) {
  if (typeof path !== 'string') throw new TypeError(`FS.${method} takes a path string, got ${typeof path}`);
}

/**
 * The file system of one interpreter. Paths are the ones Python sees; a
 * relative path is taken from the working directory, /home/user.
 */
export class FileSystem {
  #call;

  /** @internal `call(name, ...args)` calls a Python function (Python.call or PythonWorker.call). */
  constructor(call) {
    this.#call = call;
  }

  #operation(method, operation, args, then = (value) => value) {
    checkPath(args[0], method);
    return after(this.#call(FILE_OPERATION, operation, args), ([code, value]) => {
      if (code !== null) throw new FileSystemError(code, value);
      return then(value);
    });
  }

  /**
   * Writes a file (text is written as UTF-8), replacing one that is there.
   * @param {string} path
   * @param {string | Uint8Array | ArrayBuffer} data
   */
  writeFile(path, data) {
    let bytes = data;
    if (typeof data === 'string') bytes = new TextEncoder().encode(data);
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (!(data instanceof Uint8Array)) throw new TypeError('FS.writeFile takes a string, a Uint8Array or an ArrayBuffer');
    return this.#operation('writeFile', 'write', [path, bytes], () => undefined);
  }

  /**
   * Reads a whole file: its bytes, or its text with `{ encoding: 'utf8' }`.
   * @param {string} path
   * @param {{ encoding?: 'binary' | 'utf8' | 'utf-8' }} [options]
   */
  readFile(path, options = {}) {
    const encoding = options.encoding ?? 'binary';
    if (!['binary', 'utf8', 'utf-8'].includes(encoding)) throw new TypeError(`FS.readFile: unknown encoding ${encoding}`);
    return this.#operation('readFile', 'read', [path], (bytes) =>
      encoding === 'binary' ? bytes : new TextDecoder().decode(bytes),
    );
  }

  /** Makes a directory; its parent must exist. @param {string} path */
  mkdir(path) {
    return this.#operation('mkdir', 'mkdir', [path, false], () => undefined);
  }

  /** Makes a directory and the missing ones above it. @param {string} path */
  mkdirTree(path) {
    return this.#operation('mkdirTree', 'mkdir', [path, true], () => undefined);
  }

  /** The names in a directory, `.` and `..` first, as Emscripten lists them. @param {string} path */
  readdir(path) {
    return this.#operation('readdir', 'list', [path], (names) => ['.', '..', ...names]);
  }

  /** Removes a file. @param {string} path */
  unlink(path) {
    return this.#operation('unlink', 'unlink', [path], () => undefined);
  }

  /** Removes an empty directory. @param {string} path */
  rmdir(path) {
    return this.#operation('rmdir', 'rmdir', [path], () => undefined);
  }

  /** Renames a file or directory, replacing a file at `newPath`. */
  rename(oldPath, newPath) {
    checkPath(newPath, 'rename');
    return this.#operation('rename', 'rename', [oldPath, newPath], () => undefined);
  }

  /**
   * What a path names: `mode` (file type bits, for `FS.isFile`/`FS.isDir`),
   * `size` in bytes and `mtime`, a Date.
   * @param {string} path
   */
  stat(path) {
    return this.#operation('stat', 'stat', [path], ([kind, size, mtimeNs]) => ({
      mode: KIND_MODES[kind] ?? 0,
      size: Number(size),
      mtime: new Date(Number(BigInt(mtimeNs) / 1_000_000n)),
    }));
  }

  /** Whether a path exists (a Promise of it in a worker). @param {string} path */
  exists(path) {
    checkPath(path, 'exists');
    return after(this.#call(FILE_OPERATION, 'stat', [path]), ([code]) => code === null);
  }

  /**
   * Keeps a directory of the tree in the browser's IndexedDB, like Pyodide's
   * IDBFS `syncfs`: `populate = false` saves the directory (its files and
   * subdirectories replace what the database held for it), `populate = true`
   * copies what the database holds back into the tree (over files of the same
   * path; other files stay). The tree itself lives in memory, so call it after
   * the runs whose files should last, and on a new interpreter before them.
   * @param {boolean} [populate]
   * @param {{ path?: string, database?: string }} [options] the directory
   *   (default /home/user) and the database name (default `pycomponent-fs`)
   * @returns {Promise<void>}
   */
  async syncfs(populate = false, options = {}) {
    const root = (options.path ?? '/home/user').replace(/\/+$/, '') || '/';
    checkPath(root, 'syncfs');
    if (!root.startsWith('/')) throw new TypeError('FS.syncfs takes an absolute path');
    const db = await openDatabase(options.database ?? 'pycomponent-fs');
    const prefix = root === '/' ? '/' : `${root}/`;
    const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
    try {
      if (populate) {
        const records = await transaction(db, 'readonly', (store) => {
          const found = [];
          store.openCursor(range).onsuccess = (event) => {
            const cursor = event.target.result;
            if (!cursor) return;
            found.push([cursor.key, cursor.value]);
            cursor.continue();
          };
          return found;
        });
        await this.mkdirTree(root);
        // Keys sort parents before children.
        for (const [path, record] of records) {
          if (record.dir) await this.mkdirTree(path);
          else await this.writeFile(path, record.data);
        }
      } else {
        const entries = [];
        await this.#collect(root, entries);
        await transaction(db, 'readwrite', (store) => {
          store.delete(range);
          for (const [path, record] of entries) store.put(record, path);
        });
      }
    } finally {
      db.close();
    }
  }

  /** Appends `[path, record]` for everything below directory `dir`. */
  async #collect(dir, entries) {
    for (const name of (await this.readdir(dir)).slice(2)) {
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      const stat = await this.stat(path);
      if (this.isDir(stat.mode)) {
        entries.push([path, { dir: true }]);
        await this.#collect(path, entries);
      } else if (this.isFile(stat.mode)) {
        entries.push([path, { data: await this.readFile(path), mtime: stat.mtime.getTime() }]);
      }
    }
  }

  /** Whether a `mode` from `stat` is a regular file's. @param {number} mode */
  isFile(mode) {
    return (mode & 0o170000) === S_IFREG;
  }

  /** Whether a `mode` from `stat` is a directory's. @param {number} mode */
  isDir(mode) {
    return (mode & 0o170000) === S_IFDIR;
  }
}
