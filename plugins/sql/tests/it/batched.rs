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

/// A neighbour in the batch never hands a subject a row its own lookup would not find: with
/// text keys `abc` and ` abc` (two accounts) holding one email, the batch that resolves `abc`
/// by its key and by that email (as gallra's identity check does, in one batch) finds only
/// `abc`'s row by the key, so the email is seen as another account's too.
#[test]
fn a_neighbour_in_the_batch_never_widens_a_subjects_rows() {
    each_backend(|fx| {
        let backend = fx.backend;
        fx.exec(
            "CREATE TABLE accounts (code VARCHAR(20) PRIMARY KEY, email VARCHAR(100));
             INSERT INTO accounts VALUES ('abc', 'shared@example.se');
             INSERT INTO accounts VALUES (' abc', 'shared@example.se');",
        );
        let settings = serde_json::json!({
            "subjects": {
                "table": "accounts",
                "key": "code",
                "key_type": "text",
                "identifiers": {"customer_id": "code", "email": "email"}
            }
        });
        let connector = fx.open(settings).expect("open");
        let own = Subject::new(vec![
            Identifier::parse(IdentifierKind::CustomerId, "abc").unwrap()
        ]);
        let asked = [own.clone(), by_email("shared@example.se")];
        let single: Vec<_> = asked.iter().map(|s| connector.lookup(s).unwrap()).collect();
        let batched: Vec<_> = connector
            .lookup_many(&asked)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(batched, single, "{backend:?}");
        assert_eq!(batched[0].records.len(), 1, "{backend:?}: only abc itself");
        assert_eq!(
            batched[1].records.len(),
            2,
            "{backend:?}: both hold the email"
        );
    });
}

/// A key column that is not unique (two rows under one key) loses neither row's facts in a
/// batch: the recent login of one keeps the subject, as the single status says.
#[test]
fn a_batched_status_reads_every_row_of_a_key() {
    each_backend(|fx| {
        let backend = fx.backend;
        fx.exec(
            "CREATE TABLE members (code VARCHAR(20), email VARCHAR(100), last_login VARCHAR(30));
             INSERT INTO members VALUES ('k1', 'one@example.se', '2026-11-30 10:00:00');
             INSERT INTO members VALUES ('k1', 'one@example.se', '2019-01-01 10:00:00');",
        );
        let settings = serde_json::json!({
            "subjects": {
                "table": "members",
                "key": "code",
                "key_type": "text",
                "identifiers": {"customer_id": "code", "email": "email"},
                "activity": ["last_login"]
            }
        });
        let connector = fx.open(settings).expect("open");
        let asked = [Subject::new(vec![Identifier::parse(
            IdentifierKind::CustomerId,
            "k1",
        )
        .unwrap()])];
        let single = connector.status(&asked[0]).unwrap();
        let batched = connector.status_many(&asked).pop().unwrap().unwrap();
        assert_eq!(batched, single, "{backend:?}");
        let latest = single.last_activity.expect("an activity").to_string();
        assert!(latest.starts_with("2026-11-30"), "{backend:?}: {latest}");
    });
}
