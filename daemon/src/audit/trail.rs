//! What the runner and the request engine write to the audit log: the mapping from their
//! states to the log's words, and opening the log beside the state store.

use std::path::Path;
use std::sync::Arc;

use super::{
    default_key_path, log_dir, Action, AuditError, AuditLog, NewEntry, Outcome, SubjectKey,
    DEFAULT_MAX_FILE_BYTES,
};
use crate::requests::RequestAction;
use crate::store::TaskState;

/// Opens (or starts) the audit log in `state_dir/audit`, with the subject key in
/// `state_dir/audit.key` (made on first start, mode 0600).
pub fn open(state_dir: &Path) -> Result<Arc<AuditLog>, String> {
    let key = SubjectKey::generate(&default_key_path(state_dir)).map_err(|e| e.to_string())?;
    let log = AuditLog::open(&log_dir(state_dir), key, DEFAULT_MAX_FILE_BYTES)
        .map_err(|e: AuditError| e.to_string())?;
    Ok(Arc::new(log))
}

/// The log's word for a task's final state.
pub fn outcome(state: TaskState) -> Outcome {
    match state {
        TaskState::Done => Outcome::Done,
        TaskState::Retained => Outcome::Retained,
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

/// Appends entries; a failure is logged, not raised: the state store already holds what was
/// done, and an erasure is not undone because its record could not be written.
pub fn append(log: Option<&Arc<AuditLog>>, entries: &[NewEntry]) {
    let Some(log) = log else { return };
    if entries.is_empty() {
        return;
    }
    if let Err(error) = log.append_batch(entries) {
        tracing::error!(%error, entries = entries.len(), "cannot write the audit log");
    }
}
