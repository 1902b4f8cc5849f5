//! The restore window: what a policy run erases is kept, encrypted, for the policy's
//! `restore_window`, so that `gallra restore RUN` can undo a wrong purge; when the window
//! ends the run's key is destroyed, and with it every way to read what was kept.
//!
//! - **Keep** ([`keep_before_erase`]): before a run erases a subject in a system, the
//!   system's export of the subject is sealed (XChaCha20-Poly1305, as tombstones are) under
//!   the run's own random key and stored in the state store with the system and the
//!   subject's key. If the export fails, or the system cannot export and restore, the erase
//!   is not made: the task fails and the next run tries again. Nothing is deleted that was
//!   promised restorable.
//! - **The key** is a file, `<state_dir>/restore/run-N.key` (mode 0600, in a directory of
//!   mode 0700), never in the state database: a copy of the database alone opens nothing.
//! - **Prune** ([`prune`]): at the start of every run and of `gallra restore`, each window
//!   that has ended has its key file deleted first (crypto-shredding), then its ciphertexts;
//!   the window's row stays, saying when, so a late restore can say why it cannot.
//! - **Restore** (`gallra restore RUN`, see `cli::restore`): opens each kept subject and
//!   asks the system to put the records back; systems leave records already there as they
//!   are, so restoring twice restores nothing twice.

mod keep;
mod prune;

pub use keep::{keep_before_erase, Kept, RestoreKeeper};
pub use prune::prune;

use std::path::{Path, PathBuf};

use crate::store::RunId;

/// The directory of the restore keys in the state directory.
pub fn key_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("restore")
}

/// The key file of a run's window.
pub fn key_path(state_dir: &Path, run: RunId) -> PathBuf {
    key_dir(state_dir).join(format!("run-{run}.key"))
}

/// What a kept subject's sealed data is bound to: a ciphertext moved to another run, system
/// or subject does not open.
pub(crate) fn seal_context(run: RunId, system: &str, subject_key: &str) -> Vec<u8> {
    format!("gallra restore window\0{run}\0{system}\0{subject_key}").into_bytes()
}
