//! The decision made again just before a subject's first erase in a run.
//!
//! A plan can be hours old (a run that waited for approval, a run resumed after a kill). In
//! that time a customer may have logged in, bought a service, run up a debt, or handed their
//! mailbox to someone else. So before anything of a subject is erased, its facts are read
//! again from the account source and from every system that reports them, the same pure
//! policy function decides again, and each identifier is checked to still pick out exactly
//! this subject ([`crate::identity`]). Only a subject still selected on all of that is
//! erased, and only through identifiers that are still its own.

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
    let unknown = |why: String| {
        Verdict::Hold(
            TaskState::Failed,
            format!("not erased: the subject could not be checked again ({why}); the next run tries again"),
        )
    };
    let source = match systems.get(&config.account_source) {
        Ok(source) => source.clone(),
        Err(why) => return unknown(why),
    };
    let own = match Identifier::parse(IdentifierKind::CustomerId, key) {
        Ok(id) => Subject::new(vec![id]),
        Err(_) => return unknown("the account source's key is not a usable id".into()),
    };
    let source_facts = match source.call("status", move |i| i.status(&own)).await {
        Ok(facts) => facts,
        Err(error) => return unknown(error.to_string()),
    };
    let resolution = match identity::resolve(&source, key, identifiers).await {
        Ok(resolution) => resolution,
        Err(error) => return unknown(error.to_string()),
    };
    let asked = facts::systems_to_ask(config, systems, rule);
    let facts = match facts::gather(&asked, &resolution.usable, source_facts).await {
        Ok(facts) => facts,
        Err(error) => return unknown(error),
    };
    let now = crate::clock::now_in(&config.time_zone);
    match decide(rule, &now, &facts) {
        reason if reason.selects() => Verdict::Erase(resolution),
        reason => Verdict::Hold(TaskState::Kept, format!("{CHANGED}: {}", reason.describe())),
    }
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
