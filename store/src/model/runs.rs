//! What a policy run is, as the store records it: the run, its decisions and its tasks.

use std::fmt;

use gallra_core::named_enum;

use gallra_plugin_api::{Identifier, ResumeToken};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

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

pub use gallra_core::task::TaskState;

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
    /// The subject's identifiers, which the tasks need to find them in each system (or, for a
    /// subject due a warning, its email address). Personal data: the daemon passes them only
    /// when `selected` or due a warning, and [`Store::forget_identifiers`] drops them.
    ///
    /// [`Store::forget_identifiers`]: crate::Store::forget_identifiers
    pub identifiers: Vec<Identifier>,
}

/// Which of a run's decisions [`Store::decisions`](crate::Store::decisions) reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionFilter {
    /// The selected ones: the subjects the run acts on.
    Selected,
    /// Those still due a warning (reason `warning_due`), with the address held for them.
    WarningDue,
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
    /// How many times an outcome was recorded with [`Store::finish_tasks_and_bury`](crate::Store::finish_tasks_and_bury).
    pub attempts: u32,
    /// The last outcome in words (an error, a legal basis), for a person.
    pub detail: Option<String>,
    /// The identifiers from the run's decision for this subject; empty if there is none.
    pub identifiers: Vec<Identifier>,
    /// The latest resume token kept ([`Store::keep_resume_tokens`](crate::Store::keep_resume_tokens))
    /// by a task of this subject in this system, this one or an earlier run's: a deletion a
    /// connector had under way, for its next erase to check.
    pub resume: Option<ResumeToken>,
    /// When the task last changed.
    pub updated_at: Timestamp,
}
