use super::*;
use crate::conformance::runs::at;
use crate::conformance::warnings::{
    a_new_warning_supersedes_the_standing_one, a_sent_warning_stands_until_cleared,
    only_subjects_erased_everywhere_have_their_warning_cleared, warning_run, POLICY,
};

// The contract of warnings is in the conformance suite; SQLite also keeps every cleared
// warning on record, which only its own `warning_history` shows.

#[test]
fn a_warning_cleared_as_active_stays_on_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    a_sent_warning_stands_until_cleared(&store);
    let history = store.warning_history(POLICY, "b").unwrap();
    assert_eq!(
        history,
        [WarningRecord {
            policy: POLICY.into(),
            subject_key: "b".into(),
            run: RunId(1),
            warned_at: at("2025-03-01T03:00:10Z"),
            delete_on: at("2025-03-31T03:00:10Z"),
            cleared_at: Some(at("2025-03-10T03:00:00Z")),
            cleared_why: Some(ClearWhy::Active),
        }]
    );
}

#[test]
fn a_superseded_warning_stays_on_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    a_new_warning_supersedes_the_standing_one(&store);
    let history = store.warning_history(POLICY, "b").unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].cleared_why, Some(ClearWhy::Superseded));
    assert_eq!(history[1].cleared_why, Some(ClearWhy::Active));
}

#[test]
fn a_warning_cleared_as_erased_stays_on_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    only_subjects_erased_everywhere_have_their_warning_cleared(&store);
    let why = |key| store.warning_history(POLICY, key).unwrap()[0].cleared_why;
    assert_eq!(why("a"), Some(ClearWhy::Erased));
    assert_eq!(why("e"), None);
}

#[test]
fn plan_reads_warnings_without_creating_or_writing_the_database() {
    let dir = tempfile::tempdir().unwrap();
    assert!(SqliteStore::open_read_only(dir.path()).unwrap().is_none());
    assert!(
        !dir.path().join("state.db").exists(),
        "plan created the database"
    );

    let store = SqliteStore::open(dir.path()).unwrap();
    let run = warning_run(&store, "2025-03-01T03:00:00Z");
    let sent = at("2025-03-01T03:00:10Z");
    store.record_warning(POLICY, run, "b", sent, sent).unwrap();
    drop(store);

    let reader = SqliteStore::open_read_only(dir.path()).unwrap().unwrap();
    assert_eq!(
        reader.standing_warnings(POLICY, &["b", "c"]).unwrap()["b"],
        sent
    );
    assert!(reader
        .clear_warnings(POLICY, &["b"], ClearWhy::Active, sent)
        .is_err());
}

#[test]
fn a_database_from_before_warnings_holds_none() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("state.db")).unwrap();
    conn.pragma_update(None, "user_version", 2).unwrap();
    drop(conn);
    assert!(SqliteStore::open_read_only(dir.path()).unwrap().is_none());
}
