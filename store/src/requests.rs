//! Durable state of data subjects' requests: the request, and one task per system it reaches.
//!
//! Like runs, everything is written here before it is acted on, so a restarted daemon resumes
//! with [`RequestStore::due_requests`] and sleeps until [`RequestStore::next_wakeup`].
//!
//! A task is *due* when it is pending or running (a running one was interrupted) and its
//! `not_before` is unset or has passed, or when it is retained and its `not_before` (the end of
//! a legal hold) has passed. Tasks of cancelled requests are never due, and a cancel is
//! final: nothing is recorded over it.
//!
//! The one thing to watch out for: a request holds its subject's identifiers, which are
//! personal data. Call [`RequestStore::forget_request_identifiers`] as soon as no task needs
//! them any more.

use gallra_plugin_api::Identifier;
use jiff::Timestamp;

use super::Result;
use crate::LeaseStore;
use crate::{
    NewRequestTask, RequestId, RequestKind, RequestRecord, RequestState, RequestTask,
    RequestTaskId, TaskUpdate,
};

/// The requests half of the state store. Every method is one atomic step.
pub trait RequestStore: LeaseStore + Send + Sync {
    /// Records a request in state [`RequestState::Open`] with its tasks, all pending, in one
    /// transaction.
    fn create_request(
        &self,
        kind: RequestKind,
        identifiers: &[Identifier],
        received_at: Timestamp,
        due_at: Timestamp,
        extension: Option<&str>,
        tasks: &[NewRequestTask],
    ) -> Result<RequestId>;

    /// One request, if it exists.
    fn request(&self, id: RequestId) -> Result<Option<RequestRecord>>;

    /// Up to `limit` requests by due date (soonest first), then id. `open_only` keeps those
    /// open or blocked.
    fn list_requests(&self, open_only: bool, limit: usize) -> Result<Vec<RequestRecord>>;

    /// The request's tasks by order, then id; empty if there is no such request.
    fn request_tasks(&self, id: RequestId) -> Result<Vec<RequestTask>>;

    /// One task, if it exists.
    fn request_task(&self, id: RequestTaskId) -> Result<Option<RequestTask>>;

    /// Up to `limit` requests, not cancelled, with at least one task due at `now`, by due date
    /// then id.
    fn due_requests(&self, now: Timestamp, limit: usize) -> Result<Vec<RequestId>>;

    /// Takes up to `limit` of the requests [`RequestStore::due_requests`] gives, in the same
    /// order, under this node's lease, in one transaction: until this node releases them or
    /// its lease runs out, no other node's `due_requests` or `claim_requests` gives them, so
    /// two daemons sharing the store never carry one request at once. A request this node
    /// holds already is given again.
    fn claim_requests(&self, now: Timestamp, limit: usize) -> Result<Vec<RequestId>>;

    /// Gives this node's leases on `ids` up (its pass over them ended); a request another
    /// node holds is left alone.
    fn release_requests(&self, ids: &[RequestId]) -> Result<()>;

    /// The earliest `not_before` of a task that will then become due (pending or running with
    /// a backoff or re-check time, or retained under a hold), in requests that are not
    /// cancelled. It may be in the past if such a task has not been picked up yet. `None` if
    /// nothing waits on a time; tasks due without one are found by
    /// [`RequestStore::due_requests`].
    fn next_wakeup(&self) -> Result<Option<Timestamp>>;

    /// Applies the updates in one transaction: all or, if a task does not exist
    /// ([`StoreError::NoSuchRequestTask`]) or its request was cancelled
    /// ([`StoreError::RequestCancelled`]: a step that was under way when the cancel came
    /// cannot write over it), none. See [`TaskUpdate`] for which fields keep their stored
    /// value when `None`; `not_before` is always set. A task that becomes done, retained or
    /// failed records `now` as its `finished_at`; any other state clears it.
    ///
    /// [`StoreError::NoSuchRequestTask`]: super::StoreError::NoSuchRequestTask
    /// [`StoreError::RequestCancelled`]: super::StoreError::RequestCancelled
    fn update_request_tasks(&self, updates: &[TaskUpdate], now: Timestamp) -> Result<()>;

    /// Puts a task that failed or waits for a person back to pending, due at once, with its
    /// attempts counted from zero again and `detail` saying why: a person's way back from
    /// those states (`gallra task retry`). Returns whether it did: a task in any other state
    /// is left as it is. A cancelled request's task is refused
    /// ([`StoreError::RequestCancelled`](super::StoreError::RequestCancelled)).
    fn retry_request_task(&self, id: RequestTaskId, detail: &str, now: Timestamp) -> Result<bool>;

    /// Moves a request to `state` with `detail` (`None` clears it). A final state (done,
    /// failed, cancelled) sets `completed_at` to `at` unless it is set already; any other
    /// state clears it. The caller says when the request ended: its last task's finish (see
    /// [`crate::settle`]), not the moment it noticed. A cancelled request stays cancelled
    /// ([`StoreError::RequestCancelled`](super::StoreError::RequestCancelled)).
    fn set_request_state(
        &self,
        id: RequestId,
        state: RequestState,
        detail: Option<&str>,
        at: Timestamp,
    ) -> Result<()>;

    /// Empties the request's identifiers (personal data), leaving no copy in the database
    /// files. Refused with [`StoreError::RequestTasksOpen`] while a task is pending, running,
    /// needs a person, or is retained with `not_before` set, since that task could no longer
    /// find its subject.
    ///
    /// [`StoreError::RequestTasksOpen`]: super::StoreError::RequestTasksOpen
    fn forget_request_identifiers(&self, id: RequestId) -> Result<()>;

    /// Cancels an open, blocked or failed request, in one transaction: the request becomes
    /// cancelled with `detail`, its tasks that wait (pending, running, blocked, waiting for a
    /// person) fail as cancelled (a running one says its step was under way), a hold's
    /// erasure still to come is called off, and the identifiers and kept references are
    /// forgotten, leaving no copy in the database files. A request in any other state is
    /// left as it is and its state returned.
    fn cancel_request(&self, id: RequestId, detail: &str, now: Timestamp) -> Result<Cancel>;

    /// Cancelled requests whose cancellation is not yet in the audit log, oldest first.
    fn cancels_to_audit(&self) -> Result<Vec<RequestRecord>>;

    /// Records that the cancellation of `id` is in the audit log.
    fn cancel_audited(&self, id: RequestId) -> Result<()>;

    /// Tasks waiting for a person, in requests that are not cancelled, by the request's due
    /// date, then request, then task order.
    fn needs_person_tasks(&self) -> Result<Vec<RequestTask>>;

    /// Records that the notice of a notify task went out at `at`: the first one, or a
    /// reminder (every later call). Returns the notice's record as it now stands.
    fn notice_sent(&self, task: RequestTaskId, at: Timestamp) -> Result<NoticeRecord>;

    /// The notice of a notify task, if one went out.
    fn notice(&self, task: RequestTaskId) -> Result<Option<NoticeRecord>>;

    /// Records that an unanswered notice was escalated to a person at `at`.
    fn notice_escalated(&self, task: RequestTaskId, at: Timestamp) -> Result<()>;
}

/// What [`RequestStore::cancel_request`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    /// The request is cancelled now.
    Cancelled,
    /// The request was done or cancelled already; nothing changed.
    NotOpen(RequestState),
}

/// The deletion notice of one notify task, and what followed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeRecord {
    /// When the first notice went out.
    pub first_sent_at: Timestamp,
    /// When the latest notice (first or reminder) went out.
    pub last_sent_at: Timestamp,
    /// Reminders sent after the first notice.
    pub reminders: u32,
    /// When the silence was escalated to a person, if it was.
    pub escalated_at: Option<Timestamp>,
}

/// What a task that was running says once its request is cancelled: its connector call may
/// have finished after the cancel, and only the audit log heard how.
pub(crate) const CANCELLED_RUNNING: &str = "cancelled while its step was under way: the system \
    may have acted before the step ended; the audit log records what it did";
