//! The C libraries the standard library needs, built for wasm32-wasi from
//! Debian's source packages: zlib, bzip2, liblzma (xz-utils) and SQLite.
//! Each installs a static library and its headers into one prefix.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::wasm_cc::WasmCc;
use crate::shell::Step;
use crate::sources::{self, Fetched};

/// Debian patches applied to each library: the security and bug fixes. The
/// others in Debian's series are packaging (man pages, translations, shared
/// library linking) and do not change the static library.
pub const DEBIAN_FIXES: &[(&str, &[&str])] = &[
    ("zlib", &[]),
    ("bzip2", &[]),
    (
        "xz-utils",
        &[
            "liblzma-Add-assertions-to-lzma_bufcpy.patch",
            "liblzma-mt-dec-Fix-a-comment.patch",
            "liblzma-mt-dec-Simplify-by-removing-the-THR_STOP-state.patch",
            "liblzma-mt-dec-Don-t-free-the-input-buffer-too-early-CVE-.patch",
            "liblzma-mt-dec-Don-t-modify-thr-in_size-in-the-worker-thr.patch",
            "liblzma-Fix-a-buffer-overflow-in-lzma_index_append.patch",
        ],
    ),
    (
        "sqlite3",
        &[
            "41-fix_a_bug_in_the_NOT_NULL-IS_NULL_optimization.patch",
            "42-CVE-2025-6965.patch",
            "0001-Fix-a-buffer-overread-in-the-sessions-extension-that.patch",
            "0002-Avoid-a-stack-overflow-that-could-be-caused-by-a-rec.patch",
            "0003-Fix-a-technically-undefined-signed-integer-overflow-.patch",
        ],
    ),
];

/// SQLite compile-time options for the wasm build. The unix VFS without
/// locking is the default: an instance is single-threaded and WASI preview 1
/// has no POSIX advisory locks. Loadable extensions need dlopen; WAL and mmap
/// need shared memory; neither exists on WASI.
pub const SQLITE_DEFINES: &[&str] = &[
    "-DSQLITE_DEFAULT_UNIX_VFS=\"unix-none\"",
    "-DSQLITE_THREADSAFE=0",
    "-DSQLITE_OMIT_LOAD_EXTENSION",
    "-DSQLITE_OMIT_WAL",
    "-DSQLITE_MAX_MMAP_SIZE=0",
    "-DSQLITE_ENABLE_FTS5",
    "-DSQLITE_ENABLE_MATH_FUNCTIONS",
    "-D_WASI_EMULATED_GETPID",
    "-D_WASI_EMULATED_SIGNAL",
];

/// The result: one prefix with `lib/*.a` and `include/*.h`.
#[derive(Debug)]
pub struct Prefix {
    /// The prefix directory.
    pub dir: PathBuf,
}

impl Prefix {
    /// `-I<prefix>/include`.
    pub fn cflags(&self) -> String {
        format!("-I{}", self.dir.join("include").display())
    }

    /// `-L<prefix>/lib -l<name>`.
    pub fn libs(&self, name: &str) -> String {
        format!("-L{} -l{name}", self.dir.join("lib").display())
    }
}

/// The Debian fixes to apply for `package`, as paths, checked to exist in
/// Debian's series.
pub fn fixes_for(package: &str, patches: &sources::DebianPatches) -> Result<Vec<PathBuf>> {
    let names = DEBIAN_FIXES
        .iter()
        .find(|(p, _)| *p == package)
        .map(|(_, names)| *names)
        .with_context(|| format!("no patch decision for {package}"))?;
    names
        .iter()
        .map(|name| {
            anyhow::ensure!(
                patches.series.iter().any(|s| s == name),
                "{package}: patch {name} is not in Debian's series any more; review DEBIAN_FIXES"
            );
            Ok(patches.dir.join(name))
        })
        .collect()
}

/// Unpacks a library's source into `work/<package>`, applies Debian's fixes
/// and our own patches, and returns the source directory.
fn prepare(fetched: &Fetched, work: &Path, step: &Step) -> Result<PathBuf> {
    let src = work.join(fetched.package.name);
    let debian = fetched.unpack(&src, step)?;
    let mut patches = fixes_for(fetched.package.name, &debian)?;
    patches.extend(sources::own_patches(fetched.package.name)?);
    sources::apply_patches(&src, &patches, step)?;
    Ok(src)
}

/// Compiles C files (relative to `src`) into one static library in the prefix.
fn compile_archive(
    cc: &WasmCc,
    src: &Path,
    files: &[&str],
    extra: &[&str],
    lib: &Path,
    step: &Step,
) -> Result<()> {
    let obj = src.join("wasm-obj");
    fs::create_dir_all(&obj)?;
    step.run(
        cc.command()
            .args(super::wasm_cc::LIB_CFLAGS.split_whitespace())
            .args(extra)
            .arg("-c")
            .args(files.iter().map(|f| src.join(f)))
            .current_dir(&obj),
    )?;
    let objects: Vec<PathBuf> = files
        .iter()
        .map(|f| obj.join(Path::new(f).with_extension("o").file_name().unwrap_or_default()))
        .collect();
    step.run(Command::new(cc.ar()).arg("rcs").arg(lib).args(&objects))
}

fn copy_headers(src: &Path, names: &[&str], prefix: &Path) -> Result<()> {
    for name in names {
        fs::copy(src.join(name), prefix.join("include").join(name))
            .with_context(|| format!("copying {name}"))?;
    }
    Ok(())
}

/// Builds all four libraries into `prefix_dir`.
pub fn build_all(
    cc: &WasmCc,
    sources: &[Fetched],
    work: &Path,
    prefix_dir: &Path,
    logs: &Path,
) -> Result<Prefix> {
    fs::create_dir_all(prefix_dir.join("lib"))?;
    fs::create_dir_all(prefix_dir.join("include"))?;
    let find = |name: &str| {
        sources.iter().find(|f| f.package.name == name).with_context(|| format!("{name} not fetched"))
    };
    let lib = |name: &str| prefix_dir.join("lib").join(format!("lib{name}.a"));

    let step = Step::start("zlib for wasm32-wasi", logs.join("zlib.log"))?;
    let src = prepare(find("zlib")?, work, &step)?;
    let files = [
        "adler32.c",
        "compress.c",
        "crc32.c",
        "deflate.c",
        "gzclose.c",
        "gzlib.c",
        "gzread.c",
        "gzwrite.c",
        "infback.c",
        "inffast.c",
        "inflate.c",
        "inftrees.c",
        "trees.c",
        "uncompr.c",
        "zutil.c",
    ];
    compile_archive(
        cc,
        &src,
        &files,
        &["-w", "-DHAVE_UNISTD_H", "-D_LARGEFILE64_SOURCE=1"],
        &lib("z"),
        &step,
    )?;
    copy_headers(&src, &["zlib.h", "zconf.h"], prefix_dir)?;
    step.finish();

    let step = Step::start("bzip2 for wasm32-wasi", logs.join("bzip2.log"))?;
    let src = prepare(find("bzip2")?, work, &step)?;
    let files =
        ["blocksort.c", "huffman.c", "crctable.c", "randtable.c", "compress.c", "decompress.c", "bzlib.c"];
    compile_archive(cc, &src, &files, &["-w", "-D_FILE_OFFSET_BITS=64"], &lib("bz2"), &step)?;
    copy_headers(&src, &["bzlib.h"], prefix_dir)?;
    step.finish();

    let step = Step::start("liblzma (xz-utils) for wasm32-wasi", logs.join("xz-utils.log"))?;
    let src = prepare(find("xz-utils")?, work, &step)?;
    step.run(
        Command::new(src.join("configure"))
            .args(["--host=wasm32-unknown-wasi", "--build=x86_64-pc-linux-gnu"])
            .arg(format!("--prefix={}", prefix_dir.display()))
            .args([
                "--disable-threads",
                "--disable-shared",
                "--enable-static",
                "--disable-xz",
                "--disable-xzdec",
                "--disable-lzmadec",
                "--disable-lzmainfo",
                "--disable-lzma-links",
                "--disable-scripts",
                "--disable-doc",
                "--disable-nls",
            ])
            .env("CC", cc.cc())
            .env("AR", cc.ar())
            .env("RANLIB", cc.ranlib())
            .env("CFLAGS", format!("{} -w", super::wasm_cc::LIB_CFLAGS))
            .env("PKG_CONFIG", "false")
            .current_dir(&src),
    )?;
    step.run(Command::new("make").args(["-j2"]).current_dir(&src))?;
    step.run(Command::new("make").args(["install"]).current_dir(&src))?;
    step.finish();

    let step = Step::start("sqlite3 for wasm32-wasi", logs.join("sqlite3.log"))?;
    let src = prepare(find("sqlite3")?, work, &step)?;
    // The Debian source is SQLite's full tree: generate the amalgamation
    // (sqlite3.c, sqlite3.h) with a native build of its generators (needs tclsh).
    let gen_dir = src.join("native-gen");
    fs::create_dir_all(&gen_dir)?;
    step.run(Command::new(src.join("configure")).arg("--disable-tcl").current_dir(&gen_dir))?;
    step.run(Command::new("make").arg("sqlite3.c").current_dir(&gen_dir))?;
    let compat = crate::xtask_dir().join("recipes/sqlite-wasi-compat.h");
    let mut flags: Vec<String> = vec!["-w".into(), "-include".into(), compat.display().to_string()];
    flags.extend(SQLITE_DEFINES.iter().map(|d| d.to_string()));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    compile_archive(cc, &gen_dir, &["sqlite3.c"], &flags, &lib("sqlite3"), &step)?;
    copy_headers(&gen_dir, &["sqlite3.h"], prefix_dir)?;
    step.finish();

    Ok(Prefix { dir: prefix_dir.to_path_buf() })
}
