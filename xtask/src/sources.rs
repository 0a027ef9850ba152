//! Debian source packages: download with `apt-get source`, verify against the
//! pinned `.dsc` and its checksums, unpack, and apply the chosen patches.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::cache;
use crate::shell::Step;
use crate::versions::{SOURCE_SUITE, SourcePackage};

/// One file listed in a `.dsc`.
#[derive(Debug, Clone, PartialEq)]
pub struct DscFile {
    /// File name, relative to the `.dsc`.
    pub name: String,
    /// Expected SHA-256, lower-case hex.
    pub sha256: String,
    /// Expected size in bytes.
    pub size: u64,
}

/// Parses the `Checksums-Sha256` field of a `.dsc` (PGP armour is ignored).
pub fn parse_dsc_checksums(dsc: &str) -> Result<Vec<DscFile>> {
    let mut files = Vec::new();
    let mut in_field = false;
    for line in dsc.lines() {
        if line.starts_with("Checksums-Sha256:") {
            in_field = true;
            continue;
        }
        if in_field {
            let Some(entry) = line.strip_prefix(' ') else { break };
            let parts: Vec<&str> = entry.split_whitespace().collect();
            let [sha256, size, name] = parts[..] else { bail!("malformed Checksums-Sha256 line: {line:?}") };
            ensure!(sha256.len() == 64, "malformed SHA-256 in .dsc line: {line:?}");
            ensure!(!name.contains('/'), "file name with a path in .dsc: {name:?}");
            files.push(DscFile { name: name.to_string(), sha256: sha256.to_string(), size: size.parse()? });
        }
    }
    ensure!(!files.is_empty(), "the .dsc has no Checksums-Sha256 field");
    Ok(files)
}

/// A downloaded, verified source package.
#[derive(Debug)]
pub struct Fetched {
    /// The pinned package.
    pub package: SourcePackage,
    /// The directory holding the `.dsc` and its files.
    pub dir: PathBuf,
    /// The files the `.dsc` lists, all verified.
    pub files: Vec<DscFile>,
}

/// The `.dsc` file name of a package: the version without its epoch.
pub fn dsc_name(pkg: &SourcePackage) -> String {
    let version = pkg.version.split_once(':').map_or(pkg.version, |(_, v)| v);
    format!("{}_{version}.dsc", pkg.name)
}

/// Downloads `pkg` into `<cache>/sources/` unless it is already there, and
/// verifies the `.dsc` against the pin and every file against the `.dsc`.
pub fn fetch(pkg: SourcePackage, cache_root: &Path) -> Result<Fetched> {
    let dir = cache_root.join("sources").join(format!("{}_{}", pkg.name, pkg.version.replace(':', "%3a")));
    let dsc_path = dir.join(dsc_name(&pkg));
    if let Ok(fetched) = verify(pkg, &dir, &dsc_path) {
        return Ok(fetched);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    eprintln!("==> sources: apt-get source {}={} ({SOURCE_SUITE})", pkg.name, pkg.version);
    let out = Command::new("apt-get")
        .args(["source", "--download-only", "-q"])
        .arg(format!("{}={}", pkg.name, pkg.version))
        .current_dir(&dir)
        .output()
        .context("running apt-get source")?;
    if !out.status.success() {
        bail!(
            "could not download source package {}={}: {}\n\
             Run `cargo xtask toolchain` (it adds the {SOURCE_SUITE} deb-src entry). If Debian no longer \
             serves this version, update the pin in xtask/src/versions.rs.",
            pkg.name,
            pkg.version,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    verify(pkg, &dir, &dsc_path)
}

fn verify(pkg: SourcePackage, dir: &Path, dsc_path: &Path) -> Result<Fetched> {
    let dsc_sha = cache::sha256_file(dsc_path)?;
    ensure!(
        dsc_sha == pkg.dsc_sha256,
        "{} has SHA-256 {dsc_sha}, but versions.rs pins {}",
        dsc_path.display(),
        pkg.dsc_sha256
    );
    let files = parse_dsc_checksums(&fs::read_to_string(dsc_path)?)?;
    for file in &files {
        let path = dir.join(&file.name);
        let size = fs::metadata(&path).with_context(|| format!("missing {}", path.display()))?.len();
        ensure!(size == file.size, "{} is {size} bytes, the .dsc says {}", path.display(), file.size);
        let sha = cache::sha256_file(&path)?;
        ensure!(sha == file.sha256, "{} has SHA-256 {sha}, the .dsc says {}", path.display(), file.sha256);
    }
    Ok(Fetched { package: pkg, dir: dir.to_path_buf(), files })
}

impl Fetched {
    /// The upstream tarball (`*.orig.tar.*`, not a component tarball such as
    /// `*.orig-www.tar.*`).
    fn orig_tarball(&self) -> Result<PathBuf> {
        self.files
            .iter()
            .find(|f| f.name.contains(".orig.tar.") && !f.name.ends_with(".asc"))
            .map(|f| self.dir.join(&f.name))
            .with_context(|| format!("{}: no .orig.tar in the .dsc", self.package.name))
    }

    /// The Debian tarball (`*.debian.tar.*`).
    fn debian_tarball(&self) -> Result<PathBuf> {
        self.files
            .iter()
            .find(|f| f.name.contains(".debian.tar."))
            .map(|f| self.dir.join(&f.name))
            .with_context(|| format!("{}: no .debian.tar in the .dsc", self.package.name))
    }

    /// Unpacks the upstream source into `dest` (its top directory stripped)
    /// and returns Debian's patch series, read from the Debian tarball.
    pub fn unpack(&self, dest: &Path, step: &Step) -> Result<DebianPatches> {
        fs::create_dir_all(dest)?;
        step.run(
            Command::new("tar")
                .arg("-xf")
                .arg(self.orig_tarball()?)
                .arg("--strip-components=1")
                .arg("-C")
                .arg(dest),
        )?;
        let debian_dir =
            dest.with_file_name(format!("{}.debian", dest.file_name().unwrap_or_default().to_string_lossy()));
        fs::create_dir_all(&debian_dir)?;
        step.run(Command::new("tar").arg("-xf").arg(self.debian_tarball()?).arg("-C").arg(&debian_dir))?;
        let patches_dir = debian_dir.join("debian/patches");
        let series = fs::read_to_string(patches_dir.join("series")).unwrap_or_default();
        Ok(DebianPatches { dir: patches_dir, series: parse_series(&series) })
    }
}

/// Debian's patch series of a source package.
#[derive(Debug)]
pub struct DebianPatches {
    /// `debian/patches` of the unpacked Debian tarball.
    pub dir: PathBuf,
    /// Patch names in series order.
    pub series: Vec<String>,
}

/// Patch names from a quilt `series` file (comments and options dropped).
pub fn parse_series(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Applies the named patches (`-p1`) to `source`, in order.
pub fn apply_patches(source: &Path, patches: &[PathBuf], step: &Step) -> Result<()> {
    for patch in patches {
        step.run(
            Command::new("patch").args(["-p1", "--forward", "--batch", "-i"]).arg(patch).current_dir(source),
        )
        .with_context(|| format!("applying {}", patch.display()))?;
    }
    Ok(())
}

/// Our own patches for `package`: `xtask/patches/<package>/*.patch`, sorted.
pub fn own_patches(package: &str) -> Result<Vec<PathBuf>> {
    let dir = crate::xtask_dir().join("patches").join(package);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut patches: Vec<PathBuf> =
        fs::read_dir(&dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    patches.retain(|p| p.extension().is_some_and(|e| e == "patch"));
    patches.sort();
    Ok(patches)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DSC: &str = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nFormat: 3.0 (quilt)\nSource: zlib\n\
        Checksums-Sha256:\n \
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1239825 zlib_1.2.13.dfsg.orig.tar.bz2\n \
        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 15700 zlib_1.2.13.dfsg-1.debian.tar.xz\n\
        Files:\n 0123 1239825 zlib_1.2.13.dfsg.orig.tar.bz2\n";

    #[test]
    fn dsc_checksums_are_parsed() {
        let files = parse_dsc_checksums(DSC).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].name, "zlib_1.2.13.dfsg.orig.tar.bz2");
        assert_eq!(files[0].size, 1239825);
        assert_eq!(files[1].sha256, "b".repeat(64));
    }

    #[test]
    fn dsc_without_checksums_is_an_error() {
        assert!(parse_dsc_checksums("Format: 3.0 (quilt)\n").is_err());
        let bad = "Checksums-Sha256:\n abc 12 ../evil.tar\n";
        assert!(parse_dsc_checksums(bad).is_err());
    }

    #[test]
    fn dsc_name_drops_the_epoch() {
        let pkg = SourcePackage { name: "zlib", version: "1:1.2.13.dfsg-1", dsc_sha256: "" };
        assert_eq!(dsc_name(&pkg), "zlib_1.2.13.dfsg-1.dsc");
    }

    #[test]
    fn series_skips_comments_and_options() {
        let series = "# header\na.diff\n\nb.patch -p1\nc.patch # trailing\n";
        assert_eq!(parse_series(series), ["a.diff", "b.patch", "c.patch"]);
    }
}
