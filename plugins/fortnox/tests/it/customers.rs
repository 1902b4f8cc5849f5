//! Lookup, export, status, erase and anonymize against the testkit's Fortnox, and the
//! bookkeeping retention they report.

use gallra_plugin_api::jiff::Timestamp;
use gallra_plugin_api::{Connector, ConnectorError, EraseOutcome, Retention};

use crate::support::{
    anna_card, card, customer, email, field_value, open, open_settings, personnummer, settings,
    today, InvoiceData,
};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn retention(outcome: &EraseOutcome) -> &Retention {
    match outcome {
        EraseOutcome::Anonymized {
            retained: Some(r), ..
        } => r,
        other => panic!("expected Anonymized with a retention, got {other:?}"),
    }
}

#[test]
fn lookup_by_number_email_and_personnummer_in_any_spelling_across_pages() {
    let server = crate::support::fortnox();
    for n in 1..=6 {
        server.add_customer(
            &format!("{n}"),
            card(&format!("Kund {n}"), &format!("kund{n}@example.se")),
        );
    }
    server.add_customer("7", anna_card());
    server.add_customer("8", card("Hanna", "hannika.lindqvist@example.se"));
    let mut s = settings(&server);
    s["page_size"] = 2.into();
    let connector = open_settings(&s).unwrap();

    let keys = |subject| -> Vec<String> {
        connector
            .lookup(&subject)
            .unwrap()
            .records
            .into_iter()
            .map(|r| r.key)
            .collect()
    };
    assert_eq!(keys(customer("7")), ["7"]);
    // Fortnox' filter matches "hannika…" too; only the same address counts.
    assert_eq!(keys(email("Annika.Lindqvist@example.se")), ["7"]);
    // Stored as 811218-9876; asked for in twelve digits: every page is read (4 of 2).
    let before = server.requests().len();
    assert_eq!(keys(personnummer("198112189876")), ["7"]);
    let pages = server.requests().len() - before;
    assert_eq!(pages, 4);
    assert!(keys(customer("99")).is_empty());
    assert!(keys(email("nobody@example.se")).is_empty());
    assert!(keys(personnummer("19640823-3234")).is_empty());
}

#[test]
fn export_returns_every_field_of_the_card() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    let connector = open(&server);
    let export = connector
        .export(&email("annika.lindqvist@example.se"))
        .unwrap();
    let value = |field: &str| field_value(&export, field);
    assert_eq!(value("Name").as_deref(), Some("Annika Lindqvist"));
    assert_eq!(value("OrganisationNumber").as_deref(), Some("811218-9876"));
    assert_eq!(value("Comments").as_deref(), Some("ring efter 17"));
    assert!(value("@url").is_none());
    assert!(export
        .fields
        .iter()
        .all(|f| f.record == "7" && f.collection == "customer"));
}

#[test]
fn status_reports_the_latest_bookkeeping_date_and_unpaid_invoices() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    server.add_invoice("7", InvoiceData::paid("2024-02-29"));
    server.add_invoice(
        "7",
        InvoiceData {
            invoice_date: "2025-06-20".into(),
            final_pay_date: Some("2025-07-02".into()),
            balance: 0.0,
            cancelled: false,
        },
    );
    server.add_invoice("7", InvoiceData::unpaid("2025-05-01", 250.0));
    let connector = open(&server);
    let facts = connector.status(&customer("7")).unwrap();
    // The final payment of 2 July 2025 is the latest record: midnight in Stockholm (CEST).
    assert_eq!(facts.last_activity, Some(ts("2025-07-01T22:00:00Z")));
    assert_eq!(facts.unpaid_invoices, Some(1));
    assert_eq!(facts.active_services, None);
    assert_eq!(
        connector.status(&customer("99")).unwrap(),
        Default::default()
    );
}

#[test]
fn a_customer_without_invoices_is_deleted_and_erase_is_idempotent() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    server.add_customer("8", card("Cecilia", "cecilia@example.se"));
    let connector = open(&server);
    let subject = email("annika.lindqvist@example.se");
    assert_eq!(
        connector.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 1 }
    );
    assert!(server.customer("7").is_none());
    assert!(server.customer("8").is_some());
    assert_eq!(
        connector.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
    assert_eq!(
        connector.erase(&customer("7")).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
}

#[test]
fn a_customer_with_invoices_is_anonymized_and_kept_until_the_eighth_new_year() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    server.add_invoice("7", InvoiceData::paid("2024-11-02"));
    server.add_invoice("7", InvoiceData::paid("2025-03-10"));
    let mut s = settings(&server);
    s["financial_year_end"] = "06-30".into();
    let connector = open_settings(&s).unwrap();

    let outcome = connector.erase(&customer("7")).unwrap();
    assert!(
        matches!(outcome, EraseOutcome::Anonymized { records: 1, .. }),
        "{outcome:?}"
    );
    let kept = retention(&outcome);
    assert_eq!(
        kept.legal_basis.as_deref(),
        Some("Bokföringslagen 7 kap. 2 §")
    );
    // 10 March 2025 is in the year ending 30 June 2025: kept through 2032, free from the
    // start of 2033-01-01 in Stockholm.
    assert_eq!(kept.until, Some(ts("2032-12-31T23:00:00Z")));

    let card = server.customer("7").unwrap();
    assert_eq!(card["Name"], "Anonymized");
    for field in [
        "Email",
        "EmailInvoice",
        "OrganisationNumber",
        "Address1",
        "Phone1",
        "Comments",
    ] {
        assert_eq!(card[field], "", "{field}");
    }
    assert_eq!(card["Currency"], "SEK", "what bookkeeping needs stays");
    assert_eq!(server.invoice_count("7"), 2);
    // Anonymized: the email finds no one any more; the number still finds the card, and
    // erasing again changes nothing and answers the same retention.
    assert!(connector
        .lookup(&email("annika.lindqvist@example.se"))
        .unwrap()
        .records
        .is_empty());
    let again = connector.erase(&customer("7")).unwrap();
    assert!(
        matches!(again, EraseOutcome::Anonymized { records: 0, .. }),
        "{again:?}"
    );
    assert_eq!(retention(&again).until, kept.until);
}

#[test]
fn a_calendar_financial_year_counts_from_its_31_december() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    server.add_invoice("7", InvoiceData::paid("2025-03-10"));
    let outcome = open(&server).erase(&customer("7")).unwrap();
    assert_eq!(retention(&outcome).until, Some(ts("2032-12-31T23:00:00Z")));
    server.add_customer("8", card("Bertil", "bertil@example.se"));
    server.add_invoice("8", InvoiceData::paid("2026-01-01"));
    let outcome = open(&server).erase(&customer("8")).unwrap();
    assert_eq!(retention(&outcome).until, Some(ts("2033-12-31T23:00:00Z")));
}

#[test]
fn a_customer_with_unpaid_invoices_is_refused_and_unchanged() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    server.add_invoice("7", InvoiceData::unpaid(&today(), 125.0));
    let err = open(&server).erase(&customer("7")).unwrap_err();
    assert!(matches!(err, ConnectorError::Refused { .. }), "{err:?}");
    assert_eq!(server.customer("7").unwrap()["Name"], "Annika Lindqvist");
}

#[test]
fn after_the_bookkeeping_period_the_delete_is_tried_and_fortnox_refusal_is_explained() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    server.add_invoice("7", InvoiceData::paid("2010-01-05"));
    let outcome = open(&server).erase(&customer("7")).unwrap();
    let kept = retention(&outcome);
    assert_eq!(kept.until, None);
    assert!(kept.reason.contains("period has ended"), "{}", kept.reason);
    assert_eq!(server.customer("7").unwrap()["Name"], "Anonymized");
    assert!(server
        .requests()
        .iter()
        .any(|r| r.method == "DELETE" && r.status == 400));
}

#[test]
fn fortnox_refusing_a_delete_without_invoices_anonymizes_and_says_why() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    server.block_deletion("7");
    let outcome = open(&server).erase(&customer("7")).unwrap();
    let kept = retention(&outcome);
    assert!(
        kept.reason.contains("orders, offers or contracts"),
        "{}",
        kept.reason
    );
    assert_eq!(kept.legal_basis, None);
    assert_eq!(server.customer("7").unwrap()["Email"], "");
}

#[test]
fn anonymize_keeps_the_card_and_reports_the_retention_only_with_invoices() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    server.add_customer("8", card("Bertil", "bertil@example.se"));
    server.add_invoice("8", InvoiceData::paid("2025-03-10"));
    let connector = open(&server);
    assert_eq!(
        connector.anonymize(&customer("7")).unwrap(),
        EraseOutcome::Anonymized {
            records: 1,
            retained: None,
            kept: Vec::new()
        }
    );
    assert!(server.customer("7").is_some(), "anonymize never deletes");
    let outcome = connector.anonymize(&customer("8")).unwrap();
    assert_eq!(retention(&outcome).until, Some(ts("2032-12-31T23:00:00Z")));
}
