//! A batch of subjects in one call answers each as its single call would, with one statement
//! per table: every spelling of an identifier found, no one else's, a row two subjects of the
//! batch share erased once (for the first), someone never held answered with nothing. Against
//! each reachable backend, counting rows in the database.

use gallra_plugin_api::{Connector, EraseOutcome, Identifier, IdentifierKind, Subject};
use gallra_testkit::connector::by_email;

use crate::support::{each_backend, Fixture};

/// Customers `(id, email)`, each with one service row (id + 100).
fn add(fx: &mut Fixture, rows: &[(u32, &str)]) {
    for (id, email) in rows {
        fx.exec(&format!(
            "INSERT INTO customers (id, email, name) VALUES ({id}, '{email}', 'X');
             INSERT INTO services VALUES ({}, {id}, 'closed', NULL);",
            id + 100
        ));
    }
}

fn batch() -> Vec<Subject> {
    let by_id = |id: &str| {
        Subject::new(vec![
            Identifier::parse(IdentifierKind::CustomerId, id).unwrap()
        ])
    };
    vec![
        by_email("family@example.se"),
        // The same address again: a second subject of the batch sharing the first's rows.
        by_email("family@example.se"),
        by_email("åsa@example.se"),
        by_email("nobody@example.invalid"),
        by_id("80"),
    ]
}

#[test]
fn a_batch_is_answered_as_its_single_calls_and_erases_each_row_once() {
    each_backend(|fx| {
        let backend = fx.backend;
        add(
            fx,
            &[
                (70, "family@example.se"),
                (71, " FAMILY@example.se"),
                (72, "ÅSA@example.se"),
                (73, "asa@example.se"),
                (80, "eighty@example.se"),
            ],
        );
        let connector = fx.connector();
        let single: Vec<_> = batch()
            .iter()
            .map(|s| connector.lookup(s).unwrap())
            .collect();
        let batched: Vec<_> = connector
            .lookup_many(&batch())
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(batched, single, "{backend:?}: lookups");
        assert_eq!(
            batched[0].records.len(),
            4,
            "{backend:?}: 2 customers, 2 services"
        );
        assert!(batched[3].records.is_empty(), "{backend:?}: never held");
        let single: Vec<_> = batch()
            .iter()
            .map(|s| connector.status(s).unwrap())
            .collect();
        let batched: Vec<_> = connector
            .status_many(&batch())
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(batched, single, "{backend:?}: status");

        let erased: Vec<_> = connector
            .erase_many(&batch())
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let records = |n| EraseOutcome::Erased { records: n };
        assert_eq!(
            erased,
            [records(4), records(0), records(2), records(0), records(2)],
            "{backend:?}: each row counted once, for the first subject holding it"
        );
        let left = |fx: &mut Fixture, table: &str, ids: &str| fx.count(table, ids);
        assert_eq!(
            left(fx, "customers", "id IN (70, 71, 72, 80)"),
            0,
            "{backend:?}"
        );
        assert_eq!(left(fx, "services", "customer_id IN (70, 71, 72, 80)"), 0);
        assert_eq!(
            left(fx, "customers", "id = 73"),
            1,
            "{backend:?}: asa is someone else"
        );
        assert_eq!(left(fx, "services", "customer_id = 73"), 1, "{backend:?}");
        for found in connector.lookup_many(&batch()) {
            assert_eq!(found.unwrap().records, [], "{backend:?}: the read-back");
        }
    });
}
