//! Combining what several systems know about one subject.

use gallra_plugin_api::SubjectFacts;

/// Merges facts from two systems: the latest activity and the latest relationship end win;
/// services and unpaid invoices add up. Unknown (`None`) never overrides a known value.
pub fn merge_facts(a: &SubjectFacts, b: &SubjectFacts) -> SubjectFacts {
    SubjectFacts {
        last_activity: a.last_activity.max(b.last_activity),
        relationship_ended: a.relationship_ended.max(b.relationship_ended),
        active_services: add(a.active_services, b.active_services),
        unpaid_invoices: add(a.unpaid_invoices, b.unpaid_invoices),
    }
}

fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    }
}
