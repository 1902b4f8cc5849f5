//! The account source's rules: each broken scan fails the rule it breaks.

use super::memory::{Flaw, Style};
use super::run;

#[test]
#[should_panic(expected = "conformance rule \"unreachable-is-transient\" violated: scan")]
fn an_empty_scan_from_an_unreachable_system_fails() {
    run(Flaw::EmptyScanWhenUnreachable, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"scan-ends\" violated: page 2 of a scan in pages of 1 hands on a cursor an earlier page handed on"
)]
fn a_scan_whose_cursor_does_not_advance_fails() {
    run(Flaw::ScanCursorRepeats, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"scan-ends\" violated: page 1 of a scan in pages of 1000 is empty but hands on a cursor"
)]
fn an_empty_page_before_the_last_fails() {
    run(Flaw::ScanEmptyFirstPage, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"scan-limit\" violated: page 1 of a scan in pages of 1 holds 3 subjects"
)]
fn a_page_larger_than_asked_fails() {
    run(Flaw::ScanIgnoresLimit, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"scan-total\" violated: a scan in pages of 1000 says it holds 4 subjects, but its pages hold 3"
)]
fn a_total_the_pages_do_not_add_up_to_fails() {
    run(Flaw::ScanTotalTooHigh, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"scan-stable\" violated: a scan in pages of 1 listed 3 subjects, another set or in another order"
)]
fn an_order_that_depends_on_the_page_size_fails() {
    run(Flaw::ScanOrderDependsOnLimit, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"scan-stable\" violated: a scan in pages of 1000 lists the key of its subject #4 twice"
)]
fn a_subject_listed_twice_fails() {
    run(Flaw::ScanListsTwice, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"scan-key-resolves\" violated: the connector scans but does not claim the customer_id identifier kind"
)]
fn an_account_source_that_resolves_by_email_only_fails() {
    run(Flaw::ResolvesByEmailOnly, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"scan-key-resolves\" violated: lookup by the subject's key in the scan, alone as a customer_id, found nothing"
)]
fn a_scanned_key_that_lookup_does_not_resolve_fails() {
    run(Flaw::ScanKeyIsNotTheCustomerId, Style::Delete);
}
