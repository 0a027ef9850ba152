//! `cargo xtask js`: the npm package in `adapters/js`: its npm dependencies
//! (from package-lock.json), the component transpiled by jco into
//! `adapters/js/dist/`, and the browser its tests drive.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::shell;
use crate::versions::{BROWSER_PACKAGE, BROWSER_PATH, NODE_MIN_MAJOR};
use crate::{cache, component, workspace_root};

/// jco's options: `instantiate()` takes the imports at run time (the
/// sandboxed WASI and the JS host modules); our own index.d.ts is the API.
const TRANSPILE_ARGS: &[&str] =
    &["--instantiation", "async", "--name", "pycomponent", "--no-typescript", "--quiet"];

/// The npm package's directory.
pub fn package_dir() -> PathBuf {
    workspace_root().join("adapters/js")
}

/// Builds the component if needed, installs the npm dependencies and
/// transpiles the component into `adapters/js/dist/` (skipped when neither
/// the component nor jco changed). Returns the package directory.
pub fn build() -> Result<PathBuf> {
    let component = component::build()?;
    let variants = component::VARIANTS
        .iter()
        .filter(|variant| variant.in_js)
        .map(|variant| Ok((variant.name, component::build_variant(*variant)?)))
        .collect::<Result<Vec<_>>>()?;
    ensure_node()?;
    let dir = package_dir();
    npm_ci(&dir)?;
    transpile(&component, &variants, &dir)?;
    link_example(&workspace_root().join("examples/node"))?;
    eprintln!("==> js: {}", size_report(&dir)?);
    Ok(dir)
}

/// Node.js and npm, installed from Debian when missing.
fn ensure_node() -> Result<()> {
    let version = Command::new("node").arg("--version").output().ok().filter(|o| o.status.success());
    let major = version.as_ref().and_then(|o| {
        let text = String::from_utf8_lossy(&o.stdout);
        text.trim().trim_start_matches('v').split('.').next()?.parse::<u32>().ok()
    });
    let npm = Command::new("npm").arg("--version").output().is_ok_and(|o| o.status.success());
    match major {
        Some(major) if major >= NODE_MIN_MAJOR && npm => return Ok(()),
        Some(major) if major < NODE_MIN_MAJOR => {
            bail!("Node.js {major} is too old: the JS adapter needs Node.js {NODE_MIN_MAJOR} or newer")
        }
        _ => {}
    }
    apt_install(&["nodejs", "npm"])
}

/// Debian's Chromium, for the browser tests; installed when missing.
pub fn ensure_browser() -> Result<PathBuf> {
    let path = PathBuf::from(BROWSER_PATH);
    if !path.exists() {
        apt_install(&[BROWSER_PACKAGE])?;
    }
    Ok(path)
}

fn apt_install(packages: &[&str]) -> Result<()> {
    eprintln!("==> js: installing {} (apt-get)", packages.join(" "));
    shell::run(Command::new("apt-get").args(["update", "-q"]))
        .and_then(|()| {
            shell::run(
                Command::new("apt-get")
                    .args(["install", "-y", "-q", "--no-install-recommends"])
                    .args(packages)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
        })
        .with_context(|| format!("installing {} needs root and apt-get", packages.join(" ")))
}

/// `npm ci` when node_modules does not match package-lock.json.
fn npm_ci(dir: &Path) -> Result<()> {
    let lock = cache::sha256_file(&dir.join("package-lock.json"))?;
    let stamp = dir.join("node_modules/.pycomponent-lock-sha256");
    if fs::read_to_string(&stamp).ok().as_deref() == Some(lock.as_str()) {
        return Ok(());
    }
    eprintln!("==> js: npm ci (adapters/js)");
    shell::run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir))?;
    fs::write(&stamp, &lock).context("writing the node_modules stamp")
}

/// jco transpile into `dist/`, by way of `dist.partial/`, with the stdlib
/// sources beside the wasm, and each variant's main core module as
/// `pycomponent-<name>.core.wasm` (`loadPython({ variant })`): a variant has
/// the same WIT and adapters, so jco's code for it is the same, which is
/// checked here.
fn transpile(component: &Path, variants: &[(&str, PathBuf)], dir: &Path) -> Result<()> {
    let jco_manifest = fs::read_to_string(dir.join("node_modules/@bytecodealliance/jco/package.json"))
        .context("reading jco's package.json (npm ci did not install jco?)")?;
    let jco: serde_json::Value = serde_json::from_str(&jco_manifest)?;
    // The stdlib sources, an optional file a page loads only when asked
    // (`loadPython({ stdlibSources: true })`), go beside the wasm.
    let sources = component::sources_path();
    let mut inputs = format!(
        "component {}\nsources {}\njco {}\nargs {}\npatches {JCO_PATCHES}\n",
        cache::sha256_file(component)?,
        cache::sha256_file(&sources)?,
        jco["version"].as_str().unwrap_or("?"),
        TRANSPILE_ARGS.join(" ")
    );
    for (name, path) in variants {
        inputs.push_str(&format!("variant {name} {}\n", cache::sha256_file(path)?));
    }
    let dist = dir.join("dist");
    let stamp = dist.join(".inputs");
    if fs::read_to_string(&stamp).ok().as_deref() == Some(inputs.as_str()) {
        eprintln!("==> js: dist/ is up to date");
        return Ok(());
    }
    eprintln!("==> js: jco transpile {} -> adapters/js/dist/", component.display());
    let partial = dir.join("dist.partial");
    if partial.exists() {
        fs::remove_dir_all(&partial)?;
    }
    let jco_transpile = |component: &Path, out: &Path| {
        shell::run(
            Command::new(dir.join("node_modules/.bin/jco"))
                .arg("transpile")
                .arg(component)
                .arg("-o")
                .arg(out)
                .args(TRANSPILE_ARGS)
                .current_dir(dir),
        )
    };
    jco_transpile(component, &partial)?;
    for (name, path) in variants {
        eprintln!("==> js: jco transpile {} (its main core module only)", path.display());
        let scratch = dir.join(format!("dist.variant-{name}"));
        if scratch.exists() {
            fs::remove_dir_all(&scratch)?;
        }
        jco_transpile(path, &scratch)?;
        for shared in
            ["pycomponent.js", "pycomponent.core2.wasm", "pycomponent.core3.wasm", "pycomponent.core4.wasm"]
        {
            if fs::read(scratch.join(shared)).ok() != fs::read(partial.join(shared)).ok() {
                fs::remove_dir_all(&scratch)?;
                bail!(
                    "jco made a different {shared} for variant {name}: its imports or exports differ from \
                     the component's, so it cannot share the package's code"
                );
            }
        }
        fs::rename(
            scratch.join("pycomponent.core.wasm"),
            partial.join(format!("pycomponent-{name}.core.wasm")),
        )?;
        fs::remove_dir_all(&scratch)?;
    }
    patch_jco_module(&partial.join("pycomponent.js"))?;
    fs::copy(&sources, partial.join("python311.zip")).context("copying the stdlib sources into dist/")?;
    fs::write(partial.join(".inputs"), &inputs)?;
    if dist.exists() {
        fs::remove_dir_all(&dist)?;
    }
    fs::rename(&partial, &dist).context("moving dist.partial into place")
}

/// The version of [`patch_jco_module`]'s changes: part of dist/'s inputs, so
/// that a change to them makes dist/ again.
const JCO_PATCHES: u32 = 2;

/// Two changes to jco's generated module, each for time that jco 1.35's
/// code spends on every interpreter or call; code of another jco release
/// that does not have the text is left as it is, with a note.
fn patch_jco_module(module: &Path) -> Result<()> {
    let code = fs::read_to_string(module).with_context(|| format!("reading {}", module.display()))?;
    let code = read_debug_flag_once(code);
    let code = probe_jspi_cheaply(code);
    fs::write(module, code).with_context(|| format!("writing {}", module.display()))
}

/// jco's generated code asks `process.env.JCO_DEBUG` (a slow property of
/// Node's) at every step of every call: 15% of the time of a small call
/// (a PyProxy attribute read, docs/BENCHMARKS.md). The flag is read once, at
/// load, instead.
const JCO_DEBUG_CHECK: &str = "if (!globalThis?.process?.env?.JCO_DEBUG) { return; }";

fn read_debug_flag_once(code: String) -> String {
    if !code.contains(JCO_DEBUG_CHECK) {
        eprintln!("==> js: note: jco's debug check has changed; it is read at every call");
        return code;
    }
    let once = "const _jcoDebugOnce = !!globalThis?.process?.env?.JCO_DEBUG;\n";
    let patched = code.replacen("  const _debugLog = ", &format!("  {once}  const _debugLog = "), 1);
    patched.replace(JCO_DEBUG_CHECK, "if (!_jcoDebugOnce) { return; }")
}

/// jco wraps post-return functions in `WebAssembly.promising` (JSPI) inside a
/// `try`, and falls back to the plain function where that throws. Where JSPI
/// is missing (Node 20, most browsers today) the call throws a TypeError
/// whose message ("... is not a function") V8 builds by parsing the calling
/// function again: jco's instantiation function, some 36 000 lines, about
/// 15 ms a throw, 105 ms of each `loadPython`. The calls go to a small
/// function instead, which throws an error of its own where JSPI is missing.
const JSPI_WRAP: &str = "WebAssembly.promising(";

fn probe_jspi_cheaply(code: String) -> String {
    if !code.contains(JSPI_WRAP) {
        eprintln!("==> js: note: jco's code no longer calls WebAssembly.promising; nothing to patch");
        return code;
    }
    let helper = "function _jcoPromising(f) {\n  \
                  if (typeof WebAssembly.promising !== 'function') throw new TypeError('no JSPI here');\n  \
                  return WebAssembly.promising(f);\n}\n\n";
    format!("{helper}{}", code.replace(JSPI_WRAP, "_jcoPromising("))
}

/// `npm install` of an example that depends on the package by path (a link).
fn link_example(dir: &Path) -> Result<()> {
    if dir.join("node_modules/pycomponent/package.json").exists() {
        return Ok(());
    }
    shell::run(Command::new("npm").args(["install", "--no-audit", "--no-fund"]).current_dir(dir))
}

/// Download size of what a page loads: the core wasm files, jco's module
/// and our sources (a variant's core module, loaded in place of the main
/// one, is not counted).
fn size_report(dir: &Path) -> Result<String> {
    let mut files = Vec::new();
    for sub in ["dist", "src"] {
        for entry in fs::read_dir(dir.join(sub))? {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if (name.ends_with(".wasm") && !name.starts_with("pycomponent-")) || name.ends_with(".js") {
                files.push(path);
            }
        }
    }
    let (mut raw, mut gzip, mut brotli) = (0, 0, 0);
    for path in &files {
        raw += fs::metadata(path)?.len() as usize;
        gzip += shell::output_bytes(Command::new("gzip").args(["-9", "-c"]).arg(path))?.len();
        brotli += shell::output_bytes(Command::new("brotli").args(["-c", "-q", "11"]).arg(path))?.len();
    }
    Ok(format!(
        "package payload ({} files): {:.2} MB raw, {:.2} MB gzip, {:.2} MB brotli",
        files.len(),
        raw as f64 / 1e6,
        gzip as f64 / 1e6,
        brotli as f64 / 1e6
    ))
}

/// Type check, the node:test suite, the packed package in a new project,
/// and the headless-Chromium suite.
pub fn test() -> Result<()> {
    let dir = build()?;
    eprintln!("==> test: tsc: test/types-usage.ts against index.d.ts, and src/ (checkJs) against index.d.ts");
    shell::run(Command::new("npm").args(["run", "--silent", "check-types"]).current_dir(&dir))?;
    eprintln!("==> test: node --test (adapters/js/test/*.test.js but the browser suite)");
    shell::run(Command::new("npm").args(["run", "--silent", "test"]).current_dir(&dir))?;
    eprintln!("==> test: npm pack, installed into a new project, imported and type-checked there");
    shell::run(Command::new("npm").args(["run", "--silent", "test:packed"]).current_dir(&dir))?;
    let browser = ensure_browser()?;
    eprintln!("==> test: headless Chromium (adapters/js/test/browser.test.js)");
    shell::run(
        Command::new("npm")
            .args(["run", "--silent", "test:browser"])
            .env("PYCOMPONENT_CHROMIUM", browser)
            .current_dir(&dir),
    )
}
