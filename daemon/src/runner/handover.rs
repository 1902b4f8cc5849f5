//! The systems a policy run does not erase itself: one a person tends (`manual`), a processor
//! that is told (`notify`), and one under a `legal_hold`. For those the run files one erasure
//! request per subject it selected, and the request engine carries them out like a subject's
//! own request: a task with instructions and `gallra task done`, a notice with its reminders,
//! or anonymize now and erase when the hold ends. Nothing is left out of "deleted everywhere",
//! and nothing a law keeps is deleted by a schedule.

use crate::config::{Config, Handling, Policy, SystemConfig};
use crate::requests::intake::{due_date, fan_out};
use crate::requests::{NewRequestTask, RequestKind};
use crate::store::{DecisionFilter, RunId, Store};

use super::RunError;

/// Whether the run erases in `system` itself, through its connector.
pub(super) fn by_run(config: &Config, system: &str) -> bool {
    config
        .systems
        .get(system)
        .is_some_and(|s| s.connector().is_some() && s.legal_hold.is_none())
}

/// Who erases in a system for a run, for the plan: the run, or a request it files (and why).
pub(super) fn handled_by(system: &SystemConfig) -> &'static str {
    match (&system.handling, &system.legal_hold) {
        (Handling::Connector { .. }, None) => "run",
        (Handling::Connector { .. }, Some(_)) => "request (legal hold)",
        (Handling::Manual { .. }, _) => "request (manual)",
        (Handling::Notify(_), _) => "request (notify)",
    }
}

/// The request tasks for the policy's systems the run does not erase itself, in the order a
/// subject's own erasure request would run them.
pub(super) fn handed_over_tasks(config: &Config, systems: &[String]) -> Vec<NewRequestTask> {
    fan_out(config, RequestKind::Erase)
        .into_iter()
        .filter(|task| systems.contains(&task.system) && !by_run(config, &task.system))
        .enumerate()
        .map(|(order, task)| NewRequestTask {
            order: order as u32,
            ..task
        })
        .collect()
}

/// Files the run's erasure requests for `tasks` (once per subject, however often the run is
/// resumed) and records how many in the audit log.
pub(super) fn hand_over(
    context: &super::Context,
    store: &dyn Store,
    policy: &Policy,
    run: RunId,
    tasks: &[NewRequestTask],
) -> Result<u64, RunError> {
    if tasks.is_empty() {
        return Ok(0);
    }
    let now = crate::clock::now();
    let due = due_date(&context.config, RequestKind::Erase, now);
    let origin = format!("policy {}, run {}", policy.name, run.0);
    let filed = store.file_requests_for_selected(run, &origin, now, due, tasks)?;
    if filed > 0 {
        let systems: Vec<&str> = tasks.iter().map(|t| t.system.as_str()).collect();
        tracing::info!(policy = %policy.name, run = run.0, requests = filed, "erasure requests filed for the systems the run does not erase itself");
        let entry = crate::audit::NewEntry::new(
            crate::audit::Actor::Policy(policy.name.clone()),
            crate::audit::Action::RequestReceived,
            crate::audit::Outcome::Started,
        )
        .count("run", run.0.max(0) as u64)
        .count("requests", filed)
        .detail(format!("filed by the run for {}", systems.join(", ")));
        // The requests are filed: a log that cannot be written stops the run here, before
        // it erases anything.
        context.write_audit(&[entry])?;
    }
    Ok(filed)
}

/// Whether a run of `policy` files erasure requests for some of its systems.
pub fn hands_over(config: &Config, policy: &Policy) -> bool {
    let systems = match &policy.rule {
        crate::config::Rule::Inactivity { systems, .. }
        | crate::config::Rule::Retention { systems, .. } => systems,
        crate::config::Rule::RecordRetention { .. } => return false,
    };
    policy.mode == crate::config::Mode::Enforce
        && systems.iter().any(|system| !by_run(config, system))
}

/// Decides every selected subject of `run` again before the run files requests for them: a
/// request carries the subject's identifiers to a system the run does not erase itself (a
/// legal hold anonymizes at once), and the request engine does not know the policy. A
/// subject no longer selected, or that could not be checked, is taken out of the selection.
pub(super) async fn drop_changed(
    context: &super::Context,
    store: &dyn Store,
    policy: &Policy,
    run: RunId,
) -> Result<(), RunError> {
    const PAGE: usize = 500;
    let mut after: Option<String> = None;
    loop {
        let page = store.decisions(run, DecisionFilter::Selected, after.as_deref(), PAGE)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = Some(last.subject_key.clone());
        let mut dropped = Vec::new();
        for decision in &page {
            let verdict = super::recheck::recheck(
                &context.config,
                &context.systems,
                &policy.rule,
                &decision.subject_key,
                &decision.identifiers,
            )
            .await;
            if let super::recheck::Verdict::Hold(state, why) = verdict {
                tracing::info!(subject = %decision.subject_key, "not handed over: {why}");
                let reason = match state {
                    crate::store::TaskState::Kept => crate::policy::Reason::ChangedSincePlan,
                    _ => crate::policy::Reason::SystemUnavailable,
                };
                dropped.push((decision.subject_key.clone(), reason.code().to_owned()));
            }
        }
        store.deselect(run, &dropped)?;
    }
}
