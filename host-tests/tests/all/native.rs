//! The numpy variant of the component (`cargo xtask component --variant
//! numpy`): numpy built from its sdist and linked in as built-in modules,
//! imported at run time, through the Rust library (the CLI's `--component`
//! is checked in adapters/wasmtime/tests/cli.rs).

use std::sync::OnceLock;

use pycomponent::{HostModules, Instance, Runtime, Value};

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Runtime::new(&host_tests::variant_path("numpy")).expect("the numpy variant compiles"))
}

fn instance() -> Instance {
    runtime().instantiate(HostModules::new()).expect("instantiates")
}

fn eval(instance: &mut Instance, expression: &str) -> Value {
    let reply = instance.eval(expression).expect("no trap");
    reply.result.unwrap_or_else(|e| panic!("{expression}: {e}\n{}", e.traceback))
}

fn run(instance: &mut Instance, code: &str) {
    let reply = instance.run(code).expect("no trap");
    if let Err(e) = reply.result {
        panic!("{code}: {e}\n{}", e.traceback);
    }
}

#[test]
fn numpy_is_imported_at_run_time_not_before() {
    let mut py = instance();
    assert_eq!(eval(&mut py, "'numpy' in __import__('sys').modules"), Value::Bool(false));
    run(&mut py, "import numpy as np");
    assert_eq!(eval(&mut py, "np.__version__"), Value::Str("2.4.6".into()));
    // Its extension modules are built-in modules under their dotted names.
    assert_eq!(eval(&mut py, "np._core._multiarray_umath.__spec__.origin"), Value::Str("built-in".into()));
    // Its metadata is there, as after `pip install numpy`.
    assert_eq!(
        eval(&mut py, "__import__('importlib.metadata').metadata.version('numpy')"),
        Value::Str("2.4.6".into())
    );
}

#[test]
fn linalg_fft_and_arrays_compute_as_natively() {
    let mut py = instance();
    run(&mut py, "import numpy as np");
    let checks = [
        "float(np.linalg.det(np.array([[1., 2.], [3., 4.]]))) in (-2.0, -2.0000000000000004)",
        "np.allclose(np.linalg.inv(np.array([[4., 7.], [2., 6.]])) @ np.array([[4., 7.], [2., 6.]]), np.eye(2))",
        "np.allclose(np.linalg.solve([[3., 1.], [1., 2.]], [9., 8.]), [2., 3.])",
        "np.allclose(np.linalg.eigvalsh([[2., 0.], [0., 3.]]), [2., 3.])",
        "np.allclose(np.fft.ifft(np.fft.fft(np.arange(8.))).real, np.arange(8.))",
        "np.arange(12).reshape(3, 4).sum(axis=0).tolist() == [12, 15, 18, 21]",
        "np.sort(np.array([3, 1, 2])).tolist() == [1, 2, 3]",
        "str(np.datetime64('2024-02-28') + np.timedelta64(1, 'D')) == '2024-02-29'",
        "np.array([1.5], dtype=np.longdouble)[0] * 2 == 3",
        "np.polynomial.Polynomial([1, 2, 3])(2) == 17",
        "np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]).sum() == 4",
        "np.array(['a', 'bb']).dtype.kind == 'U'",
    ];
    for check in checks {
        // numpy's own booleans (numpy.bool) are not Python bools: bool() copies.
        assert_eq!(eval(&mut py, &format!("bool({check})")), Value::Bool(true), "{check}");
    }
    // Arrays cross as live objects; `tolist()` and `tobytes()` give plain data.
    assert_eq!(
        eval(&mut py, "np.arange(3, dtype=np.float64).tolist()"),
        Value::List(vec![Value::Float(0.0), Value::Float(1.0), Value::Float(2.0)])
    );
    assert_eq!(eval(&mut py, "np.arange(2, dtype='<u2').tobytes()"), Value::Bytes(vec![0, 0, 1, 0]));
}

#[test]
fn numpy_errors_are_python_exceptions() {
    let mut py = instance();
    run(&mut py, "import numpy as np");
    let reply = py.eval("np.linalg.inv(np.zeros((2, 2)))").expect("no trap");
    let error = reply.result.expect_err("a singular matrix raises");
    assert_eq!(error.type_name, "numpy.linalg.LinAlgError");
    let reply = py.eval("np.ones(3) + np.ones(4)").expect("no trap");
    assert_eq!(reply.result.expect_err("shapes differ").type_name, "ValueError");
    // Flags numpy raises itself are seen (soft_fenv.c): errstate works.
    let reply =
        py.run("with np.errstate(divide='raise'):\n    np.array([1]) // np.array([0])").expect("no trap");
    assert_eq!(reply.result.expect_err("integer division by zero raises").type_name, "FloatingPointError");
    // The instance is still usable.
    assert_eq!(eval(&mut py, "int(np.ones(3).sum())"), Value::Int(3));
}

#[test]
fn each_instance_gets_its_own_random_state() {
    let draw = "__import__('numpy').random.random()";
    let (mut a, mut b) = (instance(), instance());
    assert_ne!(eval(&mut a, draw), eval(&mut b, draw));
    let seeded = "__import__('numpy').random.default_rng(7).integers(0, 1000, 3).tolist()";
    assert_eq!(eval(&mut a, seeded), eval(&mut b, seeded));
}

// ctypes (`xtask/src/native/stdlib_modules.rs`): data types, calls through libffi's
// interface compiled per wasm signature, callbacks, and its limits.

#[test]
fn ctypes_structures_arrays_pointers_and_casts_work() {
    let mut py = instance();
    run(
        &mut py,
        "import ctypes\n\
         class Point(ctypes.Structure):\n    _fields_ = [('x', ctypes.c_int16), ('y', ctypes.c_double)]\n\
         p = Point(3, 2.5)\n\
         arr = (ctypes.c_int32 * 4)(1, 2, 3, 4)\n\
         ptr = ctypes.cast(arr, ctypes.POINTER(ctypes.c_int32))\n\
         buf = ctypes.create_string_buffer(b'hello', 8)\n\
         ctypes.memmove(buf, b'HE', 2)\n\
         ctypes.memset(ctypes.byref(buf, 5), ord('!'), 1)",
    );
    let checks = [
        "ctypes.sizeof(Point) == 16 and ctypes.alignment(Point) == 8",
        "(p.x, p.y) == (3, 2.5)",
        "ptr[2] == 3 and list(arr) == [1, 2, 3, 4]",
        "buf.value == b'HEllo!'",
        "ctypes.string_at(buf, 3) == b'HEl'",
        "ctypes.sizeof(ctypes.c_long) == 4 and ctypes.sizeof(ctypes.c_void_p) == 4",
        "bytes(memoryview(Point.from_buffer_copy(bytes(p)))) == bytes(p)",
    ];
    for check in checks {
        assert_eq!(eval(&mut py, check), Value::Bool(true), "{check}");
    }
}

#[test]
fn ctypes_callbacks_are_called_with_their_c_signature() {
    let mut py = instance();
    run(
        &mut py,
        "import ctypes\n\
         add = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int8, ctypes.c_double, ctypes.c_int64)(\n\
         \x20   lambda a, b, c: a + int(b) + c)\n\
         half = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_float)(lambda x: x / 2)\n\
         class Pair(ctypes.Structure):\n    _fields_ = [('a', ctypes.c_int), ('b', ctypes.c_int)]\n\
         join = ctypes.CFUNCTYPE(ctypes.c_int, Pair)(lambda p: p.a * 10 + p.b)",
    );
    // Each call goes from ffi_call through a trampoline back into Python.
    assert_eq!(eval(&mut py, "add(-3, 4.5, 1 << 40)"), Value::Int((1 << 40) + 1));
    assert_eq!(eval(&mut py, "half(3.0)"), Value::Float(1.5));
    // A struct argument is passed as a pointer to a copy.
    assert_eq!(eval(&mut py, "join(Pair(1, 2))"), Value::Int(12));
    // An exception in a callback is reported, the call returns a zero result.
    run(&mut py, "bad = ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 1 / 0)");
    assert_eq!(eval(&mut py, "bad()"), Value::Int(0));
}

#[test]
fn ctypes_limits_are_python_exceptions() {
    let mut py = instance();
    run(&mut py, "import ctypes\nproto = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)");
    // Eight live callbacks per C signature with a double (32 for pointers
    // and ints only); one more is refused, a freed one's place is taken again.
    run(&mut py, "live = [proto(lambda x, i=i: x + i) for i in range(8)]");
    let reply = py.run("proto(lambda x: x)").expect("no trap");
    assert_eq!(reply.result.expect_err("no trampoline is free").type_name, "RuntimeError");
    run(&mut py, "del live[3]\nagain = proto(lambda x: -x)");
    assert_eq!(eval(&mut py, "again(5) + live[0](1)"), Value::Float(-4.0));
    run(&mut py, "ints = [ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)(lambda p: 0) for _ in range(32)]");
    let reply = py.run("ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)(lambda p: 0)").expect("no trap");
    assert_eq!(reply.result.expect_err("no trampoline is free").type_name, "RuntimeError");
    // Callbacks with more than three parameters (six pointers or ints) are not compiled.
    let reply = py.run("ctypes.CFUNCTYPE(None, *[ctypes.c_double] * 4)(lambda *a: None)").expect("no trap");
    assert_eq!(reply.result.expect_err("no such trampoline").type_name, "RuntimeError");
    // Empty structs pass no value, but a callback's arguments stay bounded.
    let reply = py
        .run("class Empty(ctypes.Structure):\n    _fields_ = []\nctypes.CFUNCTYPE(None, *[Empty] * 17)(lambda *a: None)")
        .expect("no trap");
    assert_eq!(reply.result.expect_err("too many arguments").type_name, "RuntimeError");
    // Nothing to load, no C symbol to find, with the reason.
    let reply = py.run("ctypes.CDLL('libm.so.6')").expect("no trap");
    let error = reply.result.expect_err("no dynamic loader");
    assert_eq!(error.type_name, "OSError");
    assert!(error.message.contains("no dynamic loader"), "{}", error.message);
    let reply = py.eval("ctypes.pythonapi.Py_IncRef").expect("no trap");
    assert_eq!(reply.result.expect_err("no symbol table").type_name, "AttributeError");
}

#[test]
fn ctypes_memory_errors_end_the_instance_not_the_host() {
    // ctypes reads and writes the instance's own memory without checks, as
    // natively; WebAssembly keeps it inside that memory, and an address
    // beyond it or a call through a bad function pointer is a trap.
    for code in [
        "import ctypes\nctypes.string_at(0xfffffff0, 64)",
        "import ctypes\nctypes.CFUNCTYPE(ctypes.c_int)(0x7fffffff)()",
    ] {
        let mut py = instance();
        assert!(py.run(code).is_err(), "{code} traps");
    }
    let mut py = instance();
    run(&mut py, "import numpy as np, ctypes");
    // numpy's ctypes interface over the same memory.
    run(
        &mut py,
        "a = np.arange(6, dtype=np.int32)\n\
         p = a.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))\n\
         p[1] = 42\n\
         b = np.ctypeslib.as_array(p, shape=(6,))",
    );
    assert_eq!(eval(&mut py, "bool(a[1] == 42 and b[5] == 5)"), Value::Bool(true));
}

#[test]
fn mmap_maps_anonymous_memory_and_refuses_files_with_an_error() {
    let mut py = instance();
    run(
        &mut py,
        "import mmap\n\
         m = mmap.mmap(-1, 8192)\n\
         m[:5] = b'hello'\n\
         m.seek(8190)\n\
         m.write(b'!!')\n\
         m.flush()",
    );
    assert_eq!(
        eval(&mut py, "(m[:5], m[8190:], len(m), m.find(b'llo', 0))"),
        eval(&mut py, "(b'hello', b'!!', 8192, 2)")
    );
    // A file's map needs the descriptor duplicated, which WASI cannot do.
    let reply = py
        .run(
            "with open('/tmp/mapped.bin', 'wb+') as f:\n    f.write(b'x' * 16)\n    f.flush()\n    mmap.mmap(f.fileno(), 0)",
        )
        .expect("no trap");
    assert_eq!(reply.result.expect_err("no file maps").type_name, "OSError");
    run(&mut py, "m.close()");
}
