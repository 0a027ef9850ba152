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
