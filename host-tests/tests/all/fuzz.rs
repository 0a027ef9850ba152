//! The fuzz targets in a bounded, deterministic form that CI can afford:
//! every checked-in input (the seed corpus `fuzz/seeds/<target>/` and every
//! crash the fuzzer ever found, `fuzz/regressions/<target>/`), then inputs
//! mutated from the seeds with a fixed seed. `cargo fuzz run adapter` and
//! `cargo fuzz run decode` (in `fuzz/`) run the same bodies for longer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use host_tests::Rng;
use host_tests::fuzz::Fuzzer;
use pycomponent::value::fuzzing;

const SEED: u64 = 0xf022_2026_1125;

/// Set to rewrite `fuzz/seeds/` from the generators.
const WRITE_SEEDS: &str = "PYCOMPONENT_WRITE_SEEDS";

/// Named inputs of a fuzz target.
type Inputs = Vec<(String, Vec<u8>)>;

/// The generated seed corpus of each target.
fn generated_seeds() -> [(&'static str, Inputs); 2] {
    [("adapter", host_tests::fuzz::seeds()), ("decode", fuzzing::seeds())]
}

fn fuzz_dir() -> PathBuf {
    host_tests::workspace_root().join("fuzz")
}

/// The files of `dir`, by name (none when it does not exist).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeMap::new() };
    entries
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        })
        .collect()
}

/// The checked-in inputs of `target`, seeds then regressions; at least
/// as many as the generator makes.
fn checked_in_inputs(target: &str) -> Inputs {
    let seeds = files(&fuzz_dir().join("seeds").join(target));
    let generated = generated_seeds().into_iter().find(|(t, _)| *t == target).expect("a target").1;
    assert!(
        seeds.len() >= generated.len(),
        "fuzz/seeds/{target} holds {} of {} seeds: run `{WRITE_SEEDS}=1 cargo test -p host-tests --test all fuzz::`",
        seeds.len(),
        generated.len()
    );
    let regressions = files(&fuzz_dir().join("regressions").join(target));
    seeds
        .into_iter()
        .map(|(n, i)| (format!("seeds/{n}"), i))
        .chain(regressions.into_iter().map(|(n, i)| (format!("regressions/{n}"), i)))
        .collect()
}

/// An input mutated from one of `seeds`: up to eight bytes replaced,
/// inserted or removed.
fn mutated(rng: &mut Rng, seeds: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut input = seeds[rng.below(seeds.len() as u64) as usize].1.clone();
    for _ in 0..rng.below(8) {
        match rng.below(3) {
            0 if !input.is_empty() => {
                let at = rng.below(input.len() as u64) as usize;
                input[at] = rng.next_u64() as u8;
            }
            1 => input.insert(rng.below(input.len() as u64 + 1) as usize, rng.next_u64() as u8),
            _ if input.len() > 1 => {
                input.remove(rng.below(input.len() as u64) as usize);
            }
            _ => {}
        }
    }
    input
}

/// Runs `body` on `input`, failing with the case and the input on a panic.
fn run(body: impl Fn(&[u8]), case: &str, input: &[u8]) {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(input)));
    assert!(result.is_ok(), "{case}: input {input:?}");
}

#[test]
fn the_seed_corpora_are_the_generated_ones() {
    for (target, seeds) in generated_seeds() {
        let dir = fuzz_dir().join("seeds").join(target);
        if std::env::var_os(WRITE_SEEDS).is_some() {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("creates the seed directory");
            for (name, input) in &seeds {
                std::fs::write(dir.join(name), input).expect("writes a seed");
            }
        }
        let generated: BTreeMap<String, Vec<u8>> = seeds.into_iter().collect();
        let on_disk = files(&dir);
        assert!(
            on_disk == generated,
            "fuzz/seeds/{target} is not what the generator makes: run `{WRITE_SEEDS}=1 cargo test -p host-tests --test all fuzz::the_seed_corpora`"
        );
    }
}

#[test]
fn checked_in_adapter_inputs_never_break_the_host() {
    let inputs = checked_in_inputs("adapter");
    let fuzzer = Fuzzer::new();
    let mut replayed = 0;
    for (name, input) in &inputs {
        run(|data| fuzzer.one_input(data), name, input);
        replayed += 1;
    }
    eprintln!("replayed {replayed} adapter inputs");
    assert!(replayed > 0 && replayed == inputs.len(), "replayed {replayed} of {}", inputs.len());
}

#[test]
fn mutated_adapter_inputs_never_break_the_host() {
    let seeds = checked_in_inputs("adapter");
    let fuzzer = Fuzzer::new();
    let mut rng = Rng(SEED);
    for case in 0..400 {
        let input = mutated(&mut rng, &seeds);
        run(|data| fuzzer.one_input(data), &format!("seed {SEED:#x} case {case}"), &input);
    }
}

#[test]
fn checked_in_decoder_inputs_decode_or_are_refused() {
    let inputs = checked_in_inputs("decode");
    let mut replayed = 0;
    for (name, input) in &inputs {
        run(fuzzing::decode_one, name, input);
        replayed += 1;
    }
    eprintln!("replayed {replayed} decoder inputs");
    assert!(replayed > 0 && replayed == inputs.len(), "replayed {replayed} of {}", inputs.len());
}

#[test]
fn mutated_decoder_inputs_decode_or_are_refused() {
    let seeds = checked_in_inputs("decode");
    let mut rng = Rng(SEED);
    for case in 0..20_000 {
        let input = mutated(&mut rng, &seeds);
        run(fuzzing::decode_one, &format!("seed {SEED:#x} case {case}"), &input);
    }
}

/// A guest crash is a finding, not an exhausted limit. `os.abort()` stands
/// in for one: wasi-libc's `abort()` is an `unreachable` instruction, the
/// same trap a Rust panic in the guest ends in.
#[test]
fn a_crash_of_the_guest_fails_the_fuzzer() {
    let fuzzer = Fuzzer::new();
    let crash = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fuzzer.one_input(b"\x01import os\nos.abort()")
    }));
    assert!(crash.is_err(), "the fuzzer accepted an `unreachable` trap");
    // The limits are no findings, and the next input gets a fresh instance.
    fuzzer.one_input(b"\x01while True: pass");
    fuzzer.one_input(b"\x02 6 * 7");
}
