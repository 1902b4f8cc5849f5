//! The fuzz corpus and crash reproducers of the daemon's targets (`config`,
//! `admin_api_json`), fed to the same functions libFuzzer drives: none may panic.
//! See fuzz/README.md.

use std::path::{Path, PathBuf};

#[path = "../../../fuzz/src/admin_api_json.rs"]
mod admin_api_json;
#[path = "../../../fuzz/src/config.rs"]
mod config;
#[path = "../../../fuzz/src/corpus.rs"]
mod corpus;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

#[test]
fn config_corpus_parses_or_errs_without_panicking() {
    corpus::replay(&fuzz_dir(), "config", config::feed);
}

#[test]
fn admin_api_corpus_gets_4xx_json_errors_never_a_5xx() {
    corpus::replay(&fuzz_dir(), "admin_api_json", admin_api_json::feed);
}
