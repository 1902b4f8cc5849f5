//! Integration tests of `gallra-plugin-api`: the conformance suite, the HTTP kit, the fuzz corpus.
//!
//! One test binary, not one per file: Cargo links each file under `tests/` as a binary of its
//! own, and linking dominated CI. Add a test file here as a module; `support` holds what the
//! modules share. Run one module with `cargo test -p <crate> --test it <module>::`.

mod conformance_suite;
mod fuzz_corpus;
mod http_client;
mod http_pagination;
mod http_settings;
