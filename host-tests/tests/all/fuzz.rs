//! The fuzz target in a bounded, deterministic form that CI can afford:
//! inputs from a fixed seed (mutated from a few seeds of real code and
//! values), plus every crash the fuzzer ever found (`fuzz/regressions/`).
//! `cargo fuzz run adapter` (in `fuzz/`) runs the same body for longer.

use host_tests::Rng;
use host_tests::fuzz::Fuzzer;

const SEED: u64 = 0xf022_2026_1125;

/// Inputs shaped like the fuzzer's: an operation byte, then code or value bytes.
const SEEDS: &[&[u8]] = &[
    b"\x01import json\njson.loads('[1, 2, {\"a\": null}]')",
    b"\x02[i * i for i in range(10)]",
    b"\x02{1: (2, 3), 'x': {4, 5}, None: b'\\xff'}",
    b"\x03\x0bmath.hypot\x02\x02\x03\x04\x02\x05",
    b"\x04\x03pkg\x01x = 1\n",
    b"\x00\x0b\x04\x07\x02\x01\x02\x03\x04\x05\x06\x07\x08\x04\x03abc",
    b"\x05\x0b\x04\x09\x02\x01\x02\x03",
    b"\x01def f(:\n",
    b"\x01while True: pass",
];

#[test]
fn fuzz_inputs_never_break_the_host() {
    let fuzzer = Fuzzer::new();
    let mut rng = Rng(SEED);
    for case in 0..400 {
        let mut input = SEEDS[rng.below(SEEDS.len() as u64) as usize].to_vec();
        for _ in 0..rng.below(8) {
            match rng.below(3) {
                0 if !input.is_empty() => {
                    let at = rng.below(input.len() as u64) as usize;
                    input[at] = rng.next_u64() as u8;
                }
                1 => input.push(rng.next_u64() as u8),
                _ if input.len() > 1 => {
                    input.remove(rng.below(input.len() as u64) as usize);
                }
                _ => {}
            }
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fuzzer.one_input(&input)));
        assert!(result.is_ok(), "seed {SEED:#x} case {case}: input {input:?}");
    }
}

#[test]
fn crashes_the_fuzzer_found_stay_fixed() {
    let dir = host_tests::workspace_root().join("fuzz/regressions");
    let fuzzer = Fuzzer::new();
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        fuzzer.one_input(&std::fs::read(&path).expect("a regression input"));
        replayed += 1;
    }
    eprintln!("replayed {replayed} regression inputs");
}
