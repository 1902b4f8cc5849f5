//! Copying a SQLite state into a new PostgreSQL store (`copy_sqlite_state`): the copy answers
//! every question as the SQLite state did, its next ids come after the copied ones, and a
//! store that already holds a state, or a state from an older gallra, is refused.

use std::path::Path;

use gallra_plugin_api::IdentifierKind;
use gallra_store::conformance::runs::{at, id, kept, selected};
use gallra_store::{
    copy_sqlite_state, Action, AuditHead, AuditHeadStore, Backend, DecisionFilter, LeaderStore,
    Lease, NewRequestTask, NewTombstone, RequestAction, RequestKind, RequestStore, RestoreKeep,
    RestoreStore, RunState, Sealed, SqliteStore, Store, StoreError, TaskState, TaskUpdate,
    WarningStore,
};

use super::server::{admin, Schema};

const SLOT: &str = "2025-03-01T03:00:00Z";
const NOW: &str = "2025-03-01T03:00:05Z";
const LATER: &str = "2025-04-01T00:00:00Z";

fn sealed(byte: u8) -> Sealed {
    Sealed {
        ciphertext: vec![byte, 0, 0xff, byte],
        nonce: vec![0xab; 12],
    }
}

fn erase(system: &str, order: u32) -> NewRequestTask {
    NewRequestTask {
        system: system.to_owned(),
        action: RequestAction::Erase,
        order,
    }
}

/// A SQLite state with every kind of record, as two nodes (`node-a`, `node-b`) left it.
fn fill(dir: &Path) {
    let a = SqliteStore::open(dir)
        .unwrap()
        .leasing(Lease::new("node-a"));
    let b = SqliteStore::open(dir)
        .unwrap()
        .leasing(Lease::new("node-b"));
    let now = at(NOW);

    // A run enforcing: one subject erased, one running under node-a's lease, one pending.
    let run = a.begin_run("inactive", "enforce", at(SLOT), now).unwrap();
    let decisions = [selected("s1"), selected("s2"), selected("s3"), kept("s4")];
    a.record_decisions(run, &decisions).unwrap();
    let systems = [
        ("crm".to_owned(), Action::Erase, 0),
        ("billing".to_owned(), Action::Erase, 1),
    ];
    a.create_tasks_for_selected(run, &systems).unwrap();
    a.set_run_state(run, RunState::Enforcing, 4, 3, None, now)
        .unwrap();
    let first = a.claim_tasks(run, 1, now).unwrap();
    let done: Vec<_> = first
        .iter()
        .map(|t| (t.id, TaskState::Done, None))
        .collect();
    let stone = NewTombstone {
        system: "crm".to_owned(),
        erased_at: now,
        expires_at: at(LATER),
        sealed: sealed(1),
    };
    a.finish_tasks_and_bury(&done, &[stone], now).unwrap();
    a.claim_tasks(run, 1, now).unwrap();
    let manual = [NewRequestTask {
        system: "paper".to_owned(),
        action: RequestAction::Manual,
        order: 0,
    }];
    a.file_requests_for_selected(run, "policy:inactive", now, at(LATER), &manual)
        .unwrap();
    a.open_restore_window(run, "inactive", at(LATER)).unwrap();
    let keep = RestoreKeep {
        run,
        system: "crm".to_owned(),
        subject_key: "s1".to_owned(),
        kept_at: now,
        sealed: sealed(2),
    };
    a.keep(&keep).unwrap();
    a.record_warning("inactive", run, "s4", now, at(LATER))
        .unwrap();

    // A finished run in report mode.
    let report = a.begin_run("old", "report", at(NOW), now).unwrap();
    a.record_decisions(report, &[kept("r1")]).unwrap();
    a.set_run_state(report, RunState::Reported, 1, 0, None, now)
        .unwrap();

    // Requests: one with a retried task, one notified processor, one cancelled.
    let who = [id(IdentifierKind::Email, "anna@example.se")];
    let open = a
        .create_request(
            RequestKind::Erase,
            &who,
            now,
            at(LATER),
            None,
            &[erase("crm", 0), erase("billing", 1)],
        )
        .unwrap();
    let tasks = a.request_tasks(open).unwrap();
    let retried = TaskUpdate {
        task: tasks[0].id,
        state: TaskState::Pending,
        attempted: true,
        not_before: Some(at("2025-03-02T00:00:00Z")),
        retained_until: None,
        legal_basis: None,
        detail: Some("connection refused".to_owned()),
        kept: None,
        resume: None,
    };
    a.update_request_tasks(&[retried], now).unwrap();
    let notify = [NewRequestTask {
        system: "mailer".to_owned(),
        action: RequestAction::Notify,
        order: 0,
    }];
    let noticed = a
        .create_request(
            RequestKind::Erase,
            &who,
            now,
            at(LATER),
            Some("complex"),
            &notify,
        )
        .unwrap();
    a.notice_sent(a.request_tasks(noticed).unwrap()[0].id, now)
        .unwrap();
    let cancelled = b
        .create_request(
            RequestKind::Export,
            &who,
            now,
            at(LATER),
            None,
            &[erase("crm", 0)],
        )
        .unwrap();
    b.cancel_request(cancelled, "asked by mistake", now)
        .unwrap();
    b.claim_requests(now, 1).unwrap();

    // Both nodes' audit heads; node-a leads.
    for (store, seq) in [(&a, 7), (&b, 3)] {
        let head = AuditHead {
            file: 1,
            seq,
            mac: format!("{seq:064x}"),
            updated_at: now,
        };
        store.set_audit_head(&head).unwrap();
    }
    assert!(a.lead().unwrap());
}

/// Everything the daemon reads, as `store` answers it.
fn answers(store: &dyn Backend) -> String {
    let mut out = Vec::new();
    let runs = store.recent_runs(None, 100).unwrap();
    out.push(format!("{runs:?}"));
    for run in &runs {
        let id = run.id;
        out.push(format!(
            "{:?}",
            store.decisions(id, DecisionFilter::Selected, None, 100)
        ));
        out.push(format!("{:?}", store.decision_counts(id)));
        out.push(format!("{:?}", store.task_counts(id)));
        out.push(format!("{:?}", store.pending_tasks(id, 100)));
        out.push(format!("{:?}", store.restore_window(id)));
        out.push(format!("{:?}", store.kept(id, None)));
    }
    let requests = store.list_requests(false, 100).unwrap();
    out.push(format!("{requests:?}"));
    for request in &requests {
        let tasks = store.request_tasks(request.id).unwrap();
        for task in &tasks {
            out.push(format!("{:?}", store.notice(task.id)));
        }
        out.push(format!("{tasks:?}"));
    }
    out.push(format!("{:?}", store.due_requests(at(LATER), 100)));
    out.push(format!("{:?}", store.next_wakeup()));
    out.push(format!("{:?}", store.needs_person_tasks()));
    out.push(format!("{:?}", store.cancels_to_audit()));
    out.push(format!("{:?}", store.audit_heads()));
    out.push(format!("{:?}", store.leader()));
    out.push(format!("{:?}", store.tombstones_since("crm", at(SLOT))));
    out.push(format!(
        "{:?}",
        store.standing_warnings("inactive", &["s4"])
    ));
    out.join("\n")
}

#[test]
fn a_copied_state_answers_as_the_sqlite_state_did_and_new_ids_follow_the_copied_ones() {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let sqlite = SqliteStore::open(dir.path())
        .unwrap()
        .leasing(Lease::new("node-a"));
    let target = schema.open(Lease::new("node-a"));

    let report = copy_sqlite_state(dir.path(), &target).unwrap();

    assert_eq!(answers(&target), answers(&sqlite));
    let rows = |table: &str| {
        report
            .tables
            .iter()
            .find(|t| t.table == table)
            .unwrap()
            .rows
    };
    assert_eq!((rows("runs"), rows("tasks"), rows("audit_head")), (2, 6, 2));
    // The copy starts the ids where SQLite would have gone on.
    let (run, request) = (
        target
            .begin_run("inactive", "report", at(LATER), at(LATER))
            .unwrap(),
        target
            .create_request(
                RequestKind::Erase,
                &[],
                at(LATER),
                at(LATER),
                None,
                &[erase("crm", 0)],
            )
            .unwrap(),
    );
    let next_run = sqlite
        .begin_run("inactive", "report", at(LATER), at(LATER))
        .unwrap();
    let next_request = sqlite
        .create_request(
            RequestKind::Erase,
            &[],
            at(LATER),
            at(LATER),
            None,
            &[erase("crm", 0)],
        )
        .unwrap();
    assert_eq!((run, request), (next_run, next_request));
    let task = |store: &dyn Backend| store.request_tasks(request).unwrap()[0].id;
    assert_eq!(task(&target), task(&sqlite));
}

#[test]
fn the_copy_lists_every_table_of_the_postgresql_schema() {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let report = copy_sqlite_state(dir.path(), &schema.open(Lease::new("a"))).unwrap();
    let name = schema.name.clone();
    let tables = admin(move |client| {
        let rows = client.query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = $1 AND table_name <> 'gallra_schema' ORDER BY 1",
            &[&name],
        )?;
        Ok(rows
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>())
    })
    .unwrap();
    let mut copied: Vec<String> = report.tables.into_iter().map(|t| t.table).collect();
    copied.sort();
    assert_eq!(copied, tables);
}

#[test]
fn a_store_that_holds_a_state_is_refused_and_left_as_it_was() {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let target = schema.open(Lease::new("node-a"));
    copy_sqlite_state(dir.path(), &target).unwrap();
    let before = answers(&target);

    let err = copy_sqlite_state(dir.path(), &target).unwrap_err();

    assert!(matches!(err, StoreError::Copy { .. }), "{err}");
    assert!(
        err.to_string().contains("table runs already has rows"),
        "{err}"
    );
    assert!(!err.to_string().contains("anna"), "{err}");
    assert_eq!(answers(&target), before);
}

#[test]
fn a_state_from_an_older_or_newer_gallra_is_refused() {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let latest: i64 = version(dir.path());
    let target = schema.open(Lease::new("a"));

    set_version(dir.path(), latest - 1);
    let older = copy_sqlite_state(dir.path(), &target).unwrap_err();
    assert!(
        older
            .to_string()
            .contains("run this gallra once on the SQLite state to upgrade it"),
        "{older}"
    );

    set_version(dir.path(), latest + 1);
    let newer = copy_sqlite_state(dir.path(), &target).unwrap_err();
    assert!(matches!(newer, StoreError::TooNew { .. }), "{newer}");

    // Neither touched the target: a copy of the right version still goes in.
    set_version(dir.path(), latest);
    copy_sqlite_state(dir.path(), &target).unwrap();
}

fn version(dir: &Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("state.db")).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn set_version(dir: &Path, version: i64) {
    let conn = rusqlite::Connection::open(dir.join("state.db")).unwrap();
    conn.pragma_update(None, "user_version", version).unwrap();
}
