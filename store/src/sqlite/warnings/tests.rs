use gallra_plugin_api::IdentifierKind;

use super::*;
use crate::{Action, Store, TaskState};

const POLICY: &str = "inactive";

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn email(key: &str) -> Vec<Identifier> {
    vec![Identifier::parse(IdentifierKind::Email, &format!("{key}@example.se")).unwrap()]
}

fn decision(key: &str, reason: Reason) -> Decision {
    Decision {
        subject_key: key.to_owned(),
        selected: reason.selects(),
        reason: reason.code().to_owned(),
        identifiers: email(key),
    }
}

/// A run at `slot` with subjects `a` (selected), `b` and `c` (due a warning), `d` (kept).
fn run(store: &SqliteStore, slot: &str) -> RunId {
    let run = store
        .begin_run(POLICY, "enforce", at(slot), at(slot))
        .unwrap();
    let decisions = [
        decision("a", Reason::Inactive),
        decision("b", Reason::WarningDue),
        decision("c", Reason::WarningDue),
        decision("d", Reason::RecentlyActive),
    ];
    store.record_decisions(run, &decisions).unwrap();
    run
}

fn reason_of(store: &SqliteStore, run: RunId, key: &str) -> String {
    store
        .lock()
        .query_row(
            "SELECT reason FROM decisions WHERE run = ?1 AND subject_key = ?2",
            params![run, key],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_sent_warning_stands_until_cleared_and_stays_on_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let run = run(&store, "2025-03-01T03:00:00Z");
    let sent = at("2025-03-01T03:00:10Z");
    let delete_on = at("2025-03-31T03:00:10Z");
    store
        .record_warning(POLICY, run, "b", sent, delete_on)
        .unwrap();
    assert_eq!(reason_of(&store, run, "b"), "warned");

    let standing = store.standing_warnings(POLICY, &["a", "b", "c"]).unwrap();
    assert_eq!(standing, BTreeMap::from([("b".to_owned(), sent)]));
    assert!(store
        .standing_warnings("other-policy", &["b"])
        .unwrap()
        .is_empty());

    let later = at("2025-03-10T03:00:00Z");
    assert_eq!(
        store
            .clear_warnings(POLICY, &["b", "c"], ClearWhy::Active, later)
            .unwrap(),
        1
    );
    assert!(store.standing_warnings(POLICY, &["b"]).unwrap().is_empty());
    assert_eq!(
        store.warning_history(POLICY, "b").unwrap(),
        [WarningRecord {
            policy: POLICY.into(),
            subject_key: "b".into(),
            run,
            warned_at: sent,
            delete_on,
            cleared_at: Some(later),
            cleared_why: Some(ClearWhy::Active),
        }]
    );
}

#[test]
fn a_new_warning_supersedes_the_standing_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let first = run(&store, "2025-03-01T03:00:00Z");
    let second = run(&store, "2025-03-02T03:00:00Z");
    let (one, two) = (at("2025-03-01T03:00:10Z"), at("2025-03-02T03:00:10Z"));
    store.record_warning(POLICY, first, "b", one, one).unwrap();
    store.record_warning(POLICY, second, "b", two, two).unwrap();
    let history = store.warning_history(POLICY, "b").unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].cleared_why, Some(ClearWhy::Superseded));
    assert_eq!(history[1].cleared_at, None);
    assert_eq!(store.standing_warnings(POLICY, &["b"]).unwrap()["b"], two);
}

#[test]
fn held_addresses_reach_the_send_step_in_key_order_and_are_forgotten_with_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let run = run(&store, "2025-03-01T03:00:00Z");
    // Kept subjects' identifiers are not stored until held for a warning.
    assert!(store.warnings_due(run, None, 10).unwrap()[0]
        .identifiers
        .is_empty());
    store
        .hold_warning_addresses(run, &[("c".into(), email("c")), ("b".into(), email("b"))])
        .unwrap();

    let due = store.warnings_due(run, None, 1).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].subject_key.as_str(), &due[0].identifiers),
        ("b", &email("b"))
    );
    let rest = store.warnings_due(run, Some("b"), 10).unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].subject_key, "c");

    store
        .warning_not_sent(run, "c", Reason::WarningFailed.code())
        .unwrap();
    assert_eq!(reason_of(&store, run, "c"), "warning_failed");
    assert_eq!(store.warnings_due(run, None, 10).unwrap().len(), 1);

    store.forget_identifiers(run).unwrap();
    let held: i64 = store
        .lock()
        .query_row(
            "SELECT count(*) FROM decisions WHERE identifiers_json IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(held, 0);
}

#[test]
fn only_subjects_erased_everywhere_have_their_warning_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let warned = run(&store, "2025-02-01T03:00:00Z");
    let sent = at("2025-02-01T03:00:10Z");
    for key in ["a", "e"] {
        store
            .record_warning(POLICY, warned, key, sent, sent)
            .unwrap();
    }
    let deleting = store
        .begin_run(
            POLICY,
            "enforce",
            at("2025-03-05T03:00:00Z"),
            at("2025-03-05T03:00:00Z"),
        )
        .unwrap();
    store
        .record_decisions(
            deleting,
            &[
                decision("a", Reason::Inactive),
                decision("e", Reason::Inactive),
            ],
        )
        .unwrap();
    let systems = [
        ("crm".to_owned(), Action::Erase, 0),
        ("panel".to_owned(), Action::Erase, 1),
    ];
    store.create_tasks_for_selected(deleting, &systems).unwrap();
    let tasks = store.pending_tasks(deleting, 10).unwrap();
    let now = at("2025-03-05T03:01:00Z");
    let updates: Vec<_> = tasks
        .iter()
        .map(|t| {
            // `e` could not be erased from the panel: it is still there, still warned.
            let state = if t.subject_key == "e" && t.system == "panel" {
                TaskState::Failed
            } else {
                TaskState::Done
            };
            (t.id, state, None)
        })
        .collect();
    store.finish_tasks_and_bury(&updates, &[], now).unwrap();

    assert_eq!(
        store.clear_erased_warnings(POLICY, deleting, now).unwrap(),
        1
    );
    assert_eq!(
        store.warning_history(POLICY, "a").unwrap()[0].cleared_why,
        Some(ClearWhy::Erased)
    );
    assert_eq!(
        store
            .standing_warnings(POLICY, &["a", "e"])
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["e"]
    );
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
    let run = run(&store, "2025-03-01T03:00:00Z");
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
