//! Retention deadlines, end to end: subject-level (erase after the relationship ended) and
//! record-level (remove records whose own clock is past the deadline).
//!
//! Policy (004): «Kunddatabasen gallras senast två månader efter att kundrelationen upphört.»
//! «Databasen för nya användare gallras inom tre månader.» «E-postnotifieringar raderas inom
//! tre månader.»

use std::collections::BTreeSet;

use gallra_e2e::{available, now, Backend, Gallra, TestDb};
use jiff::{Span, Zoned};

fn ago(now: &Zoned, span: Span) -> String {
    format!(
        "'{}'",
        now.checked_sub(span).unwrap().strftime("%Y-%m-%d %H:%M:%S")
    )
}

fn connection(db: &TestDb, dir: &std::path::Path, name: &str) -> String {
    match db.backend {
        Backend::Sqlite => format!(
            "backend = \"sqlite\"\npath = \"{}\"",
            db.path.as_ref().unwrap().display()
        ),
        backend => {
            let url_file = dir.join(format!("{name}.url"));
            std::fs::write(&url_file, db.url.as_ref().unwrap()).unwrap();
            std::fs::set_permissions(
                &url_file,
                std::os::unix::fs::PermissionsExt::from_mode(0o600),
            )
            .unwrap();
            format!(
                "backend = \"{}\"\nurl_file = \"{}\"",
                backend.name(),
                url_file.display()
            )
        }
    }
}

fn deadlines_remove_exactly_what_is_past_them(backend: Backend) {
    if !available(backend, "deadlines_remove_exactly_what_is_past_them") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let now = now();
    let ts = if backend == Backend::Postgres {
        "TIMESTAMP"
    } else {
        "TEXT"
    };
    let ts = if backend == Backend::Mysql {
        "DATETIME"
    } else {
        ts
    };
    let months = |m: i64| Span::new().months(m);
    let panel = TestDb::create(backend, dir.path(), "panel");
    panel.execute(&[
        format!("CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(100), last_login {ts}, closed_at {ts})"),
        "CREATE TABLE services (id INTEGER PRIMARY KEY, customer_id INTEGER, status VARCHAR(10))".into(),
        format!(
            "INSERT INTO customers VALUES (1, 'ended3@example.se', {a}, {a}), (2, 'ended1@example.se', {b}, {b}), \
             (3, 'ongoing@example.se', {b}, NULL), (4, 'service@example.se', {a}, {a}), \
             (5, 'justover@example.se', {c}, {c}), (6, 'justunder@example.se', {d}, {d})",
            a = ago(&now, months(3)),
            b = ago(&now, months(1)),
            c = ago(&now, months(2).days(1)),
            d = ago(&now, months(2).days(-1)),
        ),
        "INSERT INTO services VALUES (1, 4, 'active'), (2, 1, 'ended')".into(),
    ]);
    let crm = TestDb::create(backend, dir.path(), "crm");
    crm.execute(&[
        "CREATE TABLE people (id INTEGER PRIMARY KEY, email VARCHAR(100))".into(),
        "INSERT INTO people VALUES (10, 'ended3@example.se'), (20, 'ended1@example.se'), (40, 'service@example.se'), (50, 'JustOver@Example.se')".into(),
    ]);
    let signups = TestDb::create(backend, dir.path(), "signups");
    signups.execute(&[
        format!("CREATE TABLE signups (id INTEGER PRIMARY KEY, email VARCHAR(100), created_at {ts}, converted INTEGER)"),
        format!("CREATE TABLE mails (id INTEGER PRIMARY KEY, sent_at {ts})"),
        format!(
            "INSERT INTO signups VALUES (1, 'a@example.se', {old}, 0), (2, 'b@example.se', {old}, 1), \
             (3, 'c@example.se', {young}, 0), (4, 'd@example.se', NULL, 0), (5, 'e@example.se', {edge}, 0)",
            old = ago(&now, months(4)),
            young = ago(&now, months(2)),
            edge = ago(&now, months(3).days(1)),
        ),
        format!("INSERT INTO mails VALUES (1, {}), (2, {})", ago(&now, months(4)), ago(&now, months(1))),
    ]);

    let config = dir.path().join("gallra.toml");
    std::fs::write(
        &config,
        format!(
            r#"state_dir = "state"
account_source = "panel"

[systems.panel]
plugin = "sql"
[systems.panel.settings]
{panel}
[systems.panel.settings.subjects]
table = "customers"
key = "id"
identifiers = {{ email = "email", customer_id = "id" }}
activity = ["last_login"]
relationship_end = "closed_at"
[[systems.panel.settings.children]]
table = "services"
foreign_key = "customer_id"
active_when = "status = 'active'"

[systems.crm]
plugin = "sql"
[systems.crm.settings]
{crm}
[systems.crm.settings.subjects]
table = "people"
key = "id"
identifiers = {{ email = "email" }}

[systems.signups]
plugin = "sql"
[systems.signups.settings]
{signups}
[[systems.signups.settings.records]]
kind = "unconverted_signups"
table = "signups"
clock = "created_at"
where = "converted = 0"
[[systems.signups.settings.records]]
kind = "notification_mails"
table = "mails"
clock = "sent_at"

[policies.customers-ended]
kind = "retention"
mode = "enforce"
after = "2 months"
systems = ["crm", "panel"]

[policies.signups]
kind = "record_retention"
mode = "enforce"
system = "signups"
records = "unconverted_signups"
after = "3 months"

[policies.notices]
kind = "record_retention"
mode = "enforce"
system = "signups"
records = "notification_mails"
after = "3 months"
"#,
            panel = connection(&panel, dir.path(), "panel"),
            crm = connection(&crm, dir.path(), "crm"),
            signups = connection(&signups, dir.path(), "signups"),
        ),
    )
    .unwrap();
    let gallra = Gallra::new(&config);

    let plan = gallra.run(&["plan", "--json"]).expect_code(0).json();
    let by_policy = |name: &str| {
        plan.as_array()
            .unwrap()
            .iter()
            .find(|p| p["policy"] == name)
            .unwrap()
            .clone()
    };
    let ended = by_policy("customers-ended");
    let selected: BTreeSet<&str> = ended["selected_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(selected, BTreeSet::from(["1", "5"]), "{ended}");
    assert_eq!(by_policy("signups")["matched"], 2);
    assert_eq!(by_policy("notices")["matched"], 1);

    let runs = gallra
        .run(&["run", "--once", "--json"])
        .expect_code(0)
        .json();
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "done"),
        "{runs:#}"
    );

    let ids = |db: &TestDb, sql: &str| -> Vec<String> {
        db.rows(sql)
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect()
    };
    assert_eq!(
        ids(&panel, "SELECT id FROM customers"),
        ["2", "3", "4", "6"]
    );
    assert_eq!(ids(&crm, "SELECT id FROM people"), ["20", "40"]);
    assert_eq!(ids(&signups, "SELECT id FROM signups"), ["2", "3", "4"]);
    assert_eq!(ids(&signups, "SELECT id FROM mails"), ["2"]);

    let again = gallra
        .run(&["run", "--once", "--json"])
        .expect_code(0)
        .json();
    assert!(
        again.as_array().unwrap().iter().all(|r| r["selected"] == 0),
        "{again:#}"
    );
}

#[test]
fn deadlines_remove_exactly_what_is_past_them_in_sqlite() {
    deadlines_remove_exactly_what_is_past_them(Backend::Sqlite);
}

#[test]
fn deadlines_remove_exactly_what_is_past_them_in_postgres() {
    deadlines_remove_exactly_what_is_past_them(Backend::Postgres);
}

#[test]
fn deadlines_remove_exactly_what_is_past_them_in_mariadb() {
    deadlines_remove_exactly_what_is_past_them(Backend::Mysql);
}
