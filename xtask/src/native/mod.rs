//! Native packages for the guest: builds a [`Recipe`]'s PyPI source
//! distribution for wasm32-wasi into an archive of extension modules (each
//! one object whose only public symbol is its renamed `PyInit_` function)
//! and a site-packages tree of its Python files, cached by a hash of the
//! inputs.
//!
//! The route for a meson project: the package's own build runs
//! with a compiler wrapper that compiles to LLVM bitcode (`-flto`) and, where
//! the build links an extension module (`-shared`), records the module's
//! inputs instead (`xtask/native/record_link.py`). Each recorded module is
//! then linked at the bitcode level with a small entry function named after
//! its dotted name, internalized so that nothing else stays public (numpy's
//! modules define the same helpers many times over), and compiled to one
//! wasm object. The guest registers every entry function in CPython's
//! inittab under the module's dotted name (component/build.rs). A project
//! whose extension modules are a list of C files ([`Build::Extensions`])
//! has them compiled to bitcode directly and linked the same way; a pyo3
//! crate is linked with the guest by cargo instead.

pub mod recipes;
pub mod stdlib_modules;

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::cache::{self, Entry, KeyBuilder};
use crate::cpython::{Artifacts, wasm_cc::WasmCc};
use crate::shell::Step;
use crate::versions::{self, LLVM_MAJOR, PYTHON_MAJOR_MINOR};
use crate::{tools, xtask_dir};
pub use recipes::{Build, Recipe};

/// The suffix of an extension module's file for the wasm32-wasi CPython
/// (its `EXT_SUFFIX`): the files the build records in place of modules.
const EXT_SUFFIX: &str = ".cpython-311-wasm32-wasi.so";

/// A built package, as the guest build uses it.
#[derive(Debug, Clone)]
pub struct Built {
    /// The archive of its extension modules' objects (a C build).
    pub archive: Option<PathBuf>,
    /// The crate the guest depends on (a pyo3 build).
    pub rust_crate: Option<RustCrate>,
    /// Its Python files, laid out as pip installs them.
    pub site_packages: PathBuf,
    /// The files of its install the recipe leaves out of the component
    /// (tests, headers, stubs), laid out the same way.
    pub excluded: PathBuf,
    /// (dotted module name, entry symbol) of every extension module.
    pub modules: Vec<(String, String)>,
}

/// A pyo3 crate, unpacked from its sdist, for the guest to depend on.
#[derive(Debug, Clone)]
pub struct RustCrate {
    /// Its package name (the recipe's project name).
    pub package: String,
    /// Its library name, as `extern crate` names it.
    pub lib: String,
    /// Its directory (with Cargo.toml and Cargo.lock).
    pub dir: PathBuf,
}

/// The entry symbol the guest registers for module `dotted`: `PyInit_` and
/// the dotted name with `.` written `__` (a C identifier; every module of a
/// component has its own).
pub fn entry_symbol(dotted: &str) -> String {
    format!("PyInit_{}", dotted.replace('.', "__"))
}

/// Builds `recipe` (or takes it from the cache when its inputs did not change).
pub fn build(recipe: Recipe, cpython: &Artifacts) -> Result<Built> {
    let cache_root = cache::root()?;
    let key = cache_key(recipe, cpython)?;
    let entry = Entry::new(&cache_root, &format!("native/{}", recipe.project), &key);
    if entry.is_complete() {
        eprintln!("==> native {}: cached build {} (inputs unchanged)", recipe.project, entry.dir.display());
    } else {
        eprintln!("==> native {} {}: building into {}", recipe.project, recipe.version, entry.dir.display());
        let out = entry.begin()?;
        let work = cache_root.join("native-work").join(format!("{}-{}", recipe.project, key.hex));
        if work.exists() {
            fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
        }
        fs::create_dir_all(&work)?;
        Builder { recipe, cpython, cc: WasmCc::new(&cache_root)?, work: work.clone(), out }
            .run()
            .with_context(|| format!("building native package {} {}", recipe.project, recipe.version))?;
        entry.commit(&key)?;
        // The build tree is large (numpy's is ~300 MB) and nothing reads it again.
        fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    }
    let modules = fs::read_to_string(entry.dir.join(MODULES_FILE))?
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(name, symbol)| (name.to_string(), symbol.to_string()))
        .collect();
    let archive = entry.dir.join(archive_name(recipe));
    let rust_crate = match recipe.build {
        Build::Pyo3 { lib, .. } => Some(RustCrate {
            package: recipe.project.to_string(),
            lib: lib.to_string(),
            dir: entry.dir.join(CRATE_DIR),
        }),
        Build::Meson { .. } | Build::Extensions { .. } => None,
    };
    Ok(Built {
        archive: archive.is_file().then_some(archive),
        rust_crate,
        site_packages: entry.dir.join("site-packages"),
        excluded: entry.dir.join("excluded"),
        modules,
    })
}

/// The inputs of a recipe's build: the pinned sdist, the recipe, the
/// support files, the CPython build it compiles against, the tools.
fn cache_key(recipe: Recipe, cpython: &Artifacts) -> Result<cache::Key> {
    let xtask = xtask_dir();
    let mut key = KeyBuilder::default();
    key.text("recipe", &format!("{recipe:?}"));
    key.text("cpython build", &cpython.dir.file_name().unwrap_or_default().to_string_lossy());
    key.file("recipe/native/mod.rs", &xtask.join("src/native/mod.rs"))?;
    key.tree("recipe/native support", &xtask.join("native"))?;
    key.text("cython", &format!("{} {}", versions::CYTHON.version, versions::CYTHON.sha256));
    for (name, version) in crate::toolchain::installed_versions(&[
        versions::CLANG_PACKAGE,
        versions::LLVM_PACKAGE,
        versions::LIBCXX_PACKAGE,
        "wasi-libc",
        "ninja-build",
    ])? {
        key.text(&format!("debian {name}"), &version);
    }
    Ok(key.finish())
}

const MODULES_FILE: &str = "modules.txt";

/// Where a pyo3 build keeps the crate, in its cache entry.
const CRATE_DIR: &str = "crate";

fn archive_name(recipe: Recipe) -> String {
    format!("libpycomponent_native_{}.a", recipe.project.replace('-', "_"))
}

/// One build of one recipe.
struct Builder<'a> {
    recipe: Recipe,
    cpython: &'a Artifacts,
    cc: WasmCc,
    /// Scratch directory: the unpacked sdist, the build tree, the tools.
    work: PathBuf,
    /// The cache entry being filled.
    out: PathBuf,
}

impl Builder<'_> {
    fn run(&self) -> Result<()> {
        let source = self.unpack()?;
        let tools = self.write_tools()?;
        // Installed files, with link records in place of extension modules.
        let staged = self.work.join("staged");
        fs::create_dir_all(&staged)?;
        match self.recipe.build {
            Build::Meson { options } => {
                self.build_meson(&source, &tools, options, &staged)?;
                self.write_dist_info(&source, &staged)?;
                self.finish(&staged)
            }
            Build::Extensions { modules, python_source } => {
                copy_tree(&source.join(python_source), &staged)?;
                self.write_dist_info(&source, &staged)?;
                let records = self.keep_files(&staged)?;
                ensure!(records.is_empty(), "the sdist holds built extension modules: {records:?}");
                let step = self.step("compile each extension module to bitcode", "compile.log")?;
                let mut linked = Vec::new();
                for (dotted, sources) in modules {
                    let dir = self.work.join("bitcode").join(dotted);
                    fs::create_dir_all(&dir)?;
                    let mut inputs = Vec::new();
                    for (n, file) in sources.iter().enumerate() {
                        let object = dir.join(format!("{n}.o"));
                        step.run(
                            self.cc
                                .command()
                                .args(["-O2", "-c"])
                                .args(Self::c_flags())
                                .arg("-I")
                                .arg(
                                    self.cpython.dir.join(format!("wasm/include/python{PYTHON_MAJOR_MINOR}")),
                                )
                                .arg(source.join(file))
                                .arg("-o")
                                .arg(&object),
                        )?;
                        inputs.push(object.to_string_lossy().into_owned());
                    }
                    linked.push((dotted.to_string(), inputs));
                }
                step.finish();
                self.link_all(&linked)
            }
            Build::Pyo3 { module, python_source, .. } => {
                copy_tree(&source.join(python_source), &staged)?;
                self.write_dist_info(&source, &staged)?;
                let records = self.keep_files(&staged)?;
                ensure!(
                    records.is_empty(),
                    "a pyo3 package's sdist holds built extension modules: {records:?}"
                );
                self.keep_crate(&source)?;
                let last = module.rsplit('.').next().unwrap_or(module);
                fs::write(self.out.join(MODULES_FILE), format!("{module} PyInit_{last}\n"))?;
                Ok(())
            }
        }
    }

    /// Moves the crate into the cache entry as a library only: a
    /// dependency is built with every crate type it declares, and a
    /// `cdylib` of its own cannot link (the C API is in the guest).
    fn keep_crate(&self, source: &Path) -> Result<()> {
        let dir = self.out.join(CRATE_DIR);
        fs::rename(source, &dir).with_context(|| format!("moving the crate to {}", dir.display()))?;
        let manifest = dir.join("Cargo.toml");
        let text = fs::read_to_string(&manifest)?;
        let library_only = text.replace("crate-type = [\"cdylib\", \"rlib\"]", "crate-type = [\"rlib\"]");
        ensure!(
            library_only.contains("crate-type = [\"rlib\"]"),
            "{}: no `crate-type = [\"cdylib\", \"rlib\"]` to make a library of",
            manifest.display()
        );
        fs::write(&manifest, library_only)?;
        Ok(())
    }

    /// Writes the package's `.dist-info` into `staged` as an install from a
    /// wheel has it (METADATA is the sdist's PKG-INFO), so that
    /// `importlib.metadata.version()` finds it; a build backend that wrote
    /// one already is left alone.
    fn write_dist_info(&self, source: &Path, staged: &Path) -> Result<()> {
        let recipe = self.recipe;
        let dir = staged.join(format!("{}-{}.dist-info", recipe.project.replace('-', "_"), recipe.version));
        if dir.exists() {
            return Ok(());
        }
        let metadata = fs::read(source.join("PKG-INFO"))
            .with_context(|| format!("reading PKG-INFO of the {} sdist", recipe.project))?;
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("METADATA"), metadata)?;
        fs::write(dir.join("INSTALLER"), "pycomponent\n")?;
        Ok(())
    }

    fn step(&self, what: &str, log: &str) -> Result<Step> {
        Step::start(format!("native {}: {what}", self.recipe.project), self.work.join("logs").join(log))
    }

    /// Downloads (once, kept in the cache) and unpacks the sdist; returns its root.
    fn unpack(&self) -> Result<PathBuf> {
        let recipe = self.recipe;
        let sdists = cache::root()?.join("sources/pypi");
        fs::create_dir_all(&sdists)?;
        let sdist = sdists.join(recipe.sdist);
        let step = self.step("download and unpack the sdist", "sdist.log")?;
        if !sdist.is_file() || cache::sha256_file(&sdist)? != recipe.sha256 {
            step.run(
                Command::new("python3")
                    .arg(xtask_dir().join("native/fetch_sdist.py"))
                    .args([recipe.project, recipe.sdist, recipe.sha256])
                    .arg(&sdist),
            )?;
        }
        step.run(Command::new("tar").arg("-xzf").arg(&sdist).arg("-C").arg(&self.work))?;
        step.finish();
        let stem = recipe.sdist.trim_end_matches(".tar.gz");
        let root = self.work.join(stem);
        ensure!(root.is_dir(), "{} did not unpack into {stem}/", recipe.sdist);
        if !recipe.patches.is_empty() {
            let step = self.step("patch the source for wasm32", "patch.log")?;
            for patch in recipe.patches {
                // git applies a patch outside a repository too, and is on
                // every machine that has the clone.
                step.run(
                    Command::new("git")
                        .args(["apply", "--verbose"])
                        .arg(xtask_dir().join("native/patches").join(patch))
                        .current_dir(&root),
                )?;
            }
            step.finish();
        }
        Ok(root)
    }

    /// Writes the build's tools into `<work>/tools`: the compiler wrapper,
    /// a Python that reports the wasm32 CPython's configuration (for meson's
    /// python module), and Cython; returns the directory.
    fn write_tools(&self) -> Result<PathBuf> {
        let tools_dir = self.work.join("tools");
        fs::create_dir_all(&tools_dir)?;
        let native_python = self.cpython.dir.join("native/bin/python3.11");
        let cython = tools::unpacked(versions::CYTHON, &cache::root()?)?;

        // The wasm32 build's sysconfig data, with its include directory where
        // the headers are (it names /usr/local, the guest's prefix).
        let config_dir = tools_dir.join("sysconfig");
        fs::create_dir_all(&config_dir)?;
        let data_name = "_sysconfigdata__wasi_wasm32-wasi";
        let data = fs::read_to_string(self.cpython.stdlib().join(format!("{data_name}.py")))?;
        let include = self.cpython.dir.join(format!("wasm/include/python{PYTHON_MAJOR_MINOR}"));
        let data = data
            .replace(&format!("/usr/local/include/python{PYTHON_MAJOR_MINOR}"), &include.to_string_lossy());
        fs::write(config_dir.join(format!("{data_name}.py")), data)?;

        let python = format!(
            "#!/bin/sh\n# The native CPython of the build, reporting the wasm32 one's configuration.\n\
             _PYTHON_SYSCONFIGDATA_NAME={data_name} PYTHONPATH='{}:{}' exec '{}' \"$@\"\n",
            config_dir.display(),
            cython.display(),
            native_python.display()
        );
        let cython = format!(
            "#!/bin/sh\nPYTHONPATH='{}' exec '{}' -m cython \"$@\"\n",
            cython.display(),
            native_python.display()
        );
        let cc = format!(
            "#!/bin/sh\n# Compiles for wasm32-wasi; linking an extension module (-shared) records its inputs.\n\
             for arg in \"$@\"; do\n  if [ \"$arg\" = -shared ]; then\n    \
             exec '{python}' '{record}' \"$@\"\n  fi\ndone\nexec {cc} \"$@\"\n",
            python = native_python.display(),
            record = xtask_dir().join("native/record_link.py").display(),
            cc = self.cc.cc(),
        );
        for (name, text) in [("python", python), ("cython", cython), ("cc", cc)] {
            let path = tools_dir.join(name);
            fs::write(&path, text)?;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
        }
        Ok(tools_dir)
    }

    /// Flags of every C and C++ compilation: bitcode for the module link,
    /// and the floating-point exception flags wasi-libc leaves undefined
    /// (their functions are xtask/native/soft_fenv.c; the values are musl's).
    fn c_flags() -> Vec<String> {
        [
            "-flto",
            "-DNDEBUG",
            "-Wno-return-type",
            "-DFE_INVALID=1",
            "-DFE_DIVBYZERO=4",
            "-DFE_OVERFLOW=8",
            "-DFE_UNDERFLOW=16",
            "-DFE_INEXACT=32",
        ]
        .map(String::from)
        .to_vec()
    }

    /// C++ flags on top: our `<mutex>`, C99's `restrict` (CPython 3.11.2's
    /// pthread stubs use it in C++ too), throws that compile (see cxx_abort.c).
    fn cxx_flags() -> Vec<String> {
        let include = xtask_dir().join("native/include");
        let mut flags = vec!["-isystem".to_string(), include.to_string_lossy().into_owned()];
        flags.extend(["-Drestrict=__restrict", "-fexceptions"].map(String::from));
        flags.extend(Self::c_flags());
        flags
    }

    fn build_meson(&self, source: &Path, tools_dir: &Path, options: &[&str], staged: &Path) -> Result<()> {
        let quote =
            |flags: Vec<String>| flags.iter().map(|f| format!("'{f}'")).collect::<Vec<_>>().join(", ");
        let tool = |name: &str| tools_dir.join(name).to_string_lossy().into_owned();
        let cross = format!(
            "[binaries]\nc = '{cc}'\ncpp = '{cc}'\nar = 'llvm-ar-{LLVM_MAJOR}'\nranlib = 'llvm-ranlib-{LLVM_MAJOR}'\n\
             strip = 'llvm-strip-{LLVM_MAJOR}'\npython = '{python}'\ncython = '{cython}'\n\n\
             [host_machine]\nsystem = 'wasi'\ncpu_family = 'wasm32'\ncpu = 'wasm32'\nendian = 'little'\n\n\
             [properties]\nneeds_exe_wrapper = true\nskip_sanity_check = true\nlongdouble_format = 'IEEE_QUAD_LE'\n\n\
             [built-in options]\nc_args = [{c_args}]\ncpp_args = [{cpp_args}]\n",
            cc = tool("cc"),
            python = tool("python"),
            cython = tool("cython"),
            c_args = quote(Self::c_flags()),
            cpp_args = quote(Self::cxx_flags()),
        );
        let cross_file = self.work.join("cross-wasm32-wasi.ini");
        fs::write(&cross_file, cross)?;
        let build_dir = self.work.join("build");
        let path = format!("{}:{}", tools_dir.display(), std::env::var("PATH").unwrap_or_default());
        let meson = |step: &Step, args: &[&str]| {
            step.run(
                Command::new(tools_dir.join("python"))
                    .arg(source.join("vendored-meson/meson/meson.py"))
                    .args(args)
                    .env("PATH", &path)
                    .current_dir(source),
            )
        };
        let step = self.step("meson setup (cross file for wasm32-wasi)", "setup.log")?;
        let mut setup = vec!["setup", build_dir.to_str().context("non-UTF-8 path")?, "--cross-file"];
        setup.push(cross_file.to_str().context("non-UTF-8 path")?);
        setup.extend(["--buildtype=release", "-Db_ndebug=if-release"]);
        setup.extend(options);
        meson(&step, &setup)?;
        step.finish();
        let step = self.step("compile to bitcode (ninja)", "compile.log")?;
        step.run(Command::new("ninja").arg("-C").arg(&build_dir).env("PATH", &path))?;
        step.finish();
        let step = self.step("install (extension modules as link records)", "install.log")?;
        let destdir = self.work.join("destdir");
        let build = build_dir.to_str().context("non-UTF-8 path")?;
        let dest = destdir.to_str().context("non-UTF-8 path")?;
        meson(&step, &["install", "-C", build, "--no-rebuild", "--destdir", dest])?;
        step.finish();
        let site_packages = find_site_packages(&destdir)?;
        copy_tree(&site_packages, staged)
    }

    /// Sorts the staged install: the files the recipe excludes go to
    /// `excluded/` (excluded extension modules nowhere), the other files to
    /// `site-packages/`; returns the extension modules' link records
    /// (paths relative to `staged`).
    fn keep_files(&self, staged: &Path) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        collect_files(staged, staged, &mut files)?;
        let mut records = Vec::new();
        for rel in files {
            let rel_text = rel.to_string_lossy();
            let is_module = rel_text.ends_with(EXT_SUFFIX);
            let to = if excluded(self.recipe.exclude, &rel_text) {
                if is_module {
                    continue;
                }
                self.out.join("excluded").join(&rel)
            } else if is_module {
                records.push(rel);
                continue;
            } else {
                self.out.join("site-packages").join(&rel)
            };
            fs::create_dir_all(to.parent().unwrap_or(&self.out))?;
            fs::copy(staged.join(&rel), &to)?;
        }
        Ok(records)
    }

    /// Links every recorded module, archives the objects, and keeps the
    /// Python files the recipe does not exclude.
    fn finish(&self, staged: &Path) -> Result<()> {
        let records = self.keep_files(staged)?;
        let mut modules = Vec::new();
        for rel in &records {
            let rel_text = rel.to_string_lossy();
            let module_path = rel_text.strip_suffix(EXT_SUFFIX).unwrap_or(&rel_text);
            modules.push((module_path.replace('/', "."), recorded_inputs(&staged.join(rel))?));
        }
        self.link_all(&modules)
    }

    /// Links each module (dotted name, bitcode inputs) into one object,
    /// archives them and writes the modules' list.
    fn link_all(&self, modules: &[(String, Vec<String>)]) -> Result<()> {
        ensure!(!modules.is_empty(), "the build made no extension module");
        let objects = self.work.join("objects");
        fs::create_dir_all(&objects)?;
        let mut listing = String::new();
        let mut object_files = Vec::new();
        let step = self.step("link each extension module into one object", "link.log")?;
        for (dotted, inputs) in modules {
            let object = objects.join(format!("{dotted}.o"));
            self.link_module(&step, inputs, dotted, &object)?;
            let _ = writeln!(listing, "{dotted} {}", entry_symbol(dotted));
            object_files.push(object);
        }
        step.run(
            Command::new(self.cc.ar())
                .arg("rcs")
                .arg(self.out.join(archive_name(self.recipe)))
                .args(&object_files),
        )?;
        step.finish();
        fs::write(self.out.join(MODULES_FILE), listing)?;
        Ok(())
    }

    /// Links `inputs` (bitcode) with an entry function named
    /// [`entry_symbol`] that calls the module's own `PyInit_<last part>`,
    /// keeps only that entry public and compiles the result to `object`.
    fn link_module(&self, step: &Step, inputs: &[String], dotted: &str, object: &Path) -> Result<()> {
        let last = dotted.rsplit('.').next().unwrap_or(dotted);
        let entry = entry_symbol(dotted);
        let scratch = self.work.join("link").join(dotted);
        fs::create_dir_all(&scratch)?;
        let shim = scratch.join("entry.c");
        fs::write(
            &shim,
            format!(
                "struct _object;\nstruct _object *PyInit_{last}(void);\n\
                 struct _object *{entry}(void) {{ return PyInit_{last}(); }}\n"
            ),
        )?;
        let shim_bc = scratch.join("entry.bc");
        step.run(self.cc.command().args(["-flto", "-O2", "-c"]).arg(&shim).arg("-o").arg(&shim_bc))?;
        let linked = scratch.join("linked.bc");
        step.run(
            Command::new(format!("llvm-link-{LLVM_MAJOR}")).arg("-o").arg(&linked).arg(&shim_bc).args(inputs),
        )?;
        let internal = scratch.join("internal.bc");
        step.run(
            Command::new(format!("opt-{LLVM_MAJOR}"))
                .arg("-passes=internalize,globaldce")
                .arg(format!("-internalize-public-api-list={entry}"))
                .arg(&linked)
                .arg("-o")
                .arg(&internal),
        )?;
        step.run(self.cc.command().args(["-O2", "-c"]).arg(&internal).arg("-o").arg(object))?;
        Ok(())
    }
}

/// The inputs of an extension module's link, as `record_link.py` recorded them.
fn recorded_inputs(record: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(record).with_context(|| format!("reading {}", record.display()))?;
    let recorded: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not a link record", record.display()))?;
    Ok(recorded["inputs"]
        .as_array()
        .context("a link record without inputs")?
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect())
}

/// The `site-packages` (or `dist-packages`) directory of an install tree.
fn find_site_packages(root: &Path) -> Result<PathBuf> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                let name = path.file_name().unwrap_or_default();
                if name == "site-packages" || name == "dist-packages" {
                    return Ok(path);
                }
                stack.push(path);
            }
        }
    }
    bail!("the install under {} has no site-packages directory", root.display())
}

/// Whether `rel` (a path under site-packages) is left out by `patterns`.
fn excluded(patterns: &[&str], rel: &str) -> bool {
    patterns.iter().any(|pattern| match pattern.strip_prefix('*') {
        Some(suffix) => rel.ends_with(suffix),
        None => {
            rel == *pattern
                || rel.starts_with(&format!("{pattern}/"))
                || rel.starts_with(&format!("{pattern}."))
        }
    })
}

/// Every file under `dir`, as paths relative to `base`, sorted.
fn collect_files(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect_files(base, &path, out)?;
        } else {
            out.push(path.strip_prefix(base)?.to_path_buf());
        }
    }
    Ok(())
}

/// Copies the files under `from` into `to` (merging directories).
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let mut files = Vec::new();
    collect_files(from, from, &mut files)?;
    for rel in files {
        let dest = to.join(&rel);
        fs::create_dir_all(dest.parent().unwrap_or(to))?;
        fs::copy(from.join(&rel), &dest).with_context(|| format!("copying {}", rel.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_match_prefixes_modules_and_suffixes() {
        let patterns = &["numpy/tests", "numpy/_core/_simd", "*.pyi"];
        assert!(excluded(patterns, "numpy/tests/test_a.py"));
        assert!(excluded(patterns, "numpy/_core/_simd.cpython-311-wasm32-wasi.so"));
        assert!(excluded(patterns, "numpy/__init__.pyi"));
        assert!(!excluded(patterns, "numpy/testsuite.py"));
        assert!(!excluded(patterns, "numpy/_core/_simdx.py"));
        assert!(!excluded(patterns, "numpy/__init__.py"));
    }

    #[test]
    fn entry_symbols_are_c_identifiers_named_after_the_module() {
        assert_eq!(entry_symbol("numpy._core._multiarray_umath"), "PyInit_numpy___core___multiarray_umath");
        assert_eq!(entry_symbol("markupsafe._speedups"), "PyInit_markupsafe___speedups");
    }
}
