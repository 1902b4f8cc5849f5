//! Fuzz target `admin_api_json`: see `gallra_fuzz::admin_api_json` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gallra_fuzz::admin_api_json::feed(data));
