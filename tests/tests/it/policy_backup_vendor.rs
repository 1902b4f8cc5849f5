//! `config/examples/backup-vendor.toml`, run for real: the five stores of policy 004 (a
//! backup and encryption software vendor), each with its own rule, on SQLite files (the
//! Loopia mailbox as an SQL table of the same role), night after night on gallra's clock.

use gallra_e2e::examples::{report, stockholm, Example, World};
use gallra_e2e::requests::{receipt_line, task};
use jiff::{Span, Zoned};
use serde_json::Value;

/// The first night the tests look at, 03:00 in Stockholm.
const NOW: &str = "2026-03-01T03:00:00";

/// Customer 1's relationship ended 50 days before NOW, customer 2's 40 days before; 3 is a
/// customer.
const CUSTOMERS: &str = "
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, phone TEXT, ended_at TEXT);
INSERT INTO customers VALUES (1, 'ulla@foretag.example', '+46703334455', '2026-01-10 09:00:00'),
  (2, 'sven@foretag.example', NULL, '2026-01-20 09:00:00'), (3, 'kim@foretag.example', NULL, NULL);
";

const SERVERS: &str = "
CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT, organisation TEXT, install_code TEXT,
                       registered_at TEXT, last_backup_at TEXT);
INSERT INTO accounts VALUES (10, 'ulla@foretag.example', 'Företag AB', 'X1', '2024-01-01 10:00:00', '2026-01-09 02:00:00'),
  (20, 'sven@foretag.example', 'Sven AB', 'X2', '2024-02-01 10:00:00', '2026-01-19 02:00:00'),
  (30, 'kim@foretag.example', 'Kim AB', 'X3', '2024-03-01 10:00:00', '2026-02-28 02:00:00');
";

/// Sign-ups of 2025-11-20 (101 days before NOW) and 2025-12-10 (81 days).
const SIGNUPS: &str = "
CREATE TABLE signups (id INTEGER PRIMARY KEY, email TEXT, company TEXT, created_at TEXT);
INSERT INTO signups VALUES (1, 'ny1@foretag.example', 'Ny AB', '2025-11-20 14:00:00'),
  (2, 'ny2@foretag.example', 'Nyare AB', '2025-12-10 14:00:00');
";

/// Order notices of the same days, and correspondence with customer 1.
const MAIL: &str = "
CREATE TABLE messages (id INTEGER PRIMARY KEY, address TEXT, subject TEXT);
CREATE TABLE notices (id INTEGER PRIMARY KEY, subject TEXT, received_at TEXT);
INSERT INTO messages VALUES (1, 'ulla@foretag.example', 'Faktura'), (2, 'sven@foretag.example', 'Fråga');
INSERT INTO notices VALUES (1, 'Ny beställning', '2025-11-20 14:01:00'),
  (2, 'Ny beställning', '2025-12-10 14:01:00');
";

/// Vouchers of 5 and 25 March and 15 April 2018, and customer 3's of last year.
const BOOKKEEPING: &str = "
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT);
CREATE TABLE vouchers (id INTEGER PRIMARY KEY, customer_id INTEGER, booked_at TEXT);
INSERT INTO customers VALUES (1, 'ulla@foretag.example', 'Ulla'), (2, 'sven@foretag.example', 'Sven'),
  (3, 'kim@foretag.example', 'Kim');
INSERT INTO vouchers VALUES (1, 1, '2018-03-05 10:00:00'), (2, 2, '2018-03-25 10:00:00'),
  (3, 1, '2018-04-15 10:00:00'), (4, 1, '2025-12-01 10:00:00');
";

/// Runs every night at 03:00 from `first` on until `gone` holds; the night it did.
fn nights_until(world: &World, first: &str, last: &str, gone: impl Fn(&World) -> bool) -> Zoned {
    let mut night = zoned(first);
    while night <= zoned(last) {
        world.gallra.run_once_at(&night.timestamp().to_string());
        if gone(world) {
            return night;
        }
        night = night.checked_add(Span::new().days(1)).unwrap();
    }
    panic!("still there on {last}");
}

fn zoned(local: &str) -> Zoned {
    format!("{local}[Europe/Stockholm]").parse().unwrap()
}

fn world(dir: &std::path::Path) -> World {
    let mut example = Example::load("backup-vendor", dir);
    example.sqlite("customers", &[CUSTOMERS.to_owned()]);
    example.sqlite("servers", &[SERVERS.to_owned()]);
    example.sqlite("signups", &[SIGNUPS.to_owned()]);
    example.sqlite("bookkeeping", &[BOOKKEEPING.to_owned()]);
    // The Loopia mailbox: correspondence by address, order notices as a record kind.
    example.as_sql(
        "mail",
        toml::toml! {
            [subjects]
            table = "messages"
            key = "id"
            identifiers = { email = "address" }
            on_erase = "delete"
            [[records]]
            kind = "order_notices"
            table = "notices"
            clock = "received_at"
        },
        &[MAIL.to_owned()],
    );
    example.enforce();
    example.quick_rechecks();
    World::new(example)
}

/// «Kunddatabasen … Gallring: Användare gallras senast 2 månader efter avslutat
/// kundförhållande.» «Serverdatabasen … Gallring: Informationen raderas i samband med att
/// kundinformationen och kontot raderas från servern.»
#[test]
fn customers_are_purged_within_two_months_of_the_end_and_their_server_accounts_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let reports = world.gallra.run_once_at(&stockholm(NOW));
    let run = report(&reports, "customers-ended");
    assert_eq!(run["state"], "done", "{run:#}");
    assert_eq!(world.ids("customers", "customers"), ["2", "3"]);
    assert_eq!(world.ids("servers", "accounts"), ["20", "30"]);

    // Customer 2 ended on 20 January at 09:00: gone on a night before 20 March 09:00.
    let night = nights_until(&world, "2026-03-02T03:00:00", "2026-03-20T03:00:00", |w| {
        w.ids("customers", "customers") == ["3"]
    });
    assert!(night < zoned("2026-03-20T09:00:00"), "gone on {night}");
    assert_eq!(world.ids("servers", "accounts"), ["30"]);
    // The bookkeeping is another store with its own rule: its customers are all there.
    assert_eq!(world.ids("bookkeeping", "customers"), ["1", "2", "3"]);
}

/// «Nyanvädardatabasen … Gallring: Informationen raderas inom senast 3 månader.»
/// «E-postkonton … E-postnotiser raderas inom 3 månader.»
#[test]
fn sign_ups_and_email_notices_are_deleted_within_three_months() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    world.gallra.run_once_at(&stockholm(NOW));
    assert_eq!(world.ids("signups", "signups"), ["2"]);
    assert_eq!(world.ids("mail", "notices"), ["2"]);
    // The correspondence is not a notice: it stays.
    assert_eq!(world.ids("mail", "messages"), ["1", "2"]);

    // The sign-up and notice of 10 December are gone before 10 March.
    let night = nights_until(&world, "2026-03-02T03:00:00", "2026-03-10T03:00:00", |w| {
        w.ids("signups", "signups").is_empty() && w.ids("mail", "notices").is_empty()
    });
    assert!(night < zoned("2026-03-10T14:00:00"), "gone on {night}");
}

/// «Bokföringen … Gallring: Bokföringsunderlaget ska enligt lag sparas i minst 8 år.»
#[test]
fn bookkeeping_is_kept_at_least_eight_years_then_removed_on_the_next_scheduled_run() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    // Only the bookkeeping policy runs here: the nightly ones, left a month without a run,
    // would rightly stop at the clock valve and wait for a person.
    let monthly = |at: &str| {
        world
            .gallra
            .run_policy_once_at(&stockholm(at), "bookkeeping")
    };
    // On 4 March 2026 the voucher of 5 March 2018 is a day short of eight years.
    monthly("2026-03-04T04:00:00");
    assert_eq!(world.ids("bookkeeping", "vouchers"), ["1", "2", "3", "4"]);
    // The policy runs on the first of every month: on 1 April both March vouchers are past
    // eight years, the April one is not.
    monthly("2026-04-01T04:00:00");
    assert_eq!(world.ids("bookkeeping", "vouchers"), ["3", "4"]);
    monthly("2026-05-01T04:00:00");
    assert_eq!(world.ids("bookkeeping", "vouchers"), ["4"]);
}

/// «Radering: För att begära radering av lagrade personuppgifter kontakta support@…»: every
/// store erases, the bookkeeping anonymizes and keeps its records the company's 8 years.
#[test]
fn an_erasure_clears_every_store_and_the_bookkeeping_keeps_its_eight_years() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let gallra = &world.gallra;
    let at = stockholm("2026-02-01T10:00:00");
    let id = gallra.request_at(&at, "erase", "ulla@foretag.example");
    gallra.at(&at, &["run", "--once"]).expect_code(0);
    assert_eq!(world.ids("customers", "customers"), ["2", "3"]);
    assert_eq!(world.ids("servers", "accounts"), ["20", "30"]);
    assert_eq!(world.ids("mail", "messages"), ["2"]);
    assert_eq!(
        world
            .db("bookkeeping")
            .rows("SELECT name, email FROM customers WHERE id = 1"),
        [[Some("Anonymiserad kund".to_owned()), None]]
    );

    // The paper archive is a person's to note.
    let view = gallra.show_at(&at, id);
    let archive = task(&view, "archive");
    assert_eq!(archive["state"], "needs_person", "{archive:#}");
    gallra.task_done_at(&at, archive, "noterat");
    let view = gallra.show_at(&at, id);
    assert_eq!(view["state"], "done", "{view:#}");
    // 8 years from the last voucher, 1 December 2025 10:00: the company's rule, not the law's.
    let bookkeeping = receipt_line(&view, "bookkeeping");
    assert_eq!(bookkeeping["outcome"], "retained", "{bookkeeping:#}");
    assert_eq!(
        bookkeeping["retained_until"],
        Value::from(stockholm("2033-12-01T10:00:00"))
    );
}
