//! When requests are due ([`RequestStore::due_requests`](crate::RequestStore::due_requests),
//! [`next_wakeup`](crate::RequestStore::next_wakeup)) and which tasks wait for a person.

use super::requests::{request_with, time, FUTURE, NOW, PAST};
use super::Backend;
use crate::{RequestState, TaskState};

/// Due are the requests, not cancelled, with a pending or running task whose time has come or
/// a retained one whose hold ended; each once, by due date, up to the limit.
pub fn due_requests_returns_exactly_the_requests_with_a_due_task(store: &dyn Backend) {
    use TaskState::*;
    // Due ones, created in an order different from their due dates.
    let (pending_with_past_time, _) =
        request_with(store, "2025-03-20T00:00:00Z", &[(Pending, Some(PAST))]);
    let (pending, _) = request_with(store, "2025-03-15T00:00:00Z", &[(Pending, None)]);
    let (interrupted, _) = request_with(store, "2025-03-25T00:00:00Z", &[(Running, None)]);
    let (hold_ended, _) = request_with(
        store,
        "2025-03-12T00:00:00Z",
        &[(Done, None), (Retained, Some(PAST))],
    );
    // A done request whose legal hold ended is still carried out.
    let (done_hold_ended, _) =
        request_with(store, "2025-03-30T00:00:00Z", &[(Retained, Some(NOW))]);
    store
        .set_request_state(done_hold_ended, RequestState::Done, None, time(NOW))
        .unwrap();
    // Not due.
    request_with(store, "2025-03-01T00:00:00Z", &[(Pending, Some(FUTURE))]);
    request_with(store, "2025-03-02T00:00:00Z", &[(Running, Some(FUTURE))]);
    request_with(store, "2025-03-03T00:00:00Z", &[(Retained, Some(FUTURE))]);
    request_with(
        store,
        "2025-03-04T00:00:00Z",
        &[
            (Done, None),
            (Failed, Some(PAST)),
            (Blocked, Some(PAST)),
            (NeedsPerson, None),
            (Retained, None),
        ],
    );
    let (cancelled, _) = request_with(store, "2025-03-05T00:00:00Z", &[(Pending, None)]);
    store
        .set_request_state(cancelled, RequestState::Cancelled, None, time(NOW))
        .unwrap();

    let due = store.due_requests(time(NOW), 100).unwrap();
    assert_eq!(
        due,
        [
            hold_ended,
            pending,
            pending_with_past_time,
            interrupted,
            done_hold_ended
        ],
        "by due date"
    );
    assert_eq!(store.due_requests(time(NOW), 2).unwrap(), due[..2]);
    // A request with several due tasks is listed once.
    let (twice, _) = request_with(
        store,
        "2025-04-01T00:00:00Z",
        &[(Pending, None), (Running, None), (Retained, Some(PAST))],
    );
    let due = store.due_requests(time(NOW), 100).unwrap();
    assert_eq!(due.iter().filter(|&&r| r == twice).count(), 1);
    assert_eq!(due.len(), 6);
}

/// Instants with fractions of a second order and compare as instants, not as text.
pub fn instants_with_fractions_of_a_second_compare_and_order_chronologically(store: &dyn Backend) {
    // As text, "…:05.5Z" sorts before "…:05Z"; stored with a fixed width it must not.
    let (later, tasks) = request_with(
        store,
        "2025-03-31T00:00:05.5Z",
        &[(TaskState::Pending, Some("2025-03-10T12:00:00.5Z"))],
    );
    let (earlier, _) = request_with(store, "2025-03-31T00:00:05Z", &[]);
    let order: Vec<_> = store
        .list_requests(false, 10)
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(order, [earlier, later]);
    assert!(store.due_requests(time(NOW), 10).unwrap().is_empty());
    assert_eq!(
        store
            .due_requests(time("2025-03-10T12:00:00.5Z"), 10)
            .unwrap(),
        [later]
    );
    let stored = store.request_task(tasks[0]).unwrap().unwrap();
    assert_eq!(stored.not_before, Some(time("2025-03-10T12:00:00.5Z")));
    assert_eq!(
        store.request(later).unwrap().unwrap().due_at,
        time("2025-03-31T00:00:05.5Z")
    );
}

/// The next wake-up is the earliest time a waiting task becomes due, ignoring cancelled requests.
pub fn next_wakeup_is_the_earliest_time_a_task_becomes_due(store: &dyn Backend) {
    use TaskState::*;
    assert_eq!(store.next_wakeup().unwrap(), None, "empty store");
    request_with(
        store,
        NOW,
        &[
            (Pending, None),
            (Done, Some("2025-03-01T00:00:00Z")),
            (Failed, Some("2025-03-01T00:00:00Z")),
            (Retained, None),
        ],
    );
    assert_eq!(
        store.next_wakeup().unwrap(),
        None,
        "nothing waits on a time"
    );

    request_with(
        store,
        NOW,
        &[
            (Retained, Some("2032-12-31T00:00:00Z")),
            (Pending, Some(FUTURE)),
        ],
    );
    request_with(store, NOW, &[(Running, Some(NOW))]);
    // A cancelled request's tasks never become due, so they must not wake the daemon.
    let (cancelled, _) = request_with(store, NOW, &[(Pending, Some(PAST))]);
    store
        .set_request_state(cancelled, RequestState::Cancelled, None, time(NOW))
        .unwrap();
    assert_eq!(store.next_wakeup().unwrap(), Some(time(NOW)));

    request_with(store, NOW, &[(Retained, Some("2025-03-02T00:00:00Z"))]);
    assert_eq!(
        store.next_wakeup().unwrap(),
        Some(time("2025-03-02T00:00:00Z"))
    );
}

/// Tasks waiting for a person come by their request's due date, never from a cancelled request.
pub fn needs_person_tasks_lists_only_tasks_waiting_for_a_person_in_requests_not_cancelled(
    store: &dyn Backend,
) {
    use TaskState::*;
    let (_, late) = request_with(
        store,
        "2025-03-30T00:00:00Z",
        &[(NeedsPerson, None), (Pending, None), (Done, None)],
    );
    let (_, soon) = request_with(
        store,
        "2025-03-15T00:00:00Z",
        &[(Running, None), (NeedsPerson, None), (NeedsPerson, None)],
    );
    let (cancelled, _) = request_with(store, "2025-03-01T00:00:00Z", &[(NeedsPerson, None)]);
    store
        .set_request_state(cancelled, RequestState::Cancelled, None, time(NOW))
        .unwrap();
    let listed: Vec<_> = store
        .needs_person_tasks()
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, [soon[1], soon[2], late[0]]);
}
