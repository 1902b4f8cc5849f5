//! `config/examples/hosting-inactivity.toml`, run on generated customers: the promises of
//! policy 000 (a hosting and cloud provider), kept by the example as shipped.
//!
//! The control panel (WHMCS), billing (Fortnox) and CRM (Copper) are the demo generator's
//! panel, billing and CRM databases, whose customers are made to be inactive, active, in
//! debt, borderline…; the newsletter is the real Mailchimp connector against the testkit's
//! Mailchimp server; support (Zendesk), the .se registry (EPP) and the mailbox (IMAP) are SQL
//! tables of the same role. Every system holds the same customers.
//! Manual systems and processors told by email stay as the example has them, and the
//! notices go to a real SMTP server.

use std::collections::BTreeSet;
use std::time::Duration;

use gallra_demo::Category;
use gallra_e2e::examples::{completed_at, report, stockholm, stockholm_after, Db, Example};
use gallra_e2e::requests::{receipt_line, SmtpSink};
use gallra_e2e::{settings_of, Backend, Gallra, Scenario};
use gallra_testkit::mailchimp::{Mailchimp, NewMember, API_KEY};
use serde_json::Value;

/// The night the tests take place, 03:00 in Stockholm.
const NOW: &str = "2026-09-01T03:00:00";

/// The systems a connector reaches, each with the table and column its subjects' email is in.
const REACHED: [(&str, &str, &str); 7] = [
    ("panel", "customers", "email"),
    ("billing", "clients", "email"),
    ("crm", "people", "email"),
    ("support", "users", "email"),
    ("newsletter", "members", "email"),
    ("registry-se", "contacts", "email"),
    ("mail", "messages", "address"),
];

struct World {
    example: Example,
    gallra: Gallra,
    scenario: Scenario,
    mailchimp: Mailchimp,
    /// Every customer's email, lower-cased.
    everyone: Vec<String>,
}

impl World {
    /// A system's database: the scenario's for panel, billing and CRM, the test's for the
    /// others; each is `DIR/SYSTEM.db`.
    fn db(&self, system: &str) -> Db {
        self.example.db(system)
    }

    /// The emails a system holds, lower-cased.
    fn emails(&self, system: &str) -> BTreeSet<String> {
        if system == "newsletter" {
            return (self.everyone.iter())
                .filter(|e| self.mailchimp.holds_email(e))
                .cloned()
                .collect();
        }
        let (_, table, column) = REACHED.iter().find(|(s, ..)| *s == system).unwrap();
        self.db(system)
            .set(&format!("SELECT lower({column}) FROM {table}"))
    }

    /// Every row of every table of every reached system (and the newsletter's members), to
    /// show what did not change.
    fn snapshot(&self) -> Vec<(String, Vec<Vec<Option<String>>>)> {
        let tables = [
            ("panel", "customers"),
            ("panel", "services"),
            ("billing", "clients"),
            ("billing", "invoices"),
            ("crm", "people"),
            ("crm", "notes"),
            ("support", "users"),
            ("support", "tickets"),
            ("registry-se", "contacts"),
            ("mail", "messages"),
        ];
        tables
            .iter()
            .map(|(system, table)| {
                let rows = self
                    .db(system)
                    .rows(&format!("SELECT * FROM {table} ORDER BY 1"));
                (format!("{system}.{table}"), rows)
            })
            .collect()
    }
}

fn q(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The example with its connector systems on SQLite and its notices going to `sink`; two
/// customers added by hand on each side of the six months.
fn world(dir: &std::path::Path, sink: &SmtpSink) -> World {
    let now: jiff::Zoned = format!("{NOW}[Europe/Stockholm]").parse().unwrap();
    let scenario = Scenario::build_at(Backend::Sqlite, dir, 61, 160, now.clone());
    // One idle for 5 months and 29 days, one for 6 months and 1 day; nothing else anywhere.
    let idle = |months: i64, days: i64| {
        q(&now
            .checked_sub(jiff::Span::new().months(months).days(days))
            .unwrap()
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string())
    };
    scenario.db("panel").execute(&[format!(
        "INSERT INTO customers (id, email, name, created_at, last_login) VALUES \
         (900000, 'fem.manader@example.se', 'Fem Månader', '2020-01-01 10:00:00', {}), \
         (900012, 'sex.manader@example.se', 'Sex Månader', '2020-01-01 10:00:00', {})",
        idle(5, 29),
        idle(6, 1)
    )]);

    let mut example = Example::load("hosting-inactivity", dir);
    let mut config: toml::Table =
        toml::from_str(&std::fs::read_to_string(&scenario.config).unwrap()).unwrap();
    for system in ["panel", "billing", "crm"] {
        example.reach_by_sql(system, settings_of(&mut config, system).clone());
    }
    let customers = scenario.data.customers();
    let mut everyone: Vec<(i64, String)> = customers
        .iter()
        .map(|c| (c.panel_id(), c.email().to_owned()))
        .collect();
    everyone.push((900000, "fem.manader@example.se".into()));
    everyone.push((900012, "sex.manader@example.se".into()));
    let values = |pick: &dyn Fn(i64) -> bool, row: &dyn Fn(i64, &str) -> String| {
        let rows: Vec<String> = everyone
            .iter()
            .filter(|(id, _)| pick(*id))
            .map(|(id, email)| row(*id, email))
            .collect();
        rows.join(", ")
    };
    example.as_sql(
        "support",
        toml::toml! {
            [subjects]
            table = "users"
            key = "id"
            identifiers = { email = "email", phone = "phone" }
            on_erase = "delete"
            [[children]]
            table = "tickets"
            foreign_key = "user_id"
            on_erase = "delete"
        },
        &[
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, phone TEXT)".into(),
            "CREATE TABLE tickets (id INTEGER PRIMARY KEY, user_id INTEGER, subject TEXT)".into(),
            format!(
                "INSERT INTO users VALUES {}",
                values(&|id| id % 2 == 0, &|id, e| format!(
                    "({id}, {}, 'Kund', NULL)",
                    q(e)
                ))
            ),
            format!(
                "INSERT INTO tickets VALUES {}",
                values(&|id| id % 2 == 0, &|id, _| format!(
                    "({id}, {id}, 'Hjälp med DNS')"
                ))
            ),
        ],
    );
    let mailchimp = Mailchimp::start();
    mailchimp.add_list("kunder", "Kunder");
    for (_, email) in &everyone {
        mailchimp.add_member("kunder", NewMember::subscribed(&email.to_lowercase()));
    }
    let key_file = dir.join("mailchimp-key");
    std::fs::write(&key_file, format!("{API_KEY}\n")).unwrap();
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let newsletter = example.system("newsletter")["settings"]
        .as_table_mut()
        .unwrap();
    newsletter.insert("base_url".into(), mailchimp.base_url().into());
    newsletter.insert("api_key_file".into(), key_file.display().to_string().into());
    example.as_sql(
        "registry-se",
        toml::toml! {
            [subjects]
            table = "contacts"
            key = "id"
            key_type = "text"
            identifiers = { email = "email" }
            on_erase = "delete"
        },
        &[
            "CREATE TABLE contacts (id TEXT PRIMARY KEY, email TEXT)".into(),
            format!(
                "INSERT INTO contacts VALUES {}",
                values(&|id| id % 3 == 0, &|id, e| format!(
                    "('HOSTEX-{id}', {})",
                    q(e)
                ))
            ),
        ],
    );
    example.mailbox_as_sql(
        "mail",
        &[
            "CREATE TABLE messages (id INTEGER PRIMARY KEY, address TEXT, subject TEXT)".into(),
            format!(
                "INSERT INTO messages VALUES {}",
                values(&|id| id % 4 != 1, &|id, e| format!(
                    "({id}, {}, 'Re: order')",
                    q(e)
                ))
            ),
        ],
    );
    example.enforce();
    example.smtp(sink);
    example.quick_rechecks();
    // The example stops at 5% of all customers; the generated base is a quarter inactive.
    example
        .policy("inactive-6-months")
        .insert("max_fraction".into(), 0.5.into());
    let gallra = example.save();
    let everyone = everyone
        .into_iter()
        .map(|(_, e)| e.to_lowercase())
        .collect();
    World {
        example,
        gallra,
        scenario,
        mailchimp,
        everyone,
    }
}

fn emails_of(scenario: &Scenario, category: Category) -> BTreeSet<String> {
    scenario
        .data
        .in_category(category)
        .map(|c| c.email().to_lowercase())
        .collect()
}

/// «I de fall en kund eller användare inte loggat in beebytes kontrollpanel eller använder
/// någon av beebyte levererad tjänst om en tidsperiod om 6 månader så kommer kundens konto
/// att automatisk raderas. Uppgifter i tredjeparts system kommer också att raderas i
/// samband med detta.»
#[test]
fn inactive_for_six_months_is_gone_from_every_system_including_third_parties() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path(), &sink);
    let inactive: BTreeSet<String> = world
        .scenario
        .expected_purged()
        .iter()
        .map(|id| {
            world
                .scenario
                .data
                .customer(*id)
                .unwrap()
                .email()
                .to_lowercase()
        })
        .collect();
    assert!(inactive.len() > 10, "the data holds inactive customers");
    let mut gone = inactive.clone();
    gone.insert("sex.manader@example.se".into());
    let before: Vec<_> = REACHED.iter().map(|(s, ..)| world.emails(s)).collect();

    let reports = world.gallra.run_once_at(&stockholm(NOW));
    let run = report(&reports, "inactive-6-months");
    assert_eq!(run["state"], "done", "{run:#}");

    for ((system, ..), before) in REACHED.iter().zip(before) {
        let after = world.emails(system);
        if *system == "billing" {
            // Bookkeeping: the client is anonymized (no email left), the invoices stay.
            continue;
        }
        let expected: BTreeSet<String> = before.difference(&gone).cloned().collect();
        assert_eq!(after, expected, "{system}: exactly the inactive are gone");
    }
    let billing = world.db("billing");
    let anonymized = billing.count("SELECT COUNT(*) FROM clients WHERE email IS NULL");
    assert_eq!(
        anonymized as usize,
        inactive.len(),
        "billing anonymized them"
    );
    let invoices_before = world.scenario.data.row_counts()["billing.invoices"] as i64;
    assert_eq!(
        billing.count("SELECT COUNT(*) FROM invoices"),
        invoices_before,
        "every invoice stays (Bokföringslagen)"
    );
    // «… och tredjepartssystem»: the processors without an API are told about each of them
    // by the erasure request the run filed, and people get their tasks.
    for email in &gone {
        let told = sink
            .wait_for_about(2, email, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("both processors told about a purged customer"));
        let mut to: Vec<String> = told.iter().flat_map(|m| m.to.clone()).collect();
        to.sort();
        assert_eq!(
            to,
            [
                "compliance@registrar.example",
                "privacy@integrations.example"
            ]
        );
    }
}

/// «… om en tidsperiod om 6 månader …»: a day short of it is not six months.
#[test]
fn five_months_and_twenty_nine_days_idle_is_untouched_until_six_months_have_passed() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path(), &sink);
    let before = world.snapshot();
    // Everyone the generator made inactive goes; the one idle 5 months 29 days does not.
    world.gallra.run_once_at(&stockholm(NOW));
    let panel = world.emails("panel");
    assert!(panel.contains("fem.manader@example.se"));
    assert!(!panel.contains("sex.manader@example.se"));
    for system in ["support", "newsletter", "mail"] {
        assert!(
            world.emails(system).contains("fem.manader@example.se"),
            "{system}"
        );
    }
    assert!(world.snapshot() != before, "the inactive were purged");

    // Two days later the six months have passed for them too.
    let later = stockholm("2026-09-03T03:00:00");
    world.gallra.run_once_at(&later);
    for (system, ..) in REACHED {
        assert!(
            !world.emails(system).contains("fem.manader@example.se"),
            "{system}"
        );
    }
}

/// «För att en begäran ska kunna verkställas krävs att kunden inte har några aktiva tjänster
/// och att slutfaktura har betalats»: the purge keeps them too, and says why.
#[test]
fn an_active_service_or_an_unpaid_invoice_keeps_the_customer_and_the_run_says_why() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path(), &sink);
    let with_service = emails_of(&world.scenario, Category::InactiveWithActiveService);
    let in_debt = emails_of(&world.scenario, Category::InactiveWithDebt);
    assert!(!with_service.is_empty() && !in_debt.is_empty());

    let reports = world.gallra.run_once_at(&stockholm(NOW));
    let run = report(&reports, "inactive-6-months");
    assert_eq!(
        run["reasons"]["active_services"].as_u64(),
        Some(with_service.len() as u64),
        "{run:#}"
    );
    assert_eq!(
        run["reasons"]["unpaid_invoices"].as_u64(),
        Some(in_debt.len() as u64),
        "{run:#}"
    );
    let panel = world.emails("panel");
    let newsletter = world.emails("newsletter");
    for email in with_service.iter().chain(&in_debt) {
        assert!(panel.contains(email) && newsletter.contains(email));
    }

    // An erasure request for one of them is blocked, with the reason stated.
    let email = with_service.iter().next().unwrap();
    let at = stockholm("2026-09-01T10:00:00");
    let id = world.gallra.request_at(&at, "erase", email);
    world.gallra.at(&at, &["run", "--once"]).expect_code(0);
    let view = world.gallra.show_at(&at, id);
    assert_eq!(view["state"], "blocked", "{view:#}");
    assert_eq!(
        view["detail"], "the customer still has active services",
        "{view:#}"
    );
    assert!(world.emails("panel").contains(email));
    // (The purge of that night tells the processors about the inactive, not about them.)
    assert!(
        sink.messages_about(email).is_empty(),
        "nobody was told to delete"
    );
}

/// «En användare kan när som helst begära att bli borttagen ur samtliga beebytes system och
/// tredjepartssystem. … En sådan begäran verkställs senast inom en vecka (7 dagar)»
#[test]
fn an_erasure_request_is_done_in_every_system_within_seven_days_and_the_receipt_names_the_backup_expiry(
) {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path(), &sink);
    let invoiced = |billing_id: i64| {
        world.db("billing").count(&format!(
            "SELECT COUNT(*) FROM invoices WHERE client_id = {billing_id}"
        )) > 0
    };
    let customer = world
        .scenario
        .data
        .in_category(Category::InactiveClean)
        .find(|c| c.panel_id() % 12 == 0 && invoiced(c.billing_id()))
        .expect("an inactive, invoiced customer in support, registry and mail");
    let email = customer.email().to_lowercase();
    let gallra = &world.gallra;

    let received = stockholm("2026-09-01T10:00:00");
    let id = gallra.request_at(&received, "erase", &email);
    let first = stockholm("2026-09-01T10:05:00");
    gallra.at(&first, &["run", "--once"]).expect_code(0);

    // The processors without an API are told: the registrar must answer, Zapier need not.
    // (The same night's purge tells them about the inactive too: those notices are the
    // purge's, counted in the test of the purge.)
    let mails = sink
        .wait_for_about(2, &email, Duration::from_secs(10))
        .expect("two notices");
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "compliance@registrar.example",
            "privacy@integrations.example"
        ]
    );
    assert!(mails.iter().all(|m| m.body_text().contains(&email)));

    // A person does what no connector can, and records the registrar's answer.
    let by_hand = ["projects", "telephony", "bank", "chat", "registrar"];
    let view = gallra.done_by_hand_at(&stockholm("2026-09-02T09:00:00"), id, &by_hand, "gjort");
    assert_eq!(view["state"], "done", "{view:#}");
    let completed = completed_at(&view);
    let due: jiff::Timestamp = view["due_at"].as_str().unwrap().parse().unwrap();
    // Seven days after it was received (the clock ticks on from where the test set it).
    let seven_days: jiff::Timestamp = stockholm("2026-09-08T10:00:00").parse().unwrap();
    assert!(
        due >= seven_days && due.duration_since(seven_days) < jiff::SignedDuration::from_mins(1),
        "due in 7 days: {due}"
    );
    assert!(completed <= due);
    for (system, ..) in REACHED {
        if system != "billing" {
            assert!(!world.emails(system).contains(&email), "{system}");
        }
    }
    // Billing keeps the invoices until the end of the seventh year after the last one's
    // financial year, anonymized meanwhile.
    let billing = receipt_line(&view, "billing");
    assert_eq!(billing["outcome"], "retained", "{billing:#}");
    assert_eq!(billing["legal_basis"], "Bokföringslagen 7 kap. 2 §");
    let last_paid = world.db("billing").rows(&format!(
        "SELECT max(paid_at) FROM invoices WHERE client_id = {}",
        customer.billing_id()
    ));
    let year: i16 = last_paid[0][0].as_deref().unwrap()[..4].parse().unwrap();
    assert_eq!(
        billing["retained_until"],
        Value::from(stockholm(&format!("{}-01-01", year + 8))),
        "{billing:#}"
    );
    for system in ["projects", "telephony", "bank", "chat"] {
        let line = receipt_line(&view, system);
        assert_eq!(line["outcome"], "done_by_person", "{line:#}");
    }
    for system in ["registrar", "integrations"] {
        assert_eq!(receipt_line(&view, system)["outcome"], "notified");
    }
    // The panel's backups, the longest kept (30 days), hold the data until then.
    let expected_backups = stockholm_after(completed, jiff::Span::new().days(30));
    assert_eq!(
        view["receipt"]["backups_expire_by"],
        Value::from(expected_backups),
        "{view:#}"
    );
}

/// «när som helst invända mot behandling som utförs i marknadsföringssyfte – den
/// behandlingen då ska upphöra.»
#[test]
fn an_objection_to_marketing_removes_the_subject_from_the_newsletter_only() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let mut world = world(dir.path(), &sink);
    // Only the request: no purge runs beside it.
    world.example.table().remove("policies");
    world.example.save();
    let email = world
        .scenario
        .data
        .in_category(Category::Active)
        .next()
        .unwrap()
        .email()
        .to_lowercase();
    let before = world.snapshot();
    let subscribed = world.emails("newsletter");
    let at = stockholm("2026-09-01T10:00:00");
    let id = world.gallra.request_at(&at, "object", &email);
    world.gallra.at(&at, &["run", "--once"]).expect_code(0);
    let view = world.gallra.show_at(&at, id);
    assert_eq!(view["state"], "done", "{view:#}");
    let mut expected = subscribed;
    expected.remove(&email);
    assert_eq!(
        world.emails("newsletter"),
        expected,
        "only they left the newsletter"
    );
    assert!(world.mailchimp.is_forgotten("kunder", &email));
    let after = world.snapshot();
    for ((table, was), (_, is)) in before.iter().zip(&after) {
        assert!(was == is, "{table} changed");
    }
}
