//! Inactivity warnings, end to end: the real binary and SQL plugin on SQLite, and a real SMTP
//! server started by the test. With `warn_before`, nobody is deleted without first being
//! told by email the date it will happen unless they log in.
//!
//! Policy (issue 3, item 6): «an inactivity policy can `warn_before` (e.g. 30 days): the
//! subject gets a notice … that the account will be deleted on a given date unless they log
//! in; activity is re-checked at deletion time, and the notice is recorded.»

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use gallra_demo::{Category, Customer};
use gallra_e2e::binaries::gallra_bin;
use gallra_e2e::requests::{ReceivedMail, SmtpSink};
use gallra_e2e::{Backend, Gallra, Outcome, Scenario};
use jiff::{Span, Timestamp, Zoned};
use serde_json::Value;

const POLICY: &str = "inactive-6-months";
const TZ: &str = "Europe/Stockholm";

/// The demo's 6-month purge, warning 30 days ahead through the sink.
fn scenario(dir: &Path, sink: &SmtpSink) -> Scenario {
    let scenario = Scenario::build(Backend::Sqlite, dir, 17, 80);
    scenario.edit_config(|config| {
        config.insert("smtp".into(), sink.config());
        let policy = config["policies"][POLICY].as_table_mut().unwrap();
        policy.insert("warn_before".into(), "30 days".into());
        policy.insert(
            "warn_subject".into(),
            "Ditt konto raderas {delete_on}".into(),
        );
        policy.insert(
            "warn_template".into(),
            "Hej! Kontot för {email} har inte använts på {idle_for}. Det raderas {delete_on} \
             om du inte loggar in före dess. ({policy})"
                .into(),
        );
    });
    scenario
}

/// `gallra run --once --json` with every log line (debug), to look for leaks too.
fn run_once(scenario: &Scenario) -> (Value, Outcome) {
    let outcome: Outcome = std::process::Command::new(gallra_bin())
        .args(["run", "--once", "--json", "--config"])
        .arg(&scenario.config)
        .env("GALLRA_LOG", "debug")
        .output()
        .unwrap()
        .into();
    let outcome = outcome.expect_code(0);
    let report = outcome.json()[0].clone();
    assert_eq!(report["state"], "done", "{report:#}");
    (report, outcome)
}

fn state_db(scenario: &Scenario) -> rusqlite::Connection {
    rusqlite::Connection::open(scenario.dir.join("state/state.db")).unwrap()
}

/// The customer's warnings as (warned_at, delete_on, cleared_why), oldest first.
fn warnings_of(
    scenario: &Scenario,
    customer: &Customer,
) -> Vec<(Timestamp, Timestamp, Option<String>)> {
    let db = state_db(scenario);
    let mut stmt = db
        .prepare(
            "SELECT warned_at, delete_on, cleared_why FROM warnings
             WHERE policy = ?1 AND subject_key = ?2 ORDER BY id",
        )
        .unwrap();
    stmt.query_map(
        rusqlite::params![POLICY, customer.panel_id().to_string()],
        |r| {
            let at: String = r.get(0)?;
            let on: String = r.get(1)?;
            Ok((at.parse().unwrap(), on.parse().unwrap(), r.get(2)?))
        },
    )
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Moves every standing warning back to `days` days ago, as if that much time had passed.
fn backdate_warnings(scenario: &Scenario, days: i64) {
    let then = Timestamp::now() - Span::new().hours(24 * days);
    state_db(scenario)
        .execute(
            "UPDATE warnings SET warned_at = ?1 WHERE cleared_at IS NULL",
            [then.to_string()],
        )
        .unwrap();
}

fn mails_to<'a>(mails: &'a [ReceivedMail], customer: &Customer) -> Vec<&'a ReceivedMail> {
    let address = customer.email().to_lowercase();
    mails
        .iter()
        .filter(|m| m.to.iter().any(|to| to.to_lowercase() == address))
        .collect()
}

fn in_panel(scenario: &Scenario, customer: &Customer) -> bool {
    scenario
        .db("panel")
        .count("customers", Some(&format!("id = {}", customer.panel_id())))
        == 1
}

fn date_in_tz(t: Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::get(TZ).unwrap())
        .date()
        .to_string()
}

#[test]
fn an_inactive_customer_is_warned_once_and_deleted_only_after_the_warning_period() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), &sink);
    let gallra = Gallra::new(&scenario.config);
    let inactive: Vec<&Customer> = scenario.data.in_category(Category::InactiveClean).collect();
    assert!(inactive.len() >= 5, "the data must hold inactive customers");
    let kept_anyway: Vec<&Customer> = [
        Category::InactiveWithActiveService,
        Category::InactiveWithDebt,
    ]
    .into_iter()
    .flat_map(|c| scenario.data.in_category(c))
    .collect();
    let before = scenario.snapshot();

    // The plan counts who would be warned, and neither sends nor records anything.
    let plan = gallra.run(&["plan", "--json"]).expect_code(0).json();
    assert_eq!(
        plan[0]["selected"], 0,
        "nobody is deleted unwarned: {plan:#}"
    );
    assert!(plan[0]["reasons"]["warning_due"].as_u64().unwrap() >= inactive.len() as u64);
    assert!(
        !scenario.dir.join("state/state.db").exists(),
        "plan wrote state"
    );

    // First run: every inactive customer is warned, and nobody is deleted.
    let started = Timestamp::now();
    let (report, outcome) = run_once(&scenario);
    let finished = Timestamp::now();
    assert_eq!(report["selected"], 0, "{report:#}");
    assert_eq!(scenario.snapshot(), before, "a warning run changed data");
    let mails = sink
        .wait_for(inactive.len(), Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        report["reasons"]["warned"].as_u64(),
        Some(mails.len() as u64),
        "every warning recorded is one email: {report:#}"
    );
    for customer in &inactive {
        let to_them = mails_to(&mails, customer);
        assert_eq!(to_them.len(), 1, "customer {}", customer.panel_id());
        let recorded = warnings_of(&scenario, customer);
        assert_eq!(recorded.len(), 1, "customer {}", customer.panel_id());
        let (warned_at, delete_on, cleared) = &recorded[0];
        assert!(started <= *warned_at && *warned_at <= finished);
        assert_eq!(*cleared, None);
        // 30 calendar days after the warning, in the configured time zone.
        let expected = warned_at
            .to_zoned(jiff::tz::TimeZone::get(TZ).unwrap())
            .checked_add(Span::new().days(30))
            .unwrap();
        assert_eq!(*delete_on, expected.timestamp());
        let date = expected.date().to_string();
        let mail = to_them[0];
        assert_eq!(
            mail.header("Subject").as_deref(),
            Some(format!("Ditt konto raderas {date}").as_str())
        );
        let body = mail.body_text();
        assert!(
            body.contains(&format!("Det raderas {date} om du inte loggar in")),
            "{body}"
        );
        assert!(
            body.contains(&format!("Kontot för {}", customer.email().to_lowercase())),
            "{body}"
        );
        assert!(
            body.contains("på 6 months") && body.contains(POLICY),
            "{body}"
        );
        assert!(in_panel(&scenario, customer));
        for stream in [&outcome.stdout, &outcome.stderr] {
            assert!(
                !stream
                    .to_lowercase()
                    .contains(&customer.email().to_lowercase()),
                "the address of customer {} appears in gallra's output",
                customer.panel_id()
            );
        }
    }
    for customer in &kept_anyway {
        assert!(
            mails_to(&mails, customer).is_empty(),
            "customer {} is never deleted, so never warned",
            customer.panel_id()
        );
    }

    // Right after: no second email, nothing deleted.
    let (report, _) = run_once(&scenario);
    assert_eq!(report["selected"], 0, "{report:#}");
    assert_eq!(report["reasons"].get("warned"), None, "{report:#}");
    assert!(report["reasons"]["warning_pending"].as_u64().unwrap() >= inactive.len() as u64);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sink.messages().len(), mails.len(), "warned twice");
    assert_eq!(
        scenario.snapshot(),
        before,
        "deleted before the warning period passed"
    );

    // 31 days later: the warned and still inactive are deleted, without another email.
    backdate_warnings(&scenario, 31);
    let (report, _) = run_once(&scenario);
    let expected: BTreeSet<i64> = scenario.expected_purged();
    assert_eq!(report["selected"], expected.len() as u64, "{report:#}");
    for customer in &inactive {
        assert!(
            !in_panel(&scenario, customer),
            "customer {}",
            customer.panel_id()
        );
        let recorded = warnings_of(&scenario, customer);
        assert_eq!(
            recorded[0].2.as_deref(),
            Some("erased"),
            "the notice stays on record"
        );
    }
    assert_eq!(
        scenario.db("panel").count("customers", None),
        before["customers"].len() as u64 - expected.len() as u64,
        "only the warned inactive were deleted"
    );
    assert_eq!(sink.messages().len(), mails.len(), "no email at deletion");
}

#[test]
fn a_customer_who_logs_in_after_the_warning_is_kept_and_their_warning_is_reset() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), &sink);
    let customer = scenario
        .data
        .in_category(Category::InactiveClean)
        .next()
        .unwrap();
    run_once(&scenario);
    assert_eq!(warnings_of(&scenario, customer).len(), 1);
    let sent = sink.messages().len();

    // The warning period passes, but they logged in a day after the warning.
    backdate_warnings(&scenario, 31);
    let login: Zoned = (Timestamp::now() - Span::new().hours(24 * 30))
        .to_zoned(jiff::tz::TimeZone::get(TZ).unwrap());
    scenario.db("panel").execute(&[format!(
        "UPDATE customers SET last_login = '{}' WHERE id = {}",
        login.strftime("%Y-%m-%d %H:%M:%S"),
        customer.panel_id()
    )]);

    let (report, _) = run_once(&scenario);
    assert!(in_panel(&scenario, customer), "deleted despite logging in");
    assert!(
        report["selected"].as_u64().unwrap() > 0,
        "the others go: {report:#}"
    );
    let recorded = warnings_of(&scenario, customer);
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].2.as_deref(),
        Some("active"),
        "the warning is reset"
    );
    assert_eq!(
        date_in_tz(recorded[0].0),
        date_in_tz(Timestamp::now() - Span::new().hours(24 * 31))
    );
    // Active 30 days ago, their deletion is 5 months away: no new warning yet.
    assert_eq!(sink.messages().len(), sent);
}

#[test]
fn warn_before_without_a_relay_or_a_text_is_refused_by_check() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 17, 10);
    scenario.edit_config(|config| {
        let policy = config["policies"][POLICY].as_table_mut().unwrap();
        policy.insert("warn_before".into(), "30 days".into());
        policy.insert("warn_subject".into(), "Raderas {date}".into());
    });
    let check = Gallra::new(&scenario.config).run(&["check"]).expect_code(2);
    let text = check.stderr + &check.stdout;
    for expected in [
        "policies.inactive-6-months.warn_template: required key is missing",
        "policies.inactive-6-months.warn_subject: unknown placeholder {date}",
        "policies.inactive-6-months.warn_before: warnings are sent by email: add an [smtp] table",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}
