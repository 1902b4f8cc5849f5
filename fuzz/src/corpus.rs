//! Replays a target's kept inputs: the minimized corpus in `fuzz/corpus/<target>/` and the
//! crash reproducers in `fuzz/regressions/<target>/`. The regression tests call this with
//! the same `feed` function libFuzzer calls.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Feeds every kept input of `target` under the fuzz directory `fuzz_dir` to `feed`.
pub fn replay(fuzz_dir: &Path, target: &str, feed: impl Fn(&[u8])) {
    let folders = ["corpus", "regressions"].map(|kind| fuzz_dir.join(kind).join(target));
    replay_files(target, &files_in(&folders), feed);
}

/// Every file in these folders (a missing folder holds none), sorted.
pub fn files_in(folders: &[PathBuf]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = folders
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .map(|entry| entry.expect("a readable corpus folder").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Feeds each file to `feed` and panics naming every file that made it panic. No files
/// fails too: a regression test over nothing proves nothing.
pub fn replay_files(label: &str, files: &[PathBuf], feed: impl Fn(&[u8])) {
    assert!(!files.is_empty(), "no inputs for {label}");
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).expect("a readable corpus file");
            catch_unwind(AssertUnwindSafe(|| feed(&data))).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} inputs for {label} panicked (reproduce with \
         `fuzz/target/x86_64-unknown-linux-gnu/release/<target> FILE`):\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
    eprintln!("{label}: {} kept inputs fed, none panicked", files.len());
}
