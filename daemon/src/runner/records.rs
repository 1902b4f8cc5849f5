//! Record-level retention runs: one `expire` call on one system, recorded as one task.

use std::sync::Arc;

use gallra_plugin_api::ExpireRequest;
use jiff::{Timestamp, Zoned};

use super::enforce::report;
use super::report::RunReport;
use super::{Context, RunError};
use crate::config::{Mode, Policy, Rule};
use crate::store::{Action, NewTask, RunId, RunRecord, RunState, Store, TaskState};

/// Counts the records past their deadline and, in enforce mode within `max_per_run`,
/// removes them.
pub async fn run_records(
    context: &Context,
    store: &Arc<dyn Store>,
    policy: &Policy,
    run: RunId,
    now: &Zoned,
) -> Result<RunReport, RunError> {
    let Rule::RecordRetention {
        system,
        records,
        after,
    } = &policy.rule
    else {
        return Err(RunError::Internal("not a record-retention policy".into()));
    };
    let cutoff = after.cutoff(now);
    let matched = match expire(context, system, records, cutoff, true).await {
        Ok(matched) => matched,
        Err(error) => {
            store.set_run_state(
                run,
                RunState::Failed,
                0,
                0,
                Some(&error.to_string()),
                crate::clock::now(),
            )?;
            return report(store.as_ref(), run);
        }
    };
    if policy.mode == Mode::Report {
        store.set_run_state(
            run,
            RunState::Reported,
            matched,
            matched,
            None,
            crate::clock::now(),
        )?;
        return report(store.as_ref(), run);
    }
    if let Some(max) = policy.safety.max_per_run.filter(|max| matched > *max) {
        let detail = format!(
            "stopped before deleting anything: would remove {matched} records, more than max_per_run = {max}; approve with `gallra approve {}`",
            run.0
        );
        store.set_run_state(
            run,
            RunState::AwaitingApproval,
            matched,
            matched,
            Some(&detail),
            crate::clock::now(),
        )?;
        return report(store.as_ref(), run);
    }
    store.create_task(
        run,
        &NewTask {
            subject_key: records.clone(),
            system: system.clone(),
            action: Action::Expire,
            order: 0,
        },
    )?;
    store.set_run_state(
        run,
        RunState::Enforcing,
        matched,
        matched,
        None,
        crate::clock::now(),
    )?;
    finish(context, store, policy, run, cutoff, matched).await
}

/// Carries on with a record-retention run left approved or enforcing.
pub async fn resume_records(
    context: &Context,
    store: &Arc<dyn Store>,
    policy: &Policy,
    run: &RunRecord,
) -> Result<RunReport, RunError> {
    let Rule::RecordRetention {
        system,
        records,
        after,
    } = &policy.rule
    else {
        return Err(RunError::Internal("not a record-retention policy".into()));
    };
    // The cutoff is the run's own, so an approved run removes what was approved, no more.
    let scheduled = run.scheduled_for.to_zoned(context.config.time_zone.clone());
    let cutoff = after.cutoff(&scheduled);
    if run.state == RunState::Approved {
        store.create_task(
            run.id,
            &NewTask {
                subject_key: records.clone(),
                system: system.clone(),
                action: Action::Expire,
                order: 0,
            },
        )?;
        store.set_run_state(
            run.id,
            RunState::Enforcing,
            run.scanned,
            run.selected,
            None,
            crate::clock::now(),
        )?;
    }
    finish(context, store, policy, run.id, cutoff, run.selected).await
}

async fn finish(
    context: &Context,
    store: &Arc<dyn Store>,
    policy: &Policy,
    run: RunId,
    cutoff: Timestamp,
    matched: u64,
) -> Result<RunReport, RunError> {
    let Rule::RecordRetention {
        system, records, ..
    } = &policy.rule
    else {
        return Err(RunError::Internal("not a record-retention policy".into()));
    };
    let mut failed = false;
    for task in store.pending_tasks(run, 10)? {
        let (state, detail) = match expire(context, system, records, cutoff, false).await {
            Ok(removed) => (TaskState::Done, format!("removed {removed} records")),
            Err(error) => {
                failed = true;
                (TaskState::Failed, error.to_string())
            }
        };
        store.finish_tasks_and_bury(&[(task.id, state, Some(detail))], &[], crate::clock::now())?;
    }
    let state = if failed {
        RunState::Failed
    } else {
        RunState::Done
    };
    store.set_run_state(run, state, matched, matched, None, crate::clock::now())?;
    report(store.as_ref(), run)
}

/// Counts (dry run) or removes the records of a kind past `cutoff` in one system.
pub(super) async fn expire(
    context: &Context,
    system: &str,
    records: &str,
    cutoff: Timestamp,
    dry_run: bool,
) -> Result<u64, RunError> {
    let handle = context
        .systems
        .get(system)
        .map_err(|why| RunError::SystemUnavailable {
            system: system.to_owned(),
            why,
        })?;
    let request = ExpireRequest {
        kind: records.to_owned(),
        cutoff,
        dry_run,
    };
    let result = handle
        .call("expire", move |i| i.expire(request))
        .await
        .map_err(RunError::Call)?;
    Ok(if dry_run {
        result.matched
    } else {
        result.removed
    })
}
