//! Restoring: the rows of an export put back after an erase, through the `Connector` trait
//! against SQLite, PostgreSQL and MariaDB (each when reachable; see `support`). Rows are
//! counted and compared by direct SQL and by export, never by the restore's own answer alone.

use gallra_plugin_api::{Capability, Connector, EraseOutcome, ExportResult, RestoreOutcome};
use serde_json::json;

use crate::support::{by_email, each_backend, standard_settings, Fixture};

/// Every row of every table, each column as text: what must be the same after a restore.
fn dump(fx: &mut Fixture) -> Vec<Option<String>> {
    let mut values = Vec::new();
    for (table, columns) in [
        (
            "customers",
            "id, email, personnummer, phone, name, note, last_login, created_at, closed_at",
        ),
        ("services", "id, customer_id, status, ended_at"),
        ("invoices", "id, customer_id, paid_at, amount"),
    ] {
        // The seeded ids and a few beyond; a missing row reads as NULLs.
        for id in 1..=10 {
            for column in columns.split(", ") {
                values.push(fx.value(&format!(
                    "SELECT (SELECT CAST({column} AS CHAR(200)) FROM {table} WHERE id = {id})"
                )));
            }
        }
    }
    values
}

fn sorted(export: &ExportResult) -> Vec<(String, String, String, Option<String>)> {
    let mut fields: Vec<_> = export
        .fields
        .iter()
        .map(|f| {
            (
                f.collection.clone(),
                f.record.clone(),
                f.field.clone(),
                f.value.clone(),
            )
        })
        .collect();
    fields.sort();
    fields
}

#[test]
fn restore_puts_back_exactly_the_erased_rows_once() {
    each_backend(|fx| {
        let c = fx.connector();
        assert!(c.describe().capabilities.contains(&Capability::Restore));
        let anna = by_email("anna@example.se");
        let before = dump(fx);
        let export = c.export(&anna).unwrap();
        assert_eq!(c.erase(&anna).unwrap(), EraseOutcome::Erased { records: 5 });
        assert_ne!(dump(fx), before);
        let first = c.restore(&export).unwrap();
        assert_eq!(
            first,
            RestoreOutcome {
                restored: 5,
                already_present: 0
            }
        );
        assert_eq!(
            dump(fx),
            before,
            "every row of every table as before the erase"
        );
        assert_eq!(sorted(&c.export(&anna).unwrap()), sorted(&export));
        let second = c.restore(&export).unwrap();
        assert_eq!(
            second,
            RestoreOutcome {
                restored: 0,
                already_present: 5
            }
        );
        assert_eq!(dump(fx), before, "a second restore changes nothing");
    });
}

#[test]
fn a_row_changed_since_keeps_its_new_values() {
    each_backend(|fx| {
        let c = fx.connector();
        let anna = by_email("anna@example.se");
        let export = c.export(&anna).unwrap();
        c.erase(&anna).unwrap();
        // Between the purge and the restore the customer signed up again with the same id.
        fx.exec("INSERT INTO customers (id, email, name) VALUES (1, 'anna@example.se', 'Anna II')");
        let outcome = c.restore(&export).unwrap();
        assert_eq!(outcome.restored + outcome.already_present, 5);
        assert_eq!(fx.count("customers", "id = 1 AND name = 'Anna II'"), 1);
        assert_eq!(fx.count("customers", "id = 1"), 1);
        assert_eq!(fx.count("services", "customer_id = 1"), 2);
    });
}

#[test]
fn an_export_naming_another_table_is_refused_and_restores_nothing() {
    each_backend(|fx| {
        let c = fx.connector();
        let anna = by_email("anna@example.se");
        let mut export = c.export(&anna).unwrap();
        c.erase(&anna).unwrap();
        let mut foreign = export.fields[0].clone();
        foreign.collection = "signups".into();
        export.fields.push(foreign);
        let err = c.restore(&export).unwrap_err().to_string();
        assert!(err.contains("not in this system's settings"), "{err}");
        assert!(!err.contains("anna"), "{err}");
        assert_eq!(
            fx.count("customers", "id = 1"),
            0,
            "refused before anything is written"
        );
        assert_eq!(fx.count("services", "customer_id = 1"), 0);
    });
}

#[test]
fn a_system_that_anonymizes_on_erase_does_not_offer_restore() {
    each_backend(|fx| {
        let mut settings = standard_settings();
        settings["subjects"]["on_erase"] = json!("anonymize");
        settings["subjects"]["anonymize"] = json!({"email": "hash", "name": {"value": ""}});
        let c = fx.open(settings).expect("open");
        assert!(!c.describe().capabilities.contains(&Capability::Restore));
    });
}

/// A child anonymized in place keeps its row, so a restore could not put its columns back:
/// the system does not promise one.
#[test]
fn a_system_with_a_child_anonymized_in_place_does_not_offer_restore() {
    each_backend(|fx| {
        let mut settings = standard_settings();
        settings["children"][1]["on_erase"] = json!("anonymize");
        settings["children"][1]["anonymize"] = json!({"paid_at": {"value": ""}});
        let c = fx.open(settings).expect("open");
        assert!(!c.describe().capabilities.contains(&Capability::Restore));
    });
}
