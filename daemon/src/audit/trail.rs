//! What the runner and the request engine write to the audit log: the mapping from their
//! states to the log's words, and opening this node's chain anchored in the state store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{
    default_key_path, log_dir, open_anchored, Action, AuditError, AuditLog, NewEntry, Outcome,
    SubjectKey, DEFAULT_MAX_FILE_BYTES,
};
use crate::store::RequestAction;
use crate::store::{AuditHeadStore, TaskState};

/// Opens (or starts) the chain of `store`'s node (`audit-NODE-N.log`) in `state_dir/audit`,
/// with the subject key in `state_dir/audit.key` (made on first start, mode 0600), anchored
/// in the state store the daemon uses: checked against the node's head now, and the head kept
/// after every append. Pass the store the daemon works with (`crate::statestore::open`),
/// whichever backend it is, so that its node names the chain and keys the head.
///
/// A log that does not match its head still opens (so that the daemon serves reads), but
/// refuses every append, which stops whatever would erase; the error is logged here.
pub fn open(state_dir: &Path, store: Arc<dyn AuditHeadStore>) -> Result<Arc<AuditLog>, String> {
    let key = SubjectKey::generate(&default_key_path(state_dir)).map_err(|e| e.to_string())?;
    let dir = log_dir(state_dir);
    let log = open_anchored(&dir, key, DEFAULT_MAX_FILE_BYTES, store)
        .map_err(|e: AuditError| e.to_string())?;
    if let Some(error) = log.refusal() {
        tracing::error!(%error, "the audit log does not match its head in the state store");
    }
    Ok(Arc::new(log))
}

/// The log's word for a task's final state.
pub fn outcome(state: TaskState) -> Outcome {
    match state {
        TaskState::Done => Outcome::Done,
        TaskState::Retained | TaskState::Kept => Outcome::Retained,
        TaskState::Blocked => Outcome::Blocked,
        TaskState::NeedsPerson => Outcome::NeedsPerson,
        TaskState::Failed => Outcome::Failed,
        TaskState::Pending | TaskState::Running => Outcome::Started,
    }
}

/// The log's word for a request task's action.
pub fn action(action: RequestAction) -> Action {
    match action {
        RequestAction::Erase => Action::Erase,
        RequestAction::Anonymize => Action::Anonymize,
        RequestAction::Export => Action::Export,
        RequestAction::Restrict => Action::Restrict,
        RequestAction::Unrestrict => Action::Unrestrict,
        RequestAction::Notify => Action::Notify,
        RequestAction::Manual => Action::Manual,
    }
}

/// Why gallra did not go on: what it does reaches the audit log before it is done (an
/// erasure's intent before the erase call, its outcome before the state store records it),
/// so an audit log that cannot be written stops the work. The message names the directory
/// or file and says what to do; it never holds personal data.
#[derive(Debug, thiserror::Error)]
pub enum AuditUnavailable {
    /// An append failed (the disk is full, the directory is not writable, the log is
    /// damaged). Nothing of the batch is in the log.
    #[error("the audit log cannot be written, so gallra stops before erasing anything it could not record: {0}")]
    Write(#[from] AuditError),
    /// No audit log was opened (the error was reported when opening it).
    #[error("no audit log is open in {}, and gallra erases nothing it cannot record there: make the directory (and {}) readable and writable by the user gallra runs as, free space on its disk if it is full, and run again", .dir.display(), .key.display())]
    NotOpen {
        /// The audit log's directory.
        dir: PathBuf,
        /// The subject key file beside it.
        key: PathBuf,
    },
}

impl AuditUnavailable {
    /// No audit log is open for the state directory `state_dir`.
    pub fn not_open(state_dir: &Path) -> Self {
        Self::NotOpen {
            dir: log_dir(state_dir),
            key: default_key_path(state_dir),
        }
    }
}

/// Appends entries with one write and one fsync, or says why not: the caller stops what it
/// was about to do (or leaves its outcome uncommitted, to be done again).
pub fn write(log: &AuditLog, entries: &[NewEntry]) -> Result<(), AuditUnavailable> {
    log.append_batch(entries)?;
    Ok(())
}

/// Appends entries, and only logs a failure. Only for records that are written after the
/// fact and whose loss undoes nothing (`gallra reapply`'s summary line); everything the
/// runner and the request engine record goes through [`write`], which stops them instead.
pub fn append(log: Option<&Arc<AuditLog>>, entries: &[NewEntry]) {
    let Some(log) = log else { return };
    if let Err(error) = write(log, entries) {
        tracing::error!(%error, entries = entries.len(), "cannot write the audit log");
    }
}

/// Audit logs for the runner's and the engine's tests, and what they hold.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};

    use super::super::{AuditLog, SubjectKey};

    /// An audit log in `dir/audit` (key `dir/audit.key`) that starts a new file at the first
    /// batch once a file holds `max_file_bytes`.
    pub fn log(dir: &Path, max_file_bytes: u64) -> AuditLog {
        let key = SubjectKey::generate(&dir.join("audit.key")).unwrap();
        AuditLog::open(&dir.join("audit"), key, max_file_bytes).unwrap()
    }

    /// Makes the log's second file impossible to create: its name is taken by a directory.
    /// With `max_file_bytes` 1, the batch after the first then fails, and nothing of it is
    /// written.
    pub fn block_second_file(dir: &Path) -> PathBuf {
        let blocker = dir.join("audit/audit-2.log");
        std::fs::create_dir(&blocker).unwrap();
        blocker
    }

    /// (outcome, detail) of every entry in the log's first file, which must not contain
    /// `absent` (the personal data the test used).
    pub fn entries(dir: &Path, absent: &str) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(dir.join("audit/audit-1.log")).unwrap();
        assert!(!text.contains(absent), "personal data in the audit log");
        text.lines()
            .map(|line| {
                let entry: serde_json::Value = serde_json::from_str(line).unwrap();
                let field = |name: &str| entry[name].as_str().unwrap_or("").to_owned();
                (field("outcome"), field("detail"))
            })
            .collect()
    }
}
