use std::path::Path;
use std::sync::atomic::Ordering;

use super::*;
use crate::conformance::requests::{anna, request_with, task, time, update, NOW, RECEIVED};
use crate::sqlite::tests::{assert_no_copy_in_files, crash};

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir).unwrap()
}

fn count(store: &SqliteStore, sql: &str) -> i64 {
    store.lock().query_row(sql, [], |r| r.get(0)).unwrap()
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
fn request_store_can_be_shared_between_threads() {
    let _: Box<dyn RequestStore> = Box::new(open(tempfile::tempdir().unwrap().path()));
}

#[test]
fn request_queries_are_read_from_their_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let conn = store.lock();
    let list_all = format!("{REQUEST_COLUMNS} {LIST_ALL}");
    let list_open = format!("{REQUEST_COLUMNS} {LIST_OPEN}");
    let tasks_of = format!("{REQUEST_TASK_COLUMNS} {TASKS_OF}");
    let needs_person = format!("{REQUEST_TASK_COLUMNS} {NEEDS_PERSON}");
    // (query, index it uses, whether it may sort the few rows it found)
    for (sql, index, sorts) in [
        (list_all.as_str(), "requests_by_due", false),
        (list_open.as_str(), "requests_open_by_due", false),
        (tasks_of.as_str(), "request_tasks_by_request", false),
        (DUE_REQUESTS, "request_tasks_by_state", true),
        (NEXT_WAKEUP, "request_tasks_by_state", false),
        (needs_person.as_str(), "request_tasks_by_state", true),
        (NEEDING_IDENTIFIERS, "request_tasks_by_request", false),
    ] {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = stmt
            .query_map(
                params!["2025-03-10T12:00:00.000000000Z", 10, "node", 0]
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

#[test]
fn a_request_survives_a_crash_and_its_forgotten_identifiers_leave_no_copy_in_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (id, tasks) = request_with(
        &store,
        NOW,
        &[(TaskState::Pending, None), (TaskState::Pending, None)],
    );
    let before = store.commits.load(Ordering::Relaxed);
    let done: Vec<_> = tasks
        .iter()
        .map(|&t| update(t, TaskState::Done, None))
        .collect();
    store.update_request_tasks(&done, time(NOW)).unwrap();
    assert_eq!(
        store.commits.load(Ordering::Relaxed),
        before + 1,
        "one transaction"
    );
    crash(store);

    let store = open(dir.path());
    let states: Vec<_> = store
        .request_tasks(id)
        .unwrap()
        .iter()
        .map(|t| t.state)
        .collect();
    assert_eq!(states, [TaskState::Done, TaskState::Done]);
    store.forget_request_identifiers(id).unwrap();
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM requests WHERE identifiers_json IS NOT NULL"
        ),
        0
    );
    crash(store);

    // Nor is any copy left in the files, even without an orderly close.
    assert_no_copy_in_files(dir.path());
}
