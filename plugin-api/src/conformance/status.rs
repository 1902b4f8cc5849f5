//! The `status` rules: nothing known of someone never held, an answer for everyone seeded,
//! and the same facts as the scan.

use crate::messages::{SubjectFacts, SubjectRecord};

use super::scan::{by_key, records_of};
use super::suite::Suite;
use super::{violated, ConformanceSystem};

impl<S: ConformanceSystem> Suite<'_, S> {
    /// Checks `status` (claimed) against someone never held, the seeded people and, for an
    /// account source, their records in `scanned`.
    pub(super) fn status(&mut self, connector: &S::Connector, scanned: Option<&[SubjectRecord]>) {
        let absent = self.system.absent_subject();
        match self.status_of(connector, &absent) {
            Ok(facts) if knows_nothing(&facts) => {}
            Ok(facts) => violated(
                "status-absent-is-empty",
                format!(
                    "status of someone never seeded reports {}; expected no date and no count \
                     above 0",
                    differing(&facts, &SubjectFacts::default()).join(", ")
                ),
            ),
            Err(e) => violated(
                "status-absent-is-empty",
                format!(
                    "status of someone never seeded failed instead of answering that nothing is \
                     known (gallra keeps every subject whose status fails): {e}"
                ),
            ),
        }
        for (who, name) in self.seeded() {
            if let Err(e) = self.status_of(connector, who) {
                violated(
                    "status-answers",
                    format!("status of the {name} failed: {e}"),
                );
            }
        }
        let Some(scanned) = scanned else {
            return;
        };
        for (who, name) in self.seeded() {
            for record in records_of(scanned, who) {
                // The scan rules have checked the key.
                let Some(by_key) = by_key(record) else {
                    continue;
                };
                let facts = self.status_of(connector, &by_key).unwrap_or_else(|e| {
                    violated(
                        "status-matches-scan",
                        format!("status of the {name} by its key in the scan failed: {e}"),
                    )
                });
                if facts != record.facts {
                    violated(
                        "status-matches-scan",
                        format!(
                            "status of the {name} by its key answers other facts than its \
                             record in the scan: {} differ (gallra plans from the scan and \
                             checks with status before it erases)",
                            differing(&facts, &record.facts).join(", ")
                        ),
                    );
                }
            }
        }
    }
}

/// Nothing about anyone: no date, and no count above 0 (a system may say, truly, that someone
/// it never held has 0 services).
fn knows_nothing(facts: &SubjectFacts) -> bool {
    facts.last_activity.is_none()
        && facts.relationship_ended.is_none()
        && facts.active_services.unwrap_or(0) == 0
        && facts.unpaid_invoices.unwrap_or(0) == 0
}

/// The names of the facts that differ (not their values: they are a person's).
fn differing(a: &SubjectFacts, b: &SubjectFacts) -> Vec<&'static str> {
    let mut names = Vec::new();
    if a.last_activity != b.last_activity {
        names.push("last_activity");
    }
    if a.relationship_ended != b.relationship_ended {
        names.push("relationship_ended");
    }
    if a.active_services != b.active_services {
        names.push("active_services");
    }
    if a.unpaid_invoices != b.unpaid_invoices {
        names.push("unpaid_invoices");
    }
    names
}
