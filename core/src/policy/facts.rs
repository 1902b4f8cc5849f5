//! Combining what several systems know about one subject.

use gallra_plugin_api::SubjectFacts;
use jiff::Timestamp;

use super::PLAUSIBLE_AFTER;

/// Merges facts from two systems: the latest activity and the latest relationship end win;
/// services and unpaid invoices add up. Unknown (`None`) never overrides a known value, and an
/// implausible activity time (a 1970 default) from either system wins over everything, so the
/// subject is kept as implausible rather than judged on the other system's older date.
pub fn merge_facts(a: &SubjectFacts, b: &SubjectFacts) -> SubjectFacts {
    SubjectFacts {
        last_activity: merge_activity(a.last_activity, b.last_activity),
        relationship_ended: a.relationship_ended.max(b.relationship_ended),
        active_services: add(a.active_services, b.active_services),
        unpaid_invoices: add(a.unpaid_invoices, b.unpaid_invoices),
    }
}

fn merge_activity(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    let implausible = |t: &Timestamp| *t < PLAUSIBLE_AFTER;
    a.filter(implausible).or(b.filter(implausible)).or(a.max(b))
}

fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}
