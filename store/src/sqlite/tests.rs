use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::Ordering;

use gallra_plugin_api::IdentifierKind;

use super::*;
use crate::conformance::runs::{at, finish, id, kept, run_with_tasks, selected, NOW, SLOT};
use crate::migrations::LATEST;

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir).unwrap()
}

/// What a crash leaves: no orderly close, no checkpoint of the WAL.
pub(super) fn crash(store: SqliteStore) {
    std::mem::forget(store);
}

/// Checks that no file in the state directory holds Anna's email or personnummer (as they
/// are stored, normalised).
pub(super) fn assert_no_copy_in_files(state_dir: &Path) {
    for entry in std::fs::read_dir(state_dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("anna.svensson"));
        assert!(!text.contains("198112189876"));
    }
}

fn commits(store: &SqliteStore) -> u64 {
    store.commits.load(Ordering::Relaxed)
}

fn raw(store: &SqliteStore) -> MutexGuard<'_, Connection> {
    store.lock()
}

#[test]
fn a_runs_slot_stays_taken_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = store
        .begin_run("inactive", "report", at(SLOT), at(NOW))
        .unwrap();
    crash(store);
    let store = open(dir.path());
    let again = store.begin_run("inactive", "report", at(SLOT), at(NOW));
    assert!(matches!(again, Err(StoreError::RunExists { run }) if run == first));
}

#[test]
fn tasks_survive_a_crash_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = run_with_tasks(&store);
    store
        .set_run_state(run, RunState::Enforcing, 3, 2, None, at(NOW))
        .unwrap();
    crash(store);

    let store = open(dir.path());
    let resumable = store.runs_in_state(&[RunState::Enforcing]).unwrap();
    assert_eq!(resumable.len(), 1);
    assert_eq!(resumable[0].id, run);
    assert_eq!((resumable[0].scanned, resumable[0].selected), (3, 2));
    let tasks = store.pending_tasks(run, 100).unwrap();
    assert_eq!(tasks.len(), 4);
    assert!(tasks.iter().all(|t| t.state == TaskState::Pending));
}

/// The contract (conformance `runs::identifiers_round_trip_…`) says forgotten identifiers
/// are gone; SQLite must also leave no copy of them in its files.
#[test]
fn forgotten_identifiers_leave_no_copy_in_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = store
        .begin_run("inactive", "enforce", at(SLOT), at(NOW))
        .unwrap();
    let decision = Decision {
        identifiers: vec![
            id(IdentifierKind::Email, "Anna.Svensson@Example.SE"),
            id(IdentifierKind::Personnummer, "811218-9876"),
        ],
        ..selected("1001")
    };
    store.record_decisions(run, &[decision]).unwrap();
    store
        .create_tasks_for_selected(run, &[("crm".to_owned(), Action::Erase, 1)])
        .unwrap();
    let task = store.pending_tasks(run, 10).unwrap()[0].id;
    finish(&store, task, TaskState::Done, None);
    store.forget_identifiers(run).unwrap();
    let stored: i64 = raw(&store)
        .query_row(
            "SELECT count(*) FROM decisions WHERE identifiers_json IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 0);
    crash(store);

    // Nor is any copy left in the files, even without an orderly close: secure_delete zeroed
    // the pages and the WAL was cut.
    assert_no_copy_in_files(dir.path());
}

#[test]
/// The daemon passes no identifiers for a kept subject; none is what is stored (not `[]`).
fn a_decision_given_no_identifiers_stores_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = store
        .begin_run("inactive", "report", at(SLOT), at(NOW))
        .unwrap();
    store.record_decisions(run, &[kept("1002")]).unwrap();
    let stored: Option<String> = raw(&store)
        .query_row("SELECT identifiers_json FROM decisions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, None);
}

#[test]
fn decisions_for_ten_thousand_subjects_are_recorded_in_one_transaction_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = store
        .begin_run("inactive", "enforce", at(SLOT), at(NOW))
        .unwrap();
    let all: Vec<Decision> = (0..10_000)
        .map(|i| {
            let key = format!("{i:05}");
            if i % 3 == 0 {
                selected(&key)
            } else {
                kept(&key)
            }
        })
        .collect();

    let before = commits(&store);
    for batch in all.chunks(1000) {
        store.record_decisions(run, batch).unwrap();
    }
    assert_eq!(commits(&store) - before, 10);

    let before = commits(&store);
    let systems = [
        ("crm".to_owned(), Action::Erase, 1),
        ("panel".to_owned(), Action::Erase, 2),
    ];
    assert_eq!(
        store.create_tasks_for_selected(run, &systems).unwrap(),
        6668
    );
    assert_eq!(commits(&store) - before, 1);
}

#[test]
fn unreadable_identifiers_give_an_error_without_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = run_with_tasks(&store);
    raw(&store)
        .execute(
            r#"UPDATE decisions SET identifiers_json = '[{"kind":"secret.person@example.se","value":"x"}]'"#,
            [],
        )
        .unwrap();
    let err = store.pending_tasks(run, 10).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }));
    let chain = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(chain.contains("state.db"));
    assert!(!chain.contains("secret"), "{chain}");
}

#[test]
fn state_is_private_durable_and_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("new/state");
    let store = open(&state_dir);
    let mode = |p: &Path| p.metadata().unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state_dir), 0o700);
    assert_eq!(mode(&state_dir.join("state.db")), 0o600);
    let conn = raw(&store);
    let pragma = |name: &str| -> String {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| format!("{v:?}"))
        .unwrap()
    };
    assert_eq!(pragma("journal_mode"), r#"Text("wal")"#);
    assert_eq!(pragma("synchronous"), "Integer(2)", "FULL");
    assert_eq!(pragma("foreign_keys"), "Integer(1)");
    assert_eq!(pragma("user_version"), format!("Integer({LATEST})"));
}

#[test]
fn store_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<SqliteStore>();
    let _: Box<dyn Store> = Box::new(open(tempfile::tempdir().unwrap().path()));
}

#[test]
fn open_tasks_and_selected_decisions_are_read_from_their_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let conn = raw(&store);
    for (sql, index) in [
        (PENDING_TASKS, "tasks_open"),
        (SELECTED_DECISIONS, "decisions_selected"),
        (SELECTED_DECISIONS_AFTER, "decisions_selected"),
    ] {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = stmt
            .query_map(
                params![1, 10, "k", 0]
                    .get(..stmt.parameter_count())
                    .unwrap(),
                |r| r.get(3),
            )
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let plan = plan.join("; ");
        assert!(plan.contains(index), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}

#[test]
fn a_database_from_a_newer_gallra_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let db = dir.path().join("state.db");
    Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", LATEST + 1)
        .unwrap();
    let err = SqliteStore::open(dir.path()).err().unwrap();
    assert!(
        matches!(err, StoreError::TooNew { found, known, .. } if found == LATEST + 1 && known == LATEST)
    );
    assert!(err.to_string().contains(&db.display().to_string()), "{err}");
}

#[test]
fn a_read_only_state_directory_gives_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).unwrap();
    std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    let writable = std::fs::write(state_dir.join("probe"), b"").is_ok();
    let result = SqliteStore::open(&state_dir);
    std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    if writable {
        eprintln!(
            "SKIPPED: running with CAP_DAC_OVERRIDE (root), a read-only directory is writable"
        );
        return;
    }
    let err = result.err().unwrap();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&state_dir.display().to_string()),
        "{message}"
    );
    assert!(message.contains("writable"), "{message}");
}

#[test]
fn a_state_directory_that_cannot_be_made_gives_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let state_dir = file.join("state");
    let err = SqliteStore::open(&state_dir).err().unwrap();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    assert!(err.to_string().contains(&state_dir.display().to_string()));
}
