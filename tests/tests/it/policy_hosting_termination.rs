//! `config/examples/hosting-termination.toml`, run for real: the promises of policy 001 (a
//! hosting provider) about what happens when a customer terminates.
//!
//! The panel and the CRM are the example's own SQL systems on SQLite files; the .se registry
//! (EPP), billing (Fortnox) and the support mailbox (IMAP) are SQL tables of the same role;
//! EURid and the credit-check bureau are told by email through a real SMTP server.

use std::time::Duration;

use gallra_e2e::examples::{completed_at, report, stockholm, stockholm_after, Example, World};
use gallra_e2e::requests::{receipt_line, SmtpSink};
use serde_json::Value;

/// The night the policy runs, 03:30 in Stockholm.
const NOW: &str = "2026-06-15T03:30:00";

/// Customer 1 terminated a month and a day ago; 2 three weeks ago; 3 is a customer; 4
/// terminated two months ago but a service is still running.
const PANEL: &str = "
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, personnummer TEXT, phone TEXT,
                        last_login TEXT, terminated_at TEXT);
CREATE TABLE services (id INTEGER PRIMARY KEY, customer_id INTEGER, status TEXT);
CREATE TABLE sites (id INTEGER PRIMARY KEY, customer_id INTEGER, domain TEXT, db_name TEXT);
CREATE TABLE mail_accounts (id INTEGER PRIMARY KEY, customer_id INTEGER, address TEXT);
CREATE TABLE dns_zones (id INTEGER PRIMARY KEY, customer_id INTEGER, zone TEXT);
INSERT INTO customers VALUES
  (1, 'ended@example.se', '811218-9876', '+46701234567', '2026-05-10 12:00:00', '2026-05-14 03:00:00'),
  (2, 'leaving@example.se', '900101-0017', '+46701234568', '2026-05-20 12:00:00', '2026-05-25 09:00:00'),
  (3, 'staying@example.se', NULL, NULL, '2026-06-10 12:00:00', NULL),
  (4, 'running@example.se', NULL, NULL, '2026-04-01 12:00:00', '2026-04-15 09:00:00');
INSERT INTO services VALUES (1, 1, 'ended'), (2, 2, 'ended'), (3, 3, 'active'), (4, 4, 'active');
INSERT INTO sites VALUES (1, 1, 'ended.se', 'db_ended'), (2, 2, 'leaving.se', 'db_leaving'),
                         (3, 3, 'staying.se', 'db_staying'), (4, 4, 'running.se', 'db_running');
INSERT INTO mail_accounts VALUES (1, 1, 'info@ended.se'), (2, 2, 'info@leaving.se'),
                                 (3, 3, 'info@staying.se'), (4, 4, 'info@running.se');
INSERT INTO dns_zones VALUES (1, 1, 'ended.se'), (2, 2, 'leaving.se'), (3, 3, 'staying.se'),
                             (4, 4, 'running.se');
";

/// The panel customer ids that still have rows in `table`.
fn panel_ids(world: &World, table: &str) -> Vec<String> {
    let column = if table == "customers" {
        "id"
    } else {
        "customer_id"
    };
    world
        .db("panel")
        .set(&format!("SELECT {column} FROM {table}"))
        .into_iter()
        .collect()
}

fn emails(world: &World, system: &str, table: &str, column: &str) -> Vec<String> {
    world
        .db(system)
        .set(&format!("SELECT {column} FROM {table}"))
        .into_iter()
        .collect()
}

fn world(dir: &std::path::Path, sink: &SmtpSink) -> World {
    let mut example = Example::load("hosting-termination", dir);
    example.sqlite("panel", &[PANEL.to_owned()]);
    example.sqlite(
        "crm",
        &[
            "CREATE TABLE contacts (id TEXT PRIMARY KEY, email TEXT, phone_work TEXT);
           CREATE TABLE notes (id INTEGER PRIMARY KEY, contact_id TEXT, body TEXT);
           INSERT INTO contacts VALUES ('c1', 'ended@example.se', NULL),
             ('c2', 'leaving@example.se', NULL), ('c3', 'staying@example.se', NULL),
             ('c4', 'running@example.se', NULL);
           INSERT INTO notes VALUES (1, 'c1', 'Ringde om flytt'), (2, 'c2', 'Vill säga upp'),
             (3, 'c3', 'Nöjd'), (4, 'c4', 'VPS');"
                .to_owned(),
        ],
    );
    example.as_sql(
        "registry-se",
        toml::toml! {
            [subjects]
            table = "contacts"
            key = "id"
            key_type = "text"
            identifiers = { email = "email", personnummer = "personnummer" }
            on_erase = "delete"
        },
        &[
            "CREATE TABLE contacts (id TEXT PRIMARY KEY, email TEXT, personnummer TEXT);
           INSERT INTO contacts VALUES ('HOSTEX-1', 'ended@example.se', '811218-9876'),
             ('HOSTEX-2', 'leaving@example.se', '900101-0017'),
             ('HOSTEX-3', 'staying@example.se', NULL), ('HOSTEX-4', 'running@example.se', NULL);"
                .to_owned(),
        ],
    );
    example.as_sql(
        "billing",
        toml::toml! {
            [subjects]
            table = "clients"
            key = "id"
            identifiers = { email = "email", personnummer = "personnummer" }
            on_erase = "anonymize"
            anonymize = { name = { value = "Anonymiserad kund" }, email = "null", personnummer = "null" }
            [[children]]
            table = "invoices"
            foreign_key = "client_id"
            activity = ["issued_at", "paid_at"]
            unpaid_when = "paid_at IS NULL"
            on_erase = "keep"
        },
        &["CREATE TABLE clients (id INTEGER PRIMARY KEY, email TEXT, personnummer TEXT, name TEXT);
           CREATE TABLE invoices (id INTEGER PRIMARY KEY, client_id INTEGER, issued_at TEXT, paid_at TEXT);
           INSERT INTO clients VALUES (11, 'ended@example.se', '811218-9876', 'Eva Ended'),
             (12, 'leaving@example.se', '900101-0017', 'Leo Leaving'),
             (13, 'staying@example.se', NULL, 'Stina Staying'), (14, 'running@example.se', NULL, 'Rune');
           INSERT INTO invoices VALUES (1, 11, '2026-04-01 10:00:00', '2026-04-20 10:00:00'),
             (2, 12, '2026-04-30 10:00:00', '2026-05-10 10:00:00'),
             (3, 13, '2026-06-01 10:00:00', NULL), (4, 14, '2026-06-01 10:00:00', '2026-06-02 10:00:00');"
            .to_owned()],
    );
    example.mailbox_as_sql(
        "support-mail",
        &[
            "CREATE TABLE messages (id INTEGER PRIMARY KEY, address TEXT, subject TEXT);
           INSERT INTO messages VALUES (1, 'ended@example.se', 'Uppsägning'),
             (2, 'ended@example.se', 'Re: Uppsägning'), (3, 'leaving@example.se', 'Uppsägning'),
             (4, 'staying@example.se', 'Fråga'), (5, 'running@example.se', 'VPS');"
                .to_owned(),
        ],
    );
    example.enforce();
    example.smtp(sink);
    example.quick_rechecks();
    World::new(example)
}

/// «När du säger upp ditt konto tar vi bort alla dina personuppgifter där det inte längre
/// finns syfte för fortsatt behandling. … Det som bland annat tas bort är: 1) eventuella
/// hemsidor och databaser. 2) eventuella domännamn och dns-inställningar. 3) eventuella
/// e-postadresser med tillhörande e-postmeddelanden. 4) personuppgifter i vårt CRM-system.
/// … Bland det som inte tas bort finns bland annat: Data som krävs enligt bokföringslagen.»
#[test]
fn termination_removes_sites_domains_dns_mailboxes_and_crm_data_and_bookkeeping_stays() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path(), &sink);

    let reports = world.gallra.run_once_at(&stockholm(NOW));
    let run = report(&reports, "terminated");
    assert_eq!(run["state"], "done", "{run:#}");
    assert_eq!(run["selected"], 1, "{run:#}");
    assert_eq!(run["reasons"]["relationship_ended_recently"], 1, "{run:#}");
    assert_eq!(run["reasons"]["relationship_ongoing"], 1, "{run:#}");
    assert_eq!(run["reasons"]["active_services"], 1, "{run:#}");

    // Customer 1 is gone from the panel: account, sites and databases, mail accounts, DNS.
    for table in [
        "customers",
        "services",
        "sites",
        "mail_accounts",
        "dns_zones",
    ] {
        assert_eq!(panel_ids(&world, table), ["2", "3", "4"], "panel.{table}");
    }
    // The domain contact at the registry, the CRM contact and notes, the support mail.
    assert_eq!(
        emails(&world, "registry-se", "contacts", "email"),
        [
            "leaving@example.se",
            "running@example.se",
            "staying@example.se"
        ]
    );
    assert_eq!(
        emails(&world, "crm", "contacts", "email"),
        [
            "leaving@example.se",
            "running@example.se",
            "staying@example.se"
        ]
    );
    assert_eq!(
        emails(&world, "crm", "notes", "contact_id"),
        ["c2", "c3", "c4"]
    );
    assert_eq!(
        emails(&world, "support-mail", "messages", "address"),
        [
            "leaving@example.se",
            "running@example.se",
            "staying@example.se"
        ]
    );
    // Bookkeeping stays: the client is anonymized, every invoice is still there.
    let billing = world.db("billing");
    assert_eq!(
        billing.rows("SELECT name, email, personnummer FROM clients WHERE id = 11"),
        [[Some("Anonymiserad kund".to_owned()), None, None]]
    );
    assert_eq!(billing.count("SELECT COUNT(*) FROM invoices"), 4);
    assert_eq!(
        billing.count("SELECT COUNT(*) FROM clients WHERE email IS NOT NULL"),
        3
    );
    assert!(sink.messages().is_empty(), "a policy run sends no notices");

    // A month after customer 2 terminated, the same happens to them, and to nobody else.
    let later = stockholm("2026-06-26T03:30:00");
    world.gallra.run_once_at(&later);
    for table in ["customers", "sites", "mail_accounts", "dns_zones"] {
        assert_eq!(panel_ids(&world, table), ["3", "4"], "panel.{table}");
    }
    assert_eq!(
        emails(&world, "registry-se", "contacts", "email"),
        ["running@example.se", "staying@example.se"]
    );
}

/// «Vi meddelar även de eventuella partners och underleverantörer som behandlat din data att
/// den ska raderas hos dem.» … «5) säkerhetskopior av ovanstående tas bort enligt vårt schema
/// för säkerhetskopior.»
#[test]
fn partners_are_told_to_delete_when_the_panel_files_the_termination_and_the_receipt_names_backup_expiry(
) {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path(), &sink);
    let gallra = &world.gallra;

    // The panel files the termination of customer 2 as an erasure request.
    let received = stockholm("2026-05-25T09:05:00");
    let filed = gallra.at(
        &received,
        &[
            "request",
            "erase",
            "--email",
            "leaving@example.se",
            "--personnummer",
            "900101-0017",
            "--customer-id",
            "2",
            "--json",
        ],
    );
    let id = filed.expect_code(0).json()["id"].as_i64().unwrap();
    gallra
        .at(&stockholm("2026-05-25T09:10:00"), &["run", "--once"])
        .expect_code(0);

    let mails = sink
        .wait_for(2, Duration::from_secs(10))
        .expect("EURid and UC are told");
    let to = |address: &str| {
        mails
            .iter()
            .find(|m| m.to == [address])
            .unwrap_or_else(|| panic!("no notice to {address}"))
    };
    let eurid = to("privacy@eurid.example");
    assert!(eurid.body_text().contains("leaving@example.se"));
    let uc = to("dataskydd@uc.example");
    assert!(
        uc.body_text().contains("199001010017"),
        "UC gets the personnummer: {}",
        uc.body_text()
    );

    // EURid's answer is recorded by a person; UC's notice needed none.
    let next_day = stockholm("2026-05-26T10:00:00");
    let view = gallra.done_by_hand_at(&next_day, id, &["eurid"], "EURid bekräftade");
    assert_eq!(view["state"], "done", "{view:#}");
    for (system, outcome) in [
        ("panel", "erased"),
        ("registry-se", "erased"),
        ("crm", "erased"),
        ("support-mail", "erased"),
        ("eurid", "notified"),
        ("credit-check", "notified"),
        ("billing", "retained"),
    ] {
        assert_eq!(
            receipt_line(&view, system)["outcome"],
            outcome,
            "{system}: {view:#}"
        );
    }
    // The invoices of 2026 stay until the end of 2033.
    assert_eq!(
        receipt_line(&view, "billing")["retained_until"],
        Value::from(stockholm("2034-01-01"))
    );
    assert_eq!(panel_ids(&world, "customers"), ["1", "3", "4"]);
    // The panel and the CRM keep backups 30 days, the support mailbox 14: 30 days it is.
    let expires = stockholm_after(completed_at(&view), jiff::Span::new().days(30));
    assert_eq!(view["receipt"]["backups_expire_by"], Value::from(expires));
}
