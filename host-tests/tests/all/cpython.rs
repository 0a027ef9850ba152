//! CPython 3.11 for wasm32-wasi: the version, every module of the manifest,
//! and real use of the C-backed modules.

use serde::Deserialize;

use super::{run_code, run_ok};

#[derive(Debug, Deserialize)]
struct Manifest {
    python: String,
    modules: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    kind: String,
    included: bool,
    reason: Option<String>,
}

fn manifest() -> Manifest {
    let path = host_tests::cpython_build_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("manifest.json parses")
}

#[test]
fn it_is_cpython_3_11_on_wasi() {
    let out =
        run_ok("import sys; print(sys.version_info[:2] == (3, 11), sys.platform, sys.implementation.name)");
    assert_eq!(out, "True wasi cpython\n");
}

#[test]
fn manifest_gives_a_reason_for_every_left_out_module() {
    let manifest = manifest();
    assert_eq!(manifest.python, "3.11.2");
    for entry in &manifest.modules {
        assert_eq!(entry.included, entry.reason.is_none(), "{entry:?}");
    }
    let included = |name: &str| manifest.modules.iter().any(|e| e.name == name && e.included);
    for name in ["json", "sqlite3", "asyncio", "email.mime.text", "_sqlite3", "zlib", "_decimal", "pyexpat"] {
        assert!(included(name), "{name} should be in the manifest");
    }
    for name in ["tkinter", "test.support", "ensurepip", "_ssl", "_ctypes_test", "idlelib"] {
        assert!(!included(name), "{name} should be left out");
    }
}

/// Imports, inside python.wasm, every module the manifest says is in (but
/// `__main__` scripts, which run when imported) and reports the failures.
#[test]
fn every_included_module_imports() {
    let names: Vec<String> =
        manifest().modules.into_iter().filter(|e| e.included && e.kind != "main").map(|e| e.name).collect();
    assert!(names.len() > 400, "suspiciously few modules: {}", names.len());
    let code = format!(
        "import contextlib, importlib, io, warnings\n\
         warnings.simplefilter('ignore')\n\
         failed = []\n\
         for name in {names:?}:\n\
         \x20   try:\n\
         \x20       # Some modules print when imported (`this`).\n\
         \x20       with contextlib.redirect_stdout(io.StringIO()):\n\
         \x20           importlib.import_module(name)\n\
         \x20   except BaseException as e:\n\
         \x20       failed.append(f'{{name}}: {{type(e).__name__}}: {{e}}')\n\
         print('\\n'.join(failed) or 'all imported')\n"
    );
    assert_eq!(run_ok(&code), "all imported\n");
}

/// The files of left-out pure-Python modules are not shipped: importing one
/// fails with ImportError.
#[test]
fn left_out_modules_are_not_importable() {
    let names: Vec<String> = manifest()
        .modules
        .into_iter()
        .filter(|e| !e.included && e.kind != "main" && !e.name.starts_with("test."))
        .map(|e| e.name)
        .collect();
    let code = format!(
        "import importlib\n\
         imported = []\n\
         for name in {names:?}:\n\
         \x20   try:\n\
         \x20       importlib.import_module(name)\n\
         \x20       imported.append(name)\n\
         \x20   except ImportError:\n\
         \x20       pass\n\
         print(imported)\n"
    );
    assert_eq!(run_ok(&code), "[]\n");
}

#[test]
fn zlib_gzip_and_crc32_round_trip() {
    let out = run_ok(
        "import zlib, gzip, binascii, zipfile, io\n\
         data = b'pycomponent ' * 1000\n\
         assert zlib.decompress(zlib.compress(data, 9)) == data\n\
         assert gzip.decompress(gzip.compress(data)) == data\n\
         assert binascii.crc32(data) == zlib.crc32(data)\n\
         buf = io.BytesIO()\n\
         with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z: z.writestr('a.txt', data)\n\
         with zipfile.ZipFile(buf) as z: assert z.read('a.txt') == data\n\
         print(zlib.ZLIB_RUNTIME_VERSION, hex(zlib.crc32(b'hello')))",
    );
    assert_eq!(out, "1.2.13 0x3610a686\n");
}

#[test]
fn sqlite3_in_memory_table_and_query() {
    let out = run_ok(
        "import sqlite3\n\
         db = sqlite3.connect(':memory:')\n\
         db.execute('create table t (k text primary key, v integer)')\n\
         db.executemany('insert into t values (?, ?)', [(str(i), i * i) for i in range(100)])\n\
         print(sqlite3.sqlite_version, db.execute('select count(*), sum(v) from t where v % 2 = 0').fetchone())",
    );
    assert_eq!(out, "3.40.1 (50, 161700)\n");
}

#[test]
fn bz2_and_lzma_round_trip() {
    let out = run_ok(
        "import bz2, lzma\n\
         data = bytes(range(256)) * 200\n\
         assert bz2.decompress(bz2.compress(data)) == data\n\
         for fmt in (lzma.FORMAT_XZ, lzma.FORMAT_ALONE):\n\
         \x20   assert lzma.decompress(lzma.compress(data, format=fmt)) == data\n\
         print(len(bz2.compress(data)) < len(data), lzma.is_check_supported(lzma.CHECK_SHA256))",
    );
    assert_eq!(out, "True True\n");
}

#[test]
fn decimal_json_re_datetime() {
    let out = run_ok(
        "import decimal, json, re, datetime\n\
         decimal.getcontext().prec = 40\n\
         print(decimal.Decimal(2).sqrt())\n\
         print(json.loads(json.dumps({'a': [1, 2.5, None, 'é']}, ensure_ascii=False)))\n\
         print(re.findall(r'(\\w+)@(\\w+)\\.org', 'x@python.org, y@wasm.org'))\n\
         d = datetime.datetime(2026, 11, 25, 12, 0) + datetime.timedelta(days=7)\n\
         print(d.isoformat(), d.strftime('%A'))",
    );
    assert_eq!(
        out,
        "1.414213562373095048801688724209698078570\n\
         {'a': [1, 2.5, None, 'é']}\n\
         [('x', 'python'), ('y', 'wasm')]\n\
         2026-12-02T12:00:00 Wednesday\n"
    );
}

#[test]
fn hashlib_uses_the_builtin_hashes() {
    let out = run_ok(
        "import hashlib\n\
         for name in ['md5', 'sha1', 'sha256', 'sha512', 'sha3_256', 'blake2b']:\n\
         \x20   print(name, hashlib.new(name, b'abc').hexdigest()[:16])",
    );
    assert_eq!(
        out,
        "md5 900150983cd24fb0\nsha1 a9993e364706816a\nsha256 ba7816bf8f01cfea\n\
         sha512 ddaf35a193617aba\nsha3_256 3a985da74fe225b2\nblake2b ba80a53f981c4d0d\n"
    );
}

#[test]
fn unicodedata_and_pyexpat() {
    let out = run_ok(
        "import unicodedata, pyexpat, xml.etree.ElementTree as ET\n\
         print(unicodedata.name('λ'), unicodedata.normalize('NFD', 'é') == 'e\\u0301')\n\
         seen = []\n\
         p = pyexpat.ParserCreate()\n\
         p.StartElementHandler = lambda name, attrs: seen.append((name, attrs))\n\
         p.Parse('<a x=\"1\"><b/></a>', True)\n\
         print(seen, ET.fromstring('<r><i>7</i></r>').find('i').text)",
    );
    assert_eq!(out, "GREEK SMALL LETTER LAMDA True\n[('a', {'x': '1'}), ('b', {})] 7\n");
}

#[test]
fn exit_codes_and_uncaught_exceptions() {
    assert_eq!(run_code("import sys; sys.exit(3)").exit_code, 3);
    let out = run_code("raise ValueError('boom')");
    assert_eq!(out.exit_code, 1);
    assert!(out.stderr_text().contains("ValueError: boom"), "{}", out.stderr_text());
}
