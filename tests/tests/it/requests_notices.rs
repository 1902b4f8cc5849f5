//! Processors without an API are told by email: the real binary sends the notice through a
//! real SMTP server started by the test, with the subject and the due date in the text.
//!
//! Policy (issue 3): «partners and sub-processors are told to delete»; logs, metrics and
//! error messages never contain personal data (DESIGN.md).

use std::time::Duration;

use gallra_demo::Category;
use gallra_e2e::binaries::gallra_bin;
use gallra_e2e::requests::{
    add_system, for_requests, receipt_line, show, submit, task, task_done, SmtpSink,
};
use gallra_e2e::{Backend, Gallra, Outcome, Scenario};

const REGISTRY: &str = "privacy@registry.example";

/// The demo systems for requests, a mail relay at the sink, and a domain registry that
/// takes deletion notices by email (and, with `confirm`, must answer before it counts).
fn scenario(dir: &std::path::Path, sink: &SmtpSink, confirm: bool) -> Scenario {
    let scenario = Scenario::build(Backend::Sqlite, dir, 5, 40);
    for_requests(&scenario);
    scenario.edit_config(|config| {
        config.insert("smtp".into(), sink.config());
    });
    add_system(
        &scenario,
        "registry",
        toml::toml! {
            description = "Domain registry (a processor without an API)"
            processor = "Registry AB"
            notify = {
                email = REGISTRY,
                subject = "Radera {email}",
                template = "Please delete the contact for {email} (request {request}) by {due_date}.",
                confirm = confirm,
            }
        },
    );
    scenario
}

/// A customer an erasure is not blocked for (no active service, nothing unpaid).
fn erasable_email(scenario: &Scenario) -> String {
    scenario
        .data
        .in_category(Category::InactiveClean)
        .next()
        .unwrap()
        .email()
        .to_owned()
}

/// `gallra run --once` with every log line gallra has (debug), to look for leaks.
fn run_once_debug(scenario: &Scenario) -> Outcome {
    std::process::Command::new(gallra_bin())
        .args(["run", "--once", "--config"])
        .arg(&scenario.config)
        .env("GALLRA_LOG", "debug")
        .output()
        .unwrap()
        .into()
}

fn assert_no_leak(what: &str, outcome: &Outcome, email: &str) {
    let email = email.to_lowercase();
    for (stream, text) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        assert!(
            !text.to_lowercase().contains(&email),
            "the subject's email appears in the {stream} of {what}"
        );
    }
}

/// The due date as the notice must give it: the date of `due_at` in the config's time zone.
fn due_date(view: &serde_json::Value) -> String {
    let due: jiff::Timestamp = view["due_at"].as_str().unwrap().parse().unwrap();
    due.to_zoned(jiff::tz::TimeZone::get("Europe/Stockholm").unwrap())
        .date()
        .to_string()
}

#[test]
fn a_processor_without_an_api_is_told_by_email_with_the_subject_and_the_due_date() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), &sink, false);
    let gallra = Gallra::new(&scenario.config);
    let email = erasable_email(&scenario);
    let submitted = gallra.run(&["request", "erase", "--email", &email, "--json"]);
    assert_no_leak("request erase", &submitted, &email);
    let id = submitted.expect_code(0).json()["id"].as_i64().unwrap();

    let run = gallra.run(&["run", "--once"]).expect_code(0);
    assert_no_leak("run --once", &run, &email);
    let mails = sink
        .wait_for(1, Duration::from_secs(10))
        .expect("the registry got no notice");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sink.messages().len(), 1, "exactly one notice");
    let mail = &mails[0];
    assert_eq!(mail.to, [REGISTRY]);
    assert_eq!(mail.from, "privacy@hosting.example");
    let lower = email.to_lowercase();
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some(format!("Radera {lower}").as_str())
    );
    let view = show(&gallra, id);
    let body = mail.body_text();
    assert_eq!(
        body.trim_end(),
        format!(
            "Please delete the contact for {lower} (request {id}) by {}.",
            due_date(&view)
        ),
        "the notice's text"
    );

    let registry = task(&view, "registry");
    assert_eq!(registry["action"], "notify");
    assert_eq!(registry["state"], "done", "{registry:#}");
    assert_eq!(view["state"], "done", "{view:#}");
    assert_eq!(receipt_line(&view, "registry")["outcome"], "notified");

    // Nothing more is sent for a finished task; the logs hold no identifier even at debug.
    let again = run_once_debug(&scenario).expect_code(0);
    assert_no_leak("run --once (debug)", &again, &email);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sink.messages().len(), 1, "the notice was sent twice");
}

#[test]
fn a_processor_that_must_confirm_keeps_the_task_waiting_for_a_person_until_task_done() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), &sink, true);
    let gallra = Gallra::new(&scenario.config);
    let email = erasable_email(&scenario);
    let id = submit(&gallra, "erase", &email);

    let run = gallra.run(&["run", "--once"]).expect_code(0);
    assert_no_leak("run --once", &run, &email);
    let mails = sink
        .wait_for(1, Duration::from_secs(10))
        .expect("the registry got no notice");
    assert_eq!(mails[0].to, [REGISTRY]);
    assert!(mails[0].body_text().contains(&email.to_lowercase()));

    let view = show(&gallra, id);
    let registry = task(&view, "registry").clone();
    assert_eq!(registry["state"], "needs_person", "{registry:#}");
    assert_eq!(view["state"], "open", "waits for the registry's answer");
    let waiting = gallra
        .run(&["task", "list", "--json"])
        .expect_code(0)
        .json();
    assert!(
        waiting
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == registry["id"]),
        "`task list` shows the task waiting for confirmation: {waiting:#}"
    );

    // Running again neither completes the task nor sends the notice again.
    gallra.run(&["run", "--once"]).expect_code(0);
    assert_eq!(
        task(&show(&gallra, id), "registry")["state"],
        "needs_person"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sink.messages().len(), 1, "the notice was sent twice");

    task_done(&gallra, &registry, "the registry confirmed the deletion");
    let view = show(&gallra, id);
    assert_eq!(task(&view, "registry")["state"], "done");
    assert_eq!(view["state"], "done", "{view:#}");
}

/// `gallra run --once` with the clock moved `days` (and `hours`) ahead of today.
fn run_once_after(gallra: &Gallra, days: i64, hours: i64) -> Outcome {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(days * 24 + hours);
    gallra
        .run_with_env(&["run", "--once"], &[("GALLRA_NOW", &at.to_string())])
        .expect_code(0)
}

/// Policy (issue 3): «Notify tasks to processors are reminded every N days and escalated
/// (metric + needs-person) after M.»
#[test]
fn an_unanswered_notice_is_reminded_every_week_and_escalated_after_three() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), &sink, true);
    scenario.edit_config(|config| {
        let notify = config["systems"]["registry"]["notify"]
            .as_table_mut()
            .unwrap();
        notify.insert("remind_every".into(), "7 days".into());
        notify.insert("escalate_after".into(), "21 days".into());
    });
    let gallra = Gallra::new(&scenario.config);
    let email = erasable_email(&scenario);
    let id = submit(&gallra, "erase", &email);

    gallra.run(&["run", "--once"]).expect_code(0);
    sink.wait_for(1, Duration::from_secs(10))
        .expect("the registry got no notice");

    // Six days on: no reminder yet.
    run_once_after(&gallra, 6, 0);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        sink.messages().len(),
        1,
        "reminded before a week had passed"
    );

    // A week and an hour on: the first reminder, marked as such, with the same due date.
    let run = run_once_after(&gallra, 7, 1);
    assert_no_leak("run --once (reminder)", &run, &email);
    let mails = sink
        .wait_for(2, Duration::from_secs(10))
        .expect("no reminder after a week");
    let reminder = &mails[1];
    assert_eq!(reminder.to, [REGISTRY]);
    assert_eq!(
        reminder.header("Subject").as_deref(),
        Some(format!("Reminder 1: Radera {}", email.to_lowercase()).as_str())
    );
    let view = show(&gallra, id);
    assert!(
        reminder.body_text().contains(&due_date(&view)),
        "the reminder gives the due date"
    );
    let registry = task(&view, "registry");
    assert_eq!(registry["state"], "needs_person");
    assert!(
        !registry["detail"]
            .as_str()
            .unwrap_or("")
            .contains("escalated"),
        "escalated too early: {registry:#}"
    );

    // Three weeks and a day on: a second reminder, and the silence is escalated.
    let run = run_once_after(&gallra, 22, 0);
    assert_no_leak("run --once (escalation)", &run, &email);
    sink.wait_for(3, Duration::from_secs(10))
        .expect("no second reminder");
    let view = show(&gallra, id);
    let registry = task(&view, "registry").clone();
    assert_eq!(
        registry["state"], "needs_person",
        "still waits for a person"
    );
    let detail = registry["detail"].as_str().unwrap();
    assert!(detail.starts_with("escalated:"), "{detail}");
    let audit = gallra
        .run(&["audit", "show", "--email", &email, "--json"])
        .expect_code(0)
        .stdout;
    assert!(
        audit.contains("\"escalated\""),
        "the audit log records the escalation"
    );

    // Escalated once; confirmation still finishes the request.
    run_once_after(&gallra, 22, 2);
    task_done(&gallra, &registry, "the registry confirmed the deletion");
    assert_eq!(show(&gallra, id)["state"], "done");
    let escalations = gallra
        .run(&["audit", "show", "--email", &email, "--json"])
        .expect_code(0)
        .stdout
        .matches("\"escalated\"")
        .count();
    assert_eq!(escalations, 1, "escalated more than once");
}
