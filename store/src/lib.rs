//! gallra's state store: runs, their decisions and tasks, data subjects' requests, warnings,
//! tombstones, restore windows and the audit log's head.
//!
//! All work is written here before it is acted on, so that a crash at any point loses nothing:
//! on start the daemon asks for [`Store::runs_in_state`] and [`Store::pending_tasks`] and
//! resumes. The store is synchronous; the runner calls it from blocking threads.
//!
//! What belongs here: the narrow store traits ([`Store`] and its siblings, together
//! [`Backend`]), the plain records they read and write ([`model`]), their backends
//! ([`SqliteStore`], [`PostgresStore`]) with their migrations, and, behind the `conformance`
//! feature, the suite every backend must pass. What does not: any rule that decides policy (who is selected, when
//! a request is due, what a request's state follows from). Those live in `gallra-core` and the
//! daemon; the store only records what they decided, atomically.
//!
//! ```
//! use gallra_store::{RunState, SqliteStore, Store};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteStore::open(dir.path()).unwrap();
//! let slot: jiff::Timestamp = "2026-01-01T03:00:00Z".parse().unwrap();
//! let run = store.begin_run("inactive", "report", slot, slot).unwrap();
//! assert_eq!(store.run(run).unwrap().unwrap().state, RunState::Planning);
//! ```
//!
//! The one thing to watch out for: decisions of selected subjects and requests hold their
//! subjects' identifiers, which are personal data. Call [`Store::forget_identifiers`] and
//! [`RequestStore::forget_request_identifiers`] as soon as no task needs them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit_head;
mod columns;
mod error;
mod lease;
mod migrations;
pub mod model;
mod postgres;
mod requests;
mod restore;
mod runs;
mod sqlite;
mod tombstones;
mod warnings;

// Also in the crate's own unit tests, which borrow its fixtures.
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use audit_head::{AuditHead, AuditHeadStore};
pub use error::StoreError;
pub use lease::{LeaderStore, LeaseStore};
pub use model::lease::{now_secs, Lease, DEFAULT_LEASE};
pub use model::requests::{
    NewRequestTask, RequestAction, RequestId, RequestKind, RequestRecord, RequestState,
    RequestTask, RequestTaskId, TaskUpdate,
};
pub use model::runs::{
    Action, Decision, DecisionFilter, NewTask, RunId, RunRecord, RunState, TaskId, TaskRecord,
    TaskState,
};
pub use model::sealed::Sealed;
pub use model::UnknownName;
pub use postgres::copy::{copy_sqlite_state, CopyReport, TableCopied};
pub use postgres::PostgresStore;
pub use requests::{Cancel, NoticeRecord, RequestStore};
pub use restore::{RestoreKeep, RestoreStore, RestoreWindow};
pub use runs::Store;
pub use sqlite::SqliteStore;
pub use tombstones::{NewTombstone, TombstoneRecord, TombstoneStore};
pub use warnings::{ClearWhy, WarningRecord, WarningStore};

/// The result of every store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything a backend implements: the whole state store, as the daemon uses it.
pub trait Backend: Store + RequestStore + AuditHeadStore + LeaderStore {}

impl<T: Store + RequestStore + AuditHeadStore + LeaderStore + ?Sized> Backend for T {}
