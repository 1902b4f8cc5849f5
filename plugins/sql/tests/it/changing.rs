//! Changing data: erase, anonymize and expire, through the `Connector` trait against SQLite,
//! PostgreSQL and MariaDB (each when reachable; see `support`). Rows are counted by direct
//! SQL, never through the connector.

use gallra_plugin_api::{
    Capability, Connector, ConnectorError, EraseOutcome, ExpireRequest, ExpireResult, Identifier,
    IdentifierKind, RecordRef, Subject,
};
use serde_json::json;

use crate::support::{by_email, each_backend, standard_settings, subject};

#[test]
fn erase_removes_the_subject_and_its_child_rows_and_nothing_else() {
    each_backend(|fx| {
        let c = fx.connector();
        let anna = by_email("Anna@Example.se");
        assert_eq!(c.erase(&anna).unwrap(), EraseOutcome::Erased { records: 5 });
        assert_eq!(fx.count("customers", "id = 1"), 0);
        assert_eq!(fx.count("services", "customer_id = 1"), 0);
        assert_eq!(fx.count("invoices", "customer_id = 1"), 0);
        assert_eq!(fx.count("customers", ""), 6);
        assert_eq!(fx.count("services", ""), 4);
        assert_eq!(fx.count("invoices", ""), 3);
        assert_eq!(c.erase(&anna).unwrap(), EraseOutcome::Erased { records: 0 });
        assert!(c.lookup(&anna).unwrap().records.is_empty());
        assert_eq!(fx.count("customers", ""), 6);
    });
}

fn anonymizing_settings() -> serde_json::Value {
    let mut settings = standard_settings();
    settings["subjects"]["on_erase"] = json!("anonymize");
    settings["subjects"]["anonymize"] = json!({
        "email": "hash", "personnummer": "null", "note": "null", "name": {"value": ""}
    });
    settings["children"][0]["on_erase"] = json!("anonymize");
    settings["children"][0]["anonymize"] = json!({"status": {"value": "anonymized"}});
    settings["children"][1]["on_erase"] = json!("keep");
    settings
}

#[test]
fn erase_with_on_erase_anonymize_replaces_exactly_the_configured_columns() {
    each_backend(|fx| {
        let c = fx.open(anonymizing_settings()).expect("open");
        let anna = subject(IdentifierKind::Personnummer, "19811218-9876");
        let outcome = c.erase(&anna).unwrap();
        assert_eq!(
            outcome,
            EraseOutcome::Anonymized {
                records: 3,
                retained: None,
                kept: vec![customer_row("1")]
            }
        );
        assert_eq!(fx.count("customers", ""), 7, "the row stays");
        let email = fx
            .value("SELECT email FROM customers WHERE id = 1")
            .unwrap();
        assert_eq!(email.len(), 64, "hex SHA-256");
        assert!(email.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            fx.count(
                "customers",
                "id = 1 AND personnummer IS NULL AND note IS NULL"
            ),
            1
        );
        assert_eq!(fx.count("customers", "id = 1 AND name = ''"), 1);
        // Columns without a rule are left alone.
        assert_eq!(
            fx.count("customers", "id = 1 AND phone = '+46701234567'"),
            1
        );
        assert_eq!(
            fx.count("customers", "id = 1 AND last_login IS NOT NULL"),
            1
        );
        assert_eq!(
            fx.count("services", "customer_id = 1 AND status = 'anonymized'"),
            2
        );
        assert_eq!(
            fx.count("invoices", "customer_id = 1"),
            2,
            "on_erase = keep"
        );
        // Everyone else is untouched.
        assert_eq!(fx.count("customers", "email LIKE '%@%'"), 5);
        assert_eq!(fx.count("services", "status = 'anonymized'"), 2);
        // The identifier is gone, so there is nothing left to anonymize.
        let again = c.erase(&anna).unwrap();
        assert_eq!(
            again,
            EraseOutcome::Anonymized {
                records: 0,
                retained: None,
                kept: Vec::new()
            }
        );
    });
}

/// The reference an anonymization gives for a kept row of `customers`.
fn customer_row(key: &str) -> RecordRef {
    RecordRef {
        collection: "customers".into(),
        key: key.into(),
    }
}

#[test]
fn the_rows_an_anonymization_keeps_are_erased_by_their_reference_when_the_hold_ends() {
    each_backend(|fx| {
        let mut settings = standard_settings();
        settings["subjects"]["anonymize"] = json!({"email": "null", "personnummer": "null"});
        let c = fx.open(settings).expect("open");
        let anna = subject(IdentifierKind::Personnummer, "19811218-9876");
        let EraseOutcome::Anonymized { kept, .. } = c.anonymize(&anna).unwrap() else {
            panic!("not anonymized");
        };
        assert_eq!(kept, [customer_row("1")]);
        assert_eq!(fx.count("customers", "id = 1"), 1, "kept during the hold");
        // The hold's end: the identifiers are gone, the reference still finds the row.
        let by_reference = subject(IdentifierKind::CustomerId, &kept[0].key);
        assert!(!c.lookup(&by_reference).unwrap().records.is_empty());
        assert_eq!(
            c.erase(&by_reference).unwrap(),
            EraseOutcome::Erased { records: 5 }
        );
        assert_eq!(fx.count("customers", "id = 1"), 0);
        assert_eq!(fx.count("invoices", "customer_id = 1"), 0);
        assert!(c.lookup(&by_reference).unwrap().records.is_empty());
        assert_eq!(fx.count("customers", ""), 6, "no one else");
    });
}

#[test]
fn an_anonymization_names_no_kept_row_that_erase_could_not_find_by_its_key() {
    each_backend(|fx| {
        let mut settings = standard_settings();
        settings["subjects"]["identifiers"]
            .as_object_mut()
            .unwrap()
            .remove("customer_id");
        settings["subjects"]["anonymize"] = json!({"email": "null"});
        let c = fx.open(settings).expect("open");
        let anna = by_email("anna@example.se");
        let EraseOutcome::Anonymized { kept, records, .. } = c.anonymize(&anna).unwrap() else {
            panic!("not anonymized");
        };
        assert!(records > 0);
        assert!(kept.is_empty(), "{kept:?}");
    });
}

#[test]
fn anonymize_overwrites_the_configured_columns_and_deletes_nothing() {
    each_backend(|fx| {
        let mut settings = standard_settings();
        settings["subjects"]["anonymize"] = json!({"email": "hash", "name": {"value": "-"}});
        let c = fx.open(settings).expect("open");
        assert!(c.describe().capabilities.contains(&Capability::Anonymize));
        let dan = subject(IdentifierKind::CustomerId, "4");
        let outcome = c.anonymize(&dan).unwrap();
        assert_eq!(
            outcome,
            EraseOutcome::Anonymized {
                records: 1,
                retained: None,
                kept: vec![customer_row("4")]
            }
        );
        let hashed = fx
            .value("SELECT email FROM customers WHERE id = 4")
            .unwrap();
        assert_eq!(hashed.len(), 64);
        assert_eq!(fx.count("customers", "id = 4 AND name = '-'"), 1);
        assert_eq!(fx.count("services", "customer_id = 4"), 1);
        assert_eq!(fx.count("invoices", "customer_id = 4"), 2);
        // Found again by customer id, but a hash is not hashed twice.
        c.anonymize(&dan).unwrap();
        assert_eq!(
            fx.value("SELECT email FROM customers WHERE id = 4")
                .unwrap(),
            hashed
        );
        assert_eq!(fx.count("customers", "email = 'anna@example.se'"), 1);
    });
}

#[test]
fn expire_counts_in_a_dry_run_and_deletes_exactly_the_rows_older_than_the_cutoff() {
    each_backend(|fx| {
        let c = fx.connector();
        let request = |dry_run| ExpireRequest {
            kind: "unconverted_signups".into(),
            cutoff: "2024-01-01T00:00:00Z".parse().unwrap(),
            dry_run,
        };
        // Rows 1, 6 and 7 (00:30 in Stockholm is 23:30 UTC the day before); row 2 is
        // converted, 3 and 8 are not older, 4 and 5 have no clock.
        let dry = c.expire(&request(true)).unwrap();
        assert_eq!(
            dry,
            ExpireResult {
                matched: 3,
                removed: 0
            }
        );
        assert_eq!(fx.count("signups", ""), 8);
        let real = c.expire(&request(false)).unwrap();
        assert_eq!(
            real,
            ExpireResult {
                matched: 3,
                removed: 3
            }
        );
        assert_eq!(fx.count("signups", "id IN (1, 6, 7)"), 0);
        assert_eq!(fx.count("signups", "id IN (2, 3, 4, 5, 8)"), 5);
        assert_eq!(c.expire(&request(false)).unwrap(), ExpireResult::default());
        let unknown = ExpireRequest {
            kind: "nope".into(),
            ..request(true)
        };
        assert!(matches!(
            c.expire(&unknown),
            Err(ConnectorError::Permanent { .. })
        ));
    });
}

#[test]
fn hostile_identifiers_in_lookup_and_erase_are_harmless() {
    each_backend(|fx| {
        let c = fx.connector();
        let hostile = Subject::new(vec![
            Identifier::parse(
                IdentifierKind::Email,
                "x');DROP/**/TABLE/**/customers;--@example.se",
            )
            .unwrap(),
            Identifier::parse(IdentifierKind::Email, "x'OR'1'='1@example.se").unwrap(),
            Identifier::parse(IdentifierKind::CustomerId, "1; DROP TABLE customers;--").unwrap(),
            Identifier::parse(IdentifierKind::CustomerId, "1 OR 1=1").unwrap(),
        ]);
        assert!(c.lookup(&hostile).unwrap().records.is_empty());
        assert_eq!(
            c.erase(&hostile).unwrap(),
            EraseOutcome::Erased { records: 0 }
        );
        assert_eq!(fx.count("customers", ""), 7);
        assert_eq!(fx.count("services", ""), 6);
        assert_eq!(fx.count("invoices", ""), 5);
    });
}

#[test]
fn errors_name_the_table_or_column_and_never_the_email() {
    each_backend(|fx| {
        let email = "anna@example.se";
        let mut settings = standard_settings();
        settings["subjects"]["anonymize"] = json!({"name": "null"});
        let c = fx.open(settings).expect("open");
        // name is NOT NULL: the update fails, and the transaction leaves the row as it was.
        let err = c.anonymize(&by_email(email)).unwrap_err();
        assert!(matches!(err, ConnectorError::Permanent { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(
            shown.contains("name") && shown.contains("customers"),
            "{shown}"
        );
        assert!(!shown.contains("anna"), "{shown}");
        assert_eq!(fx.count("customers", "id = 1 AND name = 'Anna'"), 1);

        fx.exec("DROP TABLE services");
        for err in [
            c.lookup(&by_email(email)).unwrap_err(),
            c.erase(&by_email(email)).unwrap_err(),
        ] {
            assert!(matches!(err, ConnectorError::Permanent { .. }), "{err:?}");
            let shown = format!("{err} {err:?}");
            assert!(
                shown.contains("services") && !shown.contains("system \"panel\""),
                "names the table, not the system (gallra does): {shown}"
            );
            assert!(!shown.contains("anna"), "{shown}");
        }
        assert_eq!(
            fx.count("customers", ""),
            7,
            "the failed erase changed nothing"
        );
        assert_eq!(fx.count("invoices", ""), 5);

        // A mistyped activity column is named too.
        let mut settings = standard_settings();
        settings["subjects"]["activity"] = json!(["last_logn"]);
        let c = fx.open(settings).expect("open");
        let err = c.status(&by_email(email)).unwrap_err();
        assert!(matches!(err, ConnectorError::Permanent { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("last_logn"), "{shown}");
        assert!(!shown.contains("anna"), "{shown}");
    });
}

#[test]
fn a_conditional_erase_checks_the_facts_again_in_its_own_transaction() {
    use gallra_plugin_api::{jiff::Timestamp, StillSelected};
    each_backend(|fx| {
        let c = fx.connector();
        let inactive_since_2024 = StillSelected {
            inactive_before: Some("2024-01-01T00:00:00Z".parse::<Timestamp>().unwrap()),
            no_active_services: true,
            no_unpaid_invoices: true,
            ..StillSelected::default()
        };
        let conditional = |id: &str| {
            let mut who = subject(IdentifierKind::CustomerId, id);
            who.still_selected = Some(inactive_since_2024.clone());
            who
        };
        // Gun logged in on 2024-12-24: no longer inactive, so nothing of hers goes.
        let refused = c.erase(&conditional("7")).unwrap_err();
        assert!(
            matches!(&refused, ConnectorError::Refused { reason, .. } if reason.contains("active since")),
            "{refused:?}"
        );
        assert_eq!(fx.count("customers", "id = 7"), 1);
        // Eva's last activity was in 2021 and she owes nothing: erased.
        assert_eq!(
            c.erase(&conditional("5")).unwrap(),
            EraseOutcome::Erased { records: 2 }
        );
        assert_eq!(fx.count("customers", "id = 5"), 0);
        // Dan has an active service and unpaid invoices: kept, whatever his activity.
        let mut dan = conditional("4");
        dan.still_selected.as_mut().unwrap().inactive_before =
            Some("2030-01-01T00:00:00Z".parse().unwrap());
        assert!(matches!(c.erase(&dan), Err(ConnectorError::Refused { .. })));
        assert_eq!(fx.count("customers", "id = 4"), 1);
        assert_eq!(fx.count("services", "customer_id = 4"), 1);
    });
}
