//! `config/examples/processor-annex.toml`, run for real: the promises of policy 002 (a
//! hosting provider's data-processing annex), with its customer register, billing and logs
//! on SQLite files, and years passing on gallra's clock.

use std::time::Duration;

use gallra_e2e::examples::{report, stockholm, Example, World};
use gallra_e2e::wait::wait_until;

/// Customer 1's last service ended three months and a day before 2026-10-02; customer 2's
/// two months before; customer 3 has a service running.
const CUSTOMERS: &str = "
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, personnummer TEXT, phone TEXT,
                        last_login TEXT, services_ended_at TEXT);
CREATE TABLE services (id INTEGER PRIMARY KEY, customer_id INTEGER, status TEXT, ended_at TEXT);
INSERT INTO customers VALUES
  (1, 'ended@example.se', '811218-9876', NULL, '2026-06-20 10:00:00', '2026-07-01 09:00:00'),
  (2, 'recent@example.se', NULL, NULL, '2026-07-20 10:00:00', '2026-08-02 09:00:00'),
  (3, 'customer@example.se', NULL, NULL, '2026-09-30 10:00:00', NULL);
INSERT INTO services VALUES (1, 1, 'ended', '2026-07-01 09:00:00'),
  (2, 2, 'ended', '2026-08-02 09:00:00'), (3, 3, 'active', NULL);
";

/// The financial year runs July–June. Invoice 1 closed the year ending 30 June 2024 (kept
/// until the end of 2031), invoice 2 opened the next one (until the end of 2032); invoice 3
/// is of the year ending June 2019 (until the end of 2026).
const BILLING: &str = "
CREATE TABLE clients (id INTEGER PRIMARY KEY, email TEXT, personnummer TEXT, name TEXT, address TEXT);
CREATE TABLE invoices (id INTEGER PRIMARY KEY, client_id INTEGER, issued_at TEXT, paid_at TEXT);
INSERT INTO clients VALUES (1, 'ended@example.se', '811218-9876', 'Eva Ended', 'Storgatan 1'),
  (2, 'recent@example.se', NULL, 'Rolf Recent', 'Lillgatan 2'),
  (3, 'customer@example.se', NULL, 'Cia Customer', 'Torget 3');
INSERT INTO invoices VALUES
  (1, 1, '2024-06-30 23:59:00', '2024-07-15 10:00:00'),
  (2, 1, '2024-07-01 00:00:00', '2024-07-15 10:00:00'),
  (3, 2, '2019-06-15 12:00:00', '2019-06-30 12:00:00'),
  (4, 3, '2026-09-01 12:00:00', '2026-09-10 12:00:00');
";

/// Access logs are kept 12 months, mail logs 30 days.
const LOGS: &str = "
CREATE TABLE access_log (id INTEGER PRIMARY KEY, ip TEXT, username TEXT, logged_at TEXT);
CREATE TABLE mail_log (id INTEGER PRIMARY KEY, address TEXT, logged_at TEXT);
INSERT INTO access_log VALUES (1, '192.0.2.1', 'eva', '2025-09-30 12:00:00'),
  (2, '192.0.2.2', 'rolf', '2025-10-03 12:00:00'), (3, '192.0.2.3', 'cia', '2026-10-01 12:00:00');
INSERT INTO mail_log VALUES (1, 'ended@example.se', '2026-08-31 12:00:00'),
  (2, 'recent@example.se', '2026-09-03 12:00:00');
";

fn world(dir: &std::path::Path) -> World {
    let mut example = Example::load("processor-annex", dir);
    example.sqlite("customers", &[CUSTOMERS.to_owned()]);
    example.sqlite("billing", &[BILLING.to_owned()]);
    example.sqlite("logs", &[LOGS.to_owned()]);
    example.enforce();
    World::new(example)
}

/// «Personuppgifter som lagras direkt i våra system gallras eller anonymiseras inom skälig tid
/// efter att Kund helt avslutat sin tjänst … Undantag är data som har lagkrav att sparas
/// längre (t.ex. finansiell information för Skatteverket eller bokföringsinformation) …
/// Information som lagras indirekt på våra tjänster, som t.ex. backuper av Kunds data, loggar
/// eller liknande sparas mellan 7 dagar och 12 månader beroende på tjänst.»
#[test]
fn personal_data_goes_three_months_after_every_service_ended_bookkeeping_excepted_and_logs_by_their_own_clocks(
) {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let reports = world.gallra.run_once_at(&stockholm("2026-10-02T04:00:00"));
    let ended = report(&reports, "services-ended");
    assert_eq!(ended["state"], "done", "{ended:#}");
    assert_eq!(ended["selected"], 1, "{ended:#}");

    // Customer 1 is gone; the others are untouched.
    assert_eq!(world.ids("customers", "customers"), ["2", "3"]);
    assert_eq!(world.ids("customers", "services"), ["2", "3"]);
    // Billing anonymizes them; every invoice stays, even one from 2019 (kept until the end
    // of 2026, the seventh year after its financial year ended in June 2019).
    let billing = world.db("billing");
    assert_eq!(
        billing.rows("SELECT name, email, personnummer, address FROM clients ORDER BY id"),
        [
            vec![Some("Anonymiserad kund".to_owned()), None, None, None],
            vec![
                Some("Rolf Recent".to_owned()),
                Some("recent@example.se".to_owned()),
                None,
                Some("Lillgatan 2".to_owned())
            ],
            vec![
                Some("Cia Customer".to_owned()),
                Some("customer@example.se".to_owned()),
                None,
                Some("Torget 3".to_owned())
            ],
        ]
    );
    assert_eq!(world.ids("billing", "invoices"), ["1", "2", "3", "4"]);
    // Logs: access older than 12 months and mail older than 30 days are gone.
    assert_eq!(world.ids("logs", "access_log"), ["2", "3"]);
    assert_eq!(world.ids("logs", "mail_log"), ["2"]);

    // On the first of January 2027 the 2019 invoice's time is up. (Only the invoice policy
    // runs: the nightly ones, three months without a run, would stop at the clock valve.)
    world
        .gallra
        .run_policy_once_at(&stockholm("2027-01-01T05:00:00"), "invoices");
    assert_eq!(world.ids("billing", "invoices"), ["1", "2", "4"]);
}

/// «Undantag är data som har lagkrav att sparas längre (t.ex. … bokföringsinformation) och
/// dessa sparas då så länge vi har lagkrav på att spara informationen.»: until the end of the
/// seventh year after the calendar year in which the financial year ended, then no longer,
/// removed by the schedule without anyone asking.
#[test]
fn invoices_stay_exactly_until_the_end_of_the_seventh_year_after_their_financial_year_then_the_schedule_removes_them(
) {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());

    // The last second of 2031: both invoices of 2024 are still needed. (Only the invoice
    // policy runs: a first run of the others, years on, would rightly wait for a person.)
    world
        .gallra
        .run_policy_once_at(&stockholm("2031-12-31T23:59:59"), "invoices");
    assert_eq!(world.ids("billing", "invoices"), ["1", "2", "4"]);

    // gallra runs as a service; the policy's slot (05:00 on the first of the month) comes
    // four seconds after it starts, on 1 January 2032.
    let daemon = world
        .example
        .start_daemon_at(&stockholm("2032-01-01T04:59:56"));
    wait_until("the scheduled run", Duration::from_secs(60), || {
        world.ids("billing", "invoices") == ["2", "4"]
    });
    drop(daemon);
    // Invoice 2, one minute later in the books, belongs to the next financial year: 2033.
    assert_eq!(world.ids("billing", "invoices"), ["2", "4"]);
    let runs = world
        .gallra
        .run(&["runs", "--json", "--policy", "invoices"])
        .expect_code(0)
        .json();
    let latest = &runs[0];
    assert_eq!(latest["state"], "done", "{runs:#}");
    assert_eq!(latest["selected"], 1, "{runs:#}");
    let started: jiff::Timestamp = latest["started_at"].as_str().unwrap().parse().unwrap();
    let slot: jiff::Timestamp = stockholm("2032-01-01T05:00:00").parse().unwrap();
    assert!(
        started >= slot && started.duration_since(slot) < jiff::SignedDuration::from_mins(1),
        "the run started at the slot: {started}"
    );

    world
        .gallra
        .run_policy_once_at(&stockholm("2033-01-01T05:00:00"), "invoices");
    assert_eq!(world.ids("billing", "invoices"), ["4"]);
}
