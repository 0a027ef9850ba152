//! Arbitrary bytes against the adapter's public calls (values, names, code);
//! the body is `host_tests::fuzz::Fuzzer`, which CI also runs in bounded form.
#![no_main]

use std::sync::OnceLock;

use host_tests::fuzz::Fuzzer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static FUZZER: OnceLock<Fuzzer> = OnceLock::new();
    FUZZER.get_or_init(Fuzzer::new).one_input(data);
});
