//! Integration tests of `gallra-plugin-sql`, the sql connector.
//!
//! One test binary, not one per file: Cargo links each file under `tests/` as a binary of its
//! own, and linking dominated CI. Add a test file here as a module; `support` holds what the
//! modules share. Run one module with `cargo test -p <crate> --test it <module>::`.

mod abi;
mod batched;
mod changing;
mod conformance;
mod exact;
mod indexes;
mod reading;
mod restoring;
mod settings;
mod support;
mod unreadable;
