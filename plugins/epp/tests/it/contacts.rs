//! Lookup, export and erase of registry contacts against the testkit's EPP server, over TLS
//! with a client certificate.

use gallra_plugin_api::{Connector, EraseOutcome, RecordRef, Retention};

use crate::support::{anna, customer, open, seeded};

fn linked(code: u16) -> Option<Retention> {
    Some(Retention {
        reason: format!("contact is linked to a domain at the registry (EPP {code})"),
        legal_basis: Some("registry rules".to_owned()),
        until: None,
    })
}

#[test]
fn lookup_finds_the_contact_by_customer_id() {
    let server = seeded();
    let epp = open(&server);
    let found = epp.lookup(&customer("1001")).unwrap();
    assert_eq!(
        found.records,
        [RecordRef {
            collection: "contact".into(),
            key: "GALLRA-1001".into()
        }]
    );
    assert!(epp.lookup(&customer("4040")).unwrap().records.is_empty());
}

#[test]
fn export_holds_every_field_of_the_contact_with_its_orgno() {
    let server = seeded();
    let epp = open(&server);
    let export = epp.export(&customer("1001")).unwrap();
    let field = |name: &str| {
        export
            .fields
            .iter()
            .find(|f| f.field == name)
            .unwrap_or_else(|| panic!("no field {name}"))
            .value
            .clone()
    };
    let want = anna();
    assert_eq!(field("name"), Some(want.name));
    assert_eq!(field("street"), Some("Storgatan 1".to_owned()));
    assert_eq!(field("city"), Some("Stockholm".to_owned()));
    assert_eq!(field("pc"), Some("111 22".to_owned()));
    assert_eq!(field("cc"), Some("SE".to_owned()));
    assert_eq!(field("voice"), Some("+46.701234567".to_owned()));
    assert_eq!(field("email"), Some(want.email));
    assert_eq!(field("org"), None);
    assert_eq!(field("orgno"), Some("[SE]811218-9876".to_owned()));
    assert!(export
        .fields
        .iter()
        .all(|f| f.collection == "contact" && f.record == "GALLRA-1001"));
    assert!(epp.export(&customer("4040")).unwrap().fields.is_empty());
}

#[test]
fn an_unlinked_contact_is_deleted_and_erasing_again_succeeds() {
    let server = seeded();
    let epp = open(&server);
    assert_eq!(
        epp.erase(&customer("1001")).unwrap(),
        EraseOutcome::Erased { records: 1 }
    );
    assert_eq!(server.contact("GALLRA-1001"), None);
    assert!(epp.lookup(&customer("1001")).unwrap().records.is_empty());
    assert_eq!(
        epp.erase(&customer("1001")).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
    assert!(
        server.contact("GALLRA-1003").is_some(),
        "bystander untouched"
    );
}

#[test]
fn a_linked_contact_is_anonymized_and_retained_until_its_domain_is_gone() {
    let server = seeded();
    let epp = open(&server);
    let outcome = epp.erase(&customer("1002")).unwrap();
    assert_eq!(
        outcome,
        EraseOutcome::Anonymized {
            records: 1,
            retained: linked(2305),
            kept: Vec::new()
        }
    );
    let kept = server
        .contact("GALLRA-1002")
        .expect("the registry keeps it");
    assert_eq!(kept.name, "Anonymized");
    assert_eq!(kept.street, ["Anonymized"]);
    assert_eq!(kept.city, "Anonymized");
    assert_eq!(
        (kept.pc, kept.voice, kept.fax, kept.org),
        (None, None, None, None)
    );
    assert!(kept.email.starts_with("anonymized-") && kept.email.ends_with("@invalid"));
    assert!(!kept.email.contains("bertil"));
    assert_eq!(kept.cc, "SE");

    // gallra asks again later: still linked, nothing left to change.
    assert_eq!(
        epp.erase(&customer("1002")).unwrap(),
        EraseOutcome::Anonymized {
            records: 0,
            retained: linked(2305),
            kept: Vec::new()
        }
    );
    let updates = server
        .commands()
        .iter()
        .filter(|c| *c == "contact:update")
        .count();
    assert_eq!(updates, 1, "an anonymized contact is not updated again");

    server.remove_domain("bertil.se");
    assert_eq!(
        epp.erase(&customer("1002")).unwrap(),
        EraseOutcome::Erased { records: 1 }
    );
    assert_eq!(server.contact("GALLRA-1002"), None);
    assert_eq!(
        epp.erase(&customer("1002")).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
}

#[test]
fn anonymize_keeps_the_contact_and_the_orgno_that_cannot_change() {
    let server = seeded();
    let epp = open(&server);
    assert_eq!(
        epp.anonymize(&customer("1001")).unwrap(),
        EraseOutcome::Anonymized {
            records: 1,
            retained: None,
            kept: Vec::new()
        }
    );
    let kept = server.contact("GALLRA-1001").unwrap();
    assert_eq!(kept.name, "Anonymized");
    assert_eq!(kept.orgno.as_deref(), Some("[SE]811218-9876"));
}

#[test]
fn one_session_serves_many_calls_and_a_dropped_one_is_replaced() {
    let server = seeded();
    let epp = open(&server);
    epp.lookup(&customer("1001")).unwrap();
    epp.export(&customer("1003")).unwrap();
    assert_eq!(server.logins(), 1);
    server.drop_sessions();
    assert_eq!(epp.lookup(&customer("1001")).unwrap().records.len(), 1);
    assert_eq!(server.logins(), 2);
    epp.health().unwrap();
}

#[test]
fn the_customer_id_can_be_the_contact_handle() {
    let server = seeded();
    let mut settings = crate::support::settings(&server);
    settings["contacts"]["contact_id"] = "{customer_id}".into();
    let epp = crate::support::open_settings(&settings).unwrap();
    let found = epp.lookup(&customer("GALLRA-1003")).unwrap();
    assert_eq!(found.records[0].key, "GALLRA-1003");
}
