//! Fuzz target `plugin_messages`: see `gallra_fuzz::plugin_messages` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gallra_fuzz::plugin_messages::feed(data));
