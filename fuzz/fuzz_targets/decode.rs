//! Arbitrary node tables, as a hostile guest could send them, into the
//! host's decoder; the body is `pycomponent::value::fuzzing::decode_one`,
//! which CI also runs in bounded form. Needs no built component.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pycomponent::value::fuzzing::decode_one(data));
