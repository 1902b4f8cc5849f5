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
mod scan;
mod warnings;

use std::sync::Arc;

pub use approval::{approve, ApproveError};
pub use enforce::{resume_open_runs, run_policy, state_name};
pub use execute::erasure_subject;
pub use handover::hands_over;
pub use plan::plan_policy;
pub use progress::Progress;
pub use report::{PlanOutcome, PolicyPlan, RunReport, SystemPlan, TaskCounts};
pub use scan::PAGE_SIZE;
pub use warnings::WARNING_PLACEHOLDERS;

use crate::config::Config;
use crate::plugins::{CallError, Systems};
use crate::store::StoreError;

/// What a run or a plan works with.
#[derive(Clone)]
pub struct Context {
    /// The configuration.
    pub config: Arc<Config>,
    /// The opened systems.
    pub systems: Arc<Systems>,
    /// Whether to draw progress bars (on a terminal).
    pub progress: bool,
    /// The audit log, where what is done is recorded before it is done. `None` only for
    /// `plan`, which does nothing; a run or a request step that would act refuses without it
    /// ([`Context::audit_log`]).
    pub audit: Option<Arc<crate::audit::AuditLog>>,
}

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
    /// A bug in gallra.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Context {
    /// The audit log, or why there is none: nothing is erased without one.
    pub fn audit_log(
        &self,
    ) -> Result<&Arc<crate::audit::AuditLog>, crate::audit::AuditUnavailable> {
        self.audit
            .as_ref()
            .ok_or_else(|| crate::audit::AuditUnavailable::not_open(&self.config.state_dir))
    }

    /// Appends entries to the audit log (one write, one fsync), or says why it could not.
    pub fn write_audit(
        &self,
        entries: &[crate::audit::NewEntry],
    ) -> Result<(), crate::audit::AuditUnavailable> {
        crate::audit::write(self.audit_log()?, entries)
    }
}
