//! `pycomponent build --target cloudflare`: an app component (from
//! [`crate::app`]) written out as a Cloudflare Worker.
//!
//! A Worker cannot compile WebAssembly at run time and does not run
//! components, so jco transpiles the component into an ES module and its
//! core modules, which the Worker imports as compiled `WebAssembly.Module`s.
//! `wasi-host.js` implements the WASI imports over the Worker's Fetch API
//! (nothing granted but outgoing HTTP to the `--allow-http` grants), and
//! `worker.js` turns each `fetch` event into a call of the app's
//! `wasi:http/incoming-handler`. The directory also gets a `wrangler.toml`
//! for `wrangler deploy` and a `workerd.capnp` for Cloudflare's open-source
//! runtime `workerd`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, HttpPolicy};

/// The jco release that transpiles the component (the one the npm package
/// is built with); `npx` fetches it unless `PYCOMPONENT_JCO` names a jco
/// executable.
pub const JCO_VERSION: &str = "1.35.0";

/// The Workers compatibility date of the Worker: fixed, so that a runtime
/// change does not reach a deployed app unasked; it is not newer than the
/// `workerd` the tests run.
pub const COMPATIBILITY_DATE: &str = "2025-09-01";

/// Cloudflare's limit on a Worker's size, uncompressed, on every plan
/// (since September 2026).
pub const SIZE_LIMIT: u64 = 64 << 20;

/// jco's options. JSPI (`--async-mode jspi`) lets the component wait for
/// `fetch` and timers: its blocking WASI calls suspend the Wasm stack.
const JCO_ARGS: &[&str] = &[
    "--name",
    "app",
    "--instantiation",
    "async",
    "--no-nodejs-compat",
    "--no-typescript",
    "--quiet",
    "--async-mode",
    "jspi",
    "--async-wasi-imports",
    "--async-wasi-exports",
];

/// The file that marks a directory as this module's output, so that a
/// rebuild may replace what it wrote there and nothing else.
const MARKER: &str = ".pycomponent-worker";

/// The files that every build writes again (`wrangler.toml` is written
/// only when absent: it is the user's to edit).
const OWN_FILES: &[&str] = &["worker.js", "wasi-host.js", "settings.js", "workerd.capnp", "component"];

const WORKER_JS: &str = include_str!("cloudflare/worker.js");
const WASI_HOST_JS: &str = include_str!("cloudflare/wasi-host.js");

/// How the Worker is written.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The Worker's name in `wrangler.toml` (lower-case letters, digits
    /// and `-`).
    pub name: String,
    /// The outgoing requests the app may make (through the Worker's
    /// `fetch`), with their timeout and the most per incoming request.
    pub http: HttpPolicy,
    /// The jco executable; `None`: the one `PYCOMPONENT_JCO` names, or
    /// [`JCO_VERSION`] through `npx`.
    pub jco: Option<PathBuf>,
}

/// What [`write`] wrote.
#[derive(Debug, Clone)]
pub struct Worker {
    /// The uploaded files (JS modules and Wasm modules), relative to the
    /// directory, with their sizes in bytes.
    pub modules: Vec<(PathBuf, u64)>,
    /// Whether `wrangler.toml` was written (false: an earlier one was kept).
    pub wrote_wrangler_toml: bool,
}

impl Worker {
    /// The size of what `wrangler deploy` uploads, uncompressed.
    pub fn upload_bytes(&self) -> u64 {
        self.modules.iter().map(|(_, size)| size).sum()
    }
}

/// A Worker name from a file name: lower-case letters, digits and `-`.
pub fn worker_name(stem: &str) -> String {
    let name: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let name = name.trim_matches('-');
    let name: String = name.chars().take(63).collect();
    if name.is_empty() { "app".to_string() } else { name }
}

/// Writes `component` (a `wasi:http` app component) into `dir` as a Worker.
/// `dir` must be new, empty or an earlier output of this function.
pub fn write(
    component: &[u8],
    dir: &Path,
    options: &WorkerOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Worker, Error> {
    if options.name.is_empty()
        || options.name.len() > 63
        || !options.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(Error::InvalidInput(format!(
            "invalid Worker name {:?}: lower-case letters, digits and `-`, at most 63",
            options.name
        )));
    }
    prepare_dir(dir)?;
    let components = dir.join("component");
    let staged = dir.join(".app.wasm");
    write_file(&staged, component)?;
    progress(&format!("transpiling the component with jco {JCO_VERSION}"));
    let transpiled = transpile(&staged, &components, options.jco.as_deref());
    let _ = std::fs::remove_file(&staged);
    transpiled?;

    let mut cores: Vec<String> =
        read_dir_names(&components)?.into_iter().filter(|name| name.ends_with(".wasm")).collect();
    // app.core.wasm, app.core2.wasm, ... app.core10.wasm in jco's order.
    cores.sort_by_key(|name| {
        let digits: String = name.chars().filter(char::is_ascii_digit).collect();
        digits.parse::<u32>().unwrap_or(1)
    });
    if cores.is_empty() {
        return Err(Error::Build(format!("jco wrote no core modules into {}", components.display())));
    }
    write_file(&components.join("cores.js"), cores_module(&cores).as_bytes())?;
    write_file(&dir.join("worker.js"), WORKER_JS.as_bytes())?;
    write_file(&dir.join("wasi-host.js"), WASI_HOST_JS.as_bytes())?;
    write_file(&dir.join("settings.js"), settings_module(&options.http).as_bytes())?;

    let mut modules: Vec<PathBuf> =
        ["worker.js", "wasi-host.js", "settings.js", "component/app.js", "component/cores.js"]
            .iter()
            .map(PathBuf::from)
            .collect();
    modules.extend(cores.iter().map(|name| Path::new("component").join(name)));
    write_file(&dir.join("workerd.capnp"), workerd_config(&modules).as_bytes())?;
    let wrangler = dir.join("wrangler.toml");
    let wrote_wrangler_toml = !wrangler.exists();
    if wrote_wrangler_toml {
        write_file(&wrangler, wrangler_config(&options.name).as_bytes())?;
    }
    write_file(&dir.join(MARKER), b"written by `pycomponent build --target cloudflare`\n")?;
    let modules = modules
        .into_iter()
        .map(|path| {
            let full = dir.join(&path);
            let size = std::fs::metadata(&full).map_err(|source| Error::Io { path: full, source })?.len();
            Ok((path, size))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Worker { modules, wrote_wrangler_toml })
}

/// Makes `dir` ready: created if missing; an earlier Worker's own files
/// removed; anything else there is refused.
fn prepare_dir(dir: &Path) -> Result<(), Error> {
    if dir.join(MARKER).is_file() {
        for name in OWN_FILES {
            let path = dir.join(name);
            let removed =
                if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            match removed {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::Io { path, source }),
            }
        }
        return Ok(());
    }
    if dir.exists() && !read_dir_names(dir)?.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{} is not empty and was not written by `pycomponent build --target cloudflare`: \
             give a new or empty directory",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })
}

/// The command that runs jco: `jco`, `PYCOMPONENT_JCO`, or npx with the pinned release.
fn jco_command(jco: Option<&Path>) -> (Command, String) {
    match jco.map(|path| path.as_os_str().to_owned()).or_else(|| std::env::var_os("PYCOMPONENT_JCO")) {
        Some(path) => {
            let shown = Path::new(&path).display().to_string();
            (Command::new(path), shown)
        }
        None => {
            let package = format!("@bytecodealliance/jco@{JCO_VERSION}");
            let mut command = Command::new("npx");
            command.args(["--yes", &package]);
            (command, format!("npx {package}"))
        }
    }
}

fn transpile(component: &Path, out: &Path, jco: Option<&Path>) -> Result<(), Error> {
    let (mut command, shown) = jco_command(jco);
    command.arg("transpile").arg(component).args(JCO_ARGS).arg("-o").arg(out);
    let output = command.output().map_err(|e| {
        Error::Build(format!(
            "running {shown}: {e}. The Cloudflare target needs Node.js and npm (jco transpiles the \
             component to JavaScript), or PYCOMPONENT_JCO set to a jco executable"
        ))
    })?;
    if !output.status.success() {
        return Err(Error::Build(format!(
            "{shown} transpile failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    if !out.join("app.js").is_file() {
        return Err(Error::Build(format!("{shown} transpile wrote no app.js into {}", out.display())));
    }
    Ok(())
}

/// `component/cores.js`: the core modules by the names jco asks for them.
fn cores_module(cores: &[String]) -> String {
    let mut text = String::from(
        "// The component's core modules, compiled by the runtime as the Worker loads;\n\
         // jco's instantiate() asks for them by file name.\n",
    );
    for (i, name) in cores.iter().enumerate() {
        text.push_str(&format!("import core{i} from './{name}';\n"));
    }
    let entries: Vec<String> =
        cores.iter().enumerate().map(|(i, name)| format!("'{name}': core{i}")).collect();
    text.push_str(&format!("export const CORES = {{ {} }};\n", entries.join(", ")));
    text
}

/// `settings.js`: the outgoing-HTTP policy, as `wasi-host.js` takes it.
fn settings_module(http: &HttpPolicy) -> String {
    let settings = serde_json::json!({
        "allowHttp": http.grants_json(),
        "requestTimeoutMs": http.request_timeout.as_millis() as u64,
        "maxRequestsPerRequest": http.max_requests_per_call,
    });
    format!(
        "// Written by `pycomponent build --target cloudflare` from its --allow-http grants.\n\
         export default {};\n",
        serde_json::to_string_pretty(&settings).expect("JSON values serialize")
    )
}

/// `workerd.capnp`: the Worker for `workerd serve`, listening on the socket
/// `http` (its address given with `-s http=HOST:PORT`).
fn workerd_config(modules: &[PathBuf]) -> String {
    let mut text = String::from(
        "# The Worker for Cloudflare's runtime: workerd serve workerd.capnp -s http=127.0.0.1:8787\n\
         # Written by `pycomponent build --target cloudflare`.\n\
         using Workerd = import \"/workerd/workerd.capnp\";\n\n\
         const config :Workerd.Config = (\n  \
         services = [\n    (name = \"main\", worker = .app),\n    \
         # The Worker's fetch(): the app's --allow-http grants decide what goes out;\n    \
         # here loopback and private addresses are reachable too, for local upstreams.\n    \
         (name = \"internet\", network = (allow = [\"public\", \"private\", \"local\"], \
         tlsOptions = (trustBrowserCas = true))),\n  ],\n  \
         sockets = [(name = \"http\", http = (), service = \"main\")],\n);\n\n\
         const app :Workerd.Worker = (\n  modules = [\n",
    );
    for module in modules {
        let name = module.to_string_lossy().replace('\\', "/");
        let kind = if name.ends_with(".wasm") { "wasm" } else { "esModule" };
        text.push_str(&format!("    (name = \"{name}\", {kind} = embed \"{name}\"),\n"));
    }
    text.push_str(&format!("  ],\n  compatibilityDate = \"{COMPATIBILITY_DATE}\",\n);\n"));
    text
}

/// `wrangler.toml`: the files uploaded as they are (no bundling), JS as ES
/// modules and Wasm as compiled modules.
fn wrangler_config(name: &str) -> String {
    format!(
        "# For `wrangler deploy`. Written by `pycomponent build --target cloudflare`\n\
         # when absent; a rebuild keeps your edits.\n\
         name = \"{name}\"\n\
         main = \"worker.js\"\n\
         compatibility_date = \"{COMPATIBILITY_DATE}\"\n\
         no_bundle = true\n\
         find_additional_modules = true\n\
         rules = [\n  \
         {{ type = \"ESModule\", globs = [\"**/*.js\"] }},\n  \
         {{ type = \"CompiledWasm\", globs = [\"**/*.wasm\"] }},\n\
         ]\n"
    )
}

fn read_dir_names(dir: &Path) -> Result<Vec<String>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    Ok(entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect())
}

fn write_file(path: &Path, data: &[u8]) -> Result<(), Error> {
    std::fs::write(path, data).map_err(|e| Error::Build(format!("writing {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_names_are_made_of_what_wrangler_accepts() {
        assert_eq!(worker_name("fastapi_app"), "fastapi-app");
        assert_eq!(worker_name("My App!"), "my-app");
        assert_eq!(worker_name("__"), "app");
        assert_eq!(worker_name(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn the_core_modules_are_imported_under_the_names_jco_asks_for() {
        let text = cores_module(&["app.core.wasm".into(), "app.core2.wasm".into()]);
        assert!(text.contains("import core0 from './app.core.wasm';"));
        assert!(text.contains("export const CORES = { 'app.core.wasm': core0, 'app.core2.wasm': core1 };"));
    }

    #[test]
    fn the_settings_carry_the_parsed_grants() {
        let policy = HttpPolicy::deny_all()
            .allow("https://*.example.org:8000-8999")
            .and_then(|p| p.allow("http://[::1]"))
            .unwrap();
        let text = settings_module(&policy);
        let json: serde_json::Value =
            serde_json::from_str(text.split("export default ").nth(1).unwrap().trim_end_matches(";\n"))
                .unwrap();
        assert_eq!(json["allowHttp"][0]["host"]["subdomains"], "example.org");
        assert_eq!(json["allowHttp"][0]["port"], serde_json::json!([8000, 8999]));
        assert_eq!(json["allowHttp"][1]["host"]["exact"], "[::1]");
        assert_eq!(json["allowHttp"][1]["port"], "default");
        assert_eq!(json["maxRequestsPerRequest"], 100);
    }

    #[test]
    fn jco_is_the_release_the_npm_package_is_built_with() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../js/package.json");
        let Ok(text) = std::fs::read_to_string(&manifest) else { return };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["devDependencies"]["@bytecodealliance/jco"], JCO_VERSION);
    }

    #[test]
    fn a_directory_with_other_files_is_refused() {
        let dir = std::env::temp_dir().join(format!("pycomponent-worker-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let err = prepare_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("is not empty"), "{err}");
        assert!(dir.join("notes.txt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
