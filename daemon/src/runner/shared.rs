//! A run's tasks worked by several daemons sharing the state store. The leader plans a run,
//! makes its tasks and moves it to enforcing; then every daemon claims its subjects, a whole
//! subject at a time (the store sees to it that no two daemons claim one), and erases them as
//! the leader does, each recording in its own audit chain. The leader finishes the run once
//! no task of it is pending or running anywhere.

use std::sync::Arc;
use std::time::Duration;

use super::execute::{execute_tasks, TaskTotals};
use super::progress::Progress;
use super::RunError;
use crate::config::{Policy, Rule};
use crate::context::Context;
use crate::store::{RunId, RunState, Store, TaskState};

/// How often the leader looks whether the other daemons are done with a run's tasks.
const SETTLE_POLL: Duration = Duration::from_secs(1);

/// Whether a daemon that does not lead may work this policy's runs: not one that keeps what
/// it erases for `gallra restore` (its key is the leader's), nor records retention (its
/// tasks are not a subject's).
fn shared(policy: &Policy) -> bool {
    policy.restore_window.is_none() && !matches!(policy.rule, Rule::RecordRetention { .. })
}

/// Claims and erases the tasks of every enforcing run the leader shares, until none is left
/// to claim; returns how many tasks this daemon worked. For a daemon that does not lead.
pub async fn work_shared_runs(context: &Context, store: &Arc<dyn Store>) -> Result<u64, RunError> {
    let mut worked = 0;
    for run in store.runs_in_state(&[RunState::Enforcing])? {
        let Some(policy) = context.config.policies.get(&run.policy) else {
            continue;
        };
        if !shared(policy) {
            continue;
        }
        let audit = context.audit_log()?;
        let progress = Progress::new(&format!("erasing ({})", policy.name), false);
        let totals = execute_tasks(
            store,
            &context.systems,
            run.id,
            &context.config,
            &progress,
            audit,
            policy,
            None,
        )
        .await?;
        worked += totals.per_system.values().map(|c| c.total()).sum::<u64>();
    }
    Ok(worked)
}

/// After the leader worked all it could claim of `run`: waits until no task is pending or
/// running (other daemons may still be erasing), taking over any whose lease ran out, and
/// gives what the run's tasks came to across all daemons.
#[allow(clippy::too_many_arguments)]
pub async fn settle(
    context: &Context,
    store: &Arc<dyn Store>,
    run: RunId,
    policy: &Policy,
    progress: &Progress,
    restore: Option<&Arc<crate::restore::RestoreKeeper>>,
) -> Result<TaskTotals, RunError> {
    loop {
        let counts = store.task_counts(run)?;
        let open = counts.iter().any(|(_, state, n)| {
            *n > 0 && matches!(state, TaskState::Pending | TaskState::Running)
        });
        if !open {
            return Ok(TaskTotals::of_counts(&counts));
        }
        tokio::time::sleep(SETTLE_POLL).await;
        let audit = context.audit_log()?;
        execute_tasks(
            store,
            &context.systems,
            run,
            &context.config,
            progress,
            audit,
            policy,
            restore,
        )
        .await?;
    }
}
