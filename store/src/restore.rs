//! The restore window's records: what a run kept, sealed, of what it erased.

use jiff::Timestamp;

use crate::model::runs::RunId;
use crate::{Result, Sealed};

/// A run's restore window (the daemon's `restore` module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreWindow {
    /// The run.
    pub run: RunId,
    /// Its policy.
    pub policy: String,
    /// When the window ends and the run's key is destroyed.
    pub kept_until: Timestamp,
    /// When the key was destroyed and the kept data deleted; `None` while the window is open.
    pub destroyed_at: Option<Timestamp>,
}

/// What was kept of one subject in one system before a run erased it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreKeep {
    /// The run.
    pub run: RunId,
    /// The system erased from.
    pub system: String,
    /// The subject's key in the run (as its tasks name it).
    pub subject_key: String,
    /// When it was kept.
    pub kept_at: Timestamp,
    /// The system's export of the subject, encrypted under the run's key.
    pub sealed: Sealed,
}

/// The restore window's records (the daemon's `restore` module). What was kept is stored only
/// encrypted, and never with its key.
pub trait RestoreStore: Send + Sync {
    /// Records that `run` keeps what it erases until `kept_until`; a window already recorded
    /// for the run is left as it is. Returns the run's window as stored.
    fn open_restore_window(
        &self,
        run: RunId,
        policy: &str,
        kept_until: Timestamp,
    ) -> Result<RestoreWindow>;

    /// The run's window, if it has one.
    fn restore_window(&self, run: RunId) -> Result<Option<RestoreWindow>>;

    /// Whether the subject's data in `system` is already kept for `run`.
    fn is_kept(&self, run: RunId, system: &str, subject_key: &str) -> Result<bool>;

    /// Stores what was kept; one already stored for the same run, system and subject is left
    /// as it is (a repeated erase finds less than the first did).
    fn keep(&self, keep: &RestoreKeep) -> Result<()>;

    /// What was kept for `run`, optionally in one system only, in system and subject order.
    fn kept(&self, run: RunId, system: Option<&str>) -> Result<Vec<RestoreKeep>>;

    /// Windows that ended at or before `now` and whose key is not yet recorded destroyed.
    fn ended_restore_windows(&self, now: Timestamp) -> Result<Vec<RestoreWindow>>;

    /// Deletes what was kept for `run` and records its window destroyed at `now`.
    fn destroy_restore_window(&self, run: RunId, now: Timestamp) -> Result<()>;
}
