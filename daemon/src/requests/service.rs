//! The operations on requests that the CLI and the admin API offer.

use gallra_plugin_api::Identifier;

use super::model::{RequestId, RequestKind, RequestTaskId};
use super::view::{RequestSummary, RequestView, ServiceError, TaskView};

/// Requests as a service: submitted, listed, shown, cancelled; manual tasks listed and
/// confirmed. Synchronous (the state store is); an async caller uses `spawn_blocking`.
pub trait RequestService: Send + Sync + 'static {
    /// Receives a request: validates, sets the due date, fans out one task per system, and
    /// records it all in one transaction. Carrying it out is the engine's work.
    fn submit(
        &self,
        kind: RequestKind,
        identifiers: Vec<Identifier>,
    ) -> Result<RequestView, ServiceError>;

    /// Requests by due date, soonest first; `open_only` leaves out final ones.
    fn list(&self, open_only: bool, limit: usize) -> Result<Vec<RequestSummary>, ServiceError>;

    /// One request with its tasks and receipt.
    fn show(&self, id: RequestId) -> Result<RequestView, ServiceError>;

    /// Cancels an open, blocked or failed request; its tasks that have not run stop, and its
    /// identifiers are forgotten.
    fn cancel(&self, id: RequestId, reason: &str) -> Result<RequestView, ServiceError>;

    /// Tasks waiting for a person, oldest due first.
    fn manual_tasks(&self) -> Result<Vec<TaskView>, ServiceError>;

    /// A person confirms a manual task, with a note (kept on the receipt; no personal data).
    fn task_done(&self, id: RequestTaskId, note: &str) -> Result<TaskView, ServiceError>;

    /// A person has a task that failed or waits for them tried again: it is due at once with
    /// its attempts counted from zero, and its request, if it had failed, is open again. The
    /// reason (may be empty) is kept with the task, so it must not hold personal data.
    fn task_retry(&self, id: RequestTaskId, reason: &str) -> Result<TaskView, ServiceError>;
}
