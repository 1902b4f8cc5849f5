//! Fuzz target `epp_frame`: see `gallra_fuzz::epp_frame` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gallra_fuzz::epp_frame::feed(data));
