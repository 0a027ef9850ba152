//! `cargo xtask component`: builds the guest crate for wasm32-wasip1 with
//! Debian's rustc-web, links it with the wasm32-wasi CPython, and packages
//! the core module as a component with the WASI preview-1 adapter.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};

use crate::cpython::{self, Artifacts};
use crate::native::stdlib_modules::{self, StdlibModule};
use crate::native::{self, Recipe, recipes};
use crate::shell::{self, Step};
use crate::versions::LLVM_MAJOR;
use crate::workspace_root;
use crate::{cache, tools, versions};

/// Debian's Rust toolchain for the guest (rustc-web, cargo-web): rustup's
/// toolchain has no wasm32 standard library and cannot download one.
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";

/// Where the guest reads the standard library while the snapshot is made
/// (`SNAPSHOT_STDLIB` in component/src/interp.rs).
const GUEST_STDLIB: &str = "/usr/local/lib/python3.11";

/// Where the guest reads the packages it carries (tzdata) while the
/// snapshot is made (`SNAPSHOT_SITE_PACKAGES` in component/src/interp.rs).
const GUEST_SITE_PACKAGES: &str = "/usr/local/lib/python3.11/site-packages";

/// wasi-libc's libraries and the reactor start file.
const WASI_LIBC_LIB: &str = "/usr/lib/wasm32-wasi";

/// Where the finished component is written.
pub fn output_path() -> PathBuf {
    workspace_root().join("target/component/pycomponent.wasm")
}

/// Builds CPython if needed, then the component (or takes it from the
/// cache when none of its inputs changed); returns its path.
pub fn build() -> Result<PathBuf> {
    let cpython = cpython::build(false)?;
    let cache_root = cache::root()?;
    let key = cache_key(&cpython)?;
    let entry = cache::Entry::new(&cache_root, "component", &key);
    let out = output_path();
    let http_core = http_core_path();
    let sources = sources_path();
    if entry.is_complete()
        && entry.dir.join(HTTP_CORE_FILE).is_file()
        && entry.dir.join(SOURCES_FILE).is_file()
    {
        fs::create_dir_all(out.parent().unwrap_or(&out))?;
        fs::copy(entry.dir.join("pycomponent.wasm"), &out).context("copying the cached component")?;
        fs::copy(entry.dir.join(HTTP_CORE_FILE), &http_core)
            .context("copying the cached HTTP core module")?;
        fs::copy(entry.dir.join(SOURCES_FILE), &sources).context("copying the cached stdlib sources")?;
        eprintln!("==> component: cached build {} (inputs unchanged)", entry.dir.display());
    } else {
        build_with(&cpython)?;
        let partial = entry.begin()?;
        fs::copy(&out, partial.join("pycomponent.wasm"))?;
        fs::copy(&http_core, partial.join(HTTP_CORE_FILE))?;
        fs::copy(&sources, partial.join(SOURCES_FILE))?;
        let report = format!("{}; stdlib sources {}", size_report(&out)?, size_report(&sources)?);
        fs::write(partial.join("size.txt"), report)?;
        entry.commit(&key)?;
    }
    let size = fs::read_to_string(entry.dir.join("size.txt")).unwrap_or_default();
    eprintln!("==> component: {} — {}", out.display(), size.trim());
    Ok(out)
}

/// Everything the component is made from: the guest's sources, the WIT, the
/// CPython build, the tools and their versions, and this recipe.
fn cache_key(cpython: &Artifacts) -> Result<cache::Key> {
    let root = workspace_root();
    let mut key = cache::KeyBuilder::default();
    key.text("cpython build", &cpython.dir.file_name().unwrap_or_default().to_string_lossy());
    key.tree("guest/src", &root.join("component/src"))?;
    for file in [
        "component/Cargo.toml",
        "component/Cargo.lock",
        "component/build.rs",
        "component/pyo3-config.txt",
        "xtask/src/component.rs",
        "xtask/src/stdlib_sources.py",
    ] {
        key.file(file, &root.join(file))?;
    }
    key.tree("wit", &root.join("wit"))?;
    key.text(
        "wasmtime cli",
        &format!("{} {}", versions::WASMTIME_CLI.version, versions::WASMTIME_CLI.sha256),
    );
    key.text("tzdata", &format!("{} {}", versions::TZDATA.version, versions::TZDATA.sha256));
    key.data("preview1 adapter", WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER);
    for (name, version) in crate::toolchain::installed_versions(&[
        "rustc-web",
        "rust-web-src",
        "wasi-libc",
        versions::LLD_PACKAGE,
    ])? {
        key.text(&format!("debian {name}"), &version);
    }
    Ok(key.finish())
}

/// "N MB raw, M MB brotli": brotli at its best level, as compared sizes
/// are quoted (it takes about half a minute, so only fresh builds pay it).
fn size_report(path: &Path) -> Result<String> {
    let raw = fs::metadata(path)?.len();
    let brotli = shell::output_bytes(Command::new("brotli").args(["-c", "-q", "11"]).arg(path))?.len();
    Ok(format!("{:.2} MB raw, {:.2} MB brotli", raw as f64 / 1e6, brotli as f64 / 1e6))
}

/// The guest crate built for world `http-app`, pre-initialized like the
/// component but not packaged: `pycomponent build` adds an app to it and
/// makes the app's component.
pub fn http_core_path() -> PathBuf {
    workspace_root().join("target/component").join(HTTP_CORE_FILE)
}

const HTTP_CORE_FILE: &str = "pycomponent-http-core.wasm";

/// The standard library's sources, zipped, beside the component: the
/// optional artifact that gives tracebacks and `inspect` their source lines
/// (the guest reads it at `/usr/local/lib/python311.zip`, CPython's name for
/// a zipped standard library, when a host provides it).
pub fn sources_path() -> PathBuf {
    workspace_root().join("target/component").join(SOURCES_FILE)
}

const SOURCES_FILE: &str = "python311.zip";

/// Writes `sources_path()` with the native CPython of the same build.
fn zip_sources(cpython: &Artifacts, logs: &Path) -> Result<()> {
    let root = workspace_root();
    let step = Step::start("component: zip the stdlib sources (python311.zip)", logs.join("sources.log"))?;
    let tzdata = tools::unpacked(versions::TZDATA, &cache::root()?)?;
    let mut python = Command::new(cpython.dir.join("native/bin/python3.11"));
    python
        .arg("-I")
        .arg(root.join("xtask/src/stdlib_sources.py"))
        .arg(cpython.stdlib())
        .arg(&tzdata)
        .arg(sources_path());
    step.run(&mut python)?;
    step.finish();
    Ok(())
}

fn build_with(cpython: &Artifacts) -> Result<()> {
    let root = workspace_root();
    let logs = root.join("target/component/logs");
    fs::create_dir_all(&logs)?;
    let lean = Guest::lean()?;
    let python_core = build_guest(cpython, None, &lean, &logs)?;
    let http_core = build_guest(cpython, Some("http"), &lean, &logs)?;
    let snapshot = root.join("target/component/pycomponent-core-initialized.wasm");
    pre_initialize(cpython, &python_core, &lean, &snapshot, &logs.join("wizer.log"))?;
    pre_initialize(cpython, &http_core, &lean, &http_core_path(), &logs.join("wizer-http.log"))?;
    zip_sources(cpython, &logs)?;
    encode_component(&snapshot, &output_path(), &logs)
}

/// Packages a pre-initialized core module as a component with the WASI
/// preview-1 adapter.
fn encode_component(snapshot: &Path, output: &Path, logs: &Path) -> Result<()> {
    let step = Step::start("component: adapt WASI preview 1", logs.join("component.log"))?;
    let module = fs::read(snapshot).with_context(|| format!("reading {}", snapshot.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .context("reading the guest module's component-type section")?
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)
        .context("adding the WASI preview-1 reactor adapter")?
        .validate(true)
        .encode()
        .context("encoding the component")?;
    ensure!(!component.is_empty(), "empty component");
    write_atomically(output, &component)?;
    step.finish();
    Ok(())
}

/// A component with native packages: the interpreter world with the
/// extension modules of `recipes` linked in and their Python files in the
/// snapshot's module store, written to `target/component/pycomponent-<name>.wasm`.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// Its name, in its file name and on the command line.
    pub name: &'static str,
    /// The native packages it carries.
    pub recipes: &'static [Recipe],
    /// CPython's extension modules it carries that the default component
    /// leaves out ([`native::stdlib_modules`]).
    pub stdlib_modules: &'static [StdlibModule],
    /// Shipped in the npm package too (`loadPython({ variant })`), which
    /// takes only its main core module: jco's code for it must be the
    /// default component's (`cargo xtask js` checks it).
    pub in_js: bool,
}

/// The variants `cargo xtask component --variant` builds.
pub const VARIANTS: &[Variant] = &[
    // With ctypes and mmap, for `ndarray.ctypes`, `numpy.ctypeslib` and
    // `numpy.memmap`.
    Variant {
        name: "numpy",
        recipes: &[recipes::NUMPY],
        stdlib_modules: &[stdlib_modules::CTYPES, stdlib_modules::MMAP],
        in_js: true,
    },
    // For edge apps: FastAPI (pydantic-core), Flask and Jinja2 (MarkupSafe).
    // Its core module imports in another order, which jco's code for it
    // reflects, so it is not in the npm package.
    Variant {
        name: "pydantic",
        recipes: &[recipes::PYDANTIC_CORE, recipes::MARKUPSAFE],
        stdlib_modules: &[],
        in_js: false,
    },
];

/// The variant named `name`, or an error listing the known ones.
pub fn variant(name: &str) -> Result<Variant> {
    VARIANTS.iter().copied().find(|v| v.name == name).with_context(|| {
        let known: Vec<_> = VARIANTS.iter().map(|v| v.name).collect();
        format!("no component variant {name:?}; the build knows {}", known.join(", "))
    })
}

/// Where variant `name` is written.
pub fn variant_path(name: &str) -> PathBuf {
    workspace_root().join(format!("target/component/pycomponent-{name}.wasm"))
}

/// Where the HTTP core module of variant `name` is written: what
/// `pycomponent build` starts from for an app whose requirements include
/// the variant's native packages.
pub fn variant_http_core_path(name: &str) -> PathBuf {
    workspace_root().join(format!("target/component/pycomponent-{name}-http-core.wasm"))
}

/// The custom section of a core module that lists the native packages
/// linked into it, one `name version` line each (PyPI's normalized name):
/// `pycomponent build` reads it to take those packages from the core
/// instead of refusing their wheels.
pub const NATIVE_PACKAGES_SECTION: &str = "pycomponent-native-packages";

/// Builds `variant` (its native packages first) and its HTTP core module,
/// or takes them from the cache; returns the component's path.
pub fn build_variant(variant: Variant) -> Result<PathBuf> {
    let cpython = cpython::build(false)?;
    let mut built: Vec<native::Built> =
        variant.recipes.iter().map(|recipe| native::build(*recipe, &cpython)).collect::<Result<_>>()?;
    for module in variant.stdlib_modules {
        built.push(stdlib_modules::build(*module, &cpython)?);
    }
    let mut key = cache::KeyBuilder::default();
    key.text("component", &cache_key(&cpython)?.hex);
    key.text("variant", variant.name);
    for package in &built {
        // The path names the package's cache entry, whose key hashes its inputs.
        key.text("native package", &package.site_packages.to_string_lossy());
    }
    for file in RUNTIME_SUPPORT {
        key.file(file, &crate::xtask_dir().join("native").join(file))?;
    }
    let key = key.finish();
    let entry = cache::Entry::new(&cache::root()?, &format!("component-{}", variant.name), &key);
    let out = variant_path(variant.name);
    if !entry.is_complete() {
        let logs = workspace_root().join(format!("target/component/logs/{}", variant.name));
        fs::create_dir_all(&logs)?;
        let guest = Guest::with_packages(variant, &built, &logs)?;
        let core = build_guest(&cpython, None, &guest, &logs)?;
        let http_core = build_guest(&cpython, Some("http"), &guest, &logs)?;
        let snapshot = logs.join("core-initialized.wasm");
        pre_initialize(&cpython, &core, &guest, &snapshot, &logs.join("wizer.log"))?;
        let http_snapshot = logs.join("http-core-initialized.wasm");
        pre_initialize(&cpython, &http_core, &guest, &http_snapshot, &logs.join("wizer-http.log"))?;
        let partial = entry.begin()?;
        encode_component(&snapshot, &partial.join("pycomponent.wasm"), &logs)?;
        let mut http_module = fs::read(&http_snapshot)?;
        append_custom_section(&mut http_module, NATIVE_PACKAGES_SECTION, package_list(variant).as_bytes());
        fs::write(partial.join(HTTP_CORE_FILE), http_module)?;
        fs::write(partial.join("size.txt"), size_report(&partial.join("pycomponent.wasm"))?)?;
        entry.commit(&key)?;
    } else {
        eprintln!("==> component {}: cached build {} (inputs unchanged)", variant.name, entry.dir.display());
    }
    fs::create_dir_all(out.parent().unwrap_or(&out))?;
    fs::copy(entry.dir.join("pycomponent.wasm"), &out).context("copying the component")?;
    fs::copy(entry.dir.join(HTTP_CORE_FILE), variant_http_core_path(variant.name))
        .context("copying the variant's HTTP core module")?;
    let size = fs::read_to_string(entry.dir.join("size.txt")).unwrap_or_default();
    eprintln!("==> component {}: {} — {}", variant.name, out.display(), size.trim());
    Ok(out)
}

/// The [`NATIVE_PACKAGES_SECTION`] text of `variant`.
fn package_list(variant: Variant) -> String {
    variant.recipes.iter().map(|recipe| format!("{} {}\n", recipe.project, recipe.version)).collect()
}

/// Appends a custom section to an encoded module (sections may follow
/// each other in any order after the last known one; custom ones anywhere).
fn append_custom_section(module: &mut Vec<u8>, name: &str, data: &[u8]) {
    use wasm_encoder::{CustomSection, Encode, Section};
    let section = CustomSection { name: name.into(), data: data.into() };
    module.push(section.id());
    section.encode(module);
}

/// What a guest build links and carries besides CPython: native packages'
/// archives and modules, and the site-packages tree of the snapshot.
#[derive(Debug)]
struct Guest {
    /// Cargo's target directory for this build: variants have their own,
    /// so that switching between builds does not relink each time.
    target_dir: PathBuf,
    /// Archives to link (`PYCOMPONENT_NATIVE_LIBS`).
    native_libs: Vec<PathBuf>,
    /// `name=symbol` pairs (`PYCOMPONENT_NATIVE_MODULES`).
    native_modules: Vec<String>,
    /// Mounted as site-packages while the snapshot is made.
    site_packages: PathBuf,
    /// With Rust native packages: the manifest of the crate that links
    /// them with the guest crate ([`write_wrapper_crate`]), built instead.
    wrapper: Option<PathBuf>,
}

impl Guest {
    /// The default build: no native packages; site-packages holds tzdata.
    fn lean() -> Result<Guest> {
        Ok(Guest {
            target_dir: workspace_root().join("component/target"),
            native_libs: Vec::new(),
            native_modules: Vec::new(),
            site_packages: tools::unpacked(versions::TZDATA, &cache::root()?)?,
            wrapper: None,
        })
    }

    /// A variant's build: its packages' archives and modules, the runtime
    /// support they need ([`RUNTIME_SUPPORT`]), and a site-packages tree merged
    /// from tzdata and the packages.
    fn with_packages(variant: Variant, built: &[native::Built], logs: &Path) -> Result<Guest> {
        let dir = workspace_root().join(format!("target/component/variant-{}", variant.name));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        let site_packages = dir.join("site-packages");
        fs::create_dir_all(&site_packages)?;
        native::copy_tree(&tools::unpacked(versions::TZDATA, &cache::root()?)?, &site_packages)?;
        let mut native_libs = Vec::new();
        let mut native_modules = Vec::new();
        let mut rust_crates = Vec::new();
        for package in built {
            native::copy_tree(&package.site_packages, &site_packages)?;
            native_libs.extend(package.archive.clone());
            rust_crates.extend(package.rust_crate.clone());
            native_modules.extend(package.modules.iter().map(|(name, symbol)| format!("{name}={symbol}")));
        }
        native_libs.push(runtime_support_archive(&dir, logs)?);
        let wrapper =
            if rust_crates.is_empty() { None } else { Some(write_wrapper_crate(&dir, &rust_crates)?) };
        Ok(Guest {
            target_dir: workspace_root().join(format!("component/target/variant-{}", variant.name)),
            native_libs,
            native_modules,
            site_packages,
            wrapper,
        })
    }
}

/// Writes, in `dir/guest`, the crate a variant with Rust native packages
/// builds: a `cdylib` of the guest crate (a library) and the packages.
/// crates, so that one pyo3-ffi serves both; returns its manifest. Its
/// lock file starts from the guest's and the packages' own, so that both
/// keep the versions they were tested with where they agree.
fn write_wrapper_crate(dir: &Path, crates: &[native::RustCrate]) -> Result<PathBuf> {
    let guest = workspace_root().join("component");
    let wrapper = dir.join("guest");
    fs::create_dir_all(&wrapper)?;
    let guest_manifest = fs::read_to_string(guest.join("Cargo.toml"))?;
    let profile = guest_manifest
        .split("\n[")
        .find(|section| section.starts_with("profile.release]"))
        .context("component/Cargo.toml has no [profile.release]")?;
    let mut dependencies = format!("pycomponent-guest = {{ path = {:?} }}\n", guest.to_string_lossy());
    let mut externs = String::new();
    for krate in crates {
        dependencies.push_str(&format!(
            "{} = {{ path = {:?} }}\n",
            krate.package,
            krate.dir.to_string_lossy()
        ));
        externs.push_str(&format!("extern crate {};\n", krate.lib));
    }
    fs::write(
        wrapper.join("Cargo.toml"),
        format!(
            "# Written by `cargo xtask component`: the guest with Rust native packages.\n\
             [package]\nname = \"pycomponent-guest-variant\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [lib]\npath = \"lib.rs\"\ncrate-type = [\"cdylib\"]\n\n\
             [features]\nhttp = [\"pycomponent-guest/http\"]\n\n\
             [dependencies]\n{dependencies}\n[{profile}\n[workspace]\n"
        ),
    )?;
    fs::write(
        wrapper.join("lib.rs"),
        format!(
            "//! Written by `cargo xtask component`: links the guest crate (its\n\
             //! exports are this module's) with the Rust native packages.\n\n\
             extern crate pycomponent_guest;\n{externs}"
        ),
    )?;
    // Entries are `[[package]]` blocks; one per name and semver-compatible
    // version range is kept (the guest's first), as cargo can use only one.
    let name_version = |entry: &str| {
        let field = |key: &str| {
            entry.lines().find_map(|line| line.strip_prefix(key)).map(|v| v.trim_matches('"').to_string())
        };
        (field("name = "), field("version = ").map(|version| semver_range(&version)))
    };
    let mut lock = fs::read_to_string(guest.join("Cargo.lock"))?;
    let mut seen: std::collections::HashSet<_> =
        lock.split("\n[[package]]\n").skip(1).map(name_version).collect();
    for krate in crates {
        if let Ok(theirs) = fs::read_to_string(krate.dir.join("Cargo.lock")) {
            for entry in theirs.split("\n[[package]]\n").skip(1) {
                if seen.insert(name_version(entry)) {
                    lock.push_str(&format!("\n[[package]]\n{}\n", entry.trim_end()));
                }
            }
        }
    }
    fs::write(wrapper.join("Cargo.lock"), lock)?;
    Ok(wrapper.join("Cargo.toml"))
}

/// The part of a version that semver-compatible versions share: `2` of
/// `2.0.82`, `0.3` of `0.3.13`, all of `0.0.4`.
fn semver_range(version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    match parts.as_slice() {
        ["0", "0", ..] => version.to_string(),
        ["0", minor, ..] => format!("0.{minor}"),
        [major, ..] => major.to_string(),
        [] => String::new(),
    }
}

/// What native packages need of the C runtime that wasi-libc and Debian's
/// libc++abi do not give (xtask/native/README.md): C++ throws,
/// floating-point exception flags, the stack protector's symbols.
const RUNTIME_SUPPORT: &[&str] = &["cxx_abort.c", "soft_fenv.c", "stack_protector.c"];

/// Compiles [`RUNTIME_SUPPORT`] into an archive in `dir`; it is linked
/// before wasi-libc, so that its definitions are the ones taken.
fn runtime_support_archive(dir: &Path, logs: &Path) -> Result<PathBuf> {
    let cc = cpython::wasm_cc::WasmCc::new(&cache::root()?)?;
    let step =
        Step::start("component: runtime support of native packages", logs.join("runtime-support.log"))?;
    let mut objects = Vec::new();
    for file in RUNTIME_SUPPORT {
        let object = dir.join(file.replace(".c", ".o"));
        step.run(
            cc.command()
                .args(["-O2", "-Wall", "-c"])
                .arg(crate::xtask_dir().join("native").join(file))
                .arg("-o")
                .arg(&object),
        )?;
        objects.push(object);
    }
    let archive = dir.join("libpycomponent_native_support.a");
    step.run(Command::new(cc.ar()).arg("rcs").arg(&archive).args(&objects))?;
    step.finish();
    Ok(archive)
}

/// Builds the guest crate (with `feature`, if any) and returns a copy of
/// its core module (in `logs`): the two worlds of one build share its
/// cargo target directory.
fn build_guest(cpython: &Artifacts, feature: Option<&str>, guest: &Guest, logs: &Path) -> Result<PathBuf> {
    let name = feature.unwrap_or("python");
    let step = Step::start(
        format!("guest crate, world {}, for wasm32-wasip1 (Debian rustc-web, build-std)", world_of(feature)),
        logs.join(format!("guest-{name}.log")),
    )?;
    let mut cargo = guest_cargo(cpython, DEBIAN_CARGO);
    match &guest.wrapper {
        Some(manifest) => {
            cargo.arg("build").arg("--manifest-path").arg(manifest);
        }
        // The guest crate is a library (component/Cargo.toml): its module
        // is a cdylib of it.
        None => {
            cargo.args(["rustc", "--lib", "--crate-type", "cdylib"]);
        }
    }
    cargo.args(["--release", "-Zbuild-std=std,panic_abort", "--target", "wasm32-wasip1"]);
    if let Some(feature) = feature {
        cargo.args(["--features", feature]);
    }
    let libs: Vec<String> = guest.native_libs.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    cargo
        .arg("--target-dir")
        .arg(&guest.target_dir)
        .env("PYCOMPONENT_NATIVE_LIBS", libs.join(":"))
        .env("PYCOMPONENT_NATIVE_MODULES", guest.native_modules.join(","));
    step.run(&mut cargo)?;
    let artifact = if guest.wrapper.is_some() { "pycomponent_guest_variant" } else { "pycomponent_guest" };
    let built = guest.target_dir.join(format!("wasm32-wasip1/release/{artifact}.wasm"));
    let copy = logs.join(format!("guest-{name}.wasm"));
    fs::copy(&built, &copy).with_context(|| format!("copying {}", built.display()))?;
    step.finish();
    Ok(copy)
}

/// `program` (Debian's cargo or cargo-clippy) set up for the guest crate:
/// Debian's rustc, the wasm32 link flags, the CPython build to link and
/// pyo3-ffi's configuration, and none of the outer cargo's variables.
fn guest_cargo(cpython: &Artifacts, program: &str) -> Command {
    let guest_dir = workspace_root().join("component");
    let clang_rt = format!("/usr/lib/llvm-{LLVM_MAJOR}/lib/clang/{LLVM_MAJOR}/lib/wasi");
    let rustflags = [
        "-C link-self-contained=no".to_string(),
        format!("-C linker=wasm-ld-{LLVM_MAJOR}"),
        format!("-L {WASI_LIBC_LIB}"),
        format!("-C link-arg={WASI_LIBC_LIB}/crt1-reactor.o"),
    ]
    .join(" ");
    let mut cargo = Command::new(program);
    // A nested build under `cargo xtask` inherits the outer cargo's and
    // rustup's variables; they would point it at the host toolchain.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO") || key.starts_with("RUSTUP") || key.starts_with("RUST") {
            cargo.env_remove(key.as_ref());
        }
    }
    cargo
        .env("PATH", "/usr/bin:/bin")
        .env("RUSTC", DEBIAN_RUSTC)
        // -Zbuild-std is unstable; rustc-web is a stable release.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", rustflags)
        .env("PYCOMPONENT_CPYTHON_LIB", cpython.dir.join("wasm/lib"))
        .env("PYCOMPONENT_CLANG_RT", clang_rt)
        // pyo3-ffi's build script: CPython 3.11, static, 32-bit, our link lines.
        .env("PYO3_CONFIG_FILE", guest_dir.join("pyo3-config.txt"))
        // No native packages unless a variant's build says so (build.rs).
        .env("PYCOMPONENT_NATIVE_LIBS", "")
        .env("PYCOMPONENT_NATIVE_MODULES", "")
        .current_dir(&guest_dir);
    cargo
}

/// Debian's clippy, for the guest: cargo looks for subcommands in
/// `~/.cargo/bin` first, where rustup's `cargo-clippy` lives, so it is
/// called directly.
const DEBIAN_CARGO_CLIPPY: &str = "/usr/bin/cargo-clippy";

/// `cargo clippy -D warnings` over the guest crate for wasm32-wasip1, in
/// both worlds: the crate that holds the guest's unsafe code is linted for
/// the target it runs on (32-bit pointers, the WASI imports).
pub fn clippy() -> Result<()> {
    let cpython = cpython::build(false)?;
    for feature in [None, Some("http")] {
        eprintln!("==> test: clippy of the guest crate, world {} (wasm32-wasip1)", world_of(feature));
        let mut clippy = guest_cargo(&cpython, DEBIAN_CARGO_CLIPPY);
        clippy.args(["clippy", "--release", "-Zbuild-std=std,panic_abort", "--target", "wasm32-wasip1"]);
        if let Some(feature) = feature {
            clippy.args(["--features", feature]);
        }
        shell::run(clippy.args(["--", "-D", "warnings"]))?;
    }
    Ok(())
}

fn world_of(feature: Option<&str>) -> &'static str {
    if feature == Some("http") { "http-app" } else { "python" }
}

/// Runs the guest's `wizer-initialize` (start CPython, embed the stdlib,
/// preload modules) and writes the snapshot. Every import other than WASI
/// traps (`-W unknown-imports-trap=y`): nothing may call the host while the
/// snapshot is made.
fn pre_initialize(
    cpython: &Artifacts,
    core: &Path,
    guest: &Guest,
    snapshot: &Path,
    log: &Path,
) -> Result<()> {
    let step = Step::start(
        format!("pre-initialize {}: start CPython, embed the stdlib, snapshot (wizer)", file_name(core)),
        log.to_path_buf(),
    )?;
    let wasmtime = tools::ensure(versions::WASMTIME_CLI, &cache::root()?)?;
    let mut wizer = Command::new(&wasmtime);
    wizer.args(["wizer", "-S", "cli=y", "-W", "unknown-imports-trap=y", "--init-func", "wizer-initialize"]);
    wizer
        .arg("--dir")
        .arg(format!("{}::{GUEST_STDLIB}", cpython.stdlib().display()))
        .arg("--dir")
        .arg(format!("{}::{GUEST_SITE_PACKAGES}", guest.site_packages.display()))
        .arg("-o")
        .arg(snapshot)
        .arg(core);
    step.run(&mut wizer)?;
    step.finish();
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap_or_default().to_string_lossy().into_owned()
}

fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("wasm.tmp");
    fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appended_custom_section_reads_back_and_the_module_stays_valid() {
        let mut module = wasm_encoder::Module::new().finish();
        append_custom_section(&mut module, NATIVE_PACKAGES_SECTION, b"numpy 2.4.6\n");
        wasmparser::Validator::new().validate_all(&module).expect("a valid module");
        let found: Vec<(String, Vec<u8>)> = wasmparser::Parser::new(0)
            .parse_all(&module)
            .filter_map(|payload| match payload.expect("parses") {
                wasmparser::Payload::CustomSection(reader) => {
                    Some((reader.name().to_string(), reader.data().to_vec()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(found, vec![(NATIVE_PACKAGES_SECTION.to_string(), b"numpy 2.4.6\n".to_vec())]);
    }

    #[test]
    fn semver_ranges_are_what_cargo_unifies() {
        assert_eq!(semver_range("2.0.82"), "2");
        assert_eq!(semver_range("0.3.13"), "0.3");
        assert_eq!(semver_range("0.0.4"), "0.0.4");
    }
}
