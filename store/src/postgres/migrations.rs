//! The PostgreSQL schema, recorded in the table `gallra_schema` with the same version numbers
//! as SQLite's `PRAGMA user_version` (see `crate::migrations`).
//!
//! PostgreSQL support began at version 12, so [`BASE`] makes the whole schema of that version
//! at once; later versions are [`STEPS`]. Every step runs in a transaction of its own under a
//! transaction-level advisory lock, so that several daemons starting at once wait for each
//! other instead of migrating twice, and a crash leaves the schema at a whole version.
//!
//! The tables are SQLite's, value for value: timestamps are the same RFC 3339 text, so that
//! both backends compare and order them the same way, and text that is compared or ordered
//! is `COLLATE "C"`, i.e. by bytes, as SQLite does, whatever the database's locale.

use postgres::Client;

use super::fail::Step;
use super::pool::quote;
use super::Ctx;
use crate::StoreError;

/// The version [`BASE`] makes.
const BASE_VERSION: i64 = 12;

/// Every future migration must be added both here and to SQLite's list
/// (`crate::migrations::MIGRATIONS`), with the same version number: `STEPS[0]` is version 13.
const STEPS: &[&str] = &[
    // 13: several daemons on one store (SQLite's 13): the scheduler's leadership, one row;
    // a request being worked names its node and until when.
    r#"
    CREATE TABLE leader (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        node TEXT NOT NULL,
        lease_until BIGINT NOT NULL
    );
    ALTER TABLE requests ADD COLUMN lease_node TEXT;
    ALTER TABLE requests ADD COLUMN lease_until BIGINT;
    -- One audit head per node (see SQLite's 13): the head from before becomes node ''.
    ALTER TABLE audit_head DROP CONSTRAINT audit_head_pkey;
    ALTER TABLE audit_head DROP CONSTRAINT audit_head_id_check;
    ALTER TABLE audit_head ADD COLUMN node TEXT COLLATE "C" NOT NULL DEFAULT '';
    ALTER TABLE audit_head DROP COLUMN id;
    ALTER TABLE audit_head ALTER COLUMN node DROP DEFAULT;
    ALTER TABLE audit_head ADD PRIMARY KEY (node);
    "#,
    // 14: a connector's resume token, kept with the task until it is final (SQLite's 14).
    r#"
    ALTER TABLE request_tasks ADD COLUMN resume_token TEXT;
    ALTER TABLE tasks ADD COLUMN resume_token TEXT;
    CREATE INDEX tasks_resume ON tasks (system, subject_key, id) WHERE resume_token IS NOT NULL;
    "#,
];

/// The schema version this binary writes.
pub(super) const LATEST: i64 = BASE_VERSION + STEPS.len() as i64;

/// Any number, the same in every gallra: the advisory lock migrations take.
const MIGRATION_LOCK: i64 = 0x6761_6c6c_7261;

/// The schema of version 12.
const BASE: &str = r#"
CREATE TABLE runs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    policy        TEXT COLLATE "C" NOT NULL,
    mode          TEXT NOT NULL,
    scheduled_for TEXT COLLATE "C" NOT NULL,
    state         TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    scanned       BIGINT NOT NULL DEFAULT 0,
    selected      BIGINT NOT NULL DEFAULT 0,
    detail        TEXT,
    UNIQUE (policy, scheduled_for)
);
CREATE INDEX runs_by_state ON runs (state);

CREATE TABLE decisions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run              BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    subject_key      TEXT COLLATE "C" NOT NULL,
    selected         BOOLEAN NOT NULL,
    reason           TEXT COLLATE "C" NOT NULL,
    identifiers_json TEXT,
    UNIQUE (run, subject_key)
);
CREATE INDEX decisions_selected ON decisions (run, subject_key) WHERE selected;

CREATE TABLE tasks (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run         BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    subject_key TEXT COLLATE "C" NOT NULL,
    system      TEXT COLLATE "C" NOT NULL,
    action      TEXT NOT NULL,
    ord         BIGINT NOT NULL,
    state       TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    detail      TEXT,
    updated_at  TEXT NOT NULL,
    lease_node  TEXT,
    lease_until BIGINT,
    UNIQUE (run, subject_key, system, action)
);
CREATE INDEX tasks_open ON tasks (run, subject_key, ord) WHERE state IN ('pending', 'running');
CREATE INDEX tasks_running_by_node ON tasks (lease_node) WHERE state = 'running';

CREATE TABLE requests (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT NOT NULL,
    state            TEXT NOT NULL,
    received_at      TEXT COLLATE "C" NOT NULL,
    due_at           TEXT COLLATE "C" NOT NULL,
    completed_at     TEXT,
    identifiers_json TEXT,
    detail           TEXT,
    extension        TEXT,
    origin           TEXT,
    from_run         BIGINT REFERENCES runs (id),
    from_subject     TEXT COLLATE "C",
    cancel_audited   BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX requests_by_due ON requests (due_at);
CREATE INDEX requests_open_by_due ON requests (due_at) WHERE state IN ('open', 'blocked');
CREATE UNIQUE INDEX requests_from_run ON requests (from_run, from_subject)
    WHERE from_run IS NOT NULL;
CREATE INDEX requests_from_subject ON requests (from_subject) WHERE from_subject IS NOT NULL;

CREATE TABLE request_tasks (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request        BIGINT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    system         TEXT COLLATE "C" NOT NULL,
    action         TEXT NOT NULL,
    ord            BIGINT NOT NULL,
    state          TEXT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    not_before     TEXT COLLATE "C",
    retained_until TEXT,
    legal_basis    TEXT,
    detail         TEXT,
    updated_at     TEXT NOT NULL,
    kept_json      TEXT,
    finished_at    TEXT,
    lease_node     TEXT,
    lease_until    BIGINT
);
CREATE INDEX request_tasks_by_request ON request_tasks (request, ord);
CREATE INDEX request_tasks_by_state ON request_tasks (state, not_before);

CREATE TABLE warnings (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    policy      TEXT COLLATE "C" NOT NULL,
    subject_key TEXT COLLATE "C" NOT NULL,
    run         BIGINT NOT NULL,
    warned_at   TEXT NOT NULL,
    delete_on   TEXT NOT NULL,
    cleared_at  TEXT,
    cleared_why TEXT
);
CREATE UNIQUE INDEX warnings_standing ON warnings (policy, subject_key) WHERE cleared_at IS NULL;
CREATE INDEX warnings_by_subject ON warnings (policy, subject_key, id);

CREATE TABLE notices (
    task          BIGINT PRIMARY KEY REFERENCES request_tasks (id),
    first_sent_at TEXT NOT NULL,
    last_sent_at  TEXT NOT NULL,
    reminders     BIGINT NOT NULL DEFAULT 0,
    escalated_at  TEXT
);

CREATE TABLE tombstones (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system     TEXT COLLATE "C" NOT NULL,
    erased_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    sealed     BYTEA NOT NULL,
    nonce      BYTEA NOT NULL
);
CREATE INDEX tombstones_by_system ON tombstones (system, erased_at);
CREATE INDEX tombstones_by_expiry ON tombstones (expires_at);

CREATE TABLE restore_windows (
    run          BIGINT PRIMARY KEY REFERENCES runs (id),
    policy       TEXT NOT NULL,
    kept_until   TEXT NOT NULL,
    destroyed_at TEXT
);
CREATE TABLE restore_keeps (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run         BIGINT NOT NULL REFERENCES restore_windows (run),
    system      TEXT COLLATE "C" NOT NULL,
    subject_key TEXT COLLATE "C" NOT NULL,
    kept_at     TEXT NOT NULL,
    sealed      BYTEA NOT NULL,
    nonce       BYTEA NOT NULL,
    UNIQUE (run, system, subject_key)
);

CREATE TABLE audit_head (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    file       BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    mac        TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"#;

/// Brings the store's schema (made if missing) up to [`LATEST`], one version per transaction.
/// A schema from a newer gallra is refused untouched.
pub(super) fn migrate(client: &mut Client, ctx: &Ctx, schema: Option<&str>) -> Step<()> {
    let mut from = None;
    loop {
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        if let Some(schema) = schema {
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote(schema)))?;
        }
        tx.batch_execute("CREATE TABLE IF NOT EXISTS gallra_schema (version BIGINT NOT NULL)")?;
        let found: i64 = tx
            .query_opt("SELECT version FROM gallra_schema", &[])?
            .map_or(0, |r| r.get(0));
        from.get_or_insert(found);
        if found > LATEST {
            return Err(StoreError::TooNew {
                path: ctx.database.clone().into(),
                found,
                known: LATEST,
            }
            .into());
        }
        if found == LATEST {
            tx.commit()?;
            break;
        }
        let (version, sql) = match found {
            0 => (BASE_VERSION, BASE),
            _ => (found + 1, STEPS[(found - BASE_VERSION) as usize]),
        };
        tx.batch_execute(sql)?;
        tx.execute("DELETE FROM gallra_schema", &[])?;
        tx.execute(
            "INSERT INTO gallra_schema (version) VALUES ($1)",
            &[&version],
        )?;
        tx.commit()?;
    }
    match from {
        Some(0) => {
            tracing::info!(database = %ctx.database, version = LATEST, "state store created")
        }
        Some(from) if from < LATEST => {
            tracing::info!(database = %ctx.database, from, to = LATEST, "state store upgraded")
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_backends_know_the_same_latest_version() {
        assert_eq!(super::LATEST, crate::migrations::LATEST);
    }
}
