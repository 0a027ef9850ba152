//! `cargo xtask toolchain`: installs the Debian packages the wasm build needs
//! and the `deb-src` entry the source downloads need, idempotently.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::shell;
use crate::versions::{self, SOURCE_SUITE};

/// Where the `deb-src` entry this tool adds lives.
const DEB_SRC_FILE: &str = "/etc/apt/sources.list.d/pycomponent-deb-src.sources";

/// Makes sure every package of [`versions::DEBIAN_PACKAGES`] is installed and
/// the bookworm `deb-src` entry exists. Does nothing (and needs no root) when
/// both are already so.
pub fn ensure() -> Result<()> {
    let missing = missing_packages()?;
    let deb_src = deb_src_entry()?;
    let deb_src_missing = fs::read_to_string(DEB_SRC_FILE).ok().as_deref() != Some(deb_src.as_str());
    if missing.is_empty() && !deb_src_missing {
        eprintln!(
            "==> toolchain: all {} Debian packages installed, deb-src entry present",
            versions::debian_package_names().len()
        );
        return Ok(());
    }
    check_can_install(&missing)?;
    if deb_src_missing {
        eprintln!("==> toolchain: adding the {SOURCE_SUITE} deb-src entry ({DEB_SRC_FILE})");
        fs::write(DEB_SRC_FILE, &deb_src).with_context(|| format!("writing {DEB_SRC_FILE}"))?;
    }
    eprintln!("==> toolchain: apt-get update");
    shell::run(Command::new("apt-get").args(["update", "-q"]))?;
    if !missing.is_empty() {
        eprintln!("==> toolchain: installing {}", missing.join(" "));
        shell::run(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    let still_missing = missing_packages()?;
    if !still_missing.is_empty() {
        bail!("apt-get finished but these packages are still not installed: {}", still_missing.join(" "));
    }
    Ok(())
}

/// The packages of [`versions::DEBIAN_PACKAGES`] that are not installed.
pub fn missing_packages() -> Result<Vec<&'static str>> {
    let names = versions::debian_package_names();
    let installed = installed_versions(&names)?;
    Ok(names.into_iter().filter(|name| !installed.iter().any(|(n, _)| n == name)).collect())
}

/// `(package, version)` for each of `names` that is installed.
pub fn installed_versions(names: &[&str]) -> Result<Vec<(String, String)>> {
    if !Path::new("/usr/bin/dpkg-query").exists() {
        bail!("dpkg-query not found: pycomponent's build needs Debian 12 (bookworm) or a derivative");
    }
    // dpkg-query exits 1 when some name is unknown; its stdout still lists the rest.
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package}\t${Version}\t${db:Status-Abbrev}\n"])
        .args(names)
        .output()
        .context("running dpkg-query")?;
    Ok(parse_dpkg_query(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_dpkg_query(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let (name, version, status) = (fields.next()?, fields.next()?, fields.next()?);
            // "ii " = desired install, currently installed.
            status.starts_with("ii").then(|| (name.to_string(), version.to_string()))
        })
        .collect()
}

fn check_can_install(missing: &[&str]) -> Result<()> {
    let is_root = shell::output(Command::new("id").arg("-u"))?.trim() == "0";
    let has_apt = Path::new("/usr/bin/apt-get").exists();
    if is_root && has_apt {
        return Ok(());
    }
    let why = if has_apt { "this user is not root" } else { "apt-get is not available" };
    bail!(
        "the build needs Debian packages that are not installed, and {why}.\n\
         Install them by hand (as root), then run this command again:\n  \
         add a deb-src entry for suite `{SOURCE_SUITE}`, component `main`, with the mirror URI of your `deb` entry\n  \
         apt-get update && apt-get install --no-install-recommends {}",
        if missing.is_empty() { versions::debian_package_names().join(" ") } else { missing.join(" ") }
    )
}

/// The deb822 `deb-src` entry for [`SOURCE_SUITE`], with the mirror and
/// keyring of the machine's own `deb` entry for that suite.
fn deb_src_entry() -> Result<String> {
    let mut sources = Vec::new();
    for path in ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"] {
        if let Ok(text) = fs::read_to_string(path) {
            sources.push(text);
        }
    }
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        for entry in dir.flatten() {
            let path = entry.path();
            if path.to_string_lossy() == DEB_SRC_FILE {
                continue;
            }
            if path.extension().is_some_and(|e| e == "sources" || e == "list")
                && let Ok(text) = fs::read_to_string(&path)
            {
                sources.push(text);
            }
        }
    }
    let mirror = sources.iter().find_map(|text| find_mirror(text, SOURCE_SUITE)).with_context(|| {
        format!("no apt `deb` entry for suite `{SOURCE_SUITE}` found in /etc/apt: cannot derive the mirror for deb-src")
    })?;
    let mut entry = format!(
        "# Added by `cargo xtask toolchain` (pycomponent): source packages for the CPython build.\n\
         Types: deb-src\nURIs: {}\nSuites: {SOURCE_SUITE}\nComponents: main\n",
        mirror.uri
    );
    if let Some(keyring) = mirror.signed_by {
        entry.push_str(&format!("Signed-By: {keyring}\n"));
    }
    Ok(entry)
}

/// A mirror found in an apt source file.
#[derive(Debug, PartialEq)]
struct Mirror {
    uri: String,
    signed_by: Option<String>,
}

/// Finds the URI of a `deb` entry serving `suite`, in deb822 or one-line format.
fn find_mirror(text: &str, suite: &str) -> Option<Mirror> {
    // deb822: paragraphs of `Key: value` lines.
    for paragraph in text.split("\n\n") {
        let field = |key: &str| {
            paragraph.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().to_string())
            })
        };
        let (Some(types), Some(uris), Some(suites)) = (field("Types"), field("URIs"), field("Suites")) else {
            continue;
        };
        if types.split_whitespace().any(|t| t == "deb") && suites.split_whitespace().any(|s| s == suite) {
            let uri = uris.split_whitespace().next()?.to_string();
            return Some(Mirror { uri, signed_by: field("Signed-By") });
        }
    }
    // One-line format: `deb [options] URI suite components...`.
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("deb ") else { continue };
        let mut rest = rest.trim_start();
        let mut signed_by = None;
        if let Some(options) = rest.strip_prefix('[') {
            let (opts, after) = options.split_once(']')?;
            signed_by =
                opts.split_whitespace().find_map(|o| o.strip_prefix("signed-by=").map(str::to_string));
            rest = after.trim_start();
        }
        let mut words = rest.split_whitespace();
        let (uri, line_suite) = (words.next()?, words.next()?);
        if line_suite == suite {
            return Some(Mirror { uri: uri.to_string(), signed_by });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_from_deb822() {
        let text = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n\
                    Components: main\nSigned-By: /usr/share/keyrings/k.gpg\n\n\
                    Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n";
        assert_eq!(
            find_mirror(text, "bookworm"),
            Some(Mirror {
                uri: "http://mirror.example/debian".into(),
                signed_by: Some("/usr/share/keyrings/k.gpg".into())
            })
        );
        assert_eq!(find_mirror(text, "trixie"), None);
    }

    #[test]
    fn mirror_from_one_line_format() {
        let text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n";
        assert_eq!(
            find_mirror(text, "bookworm"),
            Some(Mirror { uri: "http://m.example/debian".into(), signed_by: Some("/k.gpg".into()) })
        );
        assert_eq!(find_mirror("deb-src http://m.example/debian bookworm main", "bookworm"), None);
    }

    #[test]
    fn dpkg_query_keeps_only_installed() {
        let text = "clang-22\t1:22.1.8-1~deb12u1\tii \nwasi-libc\t\tun \n";
        assert_eq!(parse_dpkg_query(text), vec![("clang-22".to_string(), "1:22.1.8-1~deb12u1".to_string())]);
    }
}
