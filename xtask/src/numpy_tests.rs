//! `cargo xtask numpy-tests`: numpy's own test suite inside the numpy
//! variant of the component, next to the same run natively (numpy 2.4.6's
//! wheel from PyPI), compared by `numpy_tests.py` into docs/NUMPY_TESTS.md.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::native::{self, recipes};
use crate::shell::{self, Step};
use crate::{cache, component, cpython, tools, versions, workspace_root};

/// The subpackages run, each in its own process (`numpy.typing`'s tests
/// run mypy and `numpy.f2py`'s a Fortran compiler: neither is here).
pub const SUBPACKAGES: &[&str] =
    &["_core", "lib", "linalg", "fft", "random", "ma", "polynomial", "matrixlib", "testing", "tests"];

/// How long one test module may run in the guest: far above the slowest
/// (numpy._core's test_multiarray), so only a hang reaches it.
const MODULE_TIMEOUT_SECONDS: &str = "1800";

/// Where the guest sees the packages: numpy's site-packages path.
const GUEST_SITE_PACKAGES: &str = "/usr/local/lib/python3.11/site-packages";

/// Runs `subpackages` (all by default) in the component and natively and
/// writes the report; fails when under 95% of the native passes whose
/// test exists on wasm32 too pass (numpy parametrizes some tests by the
/// platform: SIMD targets, the size of C long).
pub fn run(subpackages: &[String]) -> Result<()> {
    let subpackages: Vec<&str> = if subpackages.is_empty() {
        SUBPACKAGES.to_vec()
    } else {
        subpackages.iter().map(String::as_str).collect()
    };
    let cpython = cpython::build(false)?;
    let variant = component::build_variant(component::variant("numpy")?)?;
    let numpy = native::build(recipes::NUMPY, &cpython)?;
    let cache_root = cache::root()?;
    let test_tools: Vec<PathBuf> =
        versions::NUMPY_TEST_TOOLS.iter().map(|w| tools::unpacked(*w, &cache_root)).collect::<Result<_>>()?;

    let root = workspace_root().join("target/numpy-tests");
    // What the guest is granted at site-packages: numpy with its tests,
    // pytest and hypothesis. numpy itself is served from the component's
    // memory; its tests are found here through the packages' __path__.
    let tree = root.join("site-packages");
    if tree.exists() {
        fs::remove_dir_all(&tree)?;
    }
    for dir in [&numpy.site_packages, &numpy.excluded].into_iter().chain(&test_tools) {
        native::copy_tree(dir, &tree)?;
    }
    let runner = root.join("run_pytest.py");
    fs::write(
        &runner,
        format!(
            "import os, sys\nsys.path.append({GUEST_SITE_PACKAGES:?})\nimport pytest\n\
             # WASI has no user ids: pytest's tmp_path asks for one except on the\n\
             # platforms it knows lack them, where it checks no ownership.\n\
             if not hasattr(os, 'getuid'):\n    import _pytest.tmpdir\n    \
             _pytest.tmpdir.get_user_id = lambda: None\n\
             sys.exit(pytest.main(sys.argv[1:]))\n"
        ),
    )?;
    let results = root.join("results");
    for side in ["wasm", "native"] {
        let dir = results.join(side);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
    }

    eprintln!("==> numpy-tests: cargo build -p pycomponent");
    shell::run(crate::cargo().args(["build", "--package", "pycomponent"]))?;
    let cli = workspace_root().join("target/debug/pycomponent");
    let native_numpy = tools::unpacked(versions::NUMPY_NATIVE, &cache_root)?;
    let native_path = std::iter::once(&native_numpy)
        .chain(&test_tools)
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(":");
    let logs = root.join("logs");
    // Every module run, `<sub>@<module>`: one without its XML trapped.
    let mut ran = Vec::new();
    for sub in &subpackages {
        // One process per test module: a module whose code traps the guest
        // (a C function called with the wrong signature, say) loses only its
        // own tests, and the report names it.
        let step = Step::start(
            format!("numpy-tests: numpy.{sub} in the component, a module at a time"),
            logs.join(format!("wasm-{sub}.log")),
        )?;
        for module in test_modules(&tree, sub)? {
            ran.push(format!("{sub}@{module}\n"));
            let mut wasm = Command::new(&cli);
            wasm.args(["run", "--component"])
                .arg(&variant)
                .args(["--timeout", MODULE_TIMEOUT_SECONDS, "--memory", "3072", "--mount"])
                .arg(format!("{}:{GUEST_SITE_PACKAGES}:ro", tree.display()))
                .arg("--mount")
                .arg(format!("{}:/results", results.join("wasm").display()))
                .arg(&runner)
                .args(pytest_args(&module, &format!("/results/{sub}@{module}.xml")));
            // A failing test exits with 1, a trap otherwise: the XML (or
            // its absence) says which.
            let _ = step.run(&mut wasm);
        }
        step.finish();
        let step = Step::start(
            format!("numpy-tests: numpy.{sub} natively"),
            logs.join(format!("native-{sub}.log")),
        )?;
        let xml = results.join("native").join(format!("{sub}.xml"));
        let mut native = Command::new(cpython.dir.join("native/bin/python3.11"));
        native
            .args(["-m", "pytest"])
            .args(pytest_args(sub, &xml.to_string_lossy()))
            .env("PYTHONPATH", &native_path)
            .current_dir(&results);
        let _ = step.run(&mut native);
        step.finish();
    }
    fs::write(results.join("wasm/modules.txt"), ran.concat())?;
    let report = workspace_root().join("docs/NUMPY_TESTS.md");
    // The system's Python: the build's native CPython has no pyexpat.
    let mut compare = Command::new("python3");
    compare
        .arg(workspace_root().join("xtask/src/numpy_tests.py"))
        .arg(&results)
        .arg(&report)
        .args(&subpackages);
    shell::run(&mut compare).context(
        "comparing the runs: see docs/NUMPY_TESTS.md (exit status 1: under 95% of the comparable native passes)",
    )
}

/// The test modules of numpy.`sub` in `tree`, as names under numpy.
fn test_modules(tree: &std::path::Path, sub: &str) -> Result<Vec<String>> {
    // numpy.tests holds its test modules itself; the others in `tests/`.
    let package = if sub == "tests" { "tests".to_string() } else { format!("{sub}.tests") };
    let dir = tree.join("numpy").join(package.replace('.', "/"));
    let mut modules = Vec::new();
    for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_prefix("test_").and_then(|n| n.strip_suffix(".py")) {
            modules.push(format!("{package}.test_{stem}"));
        }
    }
    modules.sort();
    Ok(modules)
}

/// pytest's arguments for one subpackage or test module: its tests, not the slow ones, no
/// cache, no fd-level capture or faulthandler (the guest has no `dup`),
/// JUnit XML to `xml`.
fn pytest_args(target: &str, xml: &str) -> Vec<String> {
    [
        "--pyargs",
        &format!("numpy.{target}"),
        "-m",
        "not slow",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:faulthandler",
        "--capture=sys",
        "-q",
        &format!("--junitxml={xml}"),
    ]
    .map(String::from)
    .to_vec()
}
