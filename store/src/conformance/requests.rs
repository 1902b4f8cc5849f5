//! Data subjects' requests ([`RequestStore`](crate::RequestStore)): created whole, due by
//! their tasks' times, updated atomically, ended and cancelled for good.

use gallra_plugin_api::{Identifier, IdentifierKind};
use jiff::Timestamp;

use super::Backend;
use crate::{
    Cancel, NewRequestTask, RequestAction, RequestId, RequestKind, RequestRecord, RequestState,
    RequestTaskId, StoreError, TaskState, TaskUpdate,
};

/// When the cases' requests were received.
pub const RECEIVED: &str = "2025-03-01T10:00:00Z";
/// The cases' present.
pub const NOW: &str = "2025-03-10T12:00:00Z";
/// An hour before [`NOW`].
pub const PAST: &str = "2025-03-10T11:00:00Z";
/// An hour after [`NOW`].
pub const FUTURE: &str = "2025-03-10T13:00:00Z";

/// An instant from its RFC 3339 text.
pub fn time(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A subject's identifiers; the email and personnummer are what must never leak.
pub fn anna() -> Vec<Identifier> {
    vec![
        Identifier::parse(IdentifierKind::Email, "Anna.Svensson@Example.SE").unwrap(),
        Identifier::parse(IdentifierKind::Personnummer, "811218-9876").unwrap(),
    ]
}

/// A task to create in `system`.
pub fn task(system: &str, action: RequestAction, order: u32) -> NewRequestTask {
    NewRequestTask {
        system: system.to_owned(),
        action,
        order,
    }
}

/// A change of `task` to `state`, not attempted, with its `not_before`.
pub fn update(task: RequestTaskId, state: TaskState, not_before: Option<&str>) -> TaskUpdate {
    TaskUpdate {
        task,
        state,
        attempted: false,
        not_before: not_before.map(time),
        retained_until: None,
        legal_basis: None,
        detail: None,
        kept: None,
    }
}

/// An erasure due at `due` with one task per entry of `tasks`, each then put in its state
/// with its `not_before`.
pub fn request_with(
    store: &dyn Backend,
    due: &str,
    tasks: &[(TaskState, Option<&str>)],
) -> (RequestId, Vec<RequestTaskId>) {
    let new: Vec<_> = (0..tasks.len())
        .map(|i| task(&format!("system{i}"), RequestAction::Erase, i as u32))
        .collect();
    let id = store
        .create_request(
            RequestKind::Erase,
            &anna(),
            time(RECEIVED),
            time(due),
            None,
            &new,
        )
        .unwrap();
    let ids: Vec<_> = store
        .request_tasks(id)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    let updates: Vec<_> = ids
        .iter()
        .zip(tasks)
        .map(|(&id, &(state, not_before))| update(id, state, not_before))
        .collect();
    store
        .update_request_tasks(&updates, time(RECEIVED))
        .unwrap();
    (id, ids)
}

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

/// Requests are listed by due date, then id; `open_only` keeps the open and blocked ones.
pub fn list_requests_orders_by_due_date_and_open_only_keeps_open_and_blocked(store: &dyn Backend) {
    let (c, _) = request_with(store, "2025-03-30T00:00:00Z", &[]);
    let (a, _) = request_with(store, "2025-03-10T00:00:00Z", &[]);
    let (b1, _) = request_with(store, "2025-03-20T00:00:00Z", &[]);
    let (b2, _) = request_with(store, "2025-03-20T00:00:00Z", &[]);
    let (d, _) = request_with(store, "2025-03-05T00:00:00Z", &[]);
    let ids = |open_only, limit| -> Vec<RequestId> {
        store
            .list_requests(open_only, limit)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect()
    };
    assert_eq!(ids(false, 10), [d, a, b1, b2, c], "by due date, then id");
    assert_eq!(ids(false, 2), [d, a]);

    store
        .set_request_state(d, RequestState::Done, None, time(NOW))
        .unwrap();
    store
        .set_request_state(a, RequestState::Blocked, Some("active_services"), time(NOW))
        .unwrap();
    store
        .set_request_state(b1, RequestState::Failed, Some("crm failed"), time(NOW))
        .unwrap();
    store
        .set_request_state(b2, RequestState::Cancelled, Some("withdrawn"), time(NOW))
        .unwrap();
    assert_eq!(ids(true, 10), [a, c]);
    assert_eq!(ids(false, 10), [d, a, b1, b2, c]);
}

/// A batch of task updates is all or nothing (an unknown task refuses it), counts only
/// attempted calls, always sets `not_before`, and keeps what a `None` leaves alone.
pub fn update_request_tasks_is_one_transaction_and_counts_only_attempted_calls(
    store: &dyn Backend,
) {
    let (_, tasks) = request_with(
        store,
        NOW,
        &[(TaskState::Pending, None), (TaskState::Pending, None)],
    );
    let (first, second) = (tasks[0], tasks[1]);
    let retried = TaskUpdate {
        attempted: true,
        detail: Some("connection refused".to_owned()),
        ..update(first, TaskState::Pending, Some(FUTURE))
    };
    let held = TaskUpdate {
        attempted: true,
        retained_until: Some(time("2032-12-31T00:00:00Z")),
        legal_basis: Some("Bokföringslagen 7 kap. 2 §".to_owned()),
        detail: Some("anonymized".to_owned()),
        ..update(second, TaskState::Retained, Some("2032-12-31T00:00:00Z"))
    };

    // An unknown task refuses the whole batch.
    let unknown = update(RequestTaskId(999), TaskState::Done, None);
    let err = store
        .update_request_tasks(&[retried.clone(), held.clone(), unknown], time(NOW))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NoSuchRequestTask { task, .. } if task == RequestTaskId(999))
    );
    for id in [first, second] {
        let t = store.request_task(id).unwrap().unwrap();
        assert_eq!(
            (t.state, t.attempts, t.detail),
            (TaskState::Pending, 0, None)
        );
    }

    store
        .update_request_tasks(&[retried, held], time(NOW))
        .unwrap();
    let t = store.request_task(first).unwrap().unwrap();
    assert_eq!(t.attempts, 1);
    assert_eq!(t.not_before, Some(time(FUTURE)));
    assert_eq!(t.detail.as_deref(), Some("connection refused"));
    assert_eq!(t.updated_at, time(NOW));
    let t = store.request_task(second).unwrap().unwrap();
    assert_eq!(t.state, TaskState::Retained);
    assert_eq!(t.retained_until, Some(time("2032-12-31T00:00:00Z")));

    // Not attempted: attempts stay; None keeps retained_until, legal_basis and detail, but
    // clears not_before.
    store
        .update_request_tasks(
            &[
                update(first, TaskState::Running, None),
                update(second, TaskState::Done, None),
            ],
            time(FUTURE),
        )
        .unwrap();
    let t = store.request_task(first).unwrap().unwrap();
    assert_eq!(
        (t.state, t.attempts, t.not_before),
        (TaskState::Running, 1, None)
    );
    assert_eq!(t.detail.as_deref(), Some("connection refused"));
    let t = store.request_task(second).unwrap().unwrap();
    assert_eq!(
        (t.state, t.attempts, t.not_before),
        (TaskState::Done, 1, None)
    );
    assert_eq!(t.retained_until, Some(time("2032-12-31T00:00:00Z")));
    assert_eq!(t.legal_basis.as_deref(), Some("Bokföringslagen 7 kap. 2 §"));
    assert_eq!(t.detail.as_deref(), Some("anonymized"));
    assert_eq!(t.updated_at, time(FUTURE));
}

/// A final request state sets `completed_at` once (the first end stands); reopening clears it;
/// an unknown request is refused.
pub fn a_final_request_state_sets_completed_at_once_and_reopening_clears_it(store: &dyn Backend) {
    let (id, _) = request_with(store, NOW, &[]);
    store
        .set_request_state(
            id,
            RequestState::Blocked,
            Some("unpaid_invoices"),
            time(PAST),
        )
        .unwrap();
    let r = store.request(id).unwrap().unwrap();
    assert_eq!((r.state, r.completed_at), (RequestState::Blocked, None));
    assert_eq!(r.detail.as_deref(), Some("unpaid_invoices"));

    store
        .set_request_state(id, RequestState::Done, None, time(NOW))
        .unwrap();
    // The engine marks it done again when a legal hold ends; it was completed the first time.
    store
        .set_request_state(id, RequestState::Done, None, time(FUTURE))
        .unwrap();
    let r = store.request(id).unwrap().unwrap();
    assert_eq!(r.completed_at, Some(time(NOW)));
    assert_eq!(r.detail, None);

    store
        .set_request_state(id, RequestState::Open, None, time(FUTURE))
        .unwrap();
    assert_eq!(store.request(id).unwrap().unwrap().completed_at, None);

    let err = store
        .set_request_state(RequestId(999), RequestState::Done, None, time(NOW))
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRequest { request, .. } if request == RequestId(999)));
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

/// Every request kind, state and task action reads back as written.
pub fn every_request_kind_state_and_action_reads_back(store: &dyn Backend) {
    let tasks: Vec<_> = RequestAction::ALL
        .iter()
        .map(|&a| task("crm", a, 1))
        .collect();
    for &kind in RequestKind::ALL {
        let id = store
            .create_request(kind, &[], time(RECEIVED), time(NOW), None, &tasks)
            .unwrap();
        let actions: Vec<_> = store
            .request_tasks(id)
            .unwrap()
            .iter()
            .map(|t| t.action)
            .collect();
        assert_eq!(actions, RequestAction::ALL);
        for &state in RequestState::ALL {
            store.set_request_state(id, state, None, time(NOW)).unwrap();
            let r = store.request(id).unwrap().unwrap();
            assert_eq!((r.kind, r.state), (kind, state));
        }
    }
}

/// A request is created open with its tasks, all pending, which come back by order, then id.
pub fn a_request_and_its_tasks_are_created_together(store: &dyn Backend) {
    let tasks = [
        task("panel", RequestAction::Erase, 9),
        task("crm", RequestAction::Erase, 1),
        task("binders", RequestAction::Manual, 1),
    ];
    let id = store
        .create_request(
            RequestKind::Erase,
            &anna(),
            time(RECEIVED),
            time("2025-03-31T10:00:00Z"),
            Some("complex request, Art. 12(3)"),
            &tasks,
        )
        .unwrap();
    let request = store.request(id).unwrap().unwrap();
    assert_eq!(
        request,
        RequestRecord {
            id,
            kind: RequestKind::Erase,
            state: RequestState::Open,
            received_at: time(RECEIVED),
            due_at: time("2025-03-31T10:00:00Z"),
            completed_at: None,
            identifiers: anna(),
            detail: None,
            extension: Some("complex request, Art. 12(3)".to_owned()),
            origin: None,
        }
    );
    let stored = store.request_tasks(id).unwrap();
    let systems: Vec<_> = stored.iter().map(|t| t.system.as_str()).collect();
    assert_eq!(systems, ["crm", "binders", "panel"], "by order, then id");
    for t in &stored {
        assert_eq!(t.request, id);
        assert_eq!(t.state, TaskState::Pending);
        assert_eq!(t.attempts, 0);
        assert_eq!(t.not_before, None);
        assert_eq!(t.updated_at, time(RECEIVED));
        assert_eq!(store.request_task(t.id).unwrap().as_ref(), Some(t));
    }
    assert_eq!(stored[1].action, RequestAction::Manual);
    assert_eq!(store.request(RequestId(id.0 + 1)).unwrap(), None);
    assert!(store.request_tasks(RequestId(id.0 + 1)).unwrap().is_empty());
    assert_eq!(store.request_task(RequestTaskId(999)).unwrap(), None);
}

/// A request's identifiers are not forgotten while a task needs them (pending, running, with a
/// person, or under a hold that has not ended), and are empty once forgotten.
pub fn forget_refuses_while_a_task_needs_the_identifiers_and_empties_them_otherwise(
    store: &dyn Backend,
) {
    let (id, tasks) = request_with(
        store,
        NOW,
        &[
            (TaskState::Retained, Some("2032-12-31T00:00:00Z")),
            (TaskState::Retained, None),
            (TaskState::Done, None),
            (TaskState::Failed, None),
        ],
    );
    let err = store.forget_request_identifiers(id).unwrap_err();
    assert!(
        matches!(err, StoreError::RequestTasksOpen { request, open: 1 } if request == id),
        "{err:?}"
    );
    assert!(!err.to_string().to_lowercase().contains("anna"), "{err}");
    assert_eq!(store.request(id).unwrap().unwrap().identifiers, anna());

    for state in [
        TaskState::Pending,
        TaskState::Running,
        TaskState::NeedsPerson,
    ] {
        store
            .update_request_tasks(&[update(tasks[0], state, None)], time(NOW))
            .unwrap();
        let err = store.forget_request_identifiers(id).unwrap_err();
        assert!(
            matches!(err, StoreError::RequestTasksOpen { open: 1, .. }),
            "{state}"
        );
    }

    // The hold ended and the rest was erased.
    store
        .update_request_tasks(&[update(tasks[0], TaskState::Done, None)], time(NOW))
        .unwrap();
    store.forget_request_identifiers(id).unwrap();
    assert!(store.request(id).unwrap().unwrap().identifiers.is_empty());
    let err = store
        .forget_request_identifiers(RequestId(999))
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRequest { .. }), "{err:?}");
}

/// Only a failed task or one waiting for a person is put back to pending, due at once with
/// its attempts from zero; never a task of a cancelled request, and an unknown task is refused.
pub fn only_a_failed_task_or_one_waiting_for_a_person_is_tried_again(store: &dyn Backend) {
    use TaskState::*;
    let (id, tasks) = request_with(
        store,
        NOW,
        &[
            (NeedsPerson, None),
            (Failed, None),
            (Done, None),
            (Pending, Some(FUTURE)),
        ],
    );
    let attempted = TaskUpdate {
        attempted: true,
        ..update(tasks[1], Failed, None)
    };
    store
        .update_request_tasks(&[attempted], time(PAST))
        .unwrap();
    assert!(store
        .retry_request_task(tasks[0], "again", time(NOW))
        .unwrap());
    assert!(store
        .retry_request_task(tasks[1], "again", time(NOW))
        .unwrap());
    assert!(!store
        .retry_request_task(tasks[2], "again", time(NOW))
        .unwrap());
    assert!(!store
        .retry_request_task(tasks[3], "again", time(NOW))
        .unwrap());
    assert_eq!(
        store.due_requests(time(NOW), 10).unwrap(),
        [id],
        "due at once"
    );
    let states: Vec<_> = store
        .request_tasks(id)
        .unwrap()
        .into_iter()
        .map(|t| (t.state, t.attempts, t.not_before, t.finished_at, t.detail))
        .collect();
    assert_eq!(states[1], (Pending, 0, None, None, Some("again".into())));
    assert_eq!(states[2].0, Done);
    assert_eq!(states[3].2, Some(time(FUTURE)), "left as it was");

    store
        .update_request_tasks(&[update(tasks[0], Failed, None)], time(NOW))
        .unwrap();
    store
        .cancel_request(id, "cancelled: withdrawn", time(NOW))
        .unwrap();
    let err = store
        .retry_request_task(tasks[0], "again", time(NOW))
        .unwrap_err();
    assert!(matches!(err, StoreError::RequestCancelled { request } if request == id));
    let err = store
        .retry_request_task(RequestTaskId(999_999), "again", time(NOW))
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRequestTask { .. }), "{err}");
}

/// A cancel fails the waiting tasks (saying so of a running one), calls a hold's erasure off,
/// forgets the identifiers, and is final: nothing is recorded over it, cancelling again
/// changes nothing, and it is handed to the audit log until recorded there once.
pub fn a_cancel_is_final_forgets_the_subject_and_is_audited_once(store: &dyn Backend) {
    use TaskState::*;
    let hold_end = "2032-12-31T00:00:00Z";
    let (id, tasks) = request_with(
        store,
        NOW,
        &[
            (Pending, None),
            (Running, None),
            (Retained, Some(hold_end)),
            (Done, None),
        ],
    );
    let (done, _) = request_with(store, NOW, &[(Done, None)]);
    store
        .set_request_state(done, RequestState::Done, None, time(PAST))
        .unwrap();

    let cancelled_at = time(NOW);
    assert_eq!(
        store
            .cancel_request(id, "cancelled: withdrawn", cancelled_at)
            .unwrap(),
        Cancel::Cancelled
    );
    let request = store.request(id).unwrap().unwrap();
    assert_eq!(request.state, RequestState::Cancelled);
    assert_eq!(request.detail.as_deref(), Some("cancelled: withdrawn"));
    assert_eq!(request.completed_at, Some(cancelled_at));
    assert!(request.identifiers.is_empty(), "forgotten");
    let after = store.request_tasks(id).unwrap();
    assert_eq!(
        (after[0].state, after[0].detail.as_deref()),
        (Failed, Some("cancelled"))
    );
    assert_eq!(after[1].state, Failed);
    assert_ne!(
        after[1].detail.as_deref(),
        Some("cancelled"),
        "its step was under way"
    );
    assert_eq!(
        (after[2].state, after[2].not_before),
        (Retained, None),
        "the hold's erasure is off"
    );
    assert_eq!(after[3].state, Done);
    assert!(store.due_requests(time(hold_end), 10).unwrap().is_empty());
    assert_eq!(store.next_wakeup().unwrap(), None);

    // Final: nothing more is recorded for it.
    assert_eq!(
        store.cancel_request(id, "again", time(FUTURE)).unwrap(),
        Cancel::NotOpen(RequestState::Cancelled)
    );
    let err = store
        .update_request_tasks(&[update(tasks[0], Done, None)], time(FUTURE))
        .unwrap_err();
    assert!(matches!(err, StoreError::RequestCancelled { request } if request == id));
    let err = store
        .set_request_state(id, RequestState::Open, None, time(FUTURE))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::RequestCancelled { .. }),
        "{err:?}"
    );
    assert_eq!(
        store.cancel_request(done, "late", time(FUTURE)).unwrap(),
        Cancel::NotOpen(RequestState::Done)
    );
    let err = store
        .cancel_request(RequestId(999_999), "x", time(NOW))
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRequest { .. }), "{err:?}");

    let to_audit: Vec<RequestId> = store
        .cancels_to_audit()
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(to_audit, [id]);
    store.cancel_audited(id).unwrap();
    assert!(store.cancels_to_audit().unwrap().is_empty());
}

/// A notify task's notice records its first sending, counts every later one as a reminder,
/// and keeps the first escalation.
pub fn a_notice_counts_its_reminders_and_records_its_escalation(store: &dyn Backend) {
    let (_, tasks) = request_with(store, NOW, &[(TaskState::NeedsPerson, None)]);
    let task = tasks[0];
    assert_eq!(store.notice(task).unwrap(), None);
    let first = store.notice_sent(task, time(PAST)).unwrap();
    assert_eq!(
        (first.first_sent_at, first.last_sent_at),
        (time(PAST), time(PAST))
    );
    assert_eq!((first.reminders, first.escalated_at), (0, None));
    let reminded = store.notice_sent(task, time(NOW)).unwrap();
    assert_eq!(
        (reminded.first_sent_at, reminded.last_sent_at),
        (time(PAST), time(NOW))
    );
    assert_eq!(reminded.reminders, 1);
    store.notice_escalated(task, time(NOW)).unwrap();
    store.notice_escalated(task, time(FUTURE)).unwrap();
    let notice = store.notice(task).unwrap().unwrap();
    assert_eq!(
        notice.escalated_at,
        Some(time(NOW)),
        "the first escalation stands"
    );
    assert_eq!(notice.reminders, 1);
}
