//! An activity value that is present but cannot be read keeps its subject: the facts report
//! it as [`UNREADABLE_ACTIVITY`] (1970, a time the daemon never believes), never as the
//! latest of the readable columns, which could be years older than the unreadable one.
//! Against SQLite, PostgreSQL and MariaDB (each when reachable; see `support`), in text
//! columns of the subjects table and of a child table, and PostgreSQL's `±infinity` in
//! typed columns.

use gallra_plugin_api::jiff::Timestamp;
use gallra_plugin_api::{Connector, ScanRequest, SubjectFacts};
use gallra_plugin_sql::SqlConnector;
use serde_json::{json, Value};

use crate::support::{by_email, each_backend, standard_settings, Backend, Fixture};

/// 1970-01-01T00:00:00Z: what the connector reports for an unreadable activity time.
const UNREADABLE_ACTIVITY: Timestamp = Timestamp::UNIX_EPOCH;

/// The standard settings plus a text activity column in `customers` (`seen_at`) and one in
/// `invoices` (`reminded_at`), both NULL unless a test fills them.
fn open_with_text_columns(fx: &mut Fixture) -> SqlConnector {
    fx.exec(
        "ALTER TABLE customers ADD seen_at VARCHAR(40);
         ALTER TABLE invoices ADD reminded_at VARCHAR(40);",
    );
    let mut settings = standard_settings();
    push(&mut settings["subjects"]["activity"], "seen_at");
    push(&mut settings["children"][1]["activity"], "reminded_at");
    fx.open(settings).expect("open connector")
}

fn push(list: &mut Value, column: &str) {
    list.as_array_mut()
        .expect("activity list")
        .push(json!(column));
}

/// Every subject's facts, by key, from one scan.
fn scanned(connector: &SqlConnector) -> Vec<(String, SubjectFacts)> {
    let page = connector
        .scan(ScanRequest {
            cursor: None,
            limit: 100,
        })
        .expect("scan");
    let mut all: Vec<_> = page
        .subjects
        .into_iter()
        .map(|s| (s.key, s.facts))
        .collect();
    let mut cursor = page.next_cursor;
    while let Some(at) = cursor.take() {
        let page = connector
            .scan(ScanRequest {
                cursor: Some(at),
                limit: 100,
            })
            .expect("scan page");
        all.extend(page.subjects.into_iter().map(|s| (s.key, s.facts)));
        cursor = page.next_cursor;
    }
    all
}

fn activity_of(connector: &SqlConnector, key: &str) -> Option<Timestamp> {
    scanned(connector)
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("subject {key} scanned"))
        .1
        .last_activity
}

fn at(s: &str) -> Option<Timestamp> {
    Some(s.parse().expect("timestamp"))
}

#[test]
fn an_unreadable_subject_column_wins_over_older_readable_ones() {
    each_backend(|fx| {
        let c = open_with_text_columns(fx);
        // Eva: last login 2021, an invoice paid 2022; her last visit cannot be read.
        assert_eq!(activity_of(&c, "5"), at("2021-12-31T23:00:00Z"));
        fx.exec("UPDATE customers SET seen_at = 'last Tuesday' WHERE id = 5");
        let backend = fx.backend;
        assert_eq!(
            activity_of(&c, "5"),
            Some(UNREADABLE_ACTIVITY),
            "{backend:?}: scan"
        );
        let status = c.status(&by_email("eva@example.se")).expect("status");
        assert_eq!(
            status.last_activity,
            Some(UNREADABLE_ACTIVITY),
            "{backend:?}: status"
        );
        // The rest of her facts, and everyone else's activity, are as before.
        assert_eq!(
            (status.active_services, status.unpaid_invoices),
            (Some(0), Some(0))
        );
        assert_eq!(activity_of(&c, "1"), at("2024-03-01T11:00:00Z"));
        // Empty text and a MySQL zero date are no value, not an unreadable one.
        fx.exec("UPDATE customers SET seen_at = '' WHERE id = 5");
        assert_eq!(activity_of(&c, "5"), at("2021-12-31T23:00:00Z"));
        fx.exec("UPDATE customers SET seen_at = '0000-00-00 00:00:00' WHERE id = 5");
        assert_eq!(activity_of(&c, "5"), at("2021-12-31T23:00:00Z"));
    });
}

#[test]
fn status_over_several_subject_rows_keeps_an_unreadable_one() {
    each_backend(|fx| {
        let c = open_with_text_columns(fx);
        // A second, recently active row with Eva's email: her readable dates go up to 2025.
        fx.exec(
            "INSERT INTO customers (id, email, name, last_login) \
             VALUES (8, 'eva@example.se', 'Eva', '2025-01-01 00:00:00')",
        );
        let eva = by_email("eva@example.se");
        assert_eq!(
            c.status(&eva).unwrap().last_activity,
            at("2024-12-31T23:00:00Z")
        );
        fx.exec("UPDATE customers SET seen_at = 'soon' WHERE id = 5");
        assert_eq!(
            c.status(&eva).unwrap().last_activity,
            Some(UNREADABLE_ACTIVITY),
            "{:?}",
            fx.backend
        );
    });
}

#[test]
fn an_unreadable_child_value_keeps_the_subject_whether_it_sorts_high_or_low() {
    // As text, letters sort after the digits a date starts with and '(' before them (in a
    // byte order; PostgreSQL's locale may ignore the '('): MAX or MIN shows each.
    for garbage in ["n/a", "(unknown)"] {
        each_backend(|fx| {
            let c = open_with_text_columns(fx);
            fx.exec(
                "UPDATE invoices SET reminded_at = '2023-01-01 00:00:00' WHERE id = 3;
                 UPDATE invoices SET reminded_at = '2021-06-01 00:00:00' WHERE id = 5",
            );
            // Dan: last login 2024-06-01, a readable reminder in 2023.
            assert_eq!(activity_of(&c, "4"), at("2024-06-01T07:00:00Z"));
            fx.exec(&format!(
                "UPDATE invoices SET reminded_at = '{garbage}' WHERE id = 4"
            ));
            assert_eq!(
                activity_of(&c, "4"),
                Some(UNREADABLE_ACTIVITY),
                "{:?}: {garbage:?} in invoices.reminded_at",
                fx.backend
            );
            let status = c.status(&by_email("dan@example.se")).unwrap();
            assert_eq!(status.last_activity, Some(UNREADABLE_ACTIVITY));
            assert_eq!(status.unpaid_invoices, Some(2), "counts are unaffected");
            // Eva's one readable reminder (before her 2022 payment) changes nothing.
            assert_eq!(activity_of(&c, "5"), at("2021-12-31T23:00:00Z"));
        });
    }
}

/// PostgreSQL's typed columns hold `infinity` and `-infinity`, which are no activity time;
/// the latter sorts below every date in a child table, so only its `MIN` shows it.
#[test]
fn postgres_infinity_is_an_unreadable_activity_time() {
    let Some(mut fx) = Fixture::new(Backend::Postgres) else {
        return;
    };
    let c = fx.connector();
    fx.exec("UPDATE customers SET last_login = 'infinity' WHERE id = 5");
    assert_eq!(activity_of(&c, "5"), Some(UNREADABLE_ACTIVITY));
    assert_eq!(activity_of(&c, "3"), at("2023-05-31T22:00:00Z"));
    fx.exec("UPDATE services SET ended_at = '-infinity' WHERE id = 1");
    assert_eq!(activity_of(&c, "1"), Some(UNREADABLE_ACTIVITY));
}
