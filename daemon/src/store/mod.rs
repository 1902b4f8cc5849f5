//! Durable state: runs, their decisions and the tasks that carry them out.
//!
//! All work is written here before it is acted on, so that a crash at any point loses nothing:
//! on start the daemon asks for [`Store::runs_in_state`] and [`Store::pending_tasks`] and
//! resumes. The store is synchronous; the runner calls it from blocking threads.
//!
//! [`Store`] is the narrow interface the rest of gallra sees, so that a PostgreSQL backend can
//! be added beside [`SqliteStore`] without touching its callers.
//!
//! The one thing to watch out for: decisions of selected subjects hold their identifiers, which
//! are personal data. Call [`Store::forget_identifiers`] as soon as every task of a run is final.

mod audit_head;
mod migrations;
mod requests;
mod sqlite;
mod warnings;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use gallra_plugin_api::Identifier;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::requests::{RequestId, RequestTaskId};

pub use audit_head::{AuditHead, AuditHeadStore};
pub use requests::{Cancel, NoticeRecord, RequestStore};
pub use sqlite::{read_audit_head, SqliteStore};
pub use warnings::{ClearWhy, WarningRecord, WarningStore};

/// The result of every store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Identifies one run of one policy. Never reused, so it is safe to cite in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

/// Identifies one task. Never reused, so it is safe to cite in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Gives a fieldless enum its stored name (`as_str`, `FromStr`, `Display`), so the text in the
/// database, in JSON and in messages is one spelling.
macro_rules! named_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The name stored in the database and used in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(UnknownName { of: stringify!($ty), name: s.to_owned() }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A name that is not one of an enum's stored names (e.g. a database written by a newer gallra).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a known {of}")]
pub struct UnknownName {
    /// The type that was being read, e.g. `TaskState`.
    pub of: &'static str,
    /// The text found.
    pub name: String,
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Scanning subjects and recording decisions.
    Planning,
    /// Finished in report mode: decisions recorded, nothing acted on.
    Reported,
    /// A safety valve tripped: nothing is done until a person runs `gallra approve`.
    AwaitingApproval,
    /// Approved by a person; enforcement may start.
    Approved,
    /// Tasks are being carried out.
    Enforcing,
    /// Every task is final.
    Done,
    /// The run could not complete; `detail` says why.
    Failed,
    /// Given up on (e.g. never approved); its tasks will not run.
    Abandoned,
}

named_enum!(RunState {
    Planning => "planning",
    Reported => "reported",
    AwaitingApproval => "awaiting_approval",
    Approved => "approved",
    Enforcing => "enforcing",
    Done => "done",
    Failed => "failed",
    Abandoned => "abandoned",
});

impl RunState {
    /// Whether the run has ended: nothing more will happen to it. Ending sets `finished_at`.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Reported | Self::Done | Self::Failed | Self::Abandoned
        )
    }
}

/// Where a task is in its life: pending → running → one of the final states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Not started yet.
    Pending,
    /// Handed to a connector. Found in this state at start-up, it was interrupted.
    Running,
    /// Carried out (erasing what was already gone counts).
    Done,
    /// Kept on purpose; `detail` names the legal basis and until when.
    Retained,
    /// Cannot be done yet; `detail` says why (e.g. an active service).
    Blocked,
    /// Gave up after retries; `detail` holds the last error.
    Failed,
    /// A person must act and confirm.
    NeedsPerson,
    /// Not carried out: the decision made again just before the erase keeps the subject
    /// (a login, a new service or a debt since the plan); `detail` says why. Final: the
    /// next run decides about the subject afresh.
    Kept,
}

named_enum!(TaskState {
    Pending => "pending",
    Running => "running",
    Done => "done",
    Retained => "retained",
    Blocked => "blocked",
    Failed => "failed",
    NeedsPerson => "needs_person",
    Kept => "kept",
});

impl TaskState {
    /// Whether the runner is finished with the task: everything except pending and running.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

/// What a task does in its system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Remove the subject's data.
    Erase,
    /// Replace the subject's personal data, keeping the records.
    Anonymize,
    /// Remove records of a kind whose own retention clock ran out.
    Expire,
}

named_enum!(Action {
    Erase => "erase",
    Anonymize => "anonymize",
    Expire => "expire",
});

/// One run of one policy for one scheduled time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The run.
    pub id: RunId,
    /// The policy's name.
    pub policy: String,
    /// `report` or `enforce`, as configured when the run began.
    pub mode: String,
    /// The schedule slot this run serves; a slot is run at most once.
    pub scheduled_for: Timestamp,
    /// Where the run is.
    pub state: RunState,
    /// When the run began.
    pub started_at: Timestamp,
    /// When the run reached a final state.
    pub finished_at: Option<Timestamp>,
    /// Subjects looked at.
    pub scanned: u64,
    /// Subjects selected for action.
    pub selected: u64,
    /// Why the run is in its state (a tripped safety valve, an error), for a person.
    pub detail: Option<String>,
}

/// What a policy decided about one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The subject's key in the account source.
    pub subject_key: String,
    /// Whether the subject is to be acted on.
    pub selected: bool,
    /// Why, as a code: `inactive`, `active_services`, `unpaid_invoices`, …
    pub reason: String,
    /// The subject's identifiers, which the tasks need to find them in each system. Personal
    /// data: stored only when `selected`, and dropped by [`Store::forget_identifiers`].
    pub identifiers: Vec<Identifier>,
}

/// A task to create on its own, e.g. record retention's single expire task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// The subject (or, for record retention, the record kind) the task is about.
    pub subject_key: String,
    /// The system it acts on.
    pub system: String,
    /// What it does.
    pub action: Action,
    /// Lower runs first among one subject's tasks.
    pub order: u32,
}

/// One task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// The task.
    pub id: TaskId,
    /// The run it belongs to.
    pub run: RunId,
    /// The subject it is about.
    pub subject_key: String,
    /// The system it acts on.
    pub system: String,
    /// What it does.
    pub action: Action,
    /// Lower runs first among one subject's tasks.
    pub order: u32,
    /// Where it is.
    pub state: TaskState,
    /// How many times an outcome was recorded with [`Store::finish_task`].
    pub attempts: u32,
    /// The last outcome in words (an error, a legal basis), for a person.
    pub detail: Option<String>,
    /// The identifiers from the run's decision for this subject; empty if there is none.
    pub identifiers: Vec<Identifier>,
    /// When the task last changed.
    pub updated_at: Timestamp,
}

/// The state store. Every method is one atomic step: it happens entirely or not at all.
/// A run's warnings ([`WarningStore`]) are part of it.
pub trait Store: WarningStore + TombstoneStore + RestoreStore + Send + Sync {
    /// Starts a run of `policy` for the schedule slot `scheduled_for`, in state
    /// [`RunState::Planning`]. A slot that already has a run gives [`StoreError::RunExists`],
    /// so that no slot is run twice.
    fn begin_run(
        &self,
        policy: &str,
        mode: &str,
        scheduled_for: Timestamp,
        now: Timestamp,
    ) -> Result<RunId>;

    /// Records a batch of decisions in one transaction. Recording a subject again replaces its
    /// decision (a planning run resumed after a crash may see a subject twice).
    fn record_decisions(&self, run: RunId, decisions: &[Decision]) -> Result<()>;

    /// Moves a run to `state` with its counts. A final state sets `finished_at` to `now`.
    fn set_run_state(
        &self,
        run: RunId,
        state: RunState,
        scanned: u64,
        selected: u64,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<()>;

    /// Creates one pending task per selected decision and system, in one transaction. Tasks
    /// that exist already are left alone, so calling it again is harmless. Returns how many
    /// tasks were created.
    fn create_tasks_for_selected(
        &self,
        run: RunId,
        systems: &[(String, Action, u32)],
    ) -> Result<u64>;

    /// Files one erasure request per subject the run selected, with `tasks` (the systems the
    /// run does not erase itself), in one transaction, due at `due_at` and marked as coming
    /// from `origin` (e.g. "policy inactive, run 12"). A subject filed for already is left
    /// alone, so calling it again (a resumed run) files none twice. Returns how many requests
    /// were filed now.
    fn file_requests_for_selected(
        &self,
        run: RunId,
        origin: &str,
        received_at: Timestamp,
        due_at: Timestamp,
        tasks: &[crate::requests::NewRequestTask],
    ) -> Result<u64>;

    /// Creates one pending task. If the same (subject, system, action) exists in the run
    /// already, returns that task instead of making a second one.
    fn create_task(&self, run: RunId, task: &NewTask) -> Result<TaskId>;

    /// Marks tasks as handed to a connector, in one transaction. Tasks already final are left
    /// alone. Returns how many were marked.
    fn start_tasks(&self, tasks: &[TaskId], now: Timestamp) -> Result<u64>;

    /// Puts running tasks back to pending, in one transaction: they were marked started but
    /// no connector was called (the audit log could not record the attempt). Tasks in any
    /// other state are left alone. Returns how many were put back.
    fn release_tasks(&self, tasks: &[TaskId], now: Timestamp) -> Result<u64>;

    /// Up to `limit` tasks of the run that are pending or running (a running one was
    /// interrupted; every action is idempotent, so it is safe to repeat), ordered by
    /// (subject_key, order).
    fn pending_tasks(&self, run: RunId, limit: usize) -> Result<Vec<TaskRecord>>;

    /// Records the outcome of one attempt: sets the state and detail, counts the attempt.
    fn finish_task(
        &self,
        task: TaskId,
        state: TaskState,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<()>;

    /// [`Store::finish_task`] for many tasks in one transaction.
    fn finish_tasks(
        &self,
        updates: &[(TaskId, TaskState, Option<String>)],
        now: Timestamp,
    ) -> Result<()> {
        self.finish_tasks_and_bury(updates, &[], now)
    }

    /// [`Store::finish_tasks`], writing the erasures' tombstones in the same transaction: a
    /// crash loses both or neither.
    fn finish_tasks_and_bury(
        &self,
        updates: &[(TaskId, TaskState, Option<String>)],
        tombstones: &[NewTombstone],
        now: Timestamp,
    ) -> Result<()>;

    /// One run, if it exists.
    fn run(&self, run: RunId) -> Result<Option<RunRecord>>;

    /// Every run in one of `states`, oldest first (e.g. the runs to resume at start-up).
    fn runs_in_state(&self, states: &[RunState]) -> Result<Vec<RunRecord>>;

    /// The latest `limit` runs, of one policy or of all, newest first.
    fn recent_runs(&self, policy: Option<&str>, limit: usize) -> Result<Vec<RunRecord>>;

    /// Up to `limit` selected decisions with a subject key after `after_key`, in key order.
    fn selected_decisions(
        &self,
        run: RunId,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Decision>>;

    /// Takes subjects out of a run's selection before its tasks and requests exist: each
    /// `(subject key, reason code)` becomes unselected with that reason, and its identifiers
    /// are forgotten. Subjects that already have tasks keep them (each is decided again
    /// before it is erased).
    fn deselect(&self, run: RunId, subjects: &[(String, String)]) -> Result<()>;

    /// How many decisions the run has per (reason, selected).
    fn decision_counts(&self, run: RunId) -> Result<Vec<(String, bool, u64)>>;

    /// How many tasks the run has per (system, state).
    fn task_counts(&self, run: RunId) -> Result<Vec<(String, TaskState, u64)>>;

    /// Drops the identifiers (personal data) of the run's decisions. Refused with
    /// [`StoreError::TasksOpen`] while a task of the run is pending or running, since that task
    /// could no longer find its subject.
    fn forget_identifiers(&self, run: RunId) -> Result<()>;
}

/// A tombstone to write: an erasure in `system`, the subject sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTombstone {
    /// The system erased from.
    pub system: String,
    /// When.
    pub erased_at: Timestamp,
    /// When the system's last backup holding the subject is gone: the tombstone goes then.
    pub expires_at: Timestamp,
    /// The identifiers as the connector was asked, encrypted.
    pub sealed: crate::tombstones::Sealed,
}

/// A stored tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TombstoneRecord {
    /// Its number.
    pub id: i64,
    /// What was written.
    pub tombstone: NewTombstone,
}

/// Tombstones of erasures (see [`crate::tombstones`]). The identifiers are stored only
/// encrypted.
pub trait TombstoneStore: Send + Sync {
    /// Writes tombstones in one transaction.
    fn bury(&self, tombstones: &[NewTombstone]) -> Result<()>;

    /// The tombstones of `system` from erasures at or after `since`, oldest first.
    fn tombstones_since(&self, system: &str, since: Timestamp) -> Result<Vec<TombstoneRecord>>;

    /// Deletes the tombstones expired at `now`; returns how many.
    fn prune_tombstones(&self, now: Timestamp) -> Result<u64>;

    /// Sets what makes tombstones for the erasures this store records (the key and each
    /// system's backup retention). Set once per process, when the configuration is known.
    fn keep_tombstones_with(&self, keeper: crate::tombstones::Keeper);

    /// What makes tombstones, if set.
    fn tombstone_keeper(&self) -> Option<crate::tombstones::Keeper>;
}

/// A run's restore window (see [`crate::restore`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreWindow {
    /// The run.
    pub run: RunId,
    /// Its policy.
    pub policy: String,
    /// When the window ends and the run's key is destroyed.
    pub kept_until: Timestamp,
    /// When the key was destroyed and the kept data deleted; `None` while the window is open.
    pub destroyed_at: Option<Timestamp>,
}

/// What was kept of one subject in one system before a run erased it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreKeep {
    /// The run.
    pub run: RunId,
    /// The system erased from.
    pub system: String,
    /// The subject's key in the run (as its tasks name it).
    pub subject_key: String,
    /// When it was kept.
    pub kept_at: Timestamp,
    /// The system's export of the subject, encrypted under the run's key.
    pub sealed: crate::tombstones::Sealed,
}

/// The restore window's records (see [`crate::restore`]). What was kept is stored only
/// encrypted, and never with its key.
pub trait RestoreStore: Send + Sync {
    /// Records that `run` keeps what it erases until `kept_until`; a window already recorded
    /// for the run is left as it is. Returns the run's window as stored.
    fn open_restore_window(
        &self,
        run: RunId,
        policy: &str,
        kept_until: Timestamp,
    ) -> Result<RestoreWindow>;

    /// The run's window, if it has one.
    fn restore_window(&self, run: RunId) -> Result<Option<RestoreWindow>>;

    /// Whether the subject's data in `system` is already kept for `run`.
    fn is_kept(&self, run: RunId, system: &str, subject_key: &str) -> Result<bool>;

    /// Stores what was kept; one already stored for the same run, system and subject is left
    /// as it is (a repeated erase finds less than the first did).
    fn keep(&self, keep: &RestoreKeep) -> Result<()>;

    /// What was kept for `run`, optionally in one system only, in system and subject order.
    fn kept(&self, run: RunId, system: Option<&str>) -> Result<Vec<RestoreKeep>>;

    /// Windows that ended at or before `now` and whose key is not yet recorded destroyed.
    fn ended_restore_windows(&self, now: Timestamp) -> Result<Vec<RestoreWindow>>;

    /// Deletes what was kept for `run` and records its window destroyed at `now`.
    fn destroy_restore_window(&self, run: RunId, now: Timestamp) -> Result<()>;
}

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
    /// Any other database failure.
    #[error("state database {path}: {source} (is the state directory writable? disk full? another gallra using the same state directory?)")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_and_action_reads_back_from_its_stored_name() {
        for s in RunState::ALL {
            assert_eq!(s.as_str().parse::<RunState>(), Ok(*s));
        }
        for s in TaskState::ALL {
            assert_eq!(s.as_str().parse::<TaskState>(), Ok(*s));
        }
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(*a));
        }
        assert!("sleeping".parse::<TaskState>().is_err());
    }

    #[test]
    fn stored_names_match_the_json_names() {
        let json = serde_json::to_string(&RunState::AwaitingApproval).unwrap();
        assert_eq!(json, format!("\"{}\"", RunState::AwaitingApproval.as_str()));
        let json = serde_json::to_string(&TaskState::NeedsPerson).unwrap();
        assert_eq!(json, format!("\"{}\"", TaskState::NeedsPerson.as_str()));
    }
}
