//! The fuzz corpus and crash reproducers of the `plugin_messages` target, fed to the same
//! function libFuzzer drives: both sides of the ABI decode them or refuse them, never
//! panic, and what decodes survives a round trip. See fuzz/README.md.

use std::path::Path;

#[path = "../../../fuzz/src/corpus.rs"]
mod corpus;
#[path = "../../../fuzz/src/plugin_messages.rs"]
mod plugin_messages;

#[test]
fn plugin_message_corpus_decodes_or_is_refused_without_panicking() {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    corpus::replay(&fuzz_dir, "plugin_messages", plugin_messages::feed);
}
