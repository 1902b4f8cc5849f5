//! Scanning the account source page by page and deciding each subject.
//!
//! Subjects stream through: one page is in memory at a time, and each page's decisions go to
//! a [`DecisionSink`] (the state store for a run, a tally for a plan) before the next page is
//! read. A failed, empty or short read stops the scan with an error, and the caller deletes
//! nothing: a subject the scan could not see is never taken as inactive.

use gallra_plugin_api::{Identifier, IdentifierKind, ScanRequest, SubjectFacts, SubjectRecord};
use jiff::Zoned;

use super::facts;
use super::progress::Progress;
use super::warnings::{warning_address, WarnScan};
use super::RunError;
use crate::config::{Config, Rule};
use crate::plugins::Systems;
use crate::policy::{self, Reason};

/// How many subjects one scan page holds.
pub const PAGE_SIZE: u32 = 1000;

/// One subject's decision, as the scan hands it to a sink.
#[derive(Debug, Clone)]
pub struct SubjectDecision {
    /// The account source's key for the subject.
    pub key: String,
    /// Why it is or is not selected.
    pub reason: Reason,
    /// Its identifiers (only needed, and only kept, when it is selected or due a warning).
    pub identifiers: Vec<Identifier>,
    /// Whether its standing warning no longer holds and is to be cleared.
    pub clear_warning: bool,
    /// Whether the source holds an identifier of it that it could not read.
    pub unreadable: bool,
}

/// Where decisions go, one page at a time.
pub trait DecisionSink: Send {
    /// Takes one page's decisions.
    fn record(&mut self, page: Vec<SubjectDecision>) -> Result<(), RunError>;
}

pub use gallra_core::policy::valves::ScanTotals;

/// Everything the scan needs to decide a subject.
pub struct DecideContext<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// The opened systems.
    pub systems: &'a Systems,
    /// The instant the whole run decides at.
    pub now: &'a Zoned,
    /// The policy's rule.
    pub rule: &'a Rule,
    /// Set when the policy warns subjects before deleting them.
    pub warnings: Option<WarnScan<'a>>,
}

/// Scans the account source to the end, deciding every subject, and hands each page's
/// decisions to `sink`. Returns the totals, or the reason the scan could not be trusted.
pub async fn scan_and_decide(
    context: &DecideContext<'_>,
    sink: &mut dyn DecisionSink,
    progress: &Progress,
) -> Result<ScanTotals, RunError> {
    let source_name = &context.config.account_source;
    let source = context
        .systems
        .get(source_name)
        .map_err(|why| RunError::SystemUnavailable {
            system: source_name.clone(),
            why,
        })?
        .clone();
    let mut totals = ScanTotals::default();
    let mut cursor: Option<String> = None;
    let mut expected: Option<u64> = None;
    loop {
        let request = ScanRequest {
            cursor: cursor.clone(),
            limit: PAGE_SIZE,
        };
        let page = source
            .call("scan", move |i| i.scan(request))
            .await
            .map_err(RunError::Scan)?;
        if expected.is_none() {
            expected = page.total;
            progress.set_total(page.total);
        }
        if page.subjects.is_empty() && page.next_cursor.is_some() {
            return Err(RunError::BrokenScan {
                system: source_name.clone(),
                why: "an empty page that is not the last".into(),
            });
        }
        let count = page.subjects.len() as u64;
        let decisions = decide_page(context, page.subjects).await?;
        totals.selected += decisions.iter().filter(|d| d.reason.selects()).count() as u64;
        totals.to_warn += decisions
            .iter()
            .filter(|d| d.reason == Reason::WarningDue)
            .count() as u64;
        totals.scanned += count;
        sink.record(decisions)?;
        progress.advance(count);
        match page.next_cursor {
            Some(next) if Some(&next) == cursor.as_ref() => {
                return Err(RunError::BrokenScan {
                    system: source_name.clone(),
                    why: "the cursor did not advance".into(),
                })
            }
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if let Some(expected) = expected {
        if totals.scanned < expected {
            return Err(RunError::BrokenScan {
                system: source_name.clone(),
                why: format!(
                    "it reported {expected} subjects but its pages held {}",
                    totals.scanned
                ),
            });
        }
    }
    Ok(totals)
}

/// Decides one page: first on the source's own facts; subjects that would be selected (or
/// warned, under a policy that warns) are then checked against every other system that
/// reports activity, services or debts ([`facts`]), and last against their standing warnings.
async fn decide_page(
    context: &DecideContext<'_>,
    subjects: Vec<SubjectRecord>,
) -> Result<Vec<SubjectDecision>, RunError> {
    let mut decisions = Vec::with_capacity(subjects.len());
    // Everything known about each subject; `None` if a system could not be asked.
    let mut known: Vec<Option<SubjectFacts>> = Vec::with_capacity(subjects.len());
    // The candidates every other system is asked about, all of the page's in one batch each.
    let mut asked: Vec<(usize, (Vec<Identifier>, SubjectFacts))> = Vec::new();
    let others = facts::systems_to_ask(context.config, context.systems, context.rule);
    for (index, record) in subjects.into_iter().enumerate() {
        // A key that cannot be a customer id (empty, a control character) leaves the account
        // source no sure way to the subject: kept, for a person, like an unreadable identifier.
        let key_unreadable = Identifier::parse(IdentifierKind::CustomerId, &record.key).is_err();
        let identifiers = with_source_key(record.identifiers, &record.key);
        let ask_others = candidate(context, &record.facts) && !others.is_empty();
        if ask_others {
            // Unknown until every system has answered.
            known.push(None);
            asked.push((index, (identifiers.clone(), record.facts)));
        } else {
            known.push(Some(record.facts));
        }
        decisions.push(SubjectDecision {
            key: record.key,
            reason: Reason::ActivityUnknown,
            identifiers,
            clear_warning: false,
            unreadable: !record.unreadable.is_empty() || key_unreadable,
        });
    }
    let (indexes, questions): (Vec<usize>, Vec<_>) = asked.into_iter().unzip();
    let gathered = facts::gather_many(&others, questions).await;
    for (index, gathered) in indexes.into_iter().zip(gathered) {
        match gathered {
            Ok(facts) => known[index] = Some(facts),
            Err(error) => tracing::warn!(%error, "status failed; subject kept"),
        }
    }
    let standing = match &context.warnings {
        Some(warnings) => {
            let keys: Vec<&str> = decisions.iter().map(|d| d.key.as_str()).collect();
            warnings.standing(&keys)?
        }
        None => Default::default(),
    };
    for (decision, facts) in decisions.iter_mut().zip(&known) {
        let Some(facts) = facts else {
            decision.reason = Reason::SystemUnavailable;
            continue;
        };
        match (&context.warnings, context.rule) {
            (Some(warnings), Rule::Inactivity { idle_for, .. }) => {
                let warned = policy::inactivity_with_warning(
                    context.now,
                    idle_for,
                    &warnings.warning.before,
                    facts,
                    standing.get(&decision.key).copied(),
                    !warning_address(&decision.identifiers).is_empty(),
                );
                decision.reason = warned.reason;
                decision.clear_warning = warned.clear;
            }
            _ => decision.reason = decide(context, facts),
        }
        // Never selected on a partial identification: a system that finds people by the kind
        // that could not be read would answer "erased 0 records" and keep their data.
        if decision.unreadable && decision.reason.selects() {
            decision.reason = Reason::IdentifierUnreadable;
        }
    }
    Ok(decisions)
}

/// Whether the other activity-bearing systems must be asked about a subject before it is
/// decided: it would be selected on the source's facts, or (under a policy that warns) it
/// is near enough its deletion date to be warned.
fn candidate(context: &DecideContext<'_>, facts: &SubjectFacts) -> bool {
    match (&context.warnings, context.rule) {
        (Some(warnings), Rule::Inactivity { idle_for, .. }) => {
            policy::near_deadline(context.now, idle_for, &warnings.warning.before, facts)
        }
        _ => decide(context, facts).selects(),
    }
}

fn decide(context: &DecideContext<'_>, facts: &SubjectFacts) -> Reason {
    match context.rule {
        Rule::Inactivity { idle_for, .. } => policy::inactivity(context.now, idle_for, facts),
        Rule::Retention { after, .. } => policy::retention(context.now, after, facts),
        Rule::RecordRetention { .. } => Reason::RelationshipOngoing,
    }
}

/// The source's key is the subject's customer id there.
fn with_source_key(mut identifiers: Vec<Identifier>, key: &str) -> Vec<Identifier> {
    if let Ok(id) = Identifier::parse(IdentifierKind::CustomerId, key) {
        identifiers.retain(|i| i.kind() != IdentifierKind::CustomerId);
        identifiers.push(id);
    }
    identifiers
}
