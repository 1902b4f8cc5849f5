use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::Ordering;

use gallra_plugin_api::{Identifier, IdentifierKind};

use super::*;
use crate::migrations::LATEST;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const NOW: &str = "2025-03-01T03:00:05Z";
const SLOT: &str = "2025-03-01T03:00:00Z";

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir).unwrap()
}

fn id(kind: IdentifierKind, value: &str) -> Identifier {
    Identifier::parse(kind, value).unwrap()
}

fn selected(key: &str) -> Decision {
    Decision {
        subject_key: key.to_owned(),
        selected: true,
        reason: "inactive".to_owned(),
        identifiers: vec![id(IdentifierKind::Email, &format!("{key}@example.se"))],
    }
}

fn kept(key: &str) -> Decision {
    Decision {
        subject_key: key.to_owned(),
        selected: false,
        reason: "active_services".to_owned(),
        identifiers: vec![id(IdentifierKind::Email, &format!("{key}@example.se"))],
    }
}

/// A run with subjects `a`, `b` selected and `c` kept, and tasks in `crm` (order 1) and
/// `panel` (order 2) for each selected subject.
fn run_with_tasks(store: &SqliteStore) -> RunId {
    let run = store
        .begin_run("inactive", "enforce", at(SLOT), at(NOW))
        .unwrap();
    store
        .record_decisions(run, &[selected("b"), selected("a"), kept("c")])
        .unwrap();
    let systems = [
        ("panel".to_owned(), Action::Erase, 2),
        ("crm".to_owned(), Action::Erase, 1),
    ];
    assert_eq!(store.create_tasks_for_selected(run, &systems).unwrap(), 4);
    run
}

/// What a crash leaves: no orderly close, no checkpoint of the WAL.
fn crash(store: SqliteStore) {
    std::mem::forget(store);
}

fn commits(store: &SqliteStore) -> u64 {
    store.commits.load(Ordering::Relaxed)
}

fn raw(store: &SqliteStore) -> MutexGuard<'_, Connection> {
    store.lock()
}

#[test]
fn a_runs_slot_cannot_be_taken_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = store
        .begin_run("inactive", "report", at(SLOT), at(NOW))
        .unwrap();
    let again = store.begin_run("inactive", "enforce", at(SLOT), at(NOW));
    assert!(matches!(again, Err(StoreError::RunExists { run }) if run == first));

    // Another slot, or another policy in the same slot, is a different run.
    let next_day = store
        .begin_run("inactive", "report", at("2025-03-02T03:00:00Z"), at(NOW))
        .unwrap();
    let other = store
        .begin_run("signups", "report", at(SLOT), at(NOW))
        .unwrap();
    assert!(next_day != first && other != first && other != next_day);
    assert_eq!(store.recent_runs(None, 10).unwrap().len(), 3);
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

#[test]
fn pending_tasks_returns_interrupted_running_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = run_with_tasks(&store);
    let tasks = store.pending_tasks(run, 100).unwrap();
    let order: Vec<_> = tasks
        .iter()
        .map(|t| (t.subject_key.as_str(), t.system.as_str()))
        .collect();
    assert_eq!(
        order,
        [("a", "crm"), ("a", "panel"), ("b", "crm"), ("b", "panel")]
    );

    // a/crm finished; a/panel handed to its connector when the process died.
    store
        .finish_task(tasks[0].id, TaskState::Done, None, at(NOW))
        .unwrap();
    assert_eq!(store.start_tasks(&[tasks[1].id], at(NOW)).unwrap(), 1);
    crash(store);

    let store = open(dir.path());
    let pending = store.pending_tasks(run, 100).unwrap();
    assert_eq!(pending.len(), 3);
    assert_eq!(pending[0].id, tasks[1].id);
    assert_eq!(pending[0].state, TaskState::Running);
    assert_eq!(
        pending[0].identifiers,
        [id(IdentifierKind::Email, "a@example.se")]
    );
    assert_eq!(store.pending_tasks(run, 1).unwrap().len(), 1);
}

#[test]
fn finishing_a_task_counts_the_attempt_and_starting_a_final_task_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = run_with_tasks(&store);
    let task = store.pending_tasks(run, 1).unwrap()[0].id;
    store.start_tasks(&[task], at(NOW)).unwrap();
    store
        .finish_task(task, TaskState::Failed, Some("timeout"), at(NOW))
        .unwrap();
    assert_eq!(store.start_tasks(&[task], at(NOW)).unwrap(), 0);
    let counts = store.task_counts(run).unwrap();
    assert!(counts.contains(&("crm".to_owned(), TaskState::Failed, 1)));
    assert!(counts.contains(&("crm".to_owned(), TaskState::Pending, 1)));
    let attempts: u32 = raw(&store)
        .query_row("SELECT attempts FROM tasks WHERE id = ?1", [task], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(attempts, 1);
}

#[test]
fn a_batch_of_outcomes_with_an_unknown_task_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = run_with_tasks(&store);
    let first = store.pending_tasks(run, 1).unwrap()[0].id;
    let updates = [
        (first, TaskState::Done, None),
        (TaskId(9999), TaskState::Done, None),
    ];
    let err = store.finish_tasks(&updates, at(NOW)).unwrap_err();
    assert!(matches!(
        err,
        StoreError::NoSuchTask {
            task: TaskId(9999),
            ..
        }
    ));
    assert_eq!(store.pending_tasks(run, 100).unwrap().len(), 4);
}

#[test]
fn creating_tasks_for_selected_twice_creates_no_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = run_with_tasks(&store);
    let systems = [
        ("crm".to_owned(), Action::Erase, 1),
        ("panel".to_owned(), Action::Erase, 2),
    ];
    assert_eq!(store.create_tasks_for_selected(run, &systems).unwrap(), 0);
    assert_eq!(store.pending_tasks(run, 100).unwrap().len(), 4);

    let expire = NewTask {
        subject_key: "unconverted_signups".to_owned(),
        system: "signups".to_owned(),
        action: Action::Expire,
        order: 0,
    };
    let first = store.create_task(run, &expire).unwrap();
    assert_eq!(store.create_task(run, &expire).unwrap(), first);
    let tasks = store.pending_tasks(run, 100).unwrap();
    assert_eq!(tasks.len(), 5);
    let task = tasks.iter().find(|t| t.id == first).unwrap();
    assert!(task.identifiers.is_empty(), "no decision, no identifiers");
}

#[test]
fn identifiers_round_trip_and_are_gone_after_forget_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = store
        .begin_run("inactive", "enforce", at(SLOT), at(NOW))
        .unwrap();
    let identifiers = vec![
        id(IdentifierKind::Email, "Anna.Svensson@Example.SE"),
        id(IdentifierKind::Personnummer, "811218-9876"),
        id(IdentifierKind::Phone, "070-123 45 67"),
        id(IdentifierKind::CustomerId, "C-1001"),
        id(IdentifierKind::Ip, "2001:db8::1"),
    ];
    let decision = Decision {
        identifiers: identifiers.clone(),
        ..selected("1001")
    };
    store
        .record_decisions(run, &[decision.clone(), kept("1002")])
        .unwrap();
    assert_eq!(store.selected_decisions(run, None, 10).unwrap(), [decision]);
    let systems = [("crm".to_owned(), Action::Erase, 1)];
    store.create_tasks_for_selected(run, &systems).unwrap();
    let task = &store.pending_tasks(run, 10).unwrap()[0];
    assert_eq!(task.identifiers, identifiers);

    // While a task still needs them, they stay.
    let err = store.forget_identifiers(run).unwrap_err();
    assert!(matches!(err, StoreError::TasksOpen { open: 1, .. }));

    store
        .finish_task(task.id, TaskState::Done, None, at(NOW))
        .unwrap();
    store.forget_identifiers(run).unwrap();
    let left = store.selected_decisions(run, None, 10).unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].identifiers.is_empty());
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
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("anna.svensson"));
        assert!(!text.contains("198112189876"));
    }
}

#[test]
fn subjects_that_are_kept_never_have_identifiers_stored() {
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

    let counts = store.decision_counts(run).unwrap();
    assert_eq!(
        counts,
        [
            ("active_services".to_owned(), false, 6666),
            ("inactive".to_owned(), true, 3334),
        ]
    );

    // Paging through the selected ones sees each once, in key order.
    let mut seen = Vec::new();
    loop {
        let after = seen.last().map(|d: &Decision| d.subject_key.clone());
        let page = store
            .selected_decisions(run, after.as_deref(), 500)
            .unwrap();
        if page.is_empty() {
            break;
        }
        seen.extend(page);
    }
    assert_eq!(seen.len(), 3334);
    assert!(seen.windows(2).all(|w| w[0].subject_key < w[1].subject_key));

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
fn recording_a_subject_again_replaces_its_decision() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = store
        .begin_run("inactive", "report", at(SLOT), at(NOW))
        .unwrap();
    store.record_decisions(run, &[selected("1001")]).unwrap();
    store.record_decisions(run, &[kept("1001")]).unwrap();
    let counts = store.decision_counts(run).unwrap();
    assert_eq!(counts, [("active_services".to_owned(), false, 1)]);
    assert!(store.selected_decisions(run, None, 10).unwrap().is_empty());
}

#[test]
fn run_state_moves_are_kept_and_a_final_state_sets_finished_at() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = store
        .begin_run("inactive", "enforce", at(SLOT), at(NOW))
        .unwrap();
    let record = store.run(run).unwrap().unwrap();
    assert_eq!(record.state, RunState::Planning);
    assert_eq!(record.scheduled_for, at(SLOT));
    assert_eq!(record.started_at, at(NOW));
    assert_eq!(record.finished_at, None);

    let valve = "would erase 600 subjects, max_per_run is 500";
    store
        .set_run_state(
            run,
            RunState::AwaitingApproval,
            1000,
            600,
            Some(valve),
            at(NOW),
        )
        .unwrap();
    let waiting = store.runs_in_state(&[RunState::AwaitingApproval]).unwrap();
    assert_eq!(waiting[0].detail.as_deref(), Some(valve));
    assert_eq!(waiting[0].finished_at, None);

    let end = at("2025-03-01T04:00:00.5Z");
    store
        .set_run_state(run, RunState::Done, 1000, 600, None, end)
        .unwrap();
    let done = store.run(run).unwrap().unwrap();
    assert_eq!((done.state, done.finished_at), (RunState::Done, Some(end)));
    assert!(store
        .runs_in_state(&[RunState::AwaitingApproval])
        .unwrap()
        .is_empty());
    assert!(store.run(RunId(9999)).unwrap().is_none());
    let err = store.set_run_state(RunId(9999), RunState::Done, 0, 0, None, end);
    assert!(matches!(err, Err(StoreError::NoSuchRun { .. })));
}

#[test]
fn recent_runs_are_newest_first_and_filter_by_policy() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let slots = [
        "2025-03-01T03:00:00Z",
        "2025-03-02T03:00:00Z",
        "2025-03-03T03:00:00Z",
    ];
    for slot in slots {
        store
            .begin_run("inactive", "report", at(slot), at(slot))
            .unwrap();
    }
    store
        .begin_run("signups", "report", at(SLOT), at(NOW))
        .unwrap();
    let recent = store.recent_runs(Some("inactive"), 2).unwrap();
    let when: Vec<_> = recent.iter().map(|r| r.scheduled_for).collect();
    assert_eq!(when, [at(slots[2]), at(slots[1])]);
    assert_eq!(store.recent_runs(None, usize::MAX).unwrap().len(), 4);
}

#[test]
fn writing_to_an_unknown_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let err = store
        .record_decisions(RunId(42), &[selected("1")])
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRun { run: RunId(42), .. }));
    let err = store.create_tasks_for_selected(RunId(42), &[]).unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRun { .. }));
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
                params![1, 10, "k"].get(..stmt.parameter_count()).unwrap(),
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

/// A run hands the subjects it selected to erasure requests for the systems it does not erase
/// itself: once per subject, however often the (resumed) run asks, and never again for a
/// subject a run filed for before.
#[test]
fn a_run_files_one_erasure_request_per_selected_subject_once() {
    use crate::{NewRequestTask, RequestAction};
    use crate::RequestStore;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = run_with_tasks(&store);
    let tasks = [
        NewRequestTask {
            system: "binders".to_owned(),
            action: RequestAction::Manual,
            order: 0,
        },
        NewRequestTask {
            system: "registry".to_owned(),
            action: RequestAction::Notify,
            order: 1,
        },
    ];
    let file = |run| {
        store
            .file_requests_for_selected(run, "policy inactive, run 1", at(NOW), at(NOW), &tasks)
            .unwrap()
    };
    assert_eq!(file(run), 2, "a and b, not the kept c");
    assert_eq!(file(run), 0, "a resumed run files none twice");
    let requests = store.list_requests(false, 100).unwrap();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.origin.as_deref(), Some("policy inactive, run 1"));
        assert_eq!(request.identifiers.len(), 1, "the subject's identifiers");
        let systems: Vec<String> = store
            .request_tasks(request.id)
            .unwrap()
            .into_iter()
            .map(|t| t.system)
            .collect();
        assert_eq!(systems, ["binders", "registry"]);
    }
    // The next night's run selects them again (say the account source keeps them under a
    // legal hold): nothing new is filed.
    let next = store
        .begin_run("inactive", "enforce", at("2025-03-02T03:00:00Z"), at(NOW))
        .unwrap();
    store
        .record_decisions(next, &[selected("a"), selected("d")])
        .unwrap();
    assert_eq!(file(next), 1, "only d is new");
}
