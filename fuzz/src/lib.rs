//! What each fuzz target feeds its bytes to. One module per target; each module is also
//! compiled into the crate's regression test (`#[path]`-included from
//! `daemon/tests/it/fuzz_corpus.rs`, `plugin-api/tests/it/fuzz_corpus.rs` and
//! `plugins/epp/tests/it/fuzz_corpus.rs`), so libFuzzer and `cargo test` run the same code.
//! Modules therefore name only the crates themselves, never `crate::`.

pub mod admin_api_json;
pub mod config;
pub mod corpus;
pub mod epp_frame;
pub mod plugin_messages;
