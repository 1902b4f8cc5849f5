//! Scan, status, lookup, export, erase and anonymize against the testkit's WHMCS.

use gallra_plugin_api::jiff::Timestamp;
use gallra_plugin_api::{
    Connector, ConnectorError, EraseOutcome, Identifier, IdentifierKind, ScanRequest, Subject,
};

use crate::support::{
    anna, customer, email, field_value, open, open_settings, settings, ClientData, Whmcs, PNR_FIELD,
};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn scan_all(
    connector: &impl Connector,
    limit: u32,
) -> (Vec<gallra_plugin_api::SubjectRecord>, usize) {
    let mut cursor = None;
    let mut subjects = Vec::new();
    let mut pages = 0;
    loop {
        let page = connector
            .scan(ScanRequest { cursor, limit })
            .expect("scan page");
        pages += 1;
        assert_eq!(page.total, Some(7), "every page says how many there are");
        subjects.extend(page.subjects);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return (subjects, pages),
        }
    }
}

#[test]
fn scan_lists_every_client_in_id_order_across_pages_with_identifiers_and_facts() {
    let server = Whmcs::start();
    server.set_max_page(3);
    let anna_id = server.add_client(anna());
    // Before her last login: the login is her last activity.
    server.add_invoice(anna_id, "2015-01-15", "Unpaid");
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(server.add_client(ClientData::person(
            "Kund",
            &format!("Nummer{n}"),
            &format!("kund{n}@example.se"),
        )));
    }
    server.add_invoice(ids[1], "2025-01-15", "Paid");
    let connector = open(&server);
    // The connector asks for 3 at a time; the site caps pages at 3: 7 clients, 3 pages.
    let (subjects, pages) = scan_all(&connector, 3);
    assert_eq!(pages, 3);
    let keys: Vec<&str> = subjects.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["1", "2", "3", "4", "5", "6", "7"]);

    let anna = &subjects[0];
    let has = |kind: IdentifierKind, value: &str| {
        anna.identifiers
            .contains(&Identifier::parse(kind, value).unwrap())
    };
    assert!(has(IdentifierKind::CustomerId, "1"));
    assert!(has(IdentifierKind::Email, "annika.lindqvist@example.se"));
    assert!(has(IdentifierKind::Personnummer, "19811218-9876"));
    assert!(has(IdentifierKind::Phone, "+46709876543"));
    // 03/10/2016 10:26 in Stockholm (CEST) is 08:26 UTC, read as dd/mm/yyyy.
    assert_eq!(anna.facts.last_activity, Some(ts("2016-10-03T08:26:00Z")));
    assert_eq!(anna.facts.active_services, Some(3));
    assert_eq!(anna.facts.unpaid_invoices, Some(1));

    let never = &subjects[1];
    assert_eq!(
        never.facts.last_activity, None,
        "No Login Logged is unknown, not inactive"
    );
    assert_eq!(never.facts.active_services, Some(0));

    // Never logged in, invoiced: the invoice is the activity, in the scan as in status.
    let invoiced = &subjects[2];
    assert_eq!(
        invoiced.facts.last_activity,
        Some(ts("2025-01-14T23:00:00Z")),
        "the start of the invoice date in Stockholm"
    );
    assert_eq!(invoiced.facts.unpaid_invoices, Some(0));
}

#[test]
fn the_site_date_format_decides_how_the_last_login_reads() {
    let server = Whmcs::start();
    server.add_client(anna());
    let mut s = settings(&server);
    s["date_format"] = "mm/dd/yyyy".into();
    let connector = open_settings(&s).unwrap();
    let page = connector
        .scan(ScanRequest {
            cursor: None,
            limit: 10,
        })
        .unwrap();
    assert_eq!(
        page.subjects[0].facts.last_activity,
        Some(ts("2016-03-10T09:26:00Z"))
    );
}

#[test]
fn status_counts_from_the_later_of_last_login_and_latest_invoice() {
    let server = Whmcs::start();
    let id = server.add_client(anna());
    server.add_invoice(id, "2023-11-30", "Paid");
    server.add_invoice(id, "2024-02-29", "Paid");
    server.add_invoice(id, "2025-06-01", "Draft");
    let connector = open(&server);
    let facts = connector
        .status(&email("annika.lindqvist@example.se"))
        .unwrap();
    // A draft is no bookkeeping record: the latest issued invoice is 2024-02-29 (midnight
    // in Stockholm), later than the login of 2016.
    assert_eq!(facts.last_activity, Some(ts("2024-02-28T23:00:00Z")));
    assert_eq!(facts.active_services, Some(3));
    assert_eq!(facts.unpaid_invoices, Some(0));

    let nobody = connector.status(&email("nobody@example.se")).unwrap();
    assert_eq!(
        nobody,
        Default::default(),
        "someone WHMCS does not know has unknown facts"
    );
}

#[test]
fn lookup_and_export_by_email_or_customer_id_and_nothing_by_other_ids() {
    let server = Whmcs::start();
    let id = server.add_client(anna());
    server.add_client(ClientData::person("Cecilia", "Ek", "cecilia@example.se"));
    let connector = open(&server);
    for subject in [email("ANNIKA.lindqvist@example.se"), customer(id)] {
        let found = connector.lookup(&subject).unwrap();
        assert_eq!(found.records.len(), 1);
        assert_eq!(found.records[0].key, id.to_string());
    }
    for absent in [email("nobody@example.se"), customer(99)] {
        assert!(connector.lookup(&absent).unwrap().records.is_empty());
    }
    let not_ours = Subject::new(vec![
        Identifier::parse(IdentifierKind::CustomerId, "K-1001").unwrap(),
        Identifier::parse(IdentifierKind::Personnummer, "19811218-9876").unwrap(),
    ]);
    assert!(connector.lookup(&not_ours).unwrap().records.is_empty());

    let export = connector.export(&customer(id)).unwrap();
    let value = |field: &str| field_value(&export, field);
    assert_eq!(value("lastname").as_deref(), Some("Lindqvist"));
    assert_eq!(value("companyname").as_deref(), Some("Lindqvists Snickeri"));
    assert_eq!(
        value(&format!("customfield {PNR_FIELD}")).as_deref(),
        Some("19811218-9876")
    );
    assert!(export.fields.iter().all(|f| f.record == id.to_string()));
}

#[test]
fn erase_refuses_a_client_with_invoices_and_deletes_nothing() {
    let server = Whmcs::start();
    let id = server.add_client(anna());
    server.add_invoice(id, "2024-05-02", "Paid");
    let connector = open(&server);
    match connector.erase(&customer(id)) {
        Err(ConnectorError::Refused {
            reason,
            legal_basis,
        }) => {
            assert_eq!(
                reason,
                "the client has invoices, which are bookkeeping records"
            );
            assert_eq!(legal_basis.as_deref(), Some("Bokföringslagen 7 kap. 2 §"));
        }
        other => panic!("{other:?}"),
    }
    assert!(server.client(id).is_some());
    assert_eq!(server.invoice_count(id), 1);
}

#[test]
fn a_client_with_only_a_draft_invoice_is_erased() {
    let server = Whmcs::start();
    let id = server.add_client(anna());
    server.add_invoice(id, "2024-05-02", "Draft");
    let connector = open(&server);
    assert_eq!(
        connector.erase(&customer(id)).unwrap(),
        EraseOutcome::Erased { records: 1 }
    );
    assert!(server.client(id).is_none());
}

#[test]
fn with_invoices_delete_the_client_goes_with_its_invoices_and_erase_is_idempotent() {
    let server = Whmcs::start();
    let id = server.add_client(anna());
    server.add_invoice(id, "2024-05-02", "Paid");
    let mut s = settings(&server);
    s["invoices"] = "delete".into();
    let connector = open_settings(&s).unwrap();
    let subject = email("annika.lindqvist@example.se");
    assert_eq!(
        connector.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 1 }
    );
    assert!(server.client(id).is_none());
    assert_eq!(server.invoice_count(id), 0);
    assert_eq!(
        connector.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
    assert_eq!(
        connector.erase(&customer(id)).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
}

#[test]
fn anonymize_replaces_personal_fields_keeps_invoices_and_is_idempotent() {
    let server = Whmcs::start();
    let id = server.add_client(anna());
    server.add_invoice(id, "2024-05-02", "Paid");
    let bystander = server.add_client(ClientData::person("Cecilia", "Ek", "cecilia@example.se"));
    let connector = open(&server);

    let outcome = connector.anonymize(&customer(id)).unwrap();
    let EraseOutcome::Anonymized {
        records: 1,
        retained: Some(retention),
        ..
    } = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        retention.legal_basis.as_deref(),
        Some("Bokföringslagen 7 kap. 2 §")
    );

    let client = server.client(id).unwrap();
    assert_eq!(client.firstname, "Anonymized");
    assert_eq!(client.lastname, "Anonymized");
    assert_eq!(client.email, format!("anonymized-{id}@anonymized.invalid"));
    assert_eq!(client.companyname, "");
    assert_eq!(client.phonenumber, "");
    assert_eq!(client.notes, "");
    assert_eq!(
        client.customfields.get(&PNR_FIELD).map(String::as_str),
        Some("")
    );
    assert!(!client.has_card);
    assert_eq!(client.country, "SE");
    assert_eq!(server.invoice_count(id), 1);
    assert_eq!(server.client(bystander).unwrap().lastname, "Ek");

    // The old address finds no one; the customer id still finds the anonymized client.
    assert!(connector
        .lookup(&email("annika.lindqvist@example.se"))
        .unwrap()
        .records
        .is_empty());
    let again = connector.anonymize(&customer(id)).unwrap();
    assert!(
        matches!(again, EraseOutcome::Anonymized { records: 0, .. }),
        "{again:?}"
    );
}
