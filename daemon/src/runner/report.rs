//! What `gallra plan` and `gallra run` report, for people and (as JSON) for scripts.
//! Subjects appear by their account-source key only, never by identifier.

use std::collections::BTreeMap;

use serde::Serialize;

/// The plan of one policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyPlan {
    /// The policy's name.
    pub policy: String,
    /// `inactivity`, `retention` or `record_retention`.
    pub kind: &'static str,
    /// `report` or `enforce`.
    pub mode: &'static str,
    /// The instant the plan was made for.
    pub at: String,
    /// What a run would do.
    #[serde(flatten)]
    pub outcome: PlanOutcome,
}

/// What a run of a policy would do.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PlanOutcome {
    /// A subject-level policy.
    Subjects {
        /// Subjects scanned.
        scanned: u64,
        /// Subjects selected.
        selected: u64,
        /// How many subjects each reason applies to.
        reasons: BTreeMap<&'static str, u64>,
        /// Per system: how many selected subjects it holds data about.
        systems: Vec<SystemPlan>,
        /// The account-source keys of the selected subjects.
        selected_keys: Vec<String>,
        /// Set when a safety valve would stop the run.
        safety: Option<String>,
    },
    /// A record-level policy.
    Records {
        /// The system.
        system: String,
        /// The record kind.
        records: String,
        /// Records whose clock started before this are past their deadline.
        cutoff: String,
        /// How many records are past it.
        matched: u64,
        /// Set when a safety valve would stop the run.
        safety: Option<String>,
    },
    /// The plan could not be made; a run would delete nothing.
    Failed {
        /// Why.
        error: String,
    },
}

/// One system in a subject-level plan.
#[derive(Debug, Clone, Serialize)]
pub struct SystemPlan {
    /// The system.
    pub system: String,
    /// Who erases there: `run`, or a request the run files per subject (`request (manual)`,
    /// `request (notify)`, `request (legal hold)`).
    pub handled_by: &'static str,
    /// Selected subjects it holds records about; `None` where no connector can be asked.
    pub subjects_with_data: Option<u64>,
    /// Selected subjects it could not be asked about.
    pub lookup_errors: u64,
}

/// What one run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The policy.
    pub policy: String,
    /// The run's id in the state store (for `gallra approve`).
    pub run: i64,
    /// `reported`, `awaiting_approval`, `done`, `failed`.
    pub state: String,
    /// Subjects scanned (or records matched, for record retention).
    pub scanned: u64,
    /// Subjects selected (or records past their deadline).
    pub selected: u64,
    /// How many subjects each reason applies to.
    pub reasons: BTreeMap<&'static str, u64>,
    /// Per system, what its tasks came to.
    pub tasks: BTreeMap<String, TaskCounts>,
    /// Why the run stopped or failed, if it did.
    pub detail: Option<String>,
}

/// Task outcomes on one system.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct TaskCounts {
    /// Erased (or records removed).
    pub done: u64,
    /// Kept, with a reason (legal hold).
    pub retained: u64,
    /// Not erased: the decision made again just before the erase keeps the subject.
    pub kept: u64,
    /// Not attempted or refused; they run again.
    pub blocked: u64,
    /// Failed.
    pub failed: u64,
}

impl TaskCounts {
    /// Every task counted, whatever its outcome.
    pub fn total(&self) -> u64 {
        self.done + self.retained + self.kept + self.blocked + self.failed
    }
}
