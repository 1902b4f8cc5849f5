//! A request's state from its tasks' states, and the timing rules of tasks.

use jiff::Timestamp;

use super::model::{RequestId, RequestRecord, RequestState, RequestTask};
use crate::store::{RequestStore, StoreError, TaskState};

pub use gallra_core::policy::retry::{MAX_ATTEMPTS, MAX_BACKOFF};

/// Whether a task should run at `now` (see the store's `due_requests`).
pub fn is_due(task: &RequestTask, now: Timestamp) -> bool {
    match task.state {
        TaskState::Pending | TaskState::Running => task.not_before.is_none_or(|t| t <= now),
        TaskState::Retained => task.not_before.is_some_and(|t| t <= now),
        _ => false,
    }
}

/// Whether a task still waits for a connector call or a person.
pub fn is_open(task: &RequestTask) -> bool {
    matches!(
        task.state,
        TaskState::Pending | TaskState::Running | TaskState::NeedsPerson | TaskState::Blocked
    )
}

/// Whether a task is a legal hold (or a re-check) that gallra will act on later by the
/// request's identifiers. A hold whose anonymization named what it kept is acted on by
/// those references instead, so it keeps no identifier alive.
pub fn is_held(task: &RequestTask) -> bool {
    task.state == TaskState::Retained && task.not_before.is_some() && task.kept.is_none()
}

/// The state a request's tasks put it in: open while any task waits, failed if any failed,
/// done otherwise (legal holds included: the receipt says until when).
pub fn state_from_tasks(tasks: &[RequestTask]) -> (RequestState, Option<String>) {
    if tasks.iter().any(is_open) {
        return (RequestState::Open, None);
    }
    let failed = tasks
        .iter()
        .filter(|t| t.state == TaskState::Failed)
        .count();
    if failed > 0 {
        (
            RequestState::Failed,
            Some(format!("{failed} of {} tasks failed", tasks.len())),
        )
    } else {
        (RequestState::Done, None)
    }
}

/// When a request whose tasks are all final ended: when its last task finished, and never
/// before it was received. A task can carry an earlier time than the request's receipt if the
/// clock was moved back (NTP, a VM restored, `GALLRA_NOW` in two processes) between the
/// request's intake and its last step; a receipt saying it was completed before it was
/// received would be false either way, so the later of the two is kept. `now` stands in for
/// a task without a finish time (none should be left once the tasks are final).
pub fn completed_at(record: &RequestRecord, tasks: &[RequestTask], now: Timestamp) -> Timestamp {
    let last = tasks
        .iter()
        .map(|t| t.finished_at.unwrap_or(now))
        .max()
        .unwrap_or(now);
    last.max(record.received_at)
}

/// Brings a request's state in line with its tasks, and forgets who it was about once
/// nothing more will be done with the identifiers. Cancelled and blocked requests are left
/// as they are (a blocked one is settled by the engine when its precondition clears). A
/// failed request keeps its identifiers: a person tries its tasks again
/// (`gallra task retry`) or cancels it, which forgets them.
pub fn settle(
    store: &dyn RequestStore,
    record: &RequestRecord,
    now: Timestamp,
) -> Result<RequestState, StoreError> {
    if matches!(
        record.state,
        RequestState::Cancelled | RequestState::Blocked
    ) {
        return Ok(record.state);
    }
    let tasks = store.request_tasks(record.id)?;
    let (state, detail) = state_from_tasks(&tasks);
    if state != record.state || (detail.is_some() && detail != record.detail) {
        // A failed request tried again is open without its failure's detail.
        let kept = match (record.state, state) {
            (RequestState::Failed, RequestState::Open) => None,
            _ => record.detail.as_deref(),
        };
        store.set_request_state(
            record.id,
            state,
            detail.as_deref().or(kept),
            completed_at(record, &tasks, now),
        )?;
    }
    if state == RequestState::Done && !tasks.iter().any(is_held) && !record.identifiers.is_empty() {
        store.forget_request_identifiers(record.id)?;
    }
    Ok(state)
}

/// Re-reads and settles a request by id.
pub fn settle_id(
    store: &dyn RequestStore,
    id: RequestId,
    now: Timestamp,
) -> Result<(), StoreError> {
    if let Some(record) = store.request(id)? {
        settle(store, &record, now)?;
    }
    Ok(())
}
