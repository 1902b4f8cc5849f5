//! `gallra demo` (placeholder until the dataset lands).

use std::path::PathBuf;

/// Runs the demo.
pub async fn demo(_dir: Option<PathBuf>, _customers: usize, _seed: u64) -> u8 {
    1
}
