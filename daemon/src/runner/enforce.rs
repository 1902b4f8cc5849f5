//! `gallra run`: a policy run recorded in the state store, from scan to finished tasks, and
//! the resumption of runs a previous process left open.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Zoned;

use super::approval;
use super::execute::execute_tasks;
use super::handover;
use super::plan::{kind_name, mode_name, target_systems};
use super::progress::Progress;
use super::records;
use super::report::{RunReport, TaskCounts};
use super::scan::{scan_and_decide, DecideContext, DecisionSink, SubjectDecision};
use super::warnings::{send_warnings, warning_address, WarnScan};
use super::{Context, RunError};
use tracing::Instrument;

use crate::audit::{Action as AuditAction, Actor, NewEntry, Outcome as AuditOutcome};
use crate::config::{Mode, Policy, Rule};
use crate::policy::valves::stopping_valve;
use crate::policy::Reason;
use crate::store::{
    Action, ClearWhy, Decision, RunId, RunRecord, RunState, Store, TaskState, WarningStore,
};

/// Runs one policy at `now`: plan into the store, then (in enforce mode, within the safety
/// valves) carry the plan out.
pub async fn run_policy(
    context: &Context,
    store: &Arc<dyn Store>,
    policy: &Policy,
    now: &Zoned,
) -> Result<RunReport, RunError> {
    // Nothing is recorded, let alone erased, by a run that could not write the audit log.
    context.audit_log()?;
    approval::expire(&context.config, store.as_ref(), crate::clock::now())?;
    let span = tracing::info_span!("run", policy = %policy.name);
    let report = run_policy_unaudited(context, store, policy, now)
        .instrument(span)
        .await?;
    audit_run(context, &report)?;
    Ok(report)
}

/// Records a finished (or stopped) run in the audit log, with its counts. A failure stops
/// the command with an error: the run itself is final in the state store, and each of its
/// erasures is in the audit log already.
fn audit_run(context: &Context, report: &RunReport) -> Result<(), RunError> {
    let outcome = match report.state.as_str() {
        "done" => AuditOutcome::Done,
        "reported" => AuditOutcome::Reported,
        "awaiting_approval" => AuditOutcome::Stopped,
        _ => AuditOutcome::Failed,
    };
    let mut entry = NewEntry::new(
        Actor::Policy(report.policy.clone()),
        AuditAction::RunFinished,
        outcome,
    )
    .count("run", report.run.max(0) as u64)
    .count("scanned", report.scanned)
    .count("selected", report.selected);
    if let Some(detail) = &report.detail {
        entry = entry.detail(detail.clone());
    }
    context.write_audit(&[entry])?;
    Ok(())
}

async fn run_policy_unaudited(
    context: &Context,
    store: &Arc<dyn Store>,
    policy: &Policy,
    now: &Zoned,
) -> Result<RunReport, RunError> {
    let run = store.begin_run(
        &policy.name,
        mode_name(policy.mode),
        now.timestamp(),
        crate::clock::now(),
    )?;
    tracing::info!(policy = %policy.name, kind = kind_name(&policy.rule), run = run.0, "run started");
    if let Rule::RecordRetention { .. } = policy.rule {
        return records::run_records(context, store, policy, run, now).await;
    }
    let warnings = WarnScan::of(policy, Some(store.as_ref() as &dyn WarningStore));
    let decide = DecideContext {
        config: &context.config,
        systems: &context.systems,
        now,
        rule: &policy.rule,
        warnings,
    };
    let progress = Progress::new(&format!("scanning {}", policy.name), context.progress);
    let mut sink = StoreSink {
        store: store.as_ref(),
        run,
        // Only a run that acts prepares warnings or clears them.
        warnings: warnings.filter(|_| policy.mode == Mode::Enforce),
    };
    let scanned = scan_and_decide(&decide, &mut sink, &progress).await;
    progress.finish();
    let totals = match scanned {
        Ok(totals) => totals,
        Err(error) => {
            let detail = error.to_string();
            store.set_run_state(
                run,
                RunState::Failed,
                0,
                0,
                Some(&detail),
                crate::clock::now(),
            )?;
            store.forget_identifiers(run)?;
            return report(store.as_ref(), run);
        }
    };
    // This plan replaces any older one still waiting for a person.
    approval::supersede(store.as_ref(), &policy.name, run, crate::clock::now())?;
    let (scanned, selected) = (totals.scanned, totals.selected);
    if policy.mode == Mode::Report {
        store.set_run_state(
            run,
            RunState::Reported,
            scanned,
            selected,
            None,
            crate::clock::now(),
        )?;
        store.forget_identifiers(run)?;
        return report(store.as_ref(), run);
    }
    let history = super::history::history(store.as_ref(), &policy.name, Some(run))?;
    let trip = stopping_valve(policy, now, &totals, &history);
    if let Some(trip) = trip {
        let what = match policy.warning {
            Some(_) => "deleting or warning anything",
            None => "deleting anything",
        };
        let detail = format!(
            "stopped before {what}: {trip}; approve with `gallra approve {}`",
            run.0
        );
        tracing::warn!(policy = %policy.name, run = run.0, "{detail}");
        store.set_run_state(
            run,
            RunState::AwaitingApproval,
            scanned,
            selected,
            Some(&detail),
            crate::clock::now(),
        )?;
        return report(store.as_ref(), run);
    }
    execute_subject_run(context, store, policy, run, scanned, selected).await
}

/// Finishes the runs a previous process left open: abandons those interrupted while
/// planning (they deleted nothing) and carries on with those that were enforcing or approved.
pub async fn resume_open_runs(
    context: &Context,
    store: &Arc<dyn Store>,
) -> Result<Vec<RunReport>, RunError> {
    abandon_interrupted_plans(store.as_ref())?;
    approval::expire(&context.config, store.as_ref(), crate::clock::now())?;
    let mut reports = Vec::new();
    for run in store.runs_in_state(&[RunState::Enforcing, RunState::Approved])? {
        let Some(policy) = context.config.policies.get(&run.policy) else {
            let detail = "its policy is no longer configured; its remaining tasks were not run";
            store.set_run_state(
                run.id,
                RunState::Abandoned,
                run.scanned,
                run.selected,
                Some(detail),
                crate::clock::now(),
            )?;
            continue;
        };
        tracing::info!(policy = %run.policy, run = run.id.0, "resuming run");
        context.audit_log()?;
        let report = resume_run(context, store, policy, &run).await?;
        audit_run(context, &report)?;
        reports.push(report);
    }
    Ok(reports)
}

/// Takes up the latest run of `policy` again after it stopped on a store that could not be
/// reached ([`RunError::is_transient`]): carries an enforcing or approved run on, abandons
/// one stopped while planning (it deleted nothing). The caller is the policy's own loop, so
/// no other worker of this process has the run in hand.
pub async fn resume_policy_run(
    context: &Context,
    store: &Arc<dyn Store>,
    policy: &Policy,
) -> Result<Option<RunReport>, RunError> {
    let Some(run) = store.recent_runs(Some(&policy.name), 1)?.pop() else {
        return Ok(None);
    };
    match run.state {
        RunState::Planning => {
            let detail = "the state store could not be reached while planning; nothing was deleted";
            approval::abandon(store.as_ref(), &run, detail, crate::clock::now())?;
            Ok(None)
        }
        RunState::Enforcing | RunState::Approved => {
            context.audit_log()?;
            let report = resume_run(context, store, policy, &run).await?;
            audit_run(context, &report)?;
            Ok(Some(report))
        }
        _ => Ok(None),
    }
}

/// Abandons the runs a previous process left while planning: they deleted nothing, and the
/// identifiers their scan stored are forgotten as a failed scan's are (they have no tasks).
fn abandon_interrupted_plans(store: &dyn Store) -> Result<(), RunError> {
    for run in store.runs_in_state(&[RunState::Planning])? {
        let detail = "interrupted while planning; nothing was deleted";
        approval::abandon(store, &run, detail, crate::clock::now())?;
    }
    Ok(())
}

async fn resume_run(
    context: &Context,
    store: &Arc<dyn Store>,
    policy: &Policy,
    run: &RunRecord,
) -> Result<RunReport, RunError> {
    match policy.rule {
        Rule::RecordRetention { .. } => records::resume_records(context, store, policy, run).await,
        _ => execute_subject_run(context, store, policy, run.id, run.scanned, run.selected).await,
    }
}

/// Creates the run's tasks (once) and runs them all to a final state.
async fn execute_subject_run(
    context: &Context,
    store: &Arc<dyn Store>,
    policy: &Policy,
    run: RunId,
    scanned: u64,
    selected: u64,
) -> Result<RunReport, RunError> {
    let audit = context.audit_log()?;
    let targets = target_systems(context, policy);
    let handed_over = handover::handed_over_tasks(&context.config, &targets);
    let systems: Vec<(String, Action, u32)> = targets
        .into_iter()
        .filter(|system| handover::by_run(&context.config, system))
        .enumerate()
        .map(|(order, system)| (system, Action::Erase, order as u32))
        .collect();
    if !handed_over.is_empty() {
        handover::drop_changed(context, store.as_ref(), policy, run).await?;
    }
    // Fenced: a daemon that lost the leadership while it planned (a stall, the store out of
    // reach) makes no task; the daemon that leads now takes the run up.
    if !store.lead()? {
        return Err(RunError::NotLeader);
    }
    store.create_tasks_for_selected(run, &systems)?;
    handover::hand_over(context, store.as_ref(), policy, run, &handed_over)?;
    store.set_run_state(
        run,
        RunState::Enforcing,
        scanned,
        selected,
        None,
        crate::clock::now(),
    )?;
    // Warn before erasing: a run stopped part-way has sent what it decided to send.
    let unwarned = send_warnings(context, store, policy, run).await?;
    let progress = Progress::new(&format!("erasing ({})", policy.name), context.progress);
    progress.set_total(Some(selected * systems.len() as u64));
    let restore = crate::restore::RestoreKeeper::for_run(&context.config, &policy.name, store, run);
    let erased = execute_tasks(
        store,
        &context.systems,
        run,
        &context.config,
        &progress,
        audit,
        policy,
        restore.as_ref(),
    )
    .await;
    erased?;
    // Other daemons sharing the store may be erasing some of the run's subjects still.
    let totals =
        super::shared::settle(context, store, run, policy, &progress, restore.as_ref()).await?;
    progress.finish();
    if policy.warning.is_some() {
        store.clear_erased_warnings(&policy.name, run, crate::clock::now())?;
    }
    let mut problems = Vec::new();
    match totals.unfinished() {
        0 => {}
        n => problems.push(format!("{n} tasks did not finish")),
    }
    match unwarned {
        0 => {}
        n => problems.push(format!("{n} warnings could not be sent")),
    }
    let (state, detail) = if problems.is_empty() {
        (RunState::Done, None)
    } else {
        let problems = problems.join(" and ");
        (
            RunState::Failed,
            Some(format!(
                "{problems}; the next run tries those subjects again"
            )),
        )
    };
    store.set_run_state(
        run,
        state,
        scanned,
        selected,
        detail.as_deref(),
        crate::clock::now(),
    )?;
    store.forget_identifiers(run)?;
    report(store.as_ref(), run)
}

/// Writes each page's decisions to the store in one transaction. Identifiers are kept only
/// for selected subjects: the tasks need them, nothing else does. In a run that warns, the
/// email address of each subject due a warning is kept too, and warnings that no longer
/// hold are cleared.
struct StoreSink<'a> {
    store: &'a dyn Store,
    run: RunId,
    warnings: Option<WarnScan<'a>>,
}

impl DecisionSink for StoreSink<'_> {
    fn record(&mut self, page: Vec<SubjectDecision>) -> Result<(), RunError> {
        if let Some(warnings) = self.warnings {
            let cleared: Vec<&str> = page
                .iter()
                .filter(|d| d.clear_warning)
                .map(|d| d.key.as_str())
                .collect();
            self.store.clear_warnings(
                warnings.policy,
                &cleared,
                ClearWhy::Active,
                crate::clock::now(),
            )?;
        }
        let warns = self.warnings.is_some();
        let decisions: Vec<Decision> = page
            .into_iter()
            .map(|d| {
                let selected = d.reason.selects();
                // The store keeps what it is given: only what a task or a warning needs.
                let identifiers = if selected {
                    d.identifiers
                } else if warns && d.reason == Reason::WarningDue {
                    warning_address(&d.identifiers)
                } else {
                    Vec::new()
                };
                Decision {
                    subject_key: d.key,
                    selected,
                    reason: d.reason.code().to_owned(),
                    identifiers,
                }
            })
            .collect();
        self.store.record_decisions(self.run, &decisions)?;
        Ok(())
    }
}

/// The report of a run, as the store has it.
pub(super) fn report(store: &dyn Store, run: RunId) -> Result<RunReport, RunError> {
    let record = store
        .run(run)?
        .ok_or_else(|| RunError::Internal(format!("run {} vanished from the store", run.0)))?;
    let mut reasons = BTreeMap::new();
    for (reason, _selected, count) in store.decision_counts(run)? {
        let code = crate::policy::Reason::from_code(&reason).map_or("unknown", |r| r.code());
        *reasons.entry(code).or_default() += count;
    }
    let mut tasks: BTreeMap<String, TaskCounts> = BTreeMap::new();
    for (system, state, count) in store.task_counts(run)? {
        let counts = tasks.entry(system).or_default();
        match state {
            TaskState::Done => counts.done += count,
            TaskState::Retained => counts.retained += count,
            TaskState::Kept => counts.kept += count,
            TaskState::Blocked | TaskState::NeedsPerson => counts.blocked += count,
            TaskState::Failed => counts.failed += count,
            TaskState::Pending | TaskState::Running => {}
        }
    }
    Ok(RunReport {
        policy: record.policy,
        run: record.id.0,
        state: state_name(record.state).to_owned(),
        scanned: record.scanned,
        selected: record.selected,
        reasons,
        tasks,
        detail: record.detail,
    })
}

/// The name of a run state, for reports.
pub fn state_name(state: RunState) -> &'static str {
    match state {
        RunState::Planning => "planning",
        RunState::Reported => "reported",
        RunState::AwaitingApproval => "awaiting_approval",
        RunState::Approved => "approved",
        RunState::Enforcing => "enforcing",
        RunState::Done => "done",
        RunState::Failed => "failed",
        RunState::Abandoned => "abandoned",
    }
}

#[cfg(test)]
mod tests {
    use gallra_plugin_api::{Identifier, IdentifierKind};

    use super::*;
    use crate::store::{Decision, DecisionFilter, SqliteStore};

    /// Only a selected subject's identifiers reach the state store (and, in a run that warns,
    /// the address of one due a warning): a kept subject's never do, not even in the WAL.
    #[test]
    fn a_kept_subjects_identifiers_never_reach_the_state_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let now = crate::clock::now();
        let run = store.begin_run("inactive", "enforce", now, now).unwrap();
        let subject = |key: &str, reason| SubjectDecision {
            key: key.into(),
            reason,
            identifiers: vec![Identifier::parse(
                IdentifierKind::Email,
                &format!("{key}@example.se"),
            )
            .unwrap()],
            clear_warning: false,
            unreadable: false,
        };
        let mut sink = StoreSink {
            store: &store,
            run,
            warnings: None,
        };
        let page = vec![
            subject("chosen", Reason::Inactive),
            subject("kept", Reason::RecentlyActive),
            subject("due", Reason::WarningDue),
        ];
        sink.record(page).unwrap();
        let selected = store
            .decisions(run, DecisionFilter::Selected, None, 10)
            .unwrap();
        assert_eq!(selected[0].identifiers.len(), 1);
        let due = store
            .decisions(run, DecisionFilter::WarningDue, None, 10)
            .unwrap();
        assert!(due[0].identifiers.is_empty(), "this run sends no warnings");
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap_or_default();
            for never in [&b"kept@example.se"[..], b"due@example.se"] {
                assert!(!bytes.windows(never.len()).any(|w| w == never));
            }
        }
    }

    /// A process killed while planning leaves identifiers in the state store; the next start
    /// abandons that run and forgets them (found by reading the database file itself).
    #[test]
    fn a_plan_interrupted_by_a_kill_is_abandoned_and_forgets_its_identifiers() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let store = SqliteStore::open(&state).unwrap();
        let now = crate::clock::now();
        let run = store.begin_run("inactive", "enforce", now, now).unwrap();
        let email = "planned.person@example.se";
        let decision = Decision {
            subject_key: "7".into(),
            selected: true,
            reason: "inactive".into(),
            identifiers: vec![Identifier::parse(IdentifierKind::Email, email).unwrap()],
        };
        store.record_decisions(run, &[decision]).unwrap();
        let holds = || {
            std::fs::read_dir(&state).unwrap().any(|file| {
                let bytes = std::fs::read(file.unwrap().path()).unwrap_or_default();
                bytes.windows(email.len()).any(|w| w == email.as_bytes())
            })
        };
        assert!(holds(), "the test must see the identifier before");

        abandon_interrupted_plans(&store).unwrap();
        assert_eq!(store.run(run).unwrap().unwrap().state, RunState::Abandoned);
        assert!(
            !holds(),
            "an identifier of the abandoned plan is still in the state store"
        );
    }

    /// A daemon that lost the scheduler's leadership while it planned (a stall, the store
    /// out of reach) makes no task of its run: the daemon that leads now takes the run up,
    /// so that one process decides.
    #[tokio::test]
    async fn a_daemon_that_no_longer_leads_makes_no_task_of_its_plan() {
        use crate::store::{LeaderStore, Lease};
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let stale = SqliteStore::open(&state)
            .unwrap()
            .leasing(Lease::new("node-a"));
        let leader = SqliteStore::open(&state)
            .unwrap()
            .leasing(Lease::new("node-b"));
        let now = crate::clock::now();
        let run = stale.begin_run("inactive", "enforce", now, now).unwrap();
        let email = Identifier::parse(IdentifierKind::Email, "anna@example.se").unwrap();
        let decision = Decision {
            subject_key: "7".into(),
            selected: true,
            reason: "inactive".into(),
            identifiers: vec![email],
        };
        stale.record_decisions(run, &[decision]).unwrap();
        assert!(leader.lead().unwrap(), "node-b leads now");
        let text = "state_dir = \"s\"\naccount_source = \"crm\"\n[systems.crm]\nplugin = \"sql\"\n\
                    [policies.inactive]\nkind = \"inactivity\"\nidle_for = \"6 months\"\n";
        let config = Arc::new(crate::config::parse(text, std::path::Path::new("/g.toml")).unwrap());
        let finder = crate::plugins::PluginFinder::new(Some(&dir.path().join("no-plugins")));
        let context = Context {
            systems: Arc::new(crate::plugins::Systems::open(&config, &finder)),
            config: Arc::clone(&config),
            progress: false,
            audit: Some(Arc::new(crate::audit::testing::log(dir.path(), 1))),
        };
        let store: Arc<dyn Store> = Arc::new(stale);
        let policy = &config.policies["inactive"];
        let result = execute_subject_run(&context, &store, policy, run, 1, 1).await;
        assert!(matches!(result, Err(RunError::NotLeader)), "{result:?}");
        assert!(
            store.task_counts(run).unwrap().is_empty(),
            "a task was made"
        );
    }
}
