//! What the CLI and the admin API show of requests and tasks (as JSON, and as text). Never
//! the subject's identifiers: a request is known by its number.

use jiff::Timestamp;
use serde::Serialize;

use super::model::{RequestAction, RequestId, RequestKind, RequestState, RequestTaskId};
use crate::store::TaskState;

/// One request in a list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RequestSummary {
    /// Its number.
    pub id: RequestId,
    /// What was asked.
    pub kind: RequestKind,
    /// Where it stands.
    pub state: RequestState,
    /// When it was received.
    pub received_at: Timestamp,
    /// When it must be done by.
    pub due_at: Timestamp,
    /// Open, and due within the at-risk window (or overdue).
    pub at_risk: bool,
    /// Open past its due date.
    pub overdue: bool,
    /// Tasks in all.
    pub tasks: usize,
    /// Tasks not yet final.
    pub tasks_open: usize,
    /// Why it is blocked, failed or cancelled.
    pub detail: Option<String>,
    /// The policy run that filed it for the systems it does not erase itself (e.g. "policy
    /// inactive, run 12"); `null` for a subject's own request.
    pub filed_by: Option<String>,
}

/// One request with its tasks and, when final, its receipt.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RequestView {
    /// The request.
    #[serde(flatten)]
    pub summary: RequestSummary,
    /// Its tasks, in order.
    pub task_list: Vec<TaskView>,
    /// The receipt, once the request is final.
    pub receipt: Option<Receipt>,
}

/// One task.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaskView {
    /// Its number (for `gallra task done` and `gallra task retry`).
    pub id: RequestTaskId,
    /// Its request.
    pub request: RequestId,
    /// The system.
    pub system: String,
    /// What it does.
    pub action: RequestAction,
    /// Where it stands.
    pub state: TaskState,
    /// Calls so far.
    pub attempts: u32,
    /// Not tried before.
    pub not_before: Option<Timestamp>,
    /// Kept until.
    pub retained_until: Option<Timestamp>,
    /// The law that keeps it.
    pub legal_basis: Option<String>,
    /// What happened.
    pub detail: Option<String>,
    /// When it became done, retained or failed.
    pub finished_at: Option<Timestamp>,
    /// For a manual task: what the person must do (from the system's config).
    pub instructions: Option<String>,
}

/// What a finished request did, per system: the subject's proof.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Receipt {
    /// The request.
    pub request: RequestId,
    /// What was asked.
    pub kind: RequestKind,
    /// How it ended: done, failed, or cancelled (then `completed_at` is when).
    pub state: RequestState,
    /// When it was received.
    pub received_at: Timestamp,
    /// When it was completed (or cancelled).
    pub completed_at: Option<Timestamp>,
    /// Per system, in task order.
    pub systems: Vec<ReceiptLine>,
    /// The date by which the last backup that could hold the data has expired: completion
    /// plus the longest `backup_retention` among the systems reached. `None` if no system
    /// states its backup retention.
    pub backups_expire_by: Option<Timestamp>,
}

/// One system on a receipt.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReceiptLine {
    /// The system.
    pub system: String,
    /// What happened there.
    pub outcome: ReceiptOutcome,
    /// Details (counts, the person's note).
    pub detail: Option<String>,
    /// Kept until (legal hold).
    pub retained_until: Option<Timestamp>,
    /// The law that keeps it.
    pub legal_basis: Option<String>,
}

/// What happened in one system.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptOutcome {
    /// The data is gone.
    Erased,
    /// Personal data replaced; records kept (e.g. invoices).
    Anonymized,
    /// Kept under a law until a date; erased by gallra then, without anyone asking.
    Retained,
    /// A person did it and confirmed.
    DoneByPerson,
    /// The processor was told.
    Notified,
    /// Exported, restricted or unrestricted as asked.
    Done,
    /// Did not finish (failed, or waiting).
    NotDone,
    /// Not done because the request was cancelled.
    Cancelled,
}

/// An error from the request service, mapped to HTTP statuses by the API and to exit codes
/// by the CLI. Messages never contain personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// No such request or task (404).
    #[error("{0}")]
    NotFound(String),
    /// The input is wrong (422): an invalid identifier, an unknown kind, no identifier.
    #[error("{0}")]
    Invalid(String),
    /// The request or task is not in a state that allows this (409).
    #[error("{0}")]
    Conflict(String),
    /// gallra could not do it (503): the state store failed. Try again later.
    #[error("{0}")]
    Unavailable(String),
}
