//! `gallra plan`: what a run of a policy would do, without changing anything anywhere —
//! not in the systems, and not in gallra's own state store.

use std::collections::BTreeMap;

use gallra_plugin_api::{Identifier, MAX_BATCH};
use jiff::Zoned;

use super::progress::Progress;
use super::report::{PlanOutcome, PolicyPlan, SystemPlan};
use super::scan::{scan_and_decide, DecideContext, DecisionSink, SubjectDecision};
use super::warnings::WarnScan;
use super::{Context, RunError};
use crate::config::{Mode, Policy, Rule};
use crate::policy::History;
use crate::store::WarningStore;
use gallra_core::policy::identifiers::subject_for;

/// Plans one policy at `now`.
pub async fn plan_policy(context: &Context, policy: &Policy, now: &Zoned) -> PolicyPlan {
    let outcome = match &policy.rule {
        Rule::RecordRetention {
            system,
            records,
            after,
        } => plan_records(context, policy, system, records, after.cutoff(now)).await,
        _ => plan_subjects(context, policy, now).await,
    };
    PolicyPlan {
        policy: policy.name.clone(),
        kind: kind_name(&policy.rule),
        mode: mode_name(policy.mode),
        at: now.timestamp().to_string(),
        outcome: outcome.unwrap_or_else(|e| PlanOutcome::Failed {
            error: e.to_string(),
        }),
    }
}

/// The name of a rule's kind, as in the config.
pub fn kind_name(rule: &Rule) -> &'static str {
    match rule {
        Rule::Inactivity { .. } => "inactivity",
        Rule::Retention { .. } => "retention",
        Rule::RecordRetention { .. } => "record_retention",
    }
}

/// The name of a mode, as in the config.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Report => "report",
        Mode::Enforce => "enforce",
    }
}

/// Tallies decisions and keeps the selected subjects for the per-system lookups.
#[derive(Default)]
pub(super) struct Tally {
    pub reasons: BTreeMap<&'static str, u64>,
    pub selected: Vec<(String, Vec<Identifier>)>,
}

impl DecisionSink for Tally {
    fn record(&mut self, page: Vec<SubjectDecision>) -> Result<(), RunError> {
        for decision in page {
            *self.reasons.entry(decision.reason.code()).or_default() += 1;
            if decision.reason.selects() {
                self.selected.push((decision.key, decision.identifiers));
            }
        }
        Ok(())
    }
}

async fn plan_subjects(
    context: &Context,
    policy: &Policy,
    now: &Zoned,
) -> Result<PlanOutcome, RunError> {
    // Who would be warned depends on who was, and the safety valves on what earlier runs
    // did: read the state store (once), changing nothing.
    let reader = crate::statestore::open_read_only(&context.config)?;
    let warnings = WarnScan::of(policy, reader.as_deref().map(|r| r as &dyn WarningStore));
    let decide = DecideContext {
        config: &context.config,
        systems: &context.systems,
        now,
        rule: &policy.rule,
        warnings,
    };
    let progress = Progress::new(&format!("planning {}", policy.name), context.progress);
    let mut tally = Tally::default();
    let totals = scan_and_decide(&decide, &mut tally, &progress).await;
    progress.finish();
    let totals = totals?;
    let history = match &reader {
        Some(store) => super::history::history(store.as_ref(), &policy.name, None)?,
        None => History::default(),
    };
    let mut systems = Vec::new();
    for system in target_systems(context, policy) {
        systems.push(count_holders(context, &system, &tally.selected).await);
    }
    Ok(PlanOutcome::Subjects {
        scanned: totals.scanned,
        selected: totals.selected,
        reasons: tally.reasons,
        systems,
        selected_keys: tally.selected.into_iter().map(|(key, _)| key).collect(),
        safety: gallra_core::policy::valves::scan_trip(&policy.safety, &totals, &history),
    })
}

/// The systems a subject-level policy erases from, in the order the tasks run: the account
/// source last, so a subject stays findable until every other system is done.
pub(super) fn target_systems(context: &Context, policy: &Policy) -> Vec<String> {
    let configured = match &policy.rule {
        Rule::Inactivity { systems, .. } | Rule::Retention { systems, .. } => systems.clone(),
        Rule::RecordRetention { system, .. } => vec![system.clone()],
    };
    let source = &context.config.account_source;
    let mut ordered: Vec<String> = configured
        .iter()
        .filter(|s| *s != source)
        .cloned()
        .collect();
    if configured.contains(source) {
        ordered.push(source.clone());
    }
    ordered
}

/// Looks the selected subjects up in one system, a batch at a time ([`MAX_BATCH`]), so that
/// no more than one batch's questions and answers are held at once.
async fn count_holders(
    context: &Context,
    system: &str,
    selected: &[(String, Vec<Identifier>)],
) -> SystemPlan {
    let config = &context.config.systems[system];
    let mut plan = SystemPlan {
        system: system.to_owned(),
        handled_by: super::handover::handled_by(config),
        subjects_with_data: config.connector().map(|_| 0),
        lookup_errors: 0,
    };
    if config.connector().is_none() {
        return plan;
    }
    let Ok(handle) = context.systems.get(system) else {
        plan.lookup_errors = selected.len() as u64;
        return plan;
    };
    let customer_ids = context.config.customer_ids(system);
    for batch in selected.chunks(MAX_BATCH) {
        let subjects = batch
            .iter()
            .map(|(_, identifiers)| subject_for(identifiers, customer_ids))
            .collect();
        for found in handle.lookup_many(subjects).await {
            match found {
                Ok(found) if !found.records.is_empty() => {
                    *plan.subjects_with_data.get_or_insert(0) += 1
                }
                Ok(_) => {}
                Err(_) => plan.lookup_errors += 1,
            }
        }
    }
    plan
}

async fn plan_records(
    context: &Context,
    policy: &Policy,
    system: &str,
    records: &str,
    cutoff: jiff::Timestamp,
) -> Result<PlanOutcome, RunError> {
    let matched = super::records::expire(context, system, records, cutoff, true).await?;
    let safety = policy
        .safety
        .max_per_run
        .filter(|max| matched > *max)
        .map(|max| {
            format!(
                "would remove {} records, more than max_per_run = {max}",
                matched
            )
        });
    Ok(PlanOutcome::Records {
        system: system.to_owned(),
        records: records.to_owned(),
        cutoff: cutoff.to_string(),
        matched,
        safety,
    })
}
