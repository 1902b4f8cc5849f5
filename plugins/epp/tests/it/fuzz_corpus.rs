//! The fuzz corpus and crash reproducers of the `epp_frame` target, fed to the same
//! function libFuzzer drives: framing and answer parsing never panic. See fuzz/README.md.

use std::path::Path;

#[path = "../../../../fuzz/src/corpus.rs"]
mod corpus;
#[path = "../../../../fuzz/src/epp_frame.rs"]
mod epp_frame;

#[test]
fn epp_corpus_frames_and_parses_without_panicking() {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    corpus::replay(&fuzz_dir, "epp_frame", epp_frame::feed);
}
