//! How long a run stopped by a safety valve may be approved and carried out, and which one.
//!
//! A plan describes the world when it was made. A run that waits for a person goes stale: the
//! customers it selected log in, buy services, move mailboxes. So only the newest waiting run
//! of a policy can be approved (a newer run supersedes the older ones), and only within
//! `approval_valid_for` of its plan; a run that expires or is superseded is abandoned and
//! forgets the identifiers it kept. (Whatever is approved is still decided again, subject by
//! subject, just before each erase: see `recheck`.)

use jiff::Timestamp;

use crate::config::Config;
use crate::store::{RunId, RunRecord, RunState, Store, StoreError};

/// Why a run cannot be approved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApproveError {
    /// There is no such run.
    #[error("no run {0} (see `gallra runs`)")]
    NoSuchRun(i64),
    /// The run is not waiting for approval.
    #[error("run {run} is {state}, not awaiting approval; nothing to approve{why}")]
    NotWaiting {
        /// The run.
        run: i64,
        /// Its state.
        state: &'static str,
        /// Why it ended, if it said (e.g. superseded or expired), with a leading "; ".
        why: String,
    },
    /// A newer run of the same policy replaced it.
    #[error("run {run} was superseded by run {newer} of the same policy; approve that one (see `gallra runs`)")]
    Superseded {
        /// The run.
        run: i64,
        /// The newer run.
        newer: i64,
    },
    /// Its plan is older than `approval_valid_for`.
    #[error("run {run}'s plan is older than approval_valid_for = \"{valid_for}\"; it has expired. Run the policy again (`gallra run --once`) and approve the new run if it still stops")]
    Expired {
        /// The run.
        run: i64,
        /// The configured validity.
        valid_for: String,
    },
    /// The state store failed.
    #[error("state store: {0}")]
    Store(String),
}

impl From<StoreError> for ApproveError {
    fn from(error: StoreError) -> Self {
        Self::Store(error.to_string())
    }
}

/// Whether `run`'s plan is still young enough to act on at `now`.
pub fn fresh(config: &Config, run: &RunRecord, now: Timestamp) -> bool {
    let Some(policy) = config.policies.get(&run.policy) else {
        return false;
    };
    let planned = run.started_at.to_zoned(config.time_zone.clone());
    now <= policy.approval_valid_for.after(&planned).timestamp()
}

/// Marks `run` approved, if it is the newest waiting run of its policy and its plan is fresh.
pub fn approve(
    config: &Config,
    store: &dyn Store,
    run: RunId,
    now: Timestamp,
) -> Result<RunRecord, ApproveError> {
    let record = store.run(run)?.ok_or(ApproveError::NoSuchRun(run.0))?;
    if record.state != RunState::AwaitingApproval {
        return Err(ApproveError::NotWaiting {
            run: run.0,
            state: super::state_name(record.state),
            why: record
                .detail
                .as_deref()
                .map(|d| format!("; {d}"))
                .unwrap_or_default(),
        });
    }
    if let Some(newer) = newest_waiting(store, &record.policy)?.filter(|n| n.id != run) {
        return Err(ApproveError::Superseded {
            run: run.0,
            newer: newer.id.0,
        });
    }
    if !fresh(config, &record, now) {
        let valid_for = config
            .policies
            .get(&record.policy)
            .map(|p| p.approval_valid_for.as_str().to_owned())
            .unwrap_or_default();
        return Err(ApproveError::Expired {
            run: run.0,
            valid_for,
        });
    }
    store.set_run_state(
        run,
        RunState::Approved,
        record.scanned,
        record.selected,
        Some("approved"),
        now,
    )?;
    Ok(record)
}

fn newest_waiting(store: &dyn Store, policy: &str) -> Result<Option<RunRecord>, StoreError> {
    Ok(store
        .runs_in_state(&[RunState::AwaitingApproval, RunState::Approved])?
        .into_iter()
        .filter(|r| r.policy == policy)
        .max_by_key(|r| r.id.0))
}

/// Abandons the runs of `policy` older than `newer` that still wait for, or hold, an
/// approval: the newer plan replaces theirs. Their identifiers are forgotten.
pub fn supersede(
    store: &dyn Store,
    policy: &str,
    newer: RunId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let older = store
        .runs_in_state(&[RunState::AwaitingApproval, RunState::Approved])?
        .into_iter()
        .filter(|r| r.policy == policy && r.id.0 < newer.0);
    for run in older {
        let detail = format!(
            "superseded by run {}: its plan is newer; nothing of this run was done",
            newer.0
        );
        abandon(store, &run, &detail, now)?;
    }
    Ok(())
}

/// Abandons every waiting or approved run whose plan is older than its policy's
/// `approval_valid_for`, forgetting their identifiers. Returns how many.
pub fn expire(config: &Config, store: &dyn Store, now: Timestamp) -> Result<usize, StoreError> {
    let mut expired = 0;
    for run in store.runs_in_state(&[RunState::AwaitingApproval, RunState::Approved])? {
        if fresh(config, &run, now) {
            continue;
        }
        let detail = "expired: its plan is older than approval_valid_for; nothing of this run was done, the next run plans afresh";
        abandon(store, &run, detail, now)?;
        tracing::warn!(policy = %run.policy, run = run.id.0, "{detail}");
        expired += 1;
    }
    Ok(expired)
}

/// Abandons a run that deleted nothing and forgets its subjects' identifiers.
pub(super) fn abandon(
    store: &dyn Store,
    run: &RunRecord,
    detail: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    store.set_run_state(
        run.id,
        RunState::Abandoned,
        run.scanned,
        run.selected,
        Some(detail),
        now,
    )?;
    store.forget_identifiers(run.id)
}
