//! What every other system knows about a subject, for the plan and for the re-check just
//! before an erase.
//!
//! Every system that can report a subject's status is asked, whatever its `activity`
//! setting: `activity` says only whether a login or a payment there counts against
//! inactivity. An active service or an unpaid invoice in any system keeps the subject under
//! every policy, so no subject is erased in one system while another system's precondition
//! (a debt in billing) would keep them.

use gallra_core::policy::identifiers::subject_for;
use gallra_plugin_api::{Capability, Identifier, IdentifierKind, Subject, SubjectFacts};

use crate::config::{Config, CustomerIds, Rule};
use crate::plugins::{SystemHandle, Systems};
use crate::policy;

/// One system to ask about a subject.
#[derive(Clone)]
pub(super) struct Asked {
    name: String,
    handle: Result<SystemHandle, String>,
    /// Whether its activity counts under the policy being decided.
    activity: bool,
    customer_ids: CustomerIds,
}

/// The systems other than the account source to ask about a subject under `rule`: those
/// whose activity counts (inactivity only), and every other that reports status. A system
/// that could not be opened is asked too, and fails, so the subject is kept: it might have
/// reported a debt.
pub(super) fn systems_to_ask(config: &Config, systems: &Systems, rule: &Rule) -> Vec<Asked> {
    let inactivity = matches!(rule, Rule::Inactivity { .. });
    config
        .systems
        .values()
        .filter(|s| s.name != config.account_source && s.connector().is_some())
        .filter_map(|s| {
            let activity = s.activity && inactivity;
            let handle = systems.get(&s.name).cloned();
            let reports = match &handle {
                Ok(handle) => handle.can(Capability::Status),
                Err(_) => true,
            };
            (activity || reports).then(|| Asked {
                name: s.name.clone(),
                handle,
                activity,
                customer_ids: config.customer_ids(&s.name),
            })
        })
        .collect()
}

/// Asks each system what it knows about each subject (given by its identifiers and the facts
/// known so far), all of them in one batch per system, and merges it into the subject's facts:
/// activity only from systems whose activity counts, active services and unpaid invoices from
/// all. Any failure means the subject is not fully known, so the caller keeps it; the error
/// says which system and why (never who).
pub(super) async fn gather_many(
    asked: &[Asked],
    subjects: Vec<(Vec<Identifier>, SubjectFacts)>,
) -> Vec<Result<SubjectFacts, String>> {
    let mut known: Vec<Result<SubjectFacts, String>> = subjects
        .iter()
        .map(|(_, facts)| Ok(facts.clone()))
        .collect();
    for system in asked {
        let handle = match &system.handle {
            Ok(handle) => handle.clone(),
            Err(why) => {
                let why = format!("system \"{}\": {why}", system.name);
                return known.into_iter().map(|_| Err(why.clone())).collect();
            }
        };
        let resolves = &handle.description().identifier_kinds;
        // Only subjects still fully known and that this system can find are asked.
        let (indexes, questions): (Vec<usize>, Vec<Subject>) = subjects
            .iter()
            .enumerate()
            .filter(|(i, _)| known[*i].is_ok())
            .map(|(i, (identifiers, _))| {
                let who = status_identifiers(identifiers, system.customer_ids, resolves);
                (i, Subject::new(who))
            })
            .filter(|(_, who)| !who.identifiers.is_empty())
            .unzip();
        if questions.is_empty() {
            continue;
        }
        let answers = handle.status_many(questions).await;
        for (i, theirs) in indexes.into_iter().zip(answers) {
            known[i] = match (&known[i], theirs) {
                (Ok(facts), Ok(theirs)) => Ok(policy::merge_facts(facts, &counted(system, theirs))),
                (_, Err(error)) => Err(error.to_string()),
                (Err(why), _) => Err(why.clone()),
            };
        }
    }
    known
}

/// What of a system's answer counts: its activity only where its activity counts under the
/// policy, its active services and unpaid invoices always.
fn counted(system: &Asked, theirs: SubjectFacts) -> SubjectFacts {
    if system.activity {
        return theirs;
    }
    SubjectFacts {
        active_services: theirs.active_services,
        unpaid_invoices: theirs.unpaid_invoices,
        ..SubjectFacts::default()
    }
}

/// A status question uses the identifiers an erase there would (one rule,
/// [`subject_for`]): strong ones, and the account source's customer id only where
/// the system knows it: asking by a phone number as well made every question an `OR` over a
/// column systems seldom index, a scan of the whole table (the purge benchmark ran
/// quadratic). A system that finds people by none of those is asked by every identifier
/// (a phone, an IP): asking too widely only keeps more people, and a debt it holds must
/// still keep the subject.
fn status_identifiers(
    identifiers: &[Identifier],
    customer_ids: CustomerIds,
    resolves: &[IdentifierKind],
) -> Vec<Identifier> {
    let strong = subject_for(identifiers, customer_ids).identifiers;
    if strong.iter().any(|i| resolves.contains(&i.kind())) {
        return strong;
    }
    identifiers
        .iter()
        .filter(|i| i.kind() != IdentifierKind::CustomerId || customer_ids == CustomerIds::Source)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_question_uses_strong_identifiers_and_the_source_id_only_where_known() {
        let id = |kind, v| Identifier::parse(kind, v).unwrap();
        let all = [
            id(IdentifierKind::Email, "anna@example.se"),
            id(IdentifierKind::Phone, "+46701234567"),
            id(IdentifierKind::CustomerId, "31"),
        ];
        let kinds = |ids, resolves: &[IdentifierKind]| -> Vec<IdentifierKind> {
            status_identifiers(&all, ids, resolves)
                .iter()
                .map(Identifier::kind)
                .collect()
        };
        let crm = [IdentifierKind::Email, IdentifierKind::Phone];
        assert_eq!(kinds(CustomerIds::None, &crm), [IdentifierKind::Email]);
        assert_eq!(
            kinds(CustomerIds::Source, &crm),
            [IdentifierKind::Email, IdentifierKind::CustomerId]
        );
        // A system that knows people by phone only is still asked: its debt keeps them.
        assert_eq!(
            kinds(CustomerIds::None, &[IdentifierKind::Phone]),
            [IdentifierKind::Email, IdentifierKind::Phone]
        );
    }
}
