//! Counts the 4 KiB pages of linear memory a fresh instance writes in its
//! first `eval`: pages of the memory image it copies on write, and pages of
//! zero memory past the image it touches. Each of them is a page fault in
//! the first call and private memory for as long as the instance lives.
//! Read from `/proc/self/pagemap` (Linux): a page of the image that is
//! present but no longer the file's is a private copy.
//!
//! With `--list`, prints to stderr each written page of the last instance:
//! its offset in the memory image and how many 32-bit words differ after the
//! call (0: written back unchanged, such as a reference count raised and
//! lowered again). Prints one JSON object.
//!
//! Run: `cargo run --release -p pycomponent --example pages -- COMPONENT [N] [--list]`

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context, Result, bail};
use pycomponent::{HostModules, Limits, Runtime};

const PAGE: u64 = 4096;

/// How far past an image the memory it grows into is looked at.
const PAST_IMAGE: u64 = 256 << 20;

/// One mapping of `/proc/self/maps`.
#[derive(Debug, Clone)]
struct Mapping {
    start: u64,
    end: u64,
    name: String,
}

impl Mapping {
    /// Wasmtime maps a memory image from a memfd or from the compiled file.
    fn is_image(&self) -> bool {
        self.name.contains("wasm-memory-image") || self.name.ends_with(".cwasm")
    }
}

fn mappings() -> Result<Vec<Mapping>> {
    let text = std::fs::read_to_string("/proc/self/maps").context("reading /proc/self/maps")?;
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let range = fields.next().context("a mapping without a range")?;
        let name = fields.nth(4).unwrap_or("").to_string();
        let (start, end) = range.split_once('-').context("a range without '-'")?;
        out.push(Mapping {
            start: u64::from_str_radix(start, 16)?,
            end: u64::from_str_radix(end, 16)?,
            name,
        });
    }
    Ok(out)
}

/// Pages of `[start, end)` that are present and private (anonymous).
fn private_pages(pagemap: &mut File, start: u64, end: u64) -> Result<Vec<u64>> {
    let pages = ((end - start) / PAGE) as usize;
    let mut entries = vec![0u8; pages * 8];
    pagemap.seek(SeekFrom::Start(start / PAGE * 8))?;
    pagemap.read_exact(&mut entries).context("reading /proc/self/pagemap")?;
    let mut out = Vec::new();
    for (i, entry) in entries.chunks_exact(8).enumerate() {
        let bits = u64::from_le_bytes(entry.try_into().expect("8 bytes"));
        let present = bits >> 63 & 1 == 1;
        let file_or_shared = bits >> 61 & 1 == 1;
        if present && !file_or_shared {
            out.push(start + i as u64 * PAGE);
        }
    }
    Ok(out)
}

/// The private pages of every memory image, and of the anonymous mapping
/// right after one (memory grown past the image).
fn written_pages(pagemap: &mut File) -> Result<BTreeSet<u64>> {
    let maps = mappings()?;
    let mut out = BTreeSet::new();
    for (i, m) in maps.iter().enumerate() {
        let past_image = i > 0 && m.name.is_empty() && maps[i - 1].end == m.start && maps[i - 1].is_image();
        if m.is_image() {
            out.extend(private_pages(pagemap, m.start, m.end)?);
        } else if past_image {
            out.extend(private_pages(pagemap, m.start, m.end.min(m.start + PAST_IMAGE))?);
        }
    }
    Ok(out)
}

/// The bytes of one of this process's mappings, through `/proc/self/mem`.
fn read_mapping(m: &Mapping) -> Result<Vec<u8>> {
    let mut mem = File::open("/proc/self/mem").context("opening /proc/self/mem")?;
    mem.seek(SeekFrom::Start(m.start))?;
    let mut bytes = vec![0u8; (m.end - m.start) as usize];
    mem.read_exact(&mut bytes).context("reading a mapping")?;
    Ok(bytes)
}

/// Prints each page of `written` inside one of `images` (taken before the
/// call): its offset in the image and the words that differ now.
fn list_writes(images: &[(Mapping, Vec<u8>)], written: &BTreeSet<u64>) -> Result<()> {
    for (m, before) in images {
        let after = read_mapping(m)?;
        for page in written.iter().filter(|p| **p >= m.start && **p < m.end) {
            let offset = (page - m.start) as usize;
            let range = offset..offset + PAGE as usize;
            let changed = before[range.clone()]
                .chunks_exact(4)
                .zip(after[range].chunks_exact(4))
                .filter(|(a, b)| a != b)
                .count();
            eprintln!("{offset:#010x} {changed}");
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let list = args.iter().any(|a| a == "--list");
    args.retain(|a| a != "--list");
    let (component, count) = match args.as_slice() {
        [c] => (c.clone(), 20),
        [c, n] => (c.clone(), n.parse::<usize>().context("N is a number")?.max(1)),
        _ => bail!("usage: pages COMPONENT [N] [--list]"),
    };
    let limits = Limits { max_instances: count as u32 + 1, ..Limits::default() };
    let runtime = Runtime::with_limits(Path::new(&component), limits)?;
    // One instance first, so that process-wide first-use costs are not counted.
    runtime.instantiate(HostModules::new())?.eval("1+1")?.result?;
    let mut pagemap = File::open("/proc/self/pagemap").context("opening /proc/self/pagemap")?;
    let mut live = Vec::with_capacity(count);
    let mut at_first_eval = Vec::with_capacity(count);
    for i in 0..count {
        let known: BTreeSet<u64> = mappings()?.iter().filter(|m| m.is_image()).map(|m| m.start).collect();
        let mut py = runtime.instantiate(HostModules::new())?;
        let before = written_pages(&mut pagemap)?;
        let images: Vec<(Mapping, Vec<u8>)> = if list && i == count - 1 {
            let mine = mappings()?.into_iter().filter(|m| m.is_image() && !known.contains(&m.start));
            mine.map(|m| Ok((m.clone(), read_mapping(&m)?))).collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        py.eval("1+1")?.result?;
        let written: BTreeSet<u64> = written_pages(&mut pagemap)?.difference(&before).copied().collect();
        at_first_eval.push(written.len());
        if !images.is_empty() {
            list_writes(&images, &written)?;
        }
        live.push(py);
    }
    at_first_eval.sort_unstable();
    println!(
        "{}",
        serde_json::json!({
            "instances": count,
            "pages_written_by_first_eval_median": at_first_eval[count / 2],
            "pages_written_by_first_eval_min": at_first_eval[0],
            "pages_written_by_first_eval_max": at_first_eval[count - 1],
        })
    );
    drop(live);
    Ok(())
}
