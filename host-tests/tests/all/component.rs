//! The Python component through the Wasmtime adapter: values, state, errors,
//! output, imports, user modules and host calls.

use std::sync::OnceLock;

use pycomponent::{HostModules, Instance, Runtime, Value};

/// The runtime with default limits, shared by the tests.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(&host_tests::component_path()).expect("the component compiles"))
}

fn instance() -> Instance {
    runtime().instantiate(HostModules::new()).expect("instantiates")
}

fn eval_run(instance: &mut Instance, code: &str) -> Value {
    let reply = instance.run(code).expect("no trap");
    reply.result.unwrap_or_else(|e| panic!("{code}: {e}\n{}", e.traceback))
}

fn eval(instance: &mut Instance, expression: &str) -> Value {
    let reply = instance.eval(expression).expect("no trap");
    reply.result.unwrap_or_else(|e| panic!("{expression}: {e}\n{}", e.traceback))
}

#[test]
fn values_come_back_losslessly() {
    let mut py = instance();
    assert_eq!(eval(&mut py, "1 + 1"), Value::Int(2));
    assert_eq!(eval(&mut py, "None"), Value::None);
    assert_eq!(eval(&mut py, "2**100"), Value::BigInt("1267650600228229401496703205376".into()));
    assert_eq!(eval(&mut py, "-2**63"), Value::Int(i64::MIN));
    assert_eq!(eval(&mut py, "'é' * 2"), Value::Str("éé".into()));
    assert_eq!(eval(&mut py, "b'\\x00\\xff'"), Value::Bytes(vec![0, 255]));
    assert!(matches!(eval(&mut py, "float('nan')"), Value::Float(f) if f.is_nan()));
    assert_eq!(eval(&mut py, "float('-inf')"), Value::Float(f64::NEG_INFINITY));
    assert_eq!(
        eval(&mut py, "{(1, 2): [True, {3}], None: frozenset()}"),
        Value::Dict(vec![
            (
                Value::Tuple(vec![Value::Int(1), Value::Int(2)]),
                Value::List(vec![Value::Bool(true), Value::Set(vec![Value::Int(3)])])
            ),
            (Value::None, Value::FrozenSet(vec![])),
        ])
    );
    // Objects without a value mapping come back live (see objects.rs).
    let Value::Object(date) = eval(&mut py, "__import__('datetime').date(2026, 11, 25)") else {
        panic!("a live object")
    };
    assert_eq!(date.type_name(), "datetime.date");
}

/// Subclasses of int, float and str are converted by their C-level value:
/// their own `__str__`, `__repr__`, `__len__` or metaclass `__instancecheck__`
/// never decide what crosses the boundary (the WIT contract says a big-int
/// is decimal digits).
#[test]
fn subclasses_convert_by_their_value_not_their_python_methods() {
    let mut py = instance();
    py.exec(
        "class Meta(type):\n    def __instancecheck__(cls, obj): raise AssertionError('isinstance ran')\n\
         class I(int, metaclass=Meta):\n    def __str__(self): return 'not digits'\n    \
         def __repr__(self): return 'not digits'\n    def __index__(self): raise AssertionError('index ran')\n\
         class S(str):\n    def __len__(self): raise AssertionError('len ran')\n\
         class F(float):\n    def __float__(self): raise AssertionError('float ran')\n",
    )
    .unwrap()
    .result
    .unwrap();
    assert_eq!(eval(&mut py, "I(2**70)"), Value::BigInt("1180591620717411303424".into()));
    assert_eq!(eval(&mut py, "I(-2**64)"), Value::BigInt("-18446744073709551616".into()));
    assert_eq!(eval(&mut py, "I(7)"), Value::Int(7));
    assert_eq!(eval(&mut py, "S('text')"), Value::Str("text".into()));
    assert_eq!(eval(&mut py, "F(0.5)"), Value::Float(0.5));
}

#[test]
fn values_go_in_losslessly() {
    let mut py = instance();
    py.exec("def describe(*args, **kwargs): return [repr(a) for a in args], sorted(kwargs.items())")
        .unwrap()
        .result
        .unwrap();
    let args = [
        Value::BigInt("-98765432109876543210".into()),
        Value::Tuple(vec![Value::Bytes(b"x".to_vec())]),
        Value::Dict(vec![(Value::Int(1), Value::FrozenSet(vec![Value::from("a")]))]),
    ];
    let reply = py.call("describe", &args, &[("flag", Value::Bool(false))]).unwrap();
    assert_eq!(
        reply.result.unwrap().to_string(),
        r#"(['-98765432109876543210', "(b'x',)", "{1: frozenset({'a'})}"], [('flag', False)])"#
    );
}

#[test]
fn state_persists_between_calls() {
    let mut py = instance();
    py.exec("import json\ncounter = 41").unwrap().result.unwrap();
    py.exec("counter += 1").unwrap().result.unwrap();
    assert_eq!(eval(&mut py, "json.dumps({'n': counter})"), Value::Str("{\"n\": 42}".into()));
}

#[test]
fn run_returns_the_value_of_a_final_expression() {
    let mut py = instance();
    let reply = py.run("import math\nx = 6\nprint('side effect')\nmath.factorial(x)").unwrap();
    assert_eq!(reply.result.unwrap(), Value::Int(720));
    assert_eq!(reply.output.stdout, "side effect\n");
    assert_eq!(py.run("y = x + 1").unwrap().result.unwrap(), Value::None, "ends with a statement");
    assert_eq!(py.run("").unwrap().result.unwrap(), Value::None);
    assert_eq!(py.run("for i in range(3):\n    y += i\ny").unwrap().result.unwrap(), Value::Int(10));
    let err = py.run("z = 1\n[][0]").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "IndexError");
    assert!(err.traceback.contains("File \"<string>\", line 2"), "{}", err.traceback);
    assert!(!err.traceback.contains("_pycomponent"), "our frames are hidden: {}", err.traceback);
    assert_eq!(eval(&mut py, "z"), Value::Int(1), "statements before the error ran");
    assert_eq!(py.run("def f(:").unwrap().result.unwrap_err().type_name, "SyntaxError");
}

#[test]
fn exceptions_are_values_and_the_instance_stays_usable() {
    let mut py = instance();
    let err = py.eval("1 / 0").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ZeroDivisionError");
    assert_eq!(err.message, "division by zero");
    assert!(err.traceback.contains("Traceback (most recent call last)"), "{}", err.traceback);
    let err = py.exec("import json\njson.loads('{')").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "json.decoder.JSONDecodeError");
    let err = py.exec("def f(:").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "SyntaxError");
    let err = py.exec("raise SystemExit(3)").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "SystemExit");
    assert_eq!(eval(&mut py, "'still here'"), Value::Str("still here".into()));
}

#[test]
fn output_is_captured_per_call() {
    let mut py = instance();
    let reply = py.exec("import sys\nprint('hello')\nprint('oops', file=sys.stderr)").unwrap();
    assert_eq!(reply.output.stdout, "hello\n");
    assert_eq!(reply.output.stderr, "oops\n");
    let reply = py.eval("print('again') or 7").unwrap();
    assert_eq!(reply.output.stdout, "again\n");
    assert_eq!(reply.result.unwrap(), Value::Int(7));
    let reply = py.exec("print('before'); raise KeyError('k')").unwrap();
    assert_eq!(reply.output.stdout, "before\n", "output is kept when the call fails");
    // A program's own buffered streams are flushed when the call ends.
    let code = "import io, sys\nsys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, 'w', closefd=False), 1 << 16))\nprint('held back')";
    assert_eq!(py.exec(code).unwrap().output.stdout, "held back\n");
    assert_eq!(py.eval("print('still') or 1").unwrap().output.stdout, "still\n");
    let reply = py.exec("sys.stdout = sys.__stdout__\nprint('standard again')").unwrap();
    assert_eq!(reply.output.stdout, "standard again\n");
}

/// The standard library is inside the component: modules the snapshot did
/// not import load at run time without any file system.
#[test]
fn stdlib_modules_import_at_run_time_without_files() {
    let mut py = instance();
    let preloaded = eval(
        &mut py,
        "sorted(m for m in ('json', 're', 'sqlite3', 'email.mime.text') if m in __import__('sys').modules)",
    );
    assert_eq!(preloaded.to_string(), "['json', 're']");
    for name in [
        "sqlite3",
        "decimal",
        "email.mime.text",
        "xml.etree.ElementTree",
        "zoneinfo",
        "asyncio",
        "unittest.mock",
    ] {
        py.import_module(name).unwrap().result.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let rows = eval(&mut py, "__import__('sqlite3').connect(':memory:').execute('select 6*7').fetchall()");
    assert_eq!(rows.to_string(), "[(42,)]");
    let err = py.exec("open('/usr/local/lib/python3.11/os.py')").unwrap().result.unwrap_err();
    assert!(err.type_name.ends_with("Error"), "no file system: {err}");
    let err = py.import_module("no_such_module").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ModuleNotFoundError");
}

#[test]
fn user_modules_and_packages() {
    let mut py = instance();
    py.add_module("shapes", "", true).unwrap().result.unwrap();
    py.add_module("shapes.square", "def area(side):\n    return side * side\n", false)
        .unwrap()
        .result
        .unwrap();
    py.add_module("greet", "def hello(name, punct='!'):\n    return f'hello {name}{punct}'\n", false)
        .unwrap()
        .result
        .unwrap();
    let reply = py.call("shapes.square.area", &[Value::Int(7)], &[]).unwrap();
    assert_eq!(reply.result.unwrap(), Value::Int(49));
    let reply = py.call("greet.hello", &[Value::from("wasm")], &[("punct", Value::from("?"))]).unwrap();
    assert_eq!(reply.result.unwrap(), Value::from("hello wasm?"));
    // Added modules import each other, in either order of adding.
    py.add_module("app", "import helpers\ndef run():\n    return helpers.double(21)\n", false)
        .unwrap()
        .result
        .unwrap();
    py.add_module("helpers", "def double(x):\n    return 2 * x\n", false).unwrap().result.unwrap();
    assert_eq!(py.call("app.run", &[], &[]).unwrap().result.unwrap(), Value::Int(42));
    let err = py.add_module("broken", "def f(:\n", false).unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "SyntaxError");
    let err = py.call("no_such_module.f", &[], &[]).unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ModuleNotFoundError");
    assert_eq!(py.call("len", &[Value::from("abc")], &[]).unwrap().result.unwrap(), Value::Int(3));
}

#[test]
fn python_calls_host_functions() {
    let host = HostModules::new()
        .function("kv", "get", |args, _| match args {
            [Value::Str(key)] if key == "user:1" => Ok(Value::from("ada")),
            [Value::Str(key)] => Err(format!("no key {key}")),
            _ => Err("get(key) takes one string".into()),
        })
        .function("kv", "echo", |args, kwargs| {
            Ok(Value::Tuple(vec![
                Value::List(args.to_vec()),
                Value::Dict(kwargs.iter().map(|(k, v)| (Value::from(k.as_str()), v.clone())).collect()),
            ]))
        })
        .function("kv", "explode", |_, _| panic!("host bug"));
    let mut py = runtime().instantiate(host).unwrap();
    assert_eq!(eval(&mut py, "__import__('kv').get('user:1')"), Value::from("ada"));
    py.exec("import kv\ntry:\n    kv.get('user:2')\nexcept RuntimeError as e:\n    caught = str(e)")
        .unwrap()
        .result
        .unwrap();
    assert_eq!(eval(&mut py, "caught"), Value::from("no key user:2"));
    assert_eq!(eval(&mut py, "kv.echo(1, [2.5], b=None)").to_string(), "([1, [2.5]], {'b': None})");
    // Every kind of value crosses to the host and back.
    let every_kind = "[None, True, -5, 2**80, 1.5, float('inf'), 'é🐍', b'\\x00', [1], (2,), {(1, 'a'): {3}}, frozenset({4})]";
    let echoed = eval(&mut py, &format!("kv.echo(*{every_kind})[0] == {every_kind}"));
    assert_eq!(echoed, Value::Bool(true));
    let err = py.eval("kv.explode()").unwrap().result.unwrap_err();
    assert_eq!(
        (err.type_name.as_str(), err.message.as_str()),
        ("RuntimeError", "host function kv.explode panicked")
    );
    assert_eq!(eval(&mut py, "1"), Value::Int(1));
}

/// Instances made from one snapshot do not share random state.
#[test]
fn instances_get_their_own_random_seed() {
    let draw = "__import__('random').getrandbits(64)";
    let (mut a, mut b) = (instance(), instance());
    assert_ne!(eval(&mut a, draw), eval(&mut b, draw));
}

/// Each entry: a module the snapshot did not import, and a use of it that
/// must evaluate to True.
const RUNTIME_IMPORTS: &[(&str, &str)] = &[
    ("sqlite3", "sqlite3.connect(':memory:').execute('select 2*3').fetchone() == (6,)"),
    ("gzip", "gzip.decompress(gzip.compress(b'xyz')) == b'xyz'"),
    (
        "zipfile",
        "(lambda b: (zipfile.ZipFile(b, 'w').writestr('f', 'x'), zipfile.ZipFile(b).namelist())[1])(__import__('io').BytesIO()) == ['f']",
    ),
    ("tarfile", "tarfile.open(fileobj=__import__('io').BytesIO(), mode='w').close() is None"),
    ("csv", "list(csv.reader(['a,b', '1,2'])) == [['a', 'b'], ['1', '2']]"),
    ("statistics", "statistics.median([3, 1, 2]) == 2"),
    ("fractions", "fractions.Fraction(1, 3) + fractions.Fraction(1, 6) == fractions.Fraction(1, 2)"),
    ("unicodedata", "unicodedata.name('é') == 'LATIN SMALL LETTER E WITH ACUTE'"),
    ("email", "__import__('email').message_from_string('Subject: hi\\n\\nbody')['Subject'] == 'hi'"),
    ("xml.etree.ElementTree", "xml.etree.ElementTree.fromstring('<a><b>7</b></a>').find('b').text == '7'"),
    ("html.parser", "html.parser.HTMLParser().feed('<p>x</p>') is None"),
    ("html", "html.escape('<&>') == '&lt;&amp;&gt;'"),
    ("uuid", "uuid.uuid4().version == 4"),
    ("hmac", "len(hmac.new(b'k', b'm', 'sha256').hexdigest()) == 64"),
    ("secrets", "len(secrets.token_hex(8)) == 16"),
    ("glob", "glob.escape('a*') == 'a[*]'"),
    ("array", "array.array('i', [1, 2]).tolist() == [1, 2]"),
    ("difflib", "difflib.SequenceMatcher(None, 'abc', 'abd').ratio() > 0.6"),
    ("pprint", "pprint.pformat({'a': 1}) == \"{'a': 1}\""),
    ("shlex", "shlex.split('a \"b c\"') == ['a', 'b c']"),
    ("calendar", "calendar.isleap(2024)"),
    ("colorsys", "colorsys.rgb_to_hsv(1, 0, 0)[0] == 0"),
    ("graphlib", "list(graphlib.TopologicalSorter({'b': {'a'}}).static_order()) == ['a', 'b']"),
    ("pickle", "pickle.loads(pickle.dumps({1: (2, 3)})) == {1: (2, 3)}"),
    (
        "configparser",
        "(lambda c: (c.read_string('[s]\\nk = v'), c['s']['k'])[1])(configparser.ConfigParser()) == 'v'",
    ),
    ("argparse", "argparse.ArgumentParser().parse_args([]) is not None"),
    ("tomllib", "tomllib.loads('a = 1') == {'a': 1}"),
    ("cmath", "cmath.sqrt(-1) == 1j"),
    ("queue", "(lambda q: (q.put(1), q.get())[1])(queue.Queue()) == 1"),
    ("netrc", "issubclass(netrc.NetrcParseError, Exception)"),
    ("unittest", "unittest.TestCase('run').assertEqual(1, 1) is None"),
    ("timeit", "timeit.timeit('1+1', number=100) >= 0"),
    ("mimetypes", "mimetypes.guess_type('a.json')[0] == 'application/json'"),
    ("quopri", "quopri.encodestring(b'=') == b'=3D'"),
    ("sched", "sched.scheduler().empty()"),
    ("getopt", "getopt.getopt(['-a'], 'a')[0] == [('-a', '')]"),
    ("gettext", "gettext.NullTranslations().gettext('x') == 'x'"),
    ("xml.dom.minidom", "xml.dom.minidom.parseString('<a/>').documentElement.tagName == 'a'"),
    ("wave", "wave.open(__import__('io').BytesIO(), 'wb').setnchannels(1) is None"),
    ("plistlib", "plistlib.loads(plistlib.dumps({'a': 1})) == {'a': 1}"),
    ("http.client", "http.client.responses[404] == 'Not Found'"),
    ("optparse", "optparse.OptionParser().parse_args([])[1] == []"),
    ("cProfile", "(lambda p: (p.enable(), p.disable(), True)[2])(cProfile.Profile())"),
];

/// At least 40 standard-library modules that were not in the snapshot
/// import at run time and work.
#[test]
fn forty_stdlib_modules_import_and_work_at_run_time() {
    let mut py = instance();
    let names: Vec<&str> = RUNTIME_IMPORTS.iter().map(|(name, _)| *name).collect();
    let preloaded = eval(&mut py, &format!("[n for n in {names:?} if n in __import__('sys').modules]"));
    assert_eq!(preloaded, Value::List(vec![]), "these were already in the snapshot");
    let mut failures = Vec::new();
    for (name, check) in RUNTIME_IMPORTS {
        let reply = py.exec(&format!("import {name}\n__ok = bool({check})")).unwrap();
        match reply.result {
            Ok(()) if eval(&mut py, "__ok") == Value::Bool(true) => {}
            Ok(()) => failures.push(format!("{name}: check was false")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(RUNTIME_IMPORTS.len() >= 40);
}

/// The IANA time-zone database comes with the component (the `tzdata`
/// package, served from memory through `importlib.resources`), so
/// `zoneinfo` works with no file system.
#[test]
fn zoneinfo_has_the_iana_database() {
    let mut py = instance();
    py.exec(
        "from zoneinfo import ZoneInfo, available_timezones\n\
         from datetime import datetime, timezone\n\
         summer = datetime(2026, 7, 1, 12, tzinfo=timezone.utc)\n\
         winter = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)",
    )
    .unwrap()
    .result
    .unwrap();
    assert_eq!(eval(&mut py, "str(ZoneInfo('Europe/Paris'))"), Value::from("Europe/Paris"));
    assert_eq!(
        eval(
            &mut py,
            "[str(summer.astimezone(ZoneInfo('Europe/Paris'))), str(winter.astimezone(ZoneInfo('Europe/Paris')))]"
        ),
        Value::List(vec![Value::from("2026-07-01 14:00:00+02:00"), Value::from("2026-01-01 13:00:00+01:00")])
    );
    assert_eq!(
        eval(&mut py, "datetime.now(ZoneInfo('Asia/Tokyo')).utcoffset().total_seconds()"),
        Value::Float(32400.0)
    );
    assert_eq!(
        eval(&mut py, "ZoneInfo('America/Argentina/Buenos_Aires').utcoffset(winter).total_seconds()"),
        Value::Float(-10800.0)
    );
    assert_eq!(
        eval(&mut py, "len(available_timezones()) > 500 and 'America/New_York' in available_timezones()"),
        Value::Bool(true)
    );
    // Its metadata answers importlib.metadata, as after `pip install tzdata`.
    assert_eq!(
        eval(&mut py, "__import__('importlib.metadata').metadata.distribution('tzdata').metadata['Name']"),
        Value::from("tzdata")
    );
    let err = py.eval("ZoneInfo('Mars/Olympus_Mons')").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "zoneinfo._common.ZoneInfoNotFoundError");
    // A fresh instance has it too (nothing of it is left to the first call).
    assert_eq!(eval(&mut instance(), "str(__import__('zoneinfo').ZoneInfo('UTC'))"), Value::from("UTC"));
}

/// Two instances of one runtime share nothing.
#[test]
fn instances_are_isolated() {
    let (mut a, mut b) = (instance(), instance());
    a.exec("import json\njson.dumps = lambda *a: 'patched'\nsecret = 42").unwrap().result.unwrap();
    assert_eq!(eval(&mut a, "json.dumps(1)"), Value::from("patched"));
    assert_eq!(eval(&mut b, "__import__('json').dumps(1)"), Value::from("1"));
    let err = b.eval("secret").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "NameError");
}

/// asyncio runs on the component's own loop (no selector, no threads).
#[test]
fn asyncio_runs_tasks_timers_and_queues() {
    let mut py = instance();
    let code = "import asyncio\n\
                async def worker(name, delay, queue):\n    await asyncio.sleep(delay)\n    await queue.put(name)\n    return name\n\
                async def main():\n\
                \x20   queue = asyncio.Queue()\n\
                \x20   names = await asyncio.gather(*(worker(i, 0.05 * (3 - i % 3), queue) for i in range(9)))\n\
                \x20   arrived = [queue.get_nowait() for _ in range(9)]\n\
                \x20   try:\n        await asyncio.wait_for(asyncio.sleep(5), 0.05)\n    except asyncio.TimeoutError:\n        names.append('timed out')\n\
                \x20   names.append(await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2]))\n\
                \x20   return names, arrived[:3]\n\
                asyncio.run(main())";
    assert_eq!(
        eval_run(&mut py, code).to_string(),
        "([0, 1, 2, 3, 4, 5, 6, 7, 8, 'timed out', 3], [2, 5, 8])"
    );
    let err = py.exec("import asyncio\nasync def stuck():\n    await asyncio.get_running_loop().create_future()\nasyncio.run(stuck())").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "RuntimeError");
    assert!(err.message.contains("nothing to wait for"), "{}", err.message);
    assert_eq!(
        eval_run(&mut py, "type(asyncio.new_event_loop()).__name__"),
        Value::from("ComponentEventLoop")
    );
    // A cell may await at top level, as in a notebook.
    let cell = "task = asyncio.ensure_future(asyncio.sleep(0.01, result=2))\nawait asyncio.sleep(0)\n(await task) * 21";
    assert_eq!(eval_run(&mut py, cell), Value::from(42));
}

/// Nothing of the build machine shows in an instance: module files, code
/// objects and sysconfig's variables name `/usr/local` (or `/build`).
#[test]
fn no_build_machine_path_shows() {
    let mut py = instance();
    let code = "import sys, sysconfig, importlib\n\
                paths = [str(v) for v in sysconfig.get_config_vars().values()]\n\
                for name in ['json', 'json.decoder', 'zoneinfo', 'email.message', 'tzdata', 'asyncio.base_events']:\n\
                \x20   module = importlib.import_module(name)\n\
                \x20   paths.append(module.__file__)\n\
                \x20   paths += [f.__code__.co_filename for f in vars(module).values() if hasattr(f, '__code__')]\n\
                [p for p in paths if '.cache' in p or 'partial' in p or '/root' in p]";
    assert_eq!(eval_run(&mut py, code), Value::List(vec![]));
}

/// Granted directories work in instances; nothing else of the host is
/// visible, the snapshot-time stdlib path included.
#[test]
fn granted_directories_and_nothing_else() {
    let dir = std::env::temp_dir().join(format!("pycomponent-grant-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("ro")).unwrap();
    std::fs::create_dir_all(dir.join("rw")).unwrap();
    std::fs::write(dir.join("ro/in.txt"), "from the host").unwrap();
    let mounts = [
        pycomponent::Mount { host: dir.join("ro"), guest: "/data".into(), writable: false },
        pycomponent::Mount { host: dir.join("rw"), guest: "/out".into(), writable: true },
    ];
    let mut py = runtime().instantiate_with_mounts(HostModules::new(), &mounts).unwrap();
    assert_eq!(eval(&mut py, "open('/data/in.txt').read()"), Value::from("from the host"));
    py.exec("open('/out/result.txt', 'w').write('from the guest')").unwrap().result.unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("rw/result.txt")).unwrap(), "from the guest");
    for code in [
        "open('/data/new.txt', 'w')",
        "open('/etc/passwd')",
        "open('/data/../rw/result.txt')",
        "open('/usr/local/lib/python3.11/os.py')",
    ] {
        let err = py.exec(code).unwrap().result.unwrap_err();
        assert!(err.type_name.ends_with("Error"), "{code}: {err}");
    }
    assert!(!dir.join("ro/new.txt").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Modules, packages and zip files in a granted directory import as in
/// CPython once the directory is on `sys.path`; the standard library still
/// comes from memory; every instance starts with fresh path caches.
#[test]
fn imports_from_granted_directories_and_zip_files() {
    let dir = std::env::temp_dir().join(format!("pycomponent-imports-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("pkg/sub")).unwrap();
    std::fs::write(dir.join("helper.py"), "def greet(n):\n    return f'hello {n}'\n").unwrap();
    std::fs::write(dir.join("pkg/__init__.py"), "from .core import VALUE\n").unwrap();
    std::fs::write(dir.join("pkg/core.py"), "VALUE = 41 + 1\n").unwrap();
    std::fs::write(dir.join("pkg/sub/__init__.py"), "").unwrap();
    std::fs::write(dir.join("pkg/sub/leaf.py"), "def fail():\n    raise KeyError('leaf')\n").unwrap();
    // The zip file is written by zipfile in an instance granted the
    // directory read-write.
    let writable = pycomponent::Mount { host: dir.clone(), guest: "/app".into(), writable: true };
    let mut writer = runtime().instantiate_with_mounts(HostModules::new(), &[writable]).unwrap();
    writer
        .exec("import zipfile\nwith zipfile.ZipFile('/app/lib.zip', 'w') as z:\n    z.writestr('zipped.py', 'WHERE = __file__\\n')")
        .unwrap()
        .result
        .unwrap();
    let mount = pycomponent::Mount { host: dir.clone(), guest: "/app".into(), writable: false };
    let mut py = runtime().instantiate_with_mounts(HostModules::new(), std::slice::from_ref(&mount)).unwrap();
    let err = py.exec("import helper").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ModuleNotFoundError", "only directories on sys.path are searched");
    py.exec(
        "import sys\nsys.path[:0] = ['/app', '/app/lib.zip']\nimport helper, pkg, pkg.sub.leaf, zipped, json",
    )
    .unwrap()
    .result
    .unwrap();
    assert_eq!(eval(&mut py, "helper.greet('wasm')"), Value::from("hello wasm"));
    assert_eq!(eval(&mut py, "pkg.VALUE"), Value::from(42));
    assert_eq!(eval(&mut py, "pkg.__file__"), Value::from("/app/pkg/__init__.py"));
    assert_eq!(eval(&mut py, "zipped.WHERE"), Value::from("/app/lib.zip/zipped.py"));
    assert_eq!(
        eval(&mut py, "json.__spec__.loader.__class__.__name__"),
        Value::from("_EmbeddedStdlib"),
        "the stdlib comes from memory even with directories on sys.path"
    );
    let err = py.exec("pkg.sub.leaf.fail()").unwrap().result.unwrap_err();
    assert!(
        err.traceback.contains("File \"/app/pkg/sub/leaf.py\", line 2, in fail\n    raise KeyError('leaf')"),
        "tracebacks show the file's source lines: {}",
        err.traceback
    );

    // A new instance sees the files as they are now, not as an earlier
    // instance (or the snapshot) cached them.
    std::fs::write(dir.join("late.py"), "LATE = True\n").unwrap();
    let mut fresh = runtime().instantiate_with_mounts(HostModules::new(), &[mount]).unwrap();
    fresh.exec("import sys\nsys.path.insert(0, '/app')\nimport late").unwrap().result.unwrap();
    assert_eq!(eval(&mut fresh, "late.LATE"), Value::from(true));
    assert_eq!(eval(&mut fresh, "'helper' in sys.modules"), Value::from(false));
    // Without the grant the directory is not there.
    let mut other = instance();
    let err =
        other.exec("import sys\nsys.path.insert(0, '/app')\nimport helper").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ModuleNotFoundError");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A pure-Python wheel, written by `zipfile` in a scratch instance.
fn demo_wheel(extra: &[(&str, &str)]) -> Vec<u8> {
    let mut py = instance();
    let files =
        Value::Dict(extra.iter().map(|(path, text)| (Value::from(*path), Value::from(*text))).collect());
    py.exec(
        "import io, zipfile\n\
         def wheel(files):\n    out = io.BytesIO()\n    with zipfile.ZipFile(out, 'w') as z:\n\
         \x20       z.writestr('demo_pkg-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: demo-pkg\\nVersion: 1.0\\n')\n\
         \x20       z.writestr('demo_pkg-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\n')\n\
         \x20       z.writestr('demo_pkg/__init__.py', 'from importlib.metadata import version\\nVERSION = version(\"demo-pkg\")\\n')\n\
         \x20       z.writestr('demo_pkg/data/words.txt', 'alpha beta')\n\
         \x20       for path, text in files.items():\n            z.writestr(path, text)\n    return out.getvalue()\n",
    )
    .unwrap()
    .result
    .unwrap();
    match py.call("wheel", &[files], &[]).unwrap().result.unwrap() {
        Value::Bytes(bytes) => bytes,
        other => panic!("{other}"),
    }
}

/// `Instance::install_wheel`: a pure-Python wheel installed at run time,
/// in memory, in this instance only; native code is refused.
#[test]
fn pure_python_wheels_install_at_run_time() {
    let mut py = instance();
    let installed = py.install_wheel(&demo_wheel(&[]), "demo_pkg-1.0-py3-none-any.whl").unwrap();
    assert_eq!(installed.result.unwrap(), ("demo-pkg".to_string(), "1.0".to_string()));
    assert_eq!(eval(&mut py, "__import__('demo_pkg').VERSION"), Value::from("1.0"));
    assert_eq!(
        eval(
            &mut py,
            "__import__('importlib.resources').resources.files('demo_pkg').joinpath('data/words.txt').read_text()"
        ),
        Value::from("alpha beta")
    );
    let err = instance().eval("__import__('demo_pkg')").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ModuleNotFoundError", "other instances do not see it");
    let native = demo_wheel(&[("demo_pkg/_fast.cpython-311-x86_64-linux-gnu.so", "")]);
    let err = instance().install_wheel(&native, "demo_pkg-1.0-cp311-linux.whl").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "ValueError");
    assert!(err.message.contains("demo_pkg/_fast.cpython-311-x86_64-linux-gnu.so"), "{}", err.message);
    let err = instance().install_wheel(b"PK not really", "junk.whl").unwrap().result.unwrap_err();
    assert!(err.message.starts_with("junk.whl: not a wheel"), "{}", err.message);
    // Python that replaced the installer gets an error, not a host panic.
    let mut hostile = instance();
    hostile.exec("import _pycomponent\n_pycomponent.install_wheel = lambda *a: 7").unwrap().result.unwrap();
    let err = hostile.install_wheel(&demo_wheel(&[]), "x.whl").unwrap().result.unwrap_err();
    assert_eq!(err.type_name, "TypeError");
}
