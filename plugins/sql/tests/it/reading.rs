//! Reading subjects: scan, lookup, status, export and describe, through the `Connector`
//! trait against SQLite, PostgreSQL and MariaDB (each when reachable; see `support`).

use gallra_plugin_api::jiff::Timestamp;
use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Identifier, IdentifierKind, RecordRef, ScanRequest,
    Subject, SubjectFacts, SubjectRecord,
};
use gallra_plugin_sql::SqlConnector;

use crate::support::{by_email, each_backend, subject, Backend, Fixture};

fn at(s: &str) -> Option<Timestamp> {
    Some(s.parse().expect("timestamp"))
}

fn facts(
    last_activity: Option<Timestamp>,
    relationship_ended: Option<Timestamp>,
    active: u64,
    unpaid: u64,
) -> SubjectFacts {
    SubjectFacts {
        last_activity,
        relationship_ended,
        active_services: Some(active),
        unpaid_invoices: Some(unpaid),
    }
}

/// What the fixture's subjects look like, by key (timestamps in Europe/Stockholm).
fn expected_facts() -> Vec<(&'static str, SubjectFacts)> {
    vec![
        // Latest of last_login, created_at, services.ended_at, invoices.paid_at.
        ("1", facts(at("2024-03-01T11:00:00Z"), None, 1, 1)),
        // Zero date (NULL in PostgreSQL) and NULL: no known activity.
        ("2", facts(None, None, 0, 0)),
        (
            "3",
            facts(at("2023-05-31T22:00:00Z"), at("2023-05-31T22:00:00Z"), 0, 0),
        ),
        ("4", facts(at("2024-06-01T07:00:00Z"), None, 1, 2)),
        // The paid invoice is later than the last login.
        ("5", facts(at("2021-12-31T23:00:00Z"), None, 0, 0)),
        ("6", facts(at("2022-02-02T01:02:02Z"), None, 2, 0)),
        ("7", facts(at("2024-12-24T14:00:00Z"), None, 0, 0)),
    ]
}

fn scan_all(connector: &SqlConnector, limit: u32) -> (Vec<SubjectRecord>, Option<u64>, usize) {
    let mut cursor = None;
    let mut subjects = Vec::new();
    let mut total = None;
    let mut pages = 0;
    loop {
        let page = connector
            .scan(ScanRequest { cursor, limit })
            .expect("scan page");
        pages += 1;
        if pages == 1 {
            total = page.total;
        } else {
            assert_eq!(page.total, None, "total comes with the first page");
        }
        assert!(page.subjects.len() <= limit as usize);
        subjects.extend(page.subjects);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 50, "scan does not end");
    }
    (subjects, total, pages)
}

fn ids(records: &[RecordRef]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|r| (r.collection.clone(), r.key.clone()))
        .collect()
}

fn pair(collection: &str, key: &str) -> (String, String) {
    (collection.to_owned(), key.to_owned())
}

#[test]
fn scan_pages_through_every_subject_exactly_once_with_correct_facts() {
    each_backend(|fx| {
        let connector = fx.connector();
        // page_size = 3 caps a request for 100; a request for 2 stays at 2.
        for (limit, want_pages) in [(100, 3), (2, 4)] {
            let (subjects, total, pages) = scan_all(&connector, limit);
            assert_eq!(total, Some(7));
            assert_eq!(pages, want_pages, "limit {limit}");
            let keys: Vec<&str> = subjects.iter().map(|s| s.key.as_str()).collect();
            assert_eq!(keys, ["1", "2", "3", "4", "5", "6", "7"]);
            for (subject, (key, want)) in subjects.iter().zip(expected_facts()) {
                assert_eq!(
                    subject.facts, want,
                    "{:?}: facts of subject {key}",
                    fx.backend
                );
            }
        }
        let (subjects, _, _) = scan_all(&connector, 10);
        let cecilia = &subjects[2].identifiers;
        assert!(cecilia
            .contains(&Identifier::parse(IdentifierKind::Email, "cecilia@example.se").unwrap()));
        assert!(
            cecilia.contains(&Identifier::parse(IdentifierKind::Phone, "+46707654321").unwrap())
        );
        assert!(cecilia.contains(&Identifier::parse(IdentifierKind::CustomerId, "3").unwrap()));
        // "frank at example" is no email address: skipped, the subject still listed, with
        // its email marked unreadable.
        assert!(subjects[5]
            .identifiers
            .iter()
            .all(|i| i.kind() != IdentifierKind::Email));
        assert_eq!(subjects[5].unreadable, [IdentifierKind::Email]);
        assert!(subjects[2].unreadable.is_empty());
    });
}

#[test]
fn lookup_finds_a_subject_by_email_personnummer_phone_or_customer_id() {
    each_backend(|fx| {
        let c = fx.connector();
        let found = |s: Subject| ids(&c.lookup(&s).expect("lookup").records);
        assert_eq!(
            found(by_email("CECILIA@example.se")),
            [pair("customers", "3"), pair("services", "3")]
        );
        // Stored as 121212-1212 (born 2012), asked as twelve digits with a dash.
        assert_eq!(
            found(subject(IdentifierKind::Personnummer, "20121212-1212")),
            [pair("customers", "2")]
        );
        // Stored as twelve digits, asked as ten with a dash.
        let anna = found(subject(IdentifierKind::Personnummer, "811218-9876"));
        assert_eq!(anna[0], pair("customers", "1"));
        assert_eq!(anna.len(), 3, "customer row, services, invoices");
        assert_eq!(
            found(subject(IdentifierKind::Personnummer, "199001010017"))[0],
            pair("customers", "4")
        );
        assert_eq!(
            found(subject(IdentifierKind::Personnummer, "19850615-1235")),
            [pair("customers", "5"), pair("invoices", "5")]
        );
        assert_eq!(
            found(subject(IdentifierKind::Phone, "070-123 45 67"))[0],
            pair("customers", "1")
        );
        assert_eq!(
            found(subject(IdentifierKind::CustomerId, "7")),
            [pair("customers", "7")]
        );
        assert_eq!(found(subject(IdentifierKind::CustomerId, "C-7")), []);
        assert_eq!(found(by_email("nobody@example.se")), []);
        assert_eq!(
            found(subject(IdentifierKind::Domain, "example.se")),
            [],
            "domain is not configured"
        );
    });
}

#[test]
fn status_reports_the_facts_that_scan_reports() {
    each_backend(|fx| {
        let c = fx.connector();
        assert_eq!(
            c.status(&by_email("anna@example.se")).unwrap(),
            expected_facts()[0].1
        );
        assert_eq!(
            c.status(&by_email("dan@example.se")).unwrap(),
            expected_facts()[3].1
        );
        let nobody = c.status(&by_email("nobody@example.se")).unwrap();
        assert_eq!(nobody, facts(None, None, 0, 0));
    });
}

#[test]
fn export_returns_every_column_of_the_subject_row_and_its_child_rows() {
    each_backend(|fx| {
        let c = fx.connector();
        let fields = c.export(&by_email("anna@example.se")).unwrap().fields;
        assert_eq!(fields.len(), 9 + 2 * 4 + 2 * 4);
        let email = fields
            .iter()
            .find(|f| f.collection == "customers" && f.field == "email")
            .unwrap();
        assert_eq!(
            (email.record.as_str(), email.value.as_deref()),
            ("1", Some(email_of_anna()))
        );
        let records: std::collections::BTreeSet<_> = fields
            .iter()
            .filter(|f| f.collection != "customers")
            .map(|f| (f.collection.as_str(), f.record.as_str()))
            .collect();
        let want = [
            ("invoices", "1/1"),
            ("invoices", "1/2"),
            ("services", "1/1"),
            ("services", "1/2"),
        ];
        assert_eq!(records.into_iter().collect::<Vec<_>>(), want);
        assert!(c
            .export(&by_email("nobody@example.se"))
            .unwrap()
            .fields
            .is_empty());
    });
}

fn email_of_anna() -> &'static str {
    "anna@example.se"
}

#[test]
fn describe_and_health_reflect_the_configuration() {
    each_backend(|fx: &mut Fixture| {
        let c = fx.connector();
        let d = c.describe();
        assert_eq!(d.name, "sql");
        for cap in [
            Capability::Scan,
            Capability::Lookup,
            Capability::Export,
            Capability::Erase,
            Capability::Status,
            Capability::Expire,
        ] {
            assert!(d.capabilities.contains(&cap), "{cap:?}");
        }
        assert!(
            !d.capabilities.contains(&Capability::Anonymize),
            "no anonymize columns"
        );
        assert_eq!(d.record_kinds, ["unconverted_signups"]);
        assert!(d.activity_bearing);
        assert_eq!(d.identifier_kinds.len(), 4);
        c.health().unwrap();
        if fx.backend == Backend::Sqlite {
            let unsupported = c.anonymize(&by_email("anna@example.se")).unwrap_err();
            assert!(matches!(unsupported, ConnectorError::Unsupported { .. }));
        }
    });
}

/// Keys 8 to 120 cross from one digit to three: a scan that sorted them as text ("99" after
/// "100") would skip and repeat subjects across pages, and miss the children of the rest.
#[test]
fn scan_pages_follow_numeric_key_order_across_digit_lengths() {
    each_backend(|fx| {
        let customers: Vec<String> = (8..=120)
            .map(|id| format!("({id}, 'c{id}@example.se', NULL, NULL, 'C', NULL, '2024-01-01 00:00:00', NULL, NULL)"))
            .collect();
        fx.exec(&format!(
            "INSERT INTO customers VALUES {}",
            customers.join(", ")
        ));
        fx.exec("INSERT INTO services VALUES (100, 105, 'active', NULL)");
        let connector = fx.connector();
        let (subjects, total, _) = scan_all(&connector, 10);
        assert_eq!(total, Some(120));
        let keys: Vec<u64> = subjects.iter().map(|s| s.key.parse().unwrap()).collect();
        assert_eq!(
            keys,
            (1..=120).collect::<Vec<_>>(),
            "{:?}: pages out of key order",
            fx.backend
        );
        let c105 = subjects.iter().find(|s| s.key == "105").unwrap();
        assert_eq!(
            c105.facts.active_services,
            Some(1),
            "{:?}: child facts lost",
            fx.backend
        );
    });
}
