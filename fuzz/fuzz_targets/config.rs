//! Fuzz target `config`: see `gallra_fuzz::config` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gallra_fuzz::config::feed(data));
