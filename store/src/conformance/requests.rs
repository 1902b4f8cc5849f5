//! Data subjects' requests ([`RequestStore`](crate::RequestStore)): created whole, due by
//! their tasks' times, updated atomically, ended and cancelled for good.

use gallra_plugin_api::{Identifier, IdentifierKind};
use jiff::Timestamp;

use super::Backend;
use crate::{
    NewRequestTask, RequestAction, RequestId, RequestKind, RequestRecord, RequestState,
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
        resume: None,
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
