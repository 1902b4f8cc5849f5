//! Integration tests of the `gallra` library: the audit log, configuration fixtures, metrics, the fuzz corpus.
//!
//! One test binary, not one per file: Cargo links each file under `tests/` as a binary of its
//! own, and linking dominated CI. Add a test file here as a module; `support` holds what the
//! modules share. Run one module with `cargo test -p <crate> --test it <module>::`.

mod audit;
mod config;
mod fuzz_corpus;
mod metrics;
