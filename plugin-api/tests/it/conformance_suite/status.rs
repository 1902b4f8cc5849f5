//! The `status` rules: each broken status fails the rule it breaks.

use super::memory::{Flaw, Style};
use super::run;

#[test]
#[should_panic(
    expected = "conformance rule \"status-absent-is-empty\" violated: status of someone never seeded failed"
)]
fn a_status_that_fails_for_someone_never_held_fails() {
    run(Flaw::StatusOfAbsentFails, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"status-answers\" violated: status of the refused subject failed"
)]
fn a_status_that_fails_for_a_seeded_subject_fails() {
    run(Flaw::StatusFailsForDebtors, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"status-matches-scan\" violated: status of the subject by its key answers other facts than its record in the scan: unpaid_invoices differ"
)]
fn a_scan_whose_facts_differ_from_status_fails() {
    run(Flaw::ScanLeavesOutInvoices, Style::Delete);
}
