//! The decision made again just before a subject's first erase in a run.
//!
//! A plan can be hours old (a run that waited for approval, a run resumed after a kill). In
//! that time a customer may have logged in, bought a service, run up a debt, or handed their
//! mailbox to someone else. So before anything of a subject is erased, its facts are read
//! again from the account source and from every system that reports them, the same pure
//! policy function decides again, and each identifier is checked to still pick out exactly
//! this subject ([`crate::identity`]). Only a subject still selected on all of that is
//! erased, and only through identifiers that are still its own.

use std::collections::BTreeSet;

use gallra_plugin_api::{Identifier, IdentifierKind, StillSelected, Subject};
use jiff::Zoned;

use super::facts;
use crate::config::{Config, Rule};
use crate::identity::{self, Resolution};
use crate::plugins::Systems;
use crate::policy::{self, Reason};
use crate::store::TaskState;

/// What the re-check says about a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Still selected: erase, handing systems only the identifiers resolved as its own.
    Erase(Resolution),
    /// Not erased in this run: the task state every remaining task of the subject gets, and
    /// why (kinds and reasons only, never a value).
    Hold(TaskState, String),
}

/// Said of a subject the fresh decision keeps.
pub(crate) const CHANGED: &str = "kept: changed since the plan";

/// Re-reads `key`'s facts and decides `rule` again at the present moment.
pub(super) async fn recheck(
    config: &Config,
    systems: &Systems,
    rule: &Rule,
    key: &str,
    identifiers: &[Identifier],
) -> Verdict {
    let subjects = [(key.to_owned(), identifiers.to_vec())];
    let mut verdicts = recheck_many(config, systems, rule, &subjects, &BTreeSet::new()).await;
    verdicts.pop().expect("one verdict per subject")
}

/// [`recheck`] for many subjects, each its source key and identifiers: each system is asked
/// about all of them in one batch per question (the source's status, the identifiers'
/// lookups, every other system's status). A subject that could not be asked about is held;
/// the others are unaffected.
///
/// `continuing` names the subjects whose erase at the account source an interrupted attempt
/// had under way (a kill, a full disk): that attempt decided afresh and may have removed the
/// subject from the source, and with it the last activity time anyone reports. For them "no
/// system reports an activity time" carries the erasure on (every erase is idempotent and
/// read back) instead of keeping a subject half-erased that no later run would find again.
/// Any activity still reported decides as for everyone else.
pub(super) async fn recheck_many(
    config: &Config,
    systems: &Systems,
    rule: &Rule,
    subjects: &[(String, Vec<Identifier>)],
    continuing: &BTreeSet<String>,
) -> Vec<Verdict> {
    let unknown = |why: String| {
        Verdict::Hold(
            TaskState::Failed,
            format!("not erased: the subject could not be checked again ({why}); the next run tries again"),
        )
    };
    let source = match systems.get(&config.account_source) {
        Ok(source) => source.clone(),
        Err(why) => return subjects.iter().map(|_| unknown(why.clone())).collect(),
    };
    let mut verdicts: Vec<Option<Verdict>> = vec![None; subjects.len()];
    // The source's own facts, asked by its key.
    let mut asked = Vec::new();
    let mut owners = Vec::new();
    for (i, (key, _)) in subjects.iter().enumerate() {
        match Identifier::parse(IdentifierKind::CustomerId, key) {
            Ok(id) => {
                asked.push(Subject::new(vec![id]));
                owners.push(i);
            }
            Err(_) => {
                verdicts[i] = Some(unknown(
                    "the account source's key is not a usable id".into(),
                ))
            }
        }
    }
    let mut source_facts = vec![None; subjects.len()];
    for (i, facts) in owners.into_iter().zip(source.status_many(asked).await) {
        match facts {
            Ok(facts) => source_facts[i] = Some(facts),
            Err(error) => verdicts[i] = Some(unknown(error.to_string())),
        }
    }
    // Who each identifier picks out, for the subjects still in question.
    let open: Vec<usize> = (0..subjects.len())
        .filter(|&i| verdicts[i].is_none())
        .collect();
    let wanted: Vec<(String, Vec<Identifier>)> =
        open.iter().map(|&i| subjects[i].clone()).collect();
    let resolutions = identity::resolve_many(&source, &wanted).await;
    let mut resolved = Vec::new();
    for (i, resolution) in open.into_iter().zip(resolutions) {
        match resolution {
            Ok(resolution) => resolved.push((i, resolution)),
            Err(error) => verdicts[i] = Some(unknown(error.to_string())),
        }
    }
    // What every other system knows, then the decision.
    let asked = facts::systems_to_ask(config, systems, rule);
    let questions = resolved
        .iter()
        .map(|(i, r)| {
            (
                r.usable.clone(),
                source_facts[*i].take().unwrap_or_default(),
            )
        })
        .collect();
    let gathered = facts::gather_many(&asked, questions).await;
    let now = crate::clock::now_in(&config.time_zone);
    for ((i, resolution), facts) in resolved.into_iter().zip(gathered) {
        verdicts[i] = Some(match facts {
            Err(error) => unknown(error),
            Ok(facts) => match decide(rule, &now, &facts) {
                reason if reason.selects() => Verdict::Erase(resolution),
                Reason::ActivityUnknown if continuing.contains(&subjects[i].0) => {
                    Verdict::Erase(resolution)
                }
                reason => {
                    Verdict::Hold(TaskState::Kept, format!("{CHANGED}: {}", reason.describe()))
                }
            },
        });
    }
    verdicts
        .into_iter()
        .map(|v| v.expect("every subject decided"))
        .collect()
}

/// The policy's own decision, as the plan made it (without the warning bookkeeping: a
/// warned subject still inactive is still selected, and one active since is kept).
fn decide(rule: &Rule, now: &Zoned, facts: &gallra_plugin_api::SubjectFacts) -> Reason {
    match rule {
        Rule::Inactivity { idle_for, .. } => policy::inactivity(now, idle_for, facts),
        Rule::Retention { after, .. } => policy::retention(now, after, facts),
        Rule::RecordRetention { .. } => Reason::RelationshipOngoing,
    }
}

/// What the account source's own erase is to check again in its transaction: the facts of
/// `rule` at the present moment. Activity is checked only where the source's activity counts.
pub(super) fn still_selected(config: &Config, rule: &Rule) -> Option<StillSelected> {
    let now = crate::clock::now_in(&config.time_zone);
    let activity = config
        .systems
        .get(&config.account_source)
        .is_some_and(|s| s.activity);
    let (inactive_before, ended_before) = match rule {
        Rule::Inactivity { idle_for, .. } => (activity.then(|| idle_for.cutoff(&now)), None),
        Rule::Retention { after, .. } => (None, Some(after.cutoff(&now))),
        Rule::RecordRetention { .. } => return None,
    };
    Some(StillSelected {
        inactive_before,
        ended_before,
        no_active_services: true,
        no_unpaid_invoices: true,
    })
}
