//! `config/examples/consultancy.toml`, run for real: the promises of policy 003 (an IT and
//! cloud consultancy), with its customer register and bookkeeping on SQLite files, its mail
//! an SQL table of the same role, and the places without an API tended by people.

use std::time::Duration;

use gallra_e2e::examples::{completed_at, stockholm, stockholm_after, Example, World};
use gallra_e2e::requests::{receipt_line, task};
use gallra_e2e::wait::wait_until;
use serde_json::Value;

/// Customer 1 ended their agreements last year; customer 2 has one running.
const CUSTOMERS: &str = "
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, phone TEXT, updated_at TEXT, ended_at TEXT);
CREATE TABLE agreements (id INTEGER PRIMARY KEY, customer_id INTEGER, kind TEXT, status TEXT);
CREATE TABLE quotes (id INTEGER PRIMARY KEY, customer_id INTEGER, amount INTEGER);
INSERT INTO customers VALUES (1, 'anna@kund.example', '+46701112233', '2025-11-01 10:00:00', '2025-12-31 12:00:00'),
  (2, 'bertil@kund.example', '+46702223344', '2026-02-01 10:00:00', NULL);
INSERT INTO agreements VALUES (1, 1, 'backup', 'ended'), (2, 1, 'support', 'ended'),
  (3, 2, 'support', 'active');
INSERT INTO quotes VALUES (1, 1, 12000), (2, 2, 8000);
";

/// Invoice 1 is the last of 2023 (23:59 in Stockholm), invoice 2 the first of 2024 (00:30,
/// still 2023 in UTC). Receipt 1 is of 2023, receipt 2 of the leap day 2024.
const BOOKKEEPING: &str = "
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT, address TEXT);
CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER, issued_at TEXT, paid_at TEXT);
CREATE TABLE receipts (id INTEGER PRIMARY KEY, supplier TEXT, paid_at TEXT);
INSERT INTO customers VALUES (1, 'anna@kund.example', 'Anna Kund', 'Vägen 1'),
  (2, 'bertil@kund.example', 'Bertil Kund', 'Vägen 2');
INSERT INTO invoices VALUES (1, 1, '2023-12-31 23:59:00', '2024-01-15 10:00:00'),
  (2, 2, '2024-01-01 00:30:00', '2024-01-20 10:00:00'),
  (3, 1, '2025-12-15 10:00:00', '2025-12-30 10:00:00');
INSERT INTO receipts VALUES (1, 'Kontorsvaror AB', '2023-03-15 10:00:00'),
  (2, 'Datorhuset AB', '2024-02-29 12:00:00');
";

fn world(dir: &std::path::Path) -> World {
    let mut example = Example::load("consultancy", dir);
    example.sqlite("customers", &[CUSTOMERS.to_owned()]);
    example.sqlite("bookkeeping", &[BOOKKEEPING.to_owned()]);
    example.mailbox_as_sql(
        "mail",
        &[
            "CREATE TABLE messages (id INTEGER PRIMARY KEY, address TEXT, subject TEXT);
           INSERT INTO messages VALUES (1, 'anna@kund.example', 'Offert'),
             (2, 'anna@kund.example', 'Re: Offert'), (3, 'bertil@kund.example', 'Avtal');"
                .to_owned(),
        ],
    );
    example.enforce();
    example.quick_rechecks();
    World::new(example)
}

/// «I enlighet med bokföringslagen sparas fakturor och kvitton i 7 år.» As the law counts
/// the seven years: until the end of the seventh year after the calendar year in which the
/// financial year ended. Then the schedule removes them, without anyone asking.
#[test]
fn invoices_and_receipts_are_kept_exactly_until_the_legal_date_then_the_schedule_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());

    // The last second of 2030: everything of 2023 is still kept.
    world.gallra.run_once_at(&stockholm("2030-12-31T23:59:59"));
    assert_eq!(world.ids("bookkeeping", "invoices"), ["1", "2", "3"]);
    assert_eq!(world.ids("bookkeeping", "receipts"), ["1", "2"]);

    // The service starts at 02:04:57 on 1 January 2031: the invoices' 02:00 slot was missed
    // and is caught up at once; the receipts' slot comes at 02:05.
    let daemon = world
        .example
        .start_daemon_at(&stockholm("2031-01-01T02:04:57"));
    wait_until("both scheduled runs", Duration::from_secs(60), || {
        world.ids("bookkeeping", "invoices") == ["2", "3"]
            && world.ids("bookkeeping", "receipts") == ["2"]
    });
    drop(daemon);
    // What is of 2024 (the first half hour of 2024 included) stays until the end of 2031.
    assert_eq!(world.ids("bookkeeping", "invoices"), ["2", "3"]);
    assert_eq!(world.ids("bookkeeping", "receipts"), ["2"]);
    world.gallra.run_once_at(&stockholm("2032-01-01T02:10:00"));
    assert_eq!(world.ids("bookkeeping", "invoices"), ["3"]);
    assert!(world.ids("bookkeeping", "receipts").is_empty());
}

/// «Kunden kan när som helst begära att få sina personuppgifter raderade från registret.»
/// «Vi kan söka upp alla mail som har florerat mellan DittCloud AB och kunden och radera
/// dessa på kundens begäran.» «Kunden kan när som helst begära att få sina kontaktuppgifter
/// raderade ur våra telefoner. Vi ser också till att … radera eventuella backuper»
#[test]
fn an_erasure_reaches_the_register_mail_and_bookkeeping_and_people_do_the_paper_phones_and_calendars(
) {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let gallra = &world.gallra;
    let at = stockholm("2026-03-02T09:00:00");
    let id = gallra.request_at(&at, "erase", "anna@kund.example");
    gallra
        .at(&stockholm("2026-03-02T09:05:00"), &["run", "--once"])
        .expect_code(0);

    // The register, the agreements and the quotes, and every mail with the customer.
    assert_eq!(world.ids("customers", "customers"), ["2"]);
    assert_eq!(world.ids("customers", "agreements"), ["3"]);
    assert_eq!(world.ids("customers", "quotes"), ["2"]);
    assert_eq!(
        world.db("mail").set("SELECT address FROM messages"),
        ["bertil@kund.example".to_owned()].into()
    );
    // The bookkeeping is anonymized; the invoices stay.
    assert_eq!(
        world
            .db("bookkeeping")
            .rows("SELECT name, email FROM customers WHERE id = 1"),
        [[Some("Anonymiserad kund".to_owned()), None]]
    );
    assert_eq!(world.ids("bookkeeping", "invoices"), ["1", "2", "3"]);

    // People do the rest, each told what to do.
    let later = stockholm("2026-03-03T11:00:00");
    let view = gallra.show_at(&later, id);
    for system in ["file-server", "binders", "phones", "calendars"] {
        let person = task(&view, system);
        assert_eq!(person["state"], "needs_person", "{person:#}");
        assert!(
            person["instructions"]
                .as_str()
                .is_some_and(|i| i.ends_with("then confirm.")),
            "{person:#}"
        );
        gallra.task_done_at(&later, person, "klart");
    }
    let view = gallra.show_at(&stockholm("2026-03-03T11:05:00"), id);
    assert_eq!(view["state"], "done", "{view:#}");
    // The last invoice (December 2025) keeps the bookkeeping until the end of 2032.
    let bookkeeping = receipt_line(&view, "bookkeeping");
    assert_eq!(bookkeeping["outcome"], "retained", "{bookkeeping:#}");
    assert_eq!(
        bookkeeping["retained_until"],
        Value::from(stockholm("2033-01-01"))
    );
    // The mail's backups are kept a year, the longest: the receipt says when they expire.
    let expires = stockholm_after(completed_at(&view), jiff::Span::new().years(1));
    assert_eq!(view["receipt"]["backups_expire_by"], Value::from(expires));

    // A customer whose support agreement still runs is not erased until it ends.
    let id = gallra.request_at(&later, "erase", "bertil@kund.example");
    gallra.at(&later, &["run", "--once"]).expect_code(0);
    let view = gallra.show_at(&later, id);
    assert_eq!(view["state"], "blocked", "{view:#}");
    assert_eq!(view["detail"], "the customer still has active services");
    assert_eq!(world.ids("customers", "customers"), ["2"]);
}
