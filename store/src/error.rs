//! Why a store call failed.

use std::path::PathBuf;

use crate::model::requests::{RequestId, RequestTaskId};
use crate::model::runs::{RunId, TaskId};

/// Why a store call failed. Messages name the database and the remedy, never personal data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The state directory does not exist and could not be made.
    #[error("cannot create state directory {path}: {source} (is its parent writable by the user gallra runs as?)")]
    CreateDir {
        /// The state directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The database file could not be created or opened.
    #[error("cannot open state database {path}: {source} (is the state directory writable by the user gallra runs as? disk full?)")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The file that should hold the PostgreSQL store's URL (`[state_store] url_file`)
    /// cannot be read or is empty.
    #[error("[state_store] url_file {path}: {why}: write the database's URL in it (one line, e.g. postgres://gallra@db.example/gallra), mode 0600, readable by the user gallra runs as")]
    UrlFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never its contents).
        why: String,
    },
    /// The database was written by a newer gallra.
    #[error("state database {path} has schema version {found}, but this gallra knows only up to {known} (it was written by a newer gallra: run that version, or restore the state directory from a backup made by this one)")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The version in the file.
        found: i64,
        /// The newest version this binary knows.
        known: i64,
    },
    /// A schema migration failed; the database is left at the previous version.
    #[error("cannot upgrade state database {path} to schema version {version}: {source} (is the state directory writable? disk full? the database is unchanged at the previous version)")]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The version being applied.
        version: i64,
        /// What failed.
        source: rusqlite::Error,
    },
    /// The schedule slot already has a run.
    #[error("this policy already has run {run} for that scheduled time")]
    RunExists {
        /// The existing run.
        run: RunId,
    },
    /// No run with this id.
    #[error("state database {path} has no run {run} (was the state directory replaced?)")]
    NoSuchRun {
        /// The database file.
        path: PathBuf,
        /// The id asked for.
        run: RunId,
    },
    /// No task with this id.
    #[error("state database {path} has no task {task} (was the state directory replaced?)")]
    NoSuchTask {
        /// The database file.
        path: PathBuf,
        /// The id asked for.
        task: TaskId,
    },
    /// Identifiers cannot be forgotten while tasks still need them.
    #[error("run {run} still has {open} pending or running tasks, which need the identifiers; finish or abandon them first")]
    TasksOpen {
        /// The run.
        run: RunId,
        /// How many of its tasks are not final.
        open: u64,
    },
    /// No request with this id.
    #[error("state database {path} has no request {request} (was the state directory replaced?)")]
    NoSuchRequest {
        /// The database file.
        path: PathBuf,
        /// The id asked for.
        request: RequestId,
    },
    /// No request task with this id.
    #[error(
        "state database {path} has no request task {task} (was the state directory replaced?)"
    )]
    NoSuchRequestTask {
        /// The database file.
        path: PathBuf,
        /// The id asked for.
        task: RequestTaskId,
    },
    /// The request was cancelled: nothing more is recorded for it (a step under way when
    /// the cancel came leaves its outcome in the audit log only).
    #[error("request {request} was cancelled; nothing more is recorded for it")]
    RequestCancelled {
        /// The request.
        request: RequestId,
    },
    /// A request's identifiers cannot be forgotten while its tasks still need them.
    #[error("request {request} still has {open} tasks that need its identifiers (pending, running, waiting for a person, or retained under a hold that has not ended); finish or cancel them first")]
    RequestTasksOpen {
        /// The request.
        request: RequestId,
        /// How many of its tasks still need the identifiers.
        open: u64,
    },
    /// A value in the database cannot be read.
    #[error("state database {path} holds a value this gallra cannot read: {source} (was it edited by hand or written by a newer gallra? restore the state directory from a backup)")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What could not be read. Never contains personal data.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A PostgreSQL state store failed: the server, the connection, or a statement.
    #[error("PostgreSQL state store {database}: {reason} ({check})")]
    Postgres {
        /// The server and database, as `host:port/dbname` and the schema; never the password.
        database: String,
        /// What failed. The server's message only where it names objects, never where it
        /// could quote a value (personal data).
        reason: String,
        /// What to check.
        check: &'static str,
    },
    /// A PostgreSQL state store could not be reached: the server is down or restarting, or
    /// the connection broke. Nothing was changed; the next call connects anew, so the caller
    /// may try again after a pause ([`StoreError::is_transient`]).
    #[error("PostgreSQL state store {database} cannot be reached: {reason} (is the server running and reachable? gallra tries again)")]
    Unreachable {
        /// The server and database; never the password.
        database: String,
        /// What failed (the connection's error, no data).
        reason: String,
    },
    /// A SQLite state cannot be copied into a PostgreSQL store (`gallra state
    /// copy-to-postgresql`); neither was changed.
    #[error("cannot copy the SQLite state {from} into the PostgreSQL store {to}: {why}")]
    Copy {
        /// The SQLite database file.
        from: PathBuf,
        /// The PostgreSQL store, as `host:port/dbname` and the schema; never the password.
        to: String,
        /// Why, and what to do. Names tables and columns, never a value.
        why: String,
    },
    /// Any other database failure.
    #[error("state database {path}: {source} (is the state directory writable? disk full? another gallra using the same state directory?)")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Whether the same call may succeed if tried again after a pause with nothing else
    /// done: the database could not be reached (a PostgreSQL server restarting). A service
    /// waits and goes on rather than stopping.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unreachable { .. })
    }
}
