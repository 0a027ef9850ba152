//! The Rust crate as a user outside this workspace gets it: a new cargo
//! project (its own workspace, a path dependency on adapters/wasmtime) runs
//! the README's embedding example and must print what the example's
//! comment says; run where there is no component, it must fail with an
//! error that names the file and the command that builds it.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::{shell, workspace_root};

/// The README section whose first `rust` block is the example.
const SECTION: &str = "## Embedding in Rust";

/// The example's code and the lines it is documented to print (the
/// comments after its `println!`s).
fn readme_example(readme: &str) -> Result<(String, Vec<String>)> {
    let section = readme.split_once(SECTION).context("the README has no embedding section")?.1;
    let block = section.split_once("```rust\n").context("the embedding section has no rust block")?.1;
    let code = block.split_once("```").context("the rust block does not end")?.0;
    let printed = code
        .lines()
        .filter(|line| line.trim_start().starts_with("println!"))
        .map(|line| line.split_once("; // ").map(|(_, said)| said.trim().to_string()))
        .collect::<Option<Vec<_>>>()
        .context("each println! of the README example needs a `// output` comment")?;
    ensure!(!printed.is_empty(), "the README example prints nothing to check");
    Ok((code.to_string(), printed))
}

pub fn test() -> Result<()> {
    let root = workspace_root();
    eprintln!("==> test: the README's embedding example in a cargo project outside the workspace");
    let (code, printed) = readme_example(&fs::read_to_string(root.join("README.md"))?)?;
    let project = root.join("target/outside-crate");
    fs::create_dir_all(project.join("src"))?;
    let crate_path = root.join("adapters/wasmtime");
    // Its own workspace (the empty table), the workspace's profiles, and its
    // lock file, so that the shared target directory's builds are reused.
    let profiles = fs::read_to_string(root.join("Cargo.toml"))?;
    let profiles = &profiles[profiles.find("[profile.").context("the workspace has no profiles")?..];
    fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"embed-outside\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\npycomponent = {{ path = {:?} }}\n\n[workspace]\n\n{profiles}",
            crate_path.display().to_string()
        ),
    )?;
    fs::copy(root.join("Cargo.lock"), project.join("Cargo.lock"))?;
    let body: String = code.lines().map(|line| format!("    {line}\n")).collect();
    fs::write(
        project.join("src/main.rs"),
        format!(
            "//! The README's embedding example, as a user's program.\n\n\
             fn main() {{\n    if let Err(error) = run() {{\n        eprintln!(\"error: {{error}}\");\n        \
             std::process::exit(1);\n    }}\n}}\n\n\
             fn run() -> Result<(), Box<dyn std::error::Error>> {{\n{body}    Ok(())\n}}\n"
        ),
    )?;
    let manifest = project.join("Cargo.toml");
    shell::run(
        Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", root.join("target")),
    )?;
    let program = root.join("target/debug/embed-outside");

    // From the workspace root, where the example's path leads to the component.
    let out = Command::new(&program).current_dir(&root).output().context("running the example")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "the README example failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    ensure!(lines == printed, "the README example printed {lines:?}, its comments say {printed:?}");

    // Where there is no component.
    let elsewhere = project.join("no-component");
    fs::create_dir_all(&elsewhere)?;
    let out = Command::new(&program).current_dir(&elsewhere).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success()
        || !stderr.contains("target/component/pycomponent.wasm")
        || !stderr.contains("cargo xtask component")
    {
        bail!(
            "without a component the example should fail naming the file and `cargo xtask component`: {stderr}"
        );
    }
    check_package_list(&root)
}

/// `cargo package --list`: the crate's files as they would be published,
/// with the Worker's JavaScript (compiled into it) among them.
fn check_package_list(root: &Path) -> Result<()> {
    let listed = shell::output(
        Command::new(env!("CARGO"))
            .args(["package", "--list", "--allow-dirty", "-p", "pycomponent"])
            .current_dir(root),
    )?;
    for file in ["Cargo.toml", "src/lib.rs", "src/cloudflare/worker.js", "src/cloudflare/wasi-host.js"] {
        ensure!(listed.lines().any(|line| line == file), "`cargo package --list` lacks {file}:\n{listed}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_and_its_documented_output_are_read_from_the_readme() {
        let readme = "# x\n## Embedding in Rust\n\n```rust\nlet a = 1;\nprintln!(\"{a}\"); // 1\n```\n";
        let (code, printed) = readme_example(readme).unwrap();
        assert_eq!(code, "let a = 1;\nprintln!(\"{a}\"); // 1\n");
        assert_eq!(printed, ["1"]);
        assert!(readme_example("## Embedding in Rust\n```rust\nprintln!(\"x\");\n```\n").is_err());
    }
}
