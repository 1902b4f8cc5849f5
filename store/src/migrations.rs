//! The state database's schema, as numbered steps recorded in `PRAGMA user_version`.
//!
//! Step N takes the schema from version N-1 to N. Steps are only ever appended: a released
//! step never changes, because databases in the field already ran it. Each step runs in its
//! own transaction together with the version bump, so a crash leaves the database at a whole
//! version.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// The steps, in order: `MIGRATIONS[0]` is version 1.
///
/// Every future migration must be added both here and to the PostgreSQL backend's list
/// (`crate::postgres::migrations::STEPS`), with the same version number.
///
/// Timestamps are RFC 3339 text in UTC (`2025-01-31T03:00:00Z`), readable with `sqlite3`.
/// Enums are their stored names (`pending`, `awaiting_approval`, …). Ids use AUTOINCREMENT so
/// that an id cited in the audit log never comes to mean a different run or task.
const MIGRATIONS: &[&str] = &[
    // 1: runs, decisions, tasks.
    "
    CREATE TABLE runs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        policy        TEXT NOT NULL,
        mode          TEXT NOT NULL,
        scheduled_for TEXT NOT NULL,
        state         TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        finished_at   TEXT,
        scanned       INTEGER NOT NULL DEFAULT 0,
        selected      INTEGER NOT NULL DEFAULT 0,
        detail        TEXT,
        UNIQUE (policy, scheduled_for)
    ) STRICT;
    CREATE INDEX runs_by_state ON runs (state);

    CREATE TABLE decisions (
        id               INTEGER PRIMARY KEY,
        run              INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        subject_key      TEXT NOT NULL,
        selected         INTEGER NOT NULL CHECK (selected IN (0, 1)),
        reason           TEXT NOT NULL,
        identifiers_json TEXT,
        UNIQUE (run, subject_key)
    ) STRICT;
    CREATE INDEX decisions_selected ON decisions (run, subject_key) WHERE selected = 1;

    CREATE TABLE tasks (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        run         INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        subject_key TEXT NOT NULL,
        system      TEXT NOT NULL,
        action      TEXT NOT NULL,
        ord         INTEGER NOT NULL,
        state       TEXT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        detail      TEXT,
        updated_at  TEXT NOT NULL,
        UNIQUE (run, subject_key, system, action)
    ) STRICT;
    CREATE INDEX tasks_open ON tasks (run, subject_key, ord) WHERE state IN ('pending', 'running');
    ",
    // 2: data subjects' requests and their tasks.
    //
    // Their timestamps have nine fraction digits (`2025-01-31T03:00:00.000000000Z`): the
    // store's `not_before <= now` and `ORDER BY due_at` compare them as text, which is only
    // chronological when every value has the same width.
    "
    CREATE TABLE requests (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        kind             TEXT NOT NULL,
        state            TEXT NOT NULL,
        received_at      TEXT NOT NULL,
        due_at           TEXT NOT NULL,
        completed_at     TEXT,
        identifiers_json TEXT,
        detail           TEXT,
        extension        TEXT
    ) STRICT;
    CREATE INDEX requests_by_due ON requests (due_at);
    CREATE INDEX requests_open_by_due ON requests (due_at) WHERE state IN ('open', 'blocked');

    CREATE TABLE request_tasks (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        request        INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
        system         TEXT NOT NULL,
        action         TEXT NOT NULL,
        ord            INTEGER NOT NULL,
        state          TEXT NOT NULL,
        attempts       INTEGER NOT NULL DEFAULT 0,
        not_before     TEXT,
        retained_until TEXT,
        legal_basis    TEXT,
        detail         TEXT,
        updated_at     TEXT NOT NULL
    ) STRICT;
    CREATE INDEX request_tasks_by_request ON request_tasks (request, ord);
    CREATE INDEX request_tasks_by_state ON request_tasks (state, not_before);
    ",
    // 3: warnings sent to subjects before an inactivity policy deletes them.
    //
    // A row is one email that went out; it stands until `cleared_at` (the subject was
    // active again, was erased, or was warned anew). At most one stands per policy and
    // subject. Rows are kept after clearing: they record who was told what, and when.
    "
    CREATE TABLE warnings (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        policy      TEXT NOT NULL,
        subject_key TEXT NOT NULL,
        run         INTEGER NOT NULL,
        warned_at   TEXT NOT NULL,
        delete_on   TEXT NOT NULL,
        cleared_at  TEXT,
        cleared_why TEXT
    ) STRICT;
    CREATE UNIQUE INDEX warnings_standing ON warnings (policy, subject_key)
        WHERE cleared_at IS NULL;
    CREATE INDEX warnings_by_subject ON warnings (policy, subject_key, id);
    ",
    // 4: notices to processors that must confirm: when the first went out, the reminders
    // since, and when the silence was escalated to a person. One row per notify task.
    "
    CREATE TABLE notices (
        task          INTEGER PRIMARY KEY REFERENCES request_tasks (id),
        first_sent_at TEXT NOT NULL,
        last_sent_at  TEXT NOT NULL,
        reminders     INTEGER NOT NULL DEFAULT 0,
        escalated_at  TEXT
    ) STRICT;
    ",
    // 5: erasure requests a policy run files for the systems it does not erase itself
    // (manual, notify, legal hold): where each came from, and at most one per run and subject,
    // so that a run resumed after a crash files none twice.
    "
    ALTER TABLE requests ADD COLUMN origin TEXT;
    ALTER TABLE requests ADD COLUMN from_run INTEGER REFERENCES runs (id);
    ALTER TABLE requests ADD COLUMN from_subject TEXT;
    CREATE UNIQUE INDEX requests_from_run ON requests (from_run, from_subject)
        WHERE from_run IS NOT NULL;
    CREATE INDEX requests_from_subject ON requests (from_subject)
        WHERE from_subject IS NOT NULL;
    ",
    // 6: tombstones of erasures, kept (encrypted) as long as the system's backups may hold
    // the subject, so that `gallra reapply` can erase again after a restore.
    "
    CREATE TABLE tombstones (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        system     TEXT NOT NULL,
        erased_at  TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        sealed     BLOB NOT NULL,
        nonce      BLOB NOT NULL
    ) STRICT;
    CREATE INDEX tombstones_by_system ON tombstones (system, erased_at);
    CREATE INDEX tombstones_by_expiry ON tombstones (expires_at);
    ",
    // 7: the restore window: what a policy run erased, kept (encrypted under the run's own
    // key, which lives in a file, never here) until `kept_until`, so that `gallra restore RUN`
    // can put it back. A window's row stays after its end, with `destroyed_at`, so that a
    // restore asked for too late can say when the window ended.
    "
    CREATE TABLE restore_windows (
        run          INTEGER PRIMARY KEY REFERENCES runs (id),
        policy       TEXT NOT NULL,
        kept_until   TEXT NOT NULL,
        destroyed_at TEXT
    ) STRICT;
    CREATE TABLE restore_keeps (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        run         INTEGER NOT NULL REFERENCES restore_windows (run),
        system      TEXT NOT NULL,
        subject_key TEXT NOT NULL,
        kept_at     TEXT NOT NULL,
        sealed      BLOB NOT NULL,
        nonce       BLOB NOT NULL,
        UNIQUE (run, system, subject_key)
    ) STRICT;
    ",
    // 8: the audit log's head (one row): the file, seq and keyed MAC of the last entry gallra
    // wrote, so that a log cut short, emptied, deleted or rewritten is found at start, before
    // runs and by `gallra audit verify`.
    "
    CREATE TABLE audit_head (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        file       INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        mac        TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;
    ",
    // 9: requests. `kept_json`: what an anonymization under a legal hold kept, as the
    // connector named it (a JSON array of {collection, key}); the erase at the hold's end
    // finds the records by it, so the request's identifiers need not be kept for the hold.
    // `cancel_audited`: whether a cancellation is in the audit log yet (the engine, the one
    // writer of the log, writes it). Requests cancelled before this version are not audited
    // afterwards.
    "
    ALTER TABLE request_tasks ADD COLUMN kept_json TEXT;
    ALTER TABLE requests ADD COLUMN cancel_audited INTEGER NOT NULL DEFAULT 0;
    UPDATE requests SET cancel_audited = 1 WHERE state = 'cancelled';
    ",
    // 10: when each request task finished (done, retained, failed: set when it gets there,
    // cleared when it is tried again), so that a request's completion is its last task's
    // finish, not the moment the engine's pass began. Tasks that finished before this
    // version are taken to have finished at their last change.
    "
    ALTER TABLE request_tasks ADD COLUMN finished_at TEXT;
    UPDATE request_tasks SET finished_at = updated_at
        WHERE state IN ('done', 'retained', 'failed', 'kept');
    ",
    // 11: leases. A running task names the node working it and until when (whole seconds
    // since 1970, real time), so that a second daemon leaves it alone until the lease runs
    // out. Tasks running before this version have none: any node may take them up again.
    "
    ALTER TABLE tasks ADD COLUMN lease_node TEXT;
    ALTER TABLE tasks ADD COLUMN lease_until INTEGER;
    ALTER TABLE request_tasks ADD COLUMN lease_node TEXT;
    ALTER TABLE request_tasks ADD COLUMN lease_until INTEGER;
    ",
    // 12: the running tasks by node, for renewing this node's leases between batches. Without
    // it every renewal read the whole tasks table: 300 renewals of 150,000 tasks in a purge of
    // 50,000 subjects (seen with perf and EXPLAIN QUERY PLAN).
    "
    CREATE INDEX tasks_running_by_node ON tasks (lease_node) WHERE state = 'running';
    ",
    // 13: several daemons on one store. The scheduler's leadership is one row, held by a
    // node until its lease runs out; a request being worked names its node and until when,
    // so that two daemons never carry the same request at once.
    //
    // The audit log's head becomes one row per node: each daemon writes its own chain
    // (`audit-NODE-N.log`) and keeps its own head. The one head from before nodes becomes
    // node '' (a name no daemon may take): the head of the chain in the unnamed files
    // `audit-N.log`, which no daemon writes any more. `gallra audit verify` checks that chain
    // against it exactly as before the upgrade, and the daemon starts its own chain beside
    // it. Nothing is renamed or moved, so there is no half-done upgrade for a crash to leave.
    "
    CREATE TABLE leader (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        node TEXT NOT NULL,
        lease_until INTEGER NOT NULL
    );
    ALTER TABLE requests ADD COLUMN lease_node TEXT;
    ALTER TABLE requests ADD COLUMN lease_until INTEGER;
    CREATE TABLE audit_heads (
        node       TEXT PRIMARY KEY,
        file       INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        mac        TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;
    INSERT INTO audit_heads (node, file, seq, mac, updated_at)
        SELECT '', file, seq, mac, updated_at FROM audit_head;
    DROP TABLE audit_head;
    ALTER TABLE audit_heads RENAME TO audit_head;
    ",
    // 14: a connector's resume token (plugin-api `ResumeToken`): what it needs to follow a
    // deletion it has under way (the ids a processor's job deletes), kept with the task until
    // the task is final, so the deletion is checked to its end after a restart too. Bounded
    // and free of personal data by the plugin API's rules.
    "
    ALTER TABLE request_tasks ADD COLUMN resume_token TEXT;
    ALTER TABLE tasks ADD COLUMN resume_token TEXT;
    CREATE INDEX tasks_resume ON tasks (system, subject_key, id) WHERE resume_token IS NOT NULL;
    ",
];

/// The schema version this binary writes.
pub(super) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the database at `path` up to [`LATEST`]. A database from a newer gallra is refused
/// untouched: this binary cannot know what its tables mean.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let sqlite = |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sqlite)?;
    if found > LATEST {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found,
            known: LATEST,
        });
    }
    for (version, sql) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        apply(conn, version, sql).map_err(|source| StoreError::Migration {
            path: path.to_owned(),
            version,
            source,
        })?;
    }
    // One line, whatever the number of steps.
    match found {
        0 => tracing::info!(path = %path.display(), version = LATEST, "state database created"),
        found if found < LATEST => {
            tracing::info!(path = %path.display(), from = found, to = LATEST, "state database upgraded")
        }
        _ => {}
    }
    Ok(())
}

fn apply(conn: &mut Connection, version: i64, sql: &str) -> rusqlite::Result<()> {
    // IMMEDIATE: a second gallra opening the same directory waits instead of migrating too.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the lock.
    let now: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if now >= version {
        return Ok(());
    }
    tx.execute_batch(sql)?;
    tx.pragma_update(None, "user_version", version)?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_database_is_brought_to_the_latest_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new("mem.db")).unwrap();
        assert_eq!(version(&conn), LATEST);
    }

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new("mem.db")).unwrap();
        migrate(&mut conn, Path::new("mem.db")).unwrap();
        assert_eq!(version(&conn), LATEST);
    }

    #[test]
    fn a_database_from_a_newer_gallra_is_left_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        let err = migrate(&mut conn, Path::new("/var/lib/gallra/state.db")).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { found, .. } if found == LATEST + 1));
        assert!(err.to_string().contains("/var/lib/gallra/state.db"));
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }

    #[test]
    fn a_version_1_database_is_upgraded_keeping_its_runs() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn, 1, MIGRATIONS[0]).unwrap();
        conn.execute(
            "INSERT INTO runs (policy, mode, scheduled_for, state, started_at)
             VALUES ('inactive', 'report', '2025-03-01T03:00:00Z', 'reported', '2025-03-01T03:00:05Z')",
            [],
        )
        .unwrap();
        migrate(&mut conn, Path::new("mem.db")).unwrap();
        assert_eq!(version(&conn), LATEST);
        let runs: i64 = conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(runs, 1);
        let requests: i64 = conn
            .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(requests, 0);
    }

    #[test]
    fn a_version_2_database_gains_the_warnings_table_keeping_its_requests() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn, 1, MIGRATIONS[0]).unwrap();
        apply(&mut conn, 2, MIGRATIONS[1]).unwrap();
        conn.execute(
            "INSERT INTO requests (kind, state, received_at, due_at)
             VALUES ('erase', 'open', '2025-03-01T03:00:00Z', '2025-03-08T03:00:00Z')",
            [],
        )
        .unwrap();
        migrate(&mut conn, Path::new("mem.db")).unwrap();
        assert_eq!(version(&conn), LATEST);
        let requests: i64 = conn
            .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(requests, 1);
        let warnings: i64 = conn
            .query_row("SELECT count(*) FROM warnings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(warnings, 0);
        let notices: i64 = conn
            .query_row("SELECT count(*) FROM notices", [], |r| r.get(0))
            .unwrap();
        assert_eq!(notices, 0, "version 4 adds the notices table");
    }

    #[test]
    fn the_audit_head_from_before_nodes_becomes_node_empty() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (version, sql) in (1..).zip(&MIGRATIONS[..12]) {
            apply(&mut conn, version, sql).unwrap();
        }
        conn.execute(
            "INSERT INTO audit_head (id, file, seq, mac, updated_at)
             VALUES (1, 2, 17, 'ab', '2025-03-01T03:00:00Z')",
            [],
        )
        .unwrap();
        migrate(&mut conn, Path::new("mem.db")).unwrap();
        let head: (String, i64, i64) = conn
            .query_row("SELECT node, file, seq FROM audit_head", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(head, (String::new(), 2, 17));
    }

    #[test]
    fn a_failing_step_leaves_the_previous_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new("mem.db")).unwrap();
        let err = apply(
            &mut conn,
            LATEST + 1,
            "CREATE TABLE x (a); SELECT * FROM nope;",
        );
        assert!(err.is_err());
        assert_eq!(version(&conn), LATEST);
        let x: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'x'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(x, 0);
    }
}
