//! Carrying policies out: scanning, recording decisions, running tasks. The runner does the
//! I/O; every decision comes from [`crate::policy`].

mod approval;
mod enforce;
mod execute;
mod facts;
mod handover;
mod history;
mod plan;
mod progress;
mod recheck;
mod records;
mod report;
mod rounds;
mod scan;
mod shared;
mod warnings;

pub use crate::context::Context;
pub use approval::{approve, ApproveError};
pub use enforce::{resume_open_runs, resume_policy_run, run_policy, state_name};
pub use handover::hands_over;
pub use plan::plan_policy;
pub use progress::Progress;
pub use report::{PlanOutcome, PolicyPlan, RunReport, SystemPlan, TaskCounts};
pub use scan::PAGE_SIZE;
pub use shared::work_shared_runs;
pub use warnings::WARNING_PLACEHOLDERS;

use crate::plugins::CallError;
use crate::store::StoreError;

/// Why a run stopped. None of these leave anything half-deleted: a scan error stops before
/// any task exists, and a task error leaves the task pending or failed for the next run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The state store failed; gallra cannot record what it does, so it does nothing.
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    /// A system the policy needs could not be opened.
    #[error("system \"{system}\" is unavailable: {why}")]
    SystemUnavailable {
        /// The system.
        system: String,
        /// Why.
        why: String,
    },
    /// Reading the account source failed; nothing is deleted in this run.
    #[error("scan of the account source failed, so nothing was deleted: {0}")]
    Scan(CallError),
    /// The account source gave pages that cannot be trusted; nothing is deleted in this run.
    #[error("scan of system \"{system}\" looks broken ({why}), so nothing was deleted")]
    BrokenScan {
        /// The system.
        system: String,
        /// What was wrong with its pages.
        why: String,
    },
    /// A record-retention call failed.
    #[error("{0}")]
    Call(CallError),
    /// The audit log cannot be written: the run stops before erasing what it could not
    /// record, and leaves the tasks it has not recorded to the next run.
    #[error("{0}")]
    Audit(#[from] crate::audit::AuditUnavailable),
    /// Another daemon sharing the state store leads the scheduler now: this one erases
    /// nothing more of the run (the leader takes it up), so that one process decides.
    #[error("another daemon leads the scheduler now (this one lost its lease: a stall, or the state store out of reach); it takes this run up, and this daemon erases nothing of it")]
    NotLeader,
    /// A bug in gallra.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RunError {
    /// Whether the run stopped only because the state store could not be reached for a
    /// moment (a PostgreSQL server restarting): its work is in the store, and resuming it
    /// once the store answers again carries it on.
    pub fn is_transient(&self) -> bool {
        matches!(self, RunError::Store(error) if error.is_transient())
    }
}
