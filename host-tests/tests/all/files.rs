//! The instance's file system: the in-memory tree (`/tmp`, the home
//! directory, `/dev`), its cap, its isolation between instances, granted
//! directories inside it, the standard streams, and the embedder's access.

use std::path::PathBuf;
use std::sync::OnceLock;

use pycomponent::{Error, FileKind, HostModules, Instance, Limits, Mount, Runtime, Value};

use super::component::runtime;

fn instance() -> Instance {
    runtime().instantiate(HostModules::new()).expect("instantiates")
}

/// Runs `code` (statements, then a final expression) and gives its value.
fn run(py: &mut Instance, code: &str) -> Value {
    let reply = py.run(code).expect("no trap");
    reply.result.unwrap_or_else(|e| panic!("{code}:\n{}", e.traceback))
}

/// A host directory of this test process, made empty.
fn host_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pycomponent-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_tree_behaves_as_linux_does_for_the_standard_library() {
    let mut py = instance();
    let code = r#"
import os, tempfile, pathlib, shutil, sqlite3, zipfile, json, io
checks = {}
checks['cwd'] = os.getcwd()
checks['home'] = os.path.expanduser('~')
checks['root'] = sorted(os.listdir('/'))
checks['root_is_dir'] = os.path.isdir('/') and os.stat('/').st_ino == os.stat('/..').st_ino
checks['tempdir'] = tempfile.gettempdir()
d = pathlib.Path(tempfile.mkdtemp())
(d / 'a.json').write_text(json.dumps([1]))
checks['roundtrip'] = (d / 'a.json').read_text()
with tempfile.NamedTemporaryFile('w+', suffix='.txt', dir=d, delete=False) as f:
    f.write('named'); f.flush(); f.seek(0)
    checks['named'] = f.read()
shutil.copytree(d, d.parent / 'copy')
shutil.move(str(d.parent / 'copy'), str(pathlib.Path.home() / 'moved'))
checks['moved'] = sorted(p.name for p in (pathlib.Path.home() / 'moved').iterdir())
db = sqlite3.connect(str(d / 'db.sqlite'))
db.execute('create table t (x)'); db.executemany('insert into t values (?)', [(i,) for i in range(100)]); db.commit()
checks['sqlite'] = db.execute('select sum(x) from t').fetchone()[0]
db.close()
with zipfile.ZipFile(d / 'z.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('inner.txt', 'zipped' * 100)
checks['zip'] = zipfile.ZipFile(d / 'z.zip').read('inner.txt')[:6].decode()
os.rename(d / 'a.json', d / 'b.json')
os.remove(d / 'b.json')
checks['exists_after_remove'] = (d / 'b.json').exists()
with open(d / 'append', 'a') as f: f.write('1')
with open(d / 'append', 'a') as f: f.write('2')
checks['append'] = open(d / 'append').read()
with open(d / 'rw', 'w+b') as f:
    f.write(b'0123456789'); f.seek(2); f.write(b'xx'); f.truncate(6); f.seek(0)
    checks['seek_truncate'] = f.read().decode()
os.makedirs(d / 'x' / 'y' / 'z')
checks['walk'] = [(os.path.relpath(r, d), sorted(ds), sorted(fs)) for r, ds, fs in os.walk(d / 'x')]
shutil.rmtree(d)
checks['rmtree'] = d.exists()
with open(os.devnull, 'w') as null: checks['devnull'] = null.write('gone')
checks['zero'] = open('/dev/zero', 'rb').read(4)
checks['urandom'] = len(open('/dev/urandom', 'rb').read(16))
checks['errors'] = []
for call in [lambda: open('/nope'), lambda: os.mkdir('/tmp'), lambda: os.rmdir('/home'), lambda: open('/tmp', 'w'), lambda: os.listdir('/dev/null')]:
    try:
        call()
    except OSError as e:
        checks['errors'].append(type(e).__name__)
checks
"#;
    let checks = run(&mut py, code);
    let get = |key: &str| match &checks {
        Value::Dict(items) => items
            .iter()
            .find(|(k, _)| *k == Value::from(key))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {key}")),
        other => panic!("{other}"),
    };
    assert_eq!(get("cwd"), Value::from("/home/user"));
    assert_eq!(get("home"), Value::from("/home/user"));
    assert_eq!(get("root"), Value::List(["dev", "home", "tmp", "usr"].map(Value::from).to_vec()));
    assert_eq!(get("root_is_dir"), Value::from(true));
    assert_eq!(get("tempdir"), Value::from("/tmp"));
    assert_eq!(get("roundtrip"), Value::from("[1]"));
    assert_eq!(get("named"), Value::from("named"));
    assert_eq!(get("moved").to_string().matches(".json").count(), 1, "{}", get("moved"));
    assert_eq!(get("sqlite"), Value::from(4950));
    assert_eq!(get("zip"), Value::from("zipped"));
    assert_eq!(get("exists_after_remove"), Value::from(false));
    assert_eq!(get("append"), Value::from("12"));
    assert_eq!(get("seek_truncate"), Value::from("01xx45"));
    assert_eq!(get("walk").to_string(), "[('x', ['y'], []), ('x/y', ['z'], []), ('x/y/z', [], [])]");
    assert_eq!(get("rmtree"), Value::from(false));
    assert_eq!(get("devnull"), Value::from(4));
    assert_eq!(get("zero"), Value::Bytes(vec![0; 4]));
    assert_eq!(get("urandom"), Value::from(16));
    assert_eq!(
        get("errors"),
        Value::List(
            ["FileNotFoundError", "FileExistsError", "OSError", "IsADirectoryError", "NotADirectoryError"]
                .map(Value::from)
                .to_vec()
        )
    );
}

#[test]
fn the_standard_streams_have_descriptors_and_are_still_captured() {
    let mut py = instance();
    let reply = py
        .run("import os, sys\nprint('a')\nos.write(1, b'b\\n')\nos.write(2, b'e')\n[s.fileno() for s in (sys.stdin, sys.stdout, sys.stderr, sys.__stderr__)] + [sys.stdout.isatty(), sys.stdin.read()]")
        .unwrap();
    assert_eq!(reply.output.stdout, "a\nb\n");
    assert_eq!(reply.output.stderr, "e");
    assert_eq!(reply.result.unwrap().to_string(), "[0, 1, 2, 2, False, '']");
    // The next call starts with nothing captured.
    assert_eq!(py.exec("pass").unwrap().output.stdout, "");
}

#[test]
fn every_instance_starts_with_an_empty_tree_of_its_own() {
    let mut a = instance();
    a.exec("open('/tmp/mine', 'w').write('a')\nopen('/home/user/notes', 'w').write('a')")
        .unwrap()
        .result
        .unwrap();
    let mut b = instance();
    assert_eq!(run(&mut b, "import os\nos.listdir('/tmp') + os.listdir('.')"), Value::List(vec![]));
    b.exec("open('/tmp/mine', 'w').write('b')").unwrap().result.unwrap();
    assert_eq!(a.read_file("/tmp/mine").unwrap(), b"a");
    assert_eq!(b.read_file("/tmp/mine").unwrap(), b"b");
    drop(a);
    let mut c = instance();
    assert!(matches!(c.read_file("/tmp/mine"), Err(Error::File(e)) if e.code == "ENOENT"));
}

/// A runtime whose instances' trees hold at most 1 MiB.
fn small_tree() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let limits = Limits { file_system_bytes: 1 << 20, max_instances: 4, ..Limits::default() };
        Runtime::with_limits(&host_tests::component_path(), limits).expect("the component compiles")
    })
}

#[test]
fn the_tree_is_capped_and_the_instance_survives_the_cap() {
    let mut py = small_tree().instantiate(HostModules::new()).unwrap();
    let (used, cap) = py.file_system_usage().unwrap();
    assert_eq!(cap, 1 << 20);
    let code = r#"
import errno
f = open('/tmp/big', 'wb')
try:
    for _ in range(64):
        f.write(b'x' * 65536)
    outcome = 'no error'
except OSError as e:
    outcome = errno.errorcode[e.errno]
outcome
"#;
    assert_eq!(run(&mut py, code), Value::from("ENOSPC"));
    let (full, _) = py.file_system_usage().unwrap();
    assert!(full > used && full <= 1 << 20, "{used} -> {full}");
    // Many small files meet the cap too (every entry costs).
    let many = "import errno\ntry:\n    [open(f'/tmp/e{i}', 'w').close() for i in range(100000)]\n    r = 'no error'\nexcept OSError as e:\n    r = errno.errorcode[e.errno]\nr";
    assert_eq!(run(&mut py, many), Value::from("ENOSPC"));
    // Freeing space makes room again.
    py.exec("import os, shutil\nf.close()\nos.remove('/tmp/big')\nfor n in os.listdir('/tmp'): os.remove('/tmp/' + n)")
        .unwrap()
        .result
        .unwrap();
    assert!(py.file_system_usage().unwrap().0 <= used + 1024);
    py.write_file("/tmp/again", &vec![7; 512 << 10]).unwrap();
    let err = py.write_file("/tmp/too-much", &vec![7; 768 << 10]).unwrap_err();
    assert!(matches!(&err, Error::File(e) if e.code == "ENOSPC"), "{err}");
    assert_eq!(run(&mut py, "6 * 7"), Value::from(42));
}

#[test]
fn the_embedder_reads_and_writes_the_instances_files() {
    let mut py = instance();
    py.create_dir_all("/srv/input/deep").unwrap();
    py.write_file("/srv/input/deep/data.csv", b"a,b\n1,2\n").unwrap();
    py.write_file("relative.txt", b"home").unwrap();
    let code = "import csv\nrows = list(csv.reader(open('/srv/input/deep/data.csv')))\nopen('/tmp/out.txt', 'w').write(repr(rows))\nopen('relative.txt').read()";
    assert_eq!(run(&mut py, code), Value::from("home"));
    assert_eq!(py.read_file("/tmp/out.txt").unwrap(), b"[['a', 'b'], ['1', '2']]");
    assert_eq!(py.read_dir("/srv/input").unwrap(), vec!["deep".to_string()]);
    assert_eq!(py.read_dir("/home/user").unwrap(), vec!["relative.txt".to_string()]);
    let stat = py.metadata("/srv/input/deep/data.csv").unwrap();
    assert_eq!((stat.kind, stat.size), (FileKind::File, 8));
    assert!(stat.modified_ns > 1_700_000_000_000_000_000, "a real time stamp: {}", stat.modified_ns);
    assert_eq!(py.metadata("/srv").unwrap().kind, FileKind::Directory);
    assert_eq!(py.metadata("/dev/null").unwrap().kind, FileKind::Other);
    py.rename("/tmp/out.txt", "/srv/out.txt").unwrap();
    py.remove_file("/srv/out.txt").unwrap();
    let code_of = |err: Error| match err {
        Error::File(e) => {
            assert!(!e.message.is_empty());
            e.code
        }
        other => panic!("not a file error: {other}"),
    };
    assert_eq!(code_of(py.read_file("/srv/out.txt").unwrap_err()), "ENOENT");
    assert_eq!(code_of(py.read_file("/srv").unwrap_err()), "EISDIR");
    assert_eq!(code_of(py.remove_dir("/srv/input").unwrap_err()), "ENOTEMPTY");
    assert_eq!(code_of(py.remove_file("/srv/input").unwrap_err()), "EISDIR");
    assert_eq!(code_of(py.create_dir("/srv").unwrap_err()), "EEXIST");
    assert_eq!(code_of(py.write_file("/no/such/dir/f", b"").unwrap_err()), "ENOENT");
    assert_eq!(code_of(py.write_file("/tmp/nul\0byte", b"").unwrap_err()), "EINVAL");
    py.remove_file("/srv/input/deep/data.csv").unwrap();
    py.remove_dir("/srv/input/deep").unwrap();
    // The instance is still fine after the errors.
    assert_eq!(run(&mut py, "1 + 1"), Value::from(2));
}

#[test]
fn granted_directories_sit_inside_the_tree() {
    let dir = host_dir("grant");
    std::fs::write(dir.join("in.txt"), "from the host").unwrap();
    let mount = Mount { host: dir.clone(), guest: "/data/shared".into(), writable: true };
    let mut py = runtime().instantiate_with_mounts(HostModules::new(), &[mount]).unwrap();
    let code = r#"
import os, shutil, errno
seen = {}
seen['root'] = sorted(os.listdir('/'))
seen['data'] = os.listdir('/data')
seen['in'] = open('/data/shared/in.txt').read()
seen['dotdot'] = open('/data/shared/../shared/in.txt').read()
open('/tmp/made-here', 'w').write('moved out')
try:
    os.rename('/tmp/made-here', '/data/shared/made-here')
except OSError as e:
    seen['rename'] = errno.errorcode[e.errno]
shutil.move('/tmp/made-here', '/data/shared/made-here')
seen['moved'] = sorted(os.listdir('/data/shared'))
try:
    os.rmdir('/data/shared')
except OSError as e:
    seen['rmdir'] = type(e).__name__
seen
"#;
    let seen = run(&mut py, code).to_string();
    assert_eq!(
        seen,
        "{'root': ['data', 'dev', 'home', 'tmp', 'usr'], 'data': ['shared'], 'in': 'from the host', \
         'dotdot': 'from the host', 'rename': 'EXDEV', 'moved': ['in.txt', 'made-here'], 'rmdir': 'OSError'}"
    );
    assert_eq!(std::fs::read_to_string(dir.join("made-here")).unwrap(), "moved out");
    // The embedder's access goes through the grant too.
    py.write_file("/data/shared/from-embedder", b"e").unwrap();
    assert_eq!(std::fs::read(dir.join("from-embedder")).unwrap(), b"e");
    assert_eq!(py.read_file("/data/shared/in.txt").unwrap(), b"from the host");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_read_only_grant_refuses_the_embedders_writes_too() {
    let dir = host_dir("ro");
    let mount = Mount { host: dir.clone(), guest: "/ro".into(), writable: false };
    let mut py = runtime().instantiate_with_mounts(HostModules::new(), &[mount]).unwrap();
    let err = py.write_file("/ro/x", b"x").unwrap_err();
    assert!(
        matches!(&err, Error::File(e) if ["EACCES", "EPERM", "EROFS", "ENOTCAPABLE"].contains(&e.code.as_str())),
        "{err}"
    );
    assert!(!dir.join("x").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn nothing_of_the_tree_reaches_the_host() {
    let canary = host_dir("canary");
    std::fs::write(canary.join("canary.txt"), "untouched").unwrap();
    let mut py = instance();
    let canary_path = canary.join("canary.txt").display().to_string();
    let code = format!(
        "import os\nfor i in range(50): open(f'/tmp/f{{i}}', 'w').write('x' * 1000)\nos.makedirs('/tmp/a/b')\n\
         outcome = []\nfor p in [{canary_path:?}, '/etc/passwd', '/proc/self/environ']:\n    \
         try:\n        open(p, 'w').write('overwritten')\n        outcome.append('written')\n    \
         except OSError as e:\n        outcome.append(type(e).__name__)\noutcome"
    );
    let outcome = run(&mut py, &code).to_string();
    assert!(!outcome.contains("written"), "{outcome}");
    assert_eq!(std::fs::read_to_string(canary.join("canary.txt")).unwrap(), "untouched");
    assert_eq!(std::fs::read_dir(&canary).unwrap().count(), 1);
    std::fs::remove_dir_all(canary).unwrap();
}

#[test]
fn modules_and_zip_files_in_the_tree_import() {
    let mut py = instance();
    py.create_dir_all("/home/user/lib/pkg").unwrap();
    py.write_file("/home/user/lib/pkg/__init__.py", b"from .core import VALUE\n").unwrap();
    py.write_file("/home/user/lib/pkg/core.py", b"VALUE = 'from the tree'\n").unwrap();
    let code = "import sys, zipfile\n\
                with zipfile.ZipFile('/tmp/lib.zip', 'w') as z:\n    z.writestr('zipped.py', 'WHERE = __file__\\n')\n\
                sys.path[:0] = ['/home/user/lib', '/tmp/lib.zip']\n\
                import pkg, zipped\n\
                [pkg.VALUE, pkg.__file__, zipped.WHERE]";
    assert_eq!(
        run(&mut py, code).to_string(),
        "['from the tree', '/home/user/lib/pkg/__init__.py', '/tmp/lib.zip/zipped.py']"
    );
}

/// The stdlib sources beside the component give tracebacks their library
/// lines, as `python3.11` prints them, and `inspect` its sources.
#[test]
fn tracebacks_show_library_source_lines_with_the_sources_zip() {
    let zip = std::fs::read(host_tests::component_path().with_file_name(pycomponent::sources::FILE_NAME))
        .expect("cargo xtask component builds python311.zip beside the component");
    let plain = Runtime::new(&host_tests::component_path()).unwrap();
    let with_sources =
        Runtime::new(&host_tests::component_path()).unwrap().with_stdlib_sources(&zip).unwrap();
    let traceback = |runtime: &Runtime| {
        let mut py = runtime.instantiate(HostModules::new()).unwrap();
        py.exec("import json; json.loads('{')").unwrap().result.unwrap_err().traceback
    };
    let without = traceback(&plain);
    assert!(
        without.contains("File \"/usr/local/lib/python3.11/json/decoder.py\", line 353, in raw_decode\n")
    );
    assert!(!without.contains("obj, end = self.scan_once(s, idx)"), "no sources, no lines:\n{without}");
    let with = traceback(&with_sources);
    assert!(
        with.contains(
            "  File \"/usr/local/lib/python3.11/json/decoder.py\", line 353, in raw_decode\n    obj, end = self.scan_once(s, idx)\n"
        ),
        "{with}"
    );
    assert!(!with.contains(".cache"), "no build-machine path: {with}");
    let mut py = with_sources.instantiate(HostModules::new()).unwrap();
    let source = run(
        &mut py,
        "import inspect, json\ninspect.getsource(json.dumps)[:9], inspect.getsourcefile(json.JSONDecoder)",
    );
    assert_eq!(source.to_string(), "('def dumps', '/usr/local/lib/python3.11/json/decoder.py')");
    // The grant shows only the zip (and the tree's own directories).
    let listing = run(
        &mut py,
        "import os\nsorted(os.listdir('/usr/local/lib')), os.listdir('/usr/local/lib/python3.11')",
    );
    assert_eq!(listing.to_string(), "(['python3.11', 'python311.zip'], ['site-packages'])");
    let err = py.exec("open('/usr/local/lib/python311.zip', 'ab')").unwrap().result.unwrap_err();
    assert!(err.type_name.ends_with("Error"), "read-only: {}", err.type_name);
}

#[test]
fn mount_points_are_checked() {
    let dir = host_dir("points");
    for guest in ["/", "relative", "/a/../b", "/a/./b", ""] {
        let mount = Mount { host: dir.clone(), guest: guest.into(), writable: false };
        let err = runtime().instantiate_with_mounts(HostModules::new(), &[mount]).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{guest:?}: {err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
