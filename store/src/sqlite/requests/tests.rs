use std::path::Path;
use std::sync::atomic::Ordering;

use gallra_plugin_api::IdentifierKind;

use super::*;

const RECEIVED: &str = "2025-03-01T10:00:00Z";
const NOW: &str = "2025-03-10T12:00:00Z";
const PAST: &str = "2025-03-10T11:00:00Z";
const FUTURE: &str = "2025-03-10T13:00:00Z";

fn time(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir).unwrap()
}

/// A subject's identifiers; the email and personnummer are what must never leak.
fn anna() -> Vec<Identifier> {
    vec![
        Identifier::parse(IdentifierKind::Email, "Anna.Svensson@Example.SE").unwrap(),
        Identifier::parse(IdentifierKind::Personnummer, "811218-9876").unwrap(),
    ]
}

fn task(system: &str, action: RequestAction, order: u32) -> NewRequestTask {
    NewRequestTask {
        system: system.to_owned(),
        action,
        order,
    }
}

fn update(task: RequestTaskId, state: TaskState, not_before: Option<&str>) -> TaskUpdate {
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
fn request_with(
    store: &SqliteStore,
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

fn crash(store: SqliteStore) {
    std::mem::forget(store);
}

fn count(store: &SqliteStore, sql: &str) -> i64 {
    store.lock().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_request_and_its_tasks_are_created_together_and_survive_a_crash_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
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
    crash(store);

    let store = open(dir.path());
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

#[test]
fn a_request_whose_task_cannot_be_written_is_not_created_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .lock()
        .execute_batch(
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON request_tasks
             WHEN NEW.system = 'broken' BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .unwrap();
    let tasks = [
        task("crm", RequestAction::Erase, 1),
        task("broken", RequestAction::Erase, 2),
    ];
    let err = store
        .create_request(
            RequestKind::Erase,
            &anna(),
            time(RECEIVED),
            time(NOW),
            None,
            &tasks,
        )
        .unwrap_err();
    assert!(err.to_string().contains("state.db"), "{err}");
    assert_eq!(count(&store, "SELECT count(*) FROM requests"), 0);
    assert_eq!(count(&store, "SELECT count(*) FROM request_tasks"), 0);
}

#[test]
fn due_requests_returns_exactly_the_requests_with_a_due_task() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    use TaskState::*;
    // Due ones, created in an order different from their due dates.
    let (pending_with_past_time, _) =
        request_with(&store, "2025-03-20T00:00:00Z", &[(Pending, Some(PAST))]);
    let (pending, _) = request_with(&store, "2025-03-15T00:00:00Z", &[(Pending, None)]);
    let (interrupted, _) = request_with(&store, "2025-03-25T00:00:00Z", &[(Running, None)]);
    let (hold_ended, _) = request_with(
        &store,
        "2025-03-12T00:00:00Z",
        &[(Done, None), (Retained, Some(PAST))],
    );
    // A done request whose legal hold ended is still carried out.
    let (done_hold_ended, _) =
        request_with(&store, "2025-03-30T00:00:00Z", &[(Retained, Some(NOW))]);
    store
        .set_request_state(done_hold_ended, RequestState::Done, None, time(NOW))
        .unwrap();
    // Not due.
    request_with(&store, "2025-03-01T00:00:00Z", &[(Pending, Some(FUTURE))]);
    request_with(&store, "2025-03-02T00:00:00Z", &[(Running, Some(FUTURE))]);
    request_with(&store, "2025-03-03T00:00:00Z", &[(Retained, Some(FUTURE))]);
    request_with(
        &store,
        "2025-03-04T00:00:00Z",
        &[
            (Done, None),
            (Failed, Some(PAST)),
            (Blocked, Some(PAST)),
            (NeedsPerson, None),
            (Retained, None),
        ],
    );
    let (cancelled, _) = request_with(&store, "2025-03-05T00:00:00Z", &[(Pending, None)]);
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
        &store,
        "2025-04-01T00:00:00Z",
        &[(Pending, None), (Running, None), (Retained, Some(PAST))],
    );
    let due = store.due_requests(time(NOW), 100).unwrap();
    assert_eq!(due.iter().filter(|&&r| r == twice).count(), 1);
    assert_eq!(due.len(), 6);
}

#[test]
fn instants_with_fractions_of_a_second_compare_and_order_chronologically() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // As text, "…:05.5Z" sorts before "…:05Z"; stored with a fixed width it must not.
    let (later, tasks) = request_with(
        &store,
        "2025-03-31T00:00:05.5Z",
        &[(TaskState::Pending, Some("2025-03-10T12:00:00.5Z"))],
    );
    let (earlier, _) = request_with(&store, "2025-03-31T00:00:05Z", &[]);
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

#[test]
fn list_requests_orders_by_due_date_and_open_only_keeps_open_and_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (c, _) = request_with(&store, "2025-03-30T00:00:00Z", &[]);
    let (a, _) = request_with(&store, "2025-03-10T00:00:00Z", &[]);
    let (b1, _) = request_with(&store, "2025-03-20T00:00:00Z", &[]);
    let (b2, _) = request_with(&store, "2025-03-20T00:00:00Z", &[]);
    let (d, _) = request_with(&store, "2025-03-05T00:00:00Z", &[]);
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

#[test]
fn update_request_tasks_is_one_transaction_and_counts_only_attempted_calls() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (_, tasks) = request_with(
        &store,
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
    let before = store.commits.load(Ordering::Relaxed);
    let unknown = update(RequestTaskId(999), TaskState::Done, None);
    let err = store
        .update_request_tasks(&[retried.clone(), held.clone(), unknown], time(NOW))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NoSuchRequestTask { task, .. } if task == RequestTaskId(999))
    );
    assert!(err.to_string().contains("state.db"), "{err}");
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
    assert_eq!(store.commits.load(Ordering::Relaxed), before + 1);
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

#[test]
fn a_final_request_state_sets_completed_at_once_and_reopening_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (id, _) = request_with(&store, NOW, &[]);
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
    assert!(err.to_string().contains("state.db"), "{err}");
}

#[test]
fn forget_refuses_while_a_task_needs_the_identifiers_and_empties_them_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (id, tasks) = request_with(
        &store,
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
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM requests WHERE identifiers_json IS NOT NULL"
        ),
        0
    );
    let err = store
        .forget_request_identifiers(RequestId(999))
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRequest { .. }), "{err:?}");
    crash(store);

    // Nor is any copy left in the files, even without an orderly close.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("anna.svensson"));
        assert!(!text.contains("198112189876"));
    }
}

#[test]
fn needs_person_tasks_lists_only_tasks_waiting_for_a_person_in_requests_not_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    use TaskState::*;
    let (_, late) = request_with(
        &store,
        "2025-03-30T00:00:00Z",
        &[(NeedsPerson, None), (Pending, None), (Done, None)],
    );
    let (_, soon) = request_with(
        &store,
        "2025-03-15T00:00:00Z",
        &[(Running, None), (NeedsPerson, None), (NeedsPerson, None)],
    );
    let (cancelled, _) = request_with(&store, "2025-03-01T00:00:00Z", &[(NeedsPerson, None)]);
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

#[test]
fn next_wakeup_is_the_earliest_time_a_task_becomes_due() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    use TaskState::*;
    assert_eq!(store.next_wakeup().unwrap(), None, "empty store");
    request_with(
        &store,
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
        &store,
        NOW,
        &[
            (Retained, Some("2032-12-31T00:00:00Z")),
            (Pending, Some(FUTURE)),
        ],
    );
    request_with(&store, NOW, &[(Running, Some(NOW))]);
    // A cancelled request's tasks never become due, so they must not wake the daemon.
    let (cancelled, _) = request_with(&store, NOW, &[(Pending, Some(PAST))]);
    store
        .set_request_state(cancelled, RequestState::Cancelled, None, time(NOW))
        .unwrap();
    assert_eq!(store.next_wakeup().unwrap(), Some(time(NOW)));

    request_with(&store, NOW, &[(Retained, Some("2025-03-02T00:00:00Z"))]);
    assert_eq!(
        store.next_wakeup().unwrap(),
        Some(time("2025-03-02T00:00:00Z"))
    );
}

#[test]
fn unreadable_request_identifiers_give_an_error_without_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (id, _) = request_with(&store, NOW, &[]);
    store
        .lock()
        .execute(
            r#"UPDATE requests SET identifiers_json = '[{"kind":"secret.person@example.se"}]'"#,
            [],
        )
        .unwrap();
    let err = store.request(id).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let chain = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(chain.contains("state.db"), "{chain}");
    assert!(!chain.contains("secret"), "{chain}");
}

#[test]
fn every_request_kind_state_and_action_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
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

#[test]
fn request_store_can_be_shared_between_threads() {
    let _: Box<dyn RequestStore> = Box::new(open(tempfile::tempdir().unwrap().path()));
}

#[test]
fn request_queries_are_read_from_their_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let conn = store.lock();
    let tasks_of = format!("{TASK_COLUMNS} {TASKS_OF}");
    let needs_person = format!("{TASK_COLUMNS} {NEEDS_PERSON}");
    // (query, index it uses, whether it may sort the few rows it found)
    for (sql, index, sorts) in [
        (LIST_ALL, "requests_by_due", false),
        (LIST_OPEN, "requests_open_by_due", false),
        (tasks_of.as_str(), "request_tasks_by_request", false),
        (DUE_REQUESTS, "request_tasks_by_state", true),
        (NEXT_WAKEUP, "request_tasks_by_state", false),
        (needs_person.as_str(), "request_tasks_by_state", true),
        (NEEDING_IDENTIFIERS, "request_tasks_by_request", false),
    ] {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = stmt
            .query_map(
                params!["2025-03-10T12:00:00.000000000Z", 10]
                    .get(..stmt.parameter_count())
                    .unwrap(),
                |r| r.get(3),
            )
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        // No table is read whole: a scan walks an index in order and stops at the limit.
        let whole_table = plan.iter().any(|step| {
            step.starts_with("SCAN ") && !step.contains(" USING ") && step != "SCAN due"
        });
        let plan = plan.join("; ");
        assert!(plan.contains(index), "{sql}: {plan}");
        assert!(!whole_table, "{sql}: {plan}");
        assert!(
            sorts || !plan.contains("TEMP B-TREE FOR ORDER BY"),
            "{sql}: {plan}"
        );
    }
}
