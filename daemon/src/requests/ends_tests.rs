//! How a request ends and comes back: when it completed (its last task's finish, never
//! before it was received), a person's retry of a task that failed or waits for them, and a
//! failed request's cancel, which forgets who it was about.

use gallra_plugin_api::{Identifier, IdentifierKind};
use jiff::Timestamp;

use super::settle::settle;
use crate::requests::{
    NewRequestTask, RequestAction, RequestId, RequestKind, RequestRecord, RequestState,
    RequestTaskId, TaskUpdate,
};
use crate::store::{Cancel, RequestStore, SqliteStore, TaskState};

const RECEIVED: &str = "2025-03-01T10:00:00Z";

fn time(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// An erasure received at [`RECEIVED`] with `tasks` tasks, all pending.
fn request(store: &SqliteStore, tasks: u32) -> (RequestId, Vec<RequestTaskId>) {
    let email = Identifier::parse(IdentifierKind::Email, "anna@example.se").unwrap();
    let new: Vec<_> = (0..tasks)
        .map(|i| NewRequestTask {
            system: format!("system{i}"),
            action: RequestAction::Erase,
            order: i,
        })
        .collect();
    let received = time(RECEIVED);
    let due = time("2025-03-08T10:00:00Z");
    let id = store
        .create_request(RequestKind::Erase, &[email], received, due, None, &new)
        .unwrap();
    let ids = store
        .request_tasks(id)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    (id, ids)
}

fn to(store: &SqliteStore, task: RequestTaskId, state: TaskState, at: &str) {
    let update = TaskUpdate {
        task,
        state,
        attempted: true,
        not_before: None,
        retained_until: None,
        legal_basis: None,
        detail: Some(format!("{state}")),
        kept: None,
        resume: None,
    };
    store.update_request_tasks(&[update], time(at)).unwrap();
}

fn settled(store: &SqliteStore, id: RequestId, now: &str) -> RequestRecord {
    let record = store.request(id).unwrap().unwrap();
    settle(store, &record, time(now)).unwrap();
    store.request(id).unwrap().unwrap()
}

#[test]
fn a_request_is_completed_when_its_last_task_finished_not_when_the_pass_began() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let (id, tasks) = request(&store, 3);
    to(&store, tasks[0], TaskState::Done, "2025-03-01T10:00:03Z");
    to(&store, tasks[2], TaskState::Failed, "2025-03-01T10:00:05Z");
    to(&store, tasks[1], TaskState::Done, "2025-03-01T10:00:04Z");
    let finished: Vec<_> = store
        .request_tasks(id)
        .unwrap()
        .iter()
        .map(|t| t.finished_at)
        .collect();
    assert_eq!(
        finished,
        [
            Some(time("2025-03-01T10:00:03Z")),
            Some(time("2025-03-01T10:00:04Z")),
            Some(time("2025-03-01T10:00:05Z"))
        ]
    );
    // The pass that carried the tasks out began at 10:00:01.
    let failed = settled(&store, id, "2025-03-01T10:00:01Z");
    assert_eq!(failed.state, RequestState::Failed);
    assert_eq!(failed.completed_at, Some(time("2025-03-01T10:00:05Z")));

    // Tried again, the task is no longer finished, nor the request.
    assert!(store
        .retry_request_task(tasks[2], "tried again", time("2025-03-02T09:00:00Z"))
        .unwrap());
    let task = store.request_task(tasks[2]).unwrap().unwrap();
    assert_eq!((task.finished_at, task.attempts), (None, 0));
    let open = settled(&store, id, "2025-03-02T09:00:00Z");
    assert_eq!((open.state, open.completed_at), (RequestState::Open, None));
    assert_eq!(open.detail, None, "the failure's detail went with it");
    to(&store, tasks[2], TaskState::Done, "2025-03-02T09:00:07Z");
    let done = settled(&store, id, "2025-03-02T09:00:00Z");
    assert_eq!(done.state, RequestState::Done);
    assert_eq!(done.completed_at, Some(time("2025-03-02T09:00:07Z")));
}

#[test]
fn a_request_is_never_completed_before_it_was_received_even_if_the_clock_went_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let (id, tasks) = request(&store, 1);
    to(&store, tasks[0], TaskState::Done, "2025-03-01T09:59:58Z");
    let done = settled(&store, id, "2025-03-01T09:59:57Z");
    assert_eq!(done.state, RequestState::Done);
    assert_eq!(done.completed_at, Some(time(RECEIVED)));
}

#[test]
fn a_failed_request_keeps_its_identifiers_until_it_is_cancelled_which_forgets_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let (id, tasks) = request(&store, 2);
    to(&store, tasks[0], TaskState::NeedsPerson, RECEIVED);
    to(&store, tasks[1], TaskState::Failed, RECEIVED);
    let waiting = settled(&store, id, RECEIVED);
    assert_eq!(waiting.state, RequestState::Open);
    assert_eq!(waiting.identifiers.len(), 1, "a person may still need them");
    to(&store, tasks[0], TaskState::Failed, "2025-03-01T10:30:00Z");
    let failed = settled(&store, id, RECEIVED);
    assert_eq!(failed.state, RequestState::Failed);
    assert_eq!(failed.identifiers.len(), 1, "a retry needs them");

    let cancelled_at = time("2025-03-02T08:00:00Z");
    let cancel = store
        .cancel_request(id, "cancelled: filed again", cancelled_at)
        .unwrap();
    assert_eq!(cancel, Cancel::Cancelled);
    let cancelled = store.request(id).unwrap().unwrap();
    assert_eq!(cancelled.state, RequestState::Cancelled);
    assert!(cancelled.identifiers.is_empty(), "forgotten");
    assert_eq!(cancelled.completed_at, Some(cancelled_at), "it ended now");
    assert_eq!(
        store.cancel_request(id, "again", cancelled_at).unwrap(),
        Cancel::NotOpen(RequestState::Cancelled)
    );
}
