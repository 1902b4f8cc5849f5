//! Requests from data subjects, end to end: the real binary, the real SQL plugin, SQLite.
//!
//! Policy (000, «Rätten att bli glömd»): «En användare kan när som helst begära att bli
//! borttagen ur samtliga beebytes system och tredjepartssystem. … För att en begäran ska kunna
//! verkställas krävs att kunden inte har några aktiva tjänster och att slutfaktura har betalats
//! … En sådan begäran verkställs senast inom en vecka (7 dagar).»

use gallra_demo::Category;
use gallra_e2e::requests::{hold_billing_and_retry_quickly, show, submit, task};
use gallra_e2e::{Backend, Gallra, Scenario};

/// The demo systems plus a binder archive a person must clear, billing under a 7-year
/// bookkeeping hold, and quick re-checks and retries for the tests.
fn scenario(dir: &std::path::Path, customers: usize) -> Scenario {
    let scenario = Scenario::build(Backend::Sqlite, dir, 3, customers);
    scenario.edit_config(|config| {
        // Requests only: no purge policy runs beside them.
        config.remove("policies");
        hold_billing_and_retry_quickly(config);
        config["systems"].as_table_mut().unwrap().insert(
            "binders".into(),
            toml::Value::Table(toml::toml! {
                manual = { instructions = "Shred the customer's folder in the archive room" }
                backup_retention = "1 day"
            }),
        );
    });
    scenario
}

#[test]
fn an_erasure_reaches_every_system_keeps_bookkeeping_and_ends_with_a_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), 60);
    let gallra = Gallra::new(&scenario.config);
    // One with invoices: those are what the bookkeeping law keeps.
    let customer = scenario
        .data
        .in_category(Category::InactiveClean)
        .find(|c| {
            scenario
                .db("billing")
                .count("invoices", Some(&format!("client_id = {}", c.billing_id())))
                > 0
        })
        .unwrap();
    let email = customer.email().to_owned();
    let id = submit(&gallra, "erase", &email);

    gallra.run(&["run", "--once"]).expect_code(0);
    let view = show(&gallra, id);
    assert_eq!(view["state"], "open", "waits for the person: {view:#}");
    assert_eq!(task(&view, "crm")["state"], "done");
    assert_eq!(task(&view, "panel")["state"], "done");
    assert_eq!(
        task(&view, "billing")["state"],
        "retained",
        "{:#}",
        task(&view, "billing")
    );
    assert_eq!(
        task(&view, "billing")["legal_basis"],
        "Bokföringslagen 7 kap. 2 §"
    );
    assert_eq!(task(&view, "binders")["state"], "needs_person");

    // The person clears the binders and says so.
    let tasks = gallra
        .run(&["task", "list", "--json"])
        .expect_code(0)
        .json();
    let manual = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["request"] == id)
        .unwrap();
    assert_eq!(
        manual["instructions"],
        "Shred the customer's folder in the archive room"
    );
    // A note is kept with the request: one that names the customer is refused, and says
    // why without repeating it.
    let named = format!("shredded the folder of {}", customer.email());
    let refused = gallra.run(&["task", "done", &manual["id"].to_string(), "--note", &named]);
    assert_ne!(refused.code, Some(0), "{}", refused.stdout);
    assert!(
        refused.stderr.contains("must not hold personal data")
            && !refused.stderr.contains(customer.email()),
        "{}",
        refused.stderr
    );
    assert_eq!(task(&show(&gallra, id), "binders")["state"], "needs_person");
    gallra
        .run(&[
            "task",
            "done",
            &manual["id"].to_string(),
            "--note",
            "folder shredded",
        ])
        .expect_code(0);

    let view = show(&gallra, id);
    assert_eq!(view["state"], "done", "{view:#}");
    let receipt = &view["receipt"];
    let line = |system: &str| {
        receipt["systems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["system"] == system)
            .unwrap()
            .clone()
    };
    assert_eq!(line("crm")["outcome"], "erased");
    assert_eq!(line("panel")["outcome"], "erased");
    assert_eq!(line("binders")["outcome"], "done_by_person");
    assert_eq!(line("billing")["outcome"], "retained");
    // Kept until 7 years after the customer's last paid invoice.
    let last_paid = scenario.db("billing").rows(&format!(
        "SELECT MAX(paid_at) FROM invoices WHERE client_id = {}",
        customer.billing_id()
    ))[0][0]
        .clone()
        .unwrap();
    let until: jiff::Timestamp = line("billing")["retained_until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let expected = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", &last_paid)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Stockholm").unwrap())
        .unwrap()
        .checked_add(jiff::Span::new().years(7))
        .unwrap()
        .timestamp();
    assert_eq!(until, expected);
    assert!(
        receipt["backups_expire_by"].is_string(),
        "the receipt names the backup expiry: {receipt:#}"
    );

    // In the databases: gone from the panel and CRM, anonymized in billing, invoices kept.
    assert_eq!(
        scenario
            .db("panel")
            .count("customers", Some(&format!("id = {}", customer.panel_id()))),
        0
    );
    assert_eq!(
        scenario.db("panel").count(
            "services",
            Some(&format!("customer_id = {}", customer.panel_id()))
        ),
        0
    );
    assert_eq!(
        scenario
            .db("crm")
            .count("people", Some(&format!("lower(email) = lower('{email}')"))),
        0
    );
    let client = scenario.db("billing").rows(&format!(
        "SELECT email, personnummer FROM clients WHERE id = {}",
        customer.billing_id()
    ));
    assert_eq!(client, vec![vec![None, None]], "billing client anonymized");
    assert!(
        scenario.db("billing").count(
            "invoices",
            Some(&format!("client_id = {}", customer.billing_id()))
        ) > 0
    );
    // Nobody else was touched.
    assert_eq!(scenario.db("panel").count("customers", None), 59);
}

#[test]
fn an_erasure_for_a_customer_with_an_active_service_waits_and_then_completes_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), 60);
    let gallra = Gallra::new(&scenario.config);
    let customer = scenario
        .data
        .in_category(Category::InactiveWithActiveService)
        .next()
        .unwrap();
    let id = submit(&gallra, "erase", customer.email());
    let before = scenario.snapshot();

    gallra.run(&["run", "--once"]).expect_code(0);
    let view = show(&gallra, id);
    assert_eq!(view["state"], "blocked");
    assert_eq!(view["detail"], "the customer still has active services");
    assert_eq!(
        scenario.snapshot(),
        before,
        "a blocked erasure touched data"
    );

    // The service ends; at the next check the erasure goes ahead without anyone resubmitting.
    scenario.db("panel").execute(&[format!(
        "UPDATE services SET status = 'ended', ended_at = '2020-01-01 00:00:00' WHERE customer_id = {}",
        customer.panel_id()
    )]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    gallra.run(&["run", "--once"]).expect_code(0);
    let view = show(&gallra, id);
    assert_eq!(task(&view, "panel")["state"], "done", "{view:#}");
    assert_eq!(
        scenario
            .db("panel")
            .count("customers", Some(&format!("id = {}", customer.panel_id()))),
        0
    );
}

#[test]
fn requests_are_listed_by_due_date_and_those_at_risk_are_marked() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), 30);
    scenario.edit_config(|config| {
        let requests = config["requests"].as_table_mut().unwrap();
        requests.insert("export_within".into(), "1 month".into());
        requests.insert("at_risk_within".into(), "10 days".into());
    });
    let gallra = Gallra::new(&scenario.config);
    let emails: Vec<String> = scenario
        .data
        .customers()
        .iter()
        .take(2)
        .map(|c| c.email().to_owned())
        .collect();
    let export = submit(&gallra, "export", &emails[0]);
    let erase = submit(&gallra, "erase", &emails[1]);
    let list = gallra
        .run(&["request", "list", "--json"])
        .expect_code(0)
        .json();
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [erase, export], "soonest due first");
    assert_eq!(
        list[0]["at_risk"], true,
        "due in 7 days, within the 10-day window"
    );
    assert_eq!(list[1]["at_risk"], false);
    let text = gallra.run(&["request", "list"]).expect_code(0).stdout;
    assert!(text.lines().nth(1).unwrap().contains("AT RISK"), "{text}");
}

#[test]
fn an_export_holds_every_field_of_the_subject_and_nothing_of_anyone_else() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), 40);
    let gallra = Gallra::new(&scenario.config);
    let customer = scenario
        .data
        .customers()
        .iter()
        .find(|c| c.crm_id().is_some())
        .unwrap();
    let id = submit(&gallra, "export", customer.email());
    gallra.run(&["run", "--once"]).expect_code(0);
    let view = show(&gallra, id);
    assert_ne!(view["state"], "failed", "{view:#}");

    let path = scenario.dir.join(format!("state/exports/request-{id}.csv"));
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(
        mode & 0o777,
        0o600,
        "the export must be readable by its owner only"
    );
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let values: std::collections::BTreeSet<String> = reader
        .records()
        .map(|r| r.unwrap()[4].to_owned())
        .filter(|v| !v.is_empty())
        .collect();

    // Every non-empty value the three databases hold about the customer is in the export.
    let mut held = Vec::new();
    let (p, b, c) = (
        customer.panel_id(),
        customer.billing_id(),
        customer.crm_id().unwrap(),
    );
    for (system, sql) in [
        ("panel", format!("SELECT * FROM customers WHERE id = {p}")),
        (
            "panel",
            format!("SELECT * FROM services WHERE customer_id = {p}"),
        ),
        ("billing", format!("SELECT * FROM clients WHERE id = {b}")),
        (
            "billing",
            format!("SELECT * FROM invoices WHERE client_id = {b}"),
        ),
        ("crm", format!("SELECT * FROM people WHERE id = {c}")),
        ("crm", format!("SELECT * FROM notes WHERE person_id = {c}")),
    ] {
        held.extend(
            scenario
                .db(system)
                .rows(&sql)
                .into_iter()
                .flatten()
                .flatten(),
        );
    }
    let missing: Vec<&String> = held.iter().filter(|v| !values.contains(*v)).collect();
    assert!(
        missing.is_empty(),
        "{} values held but not exported",
        missing.len()
    );
    // No one else's email or personnummer is in it.
    for other in scenario
        .data
        .customers()
        .iter()
        .filter(|o| o.panel_id() != p)
    {
        assert!(
            !values.iter().any(|v| v.eq_ignore_ascii_case(other.email())),
            "another customer's email leaked"
        );
        assert!(
            !values.contains(other.personnummer()),
            "another customer's personnummer leaked"
        );
    }
}
