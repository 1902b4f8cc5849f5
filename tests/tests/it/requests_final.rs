//! A request's end is final, and nothing it leaves behind outlives its reason: a cancel stops
//! every step not yet started and forgets who asked; what a legal hold keeps is erased when
//! the hold ends, found without the requester's email, which is not kept for the hold; and
//! export files are deleted once `exports_keep` has passed. The real binary, the real SQL
//! plugin (behind `test-faults` where a step must be slow), SQLite.

use std::time::{Duration, Instant};

use gallra_demo::{Category, Customer};
use gallra_e2e::requests::{
    audit_entries, billing_deletes_after_its_hold, days_after, for_requests, receipt_line, show,
    slow_erase, submit, task, StateDb,
};
use gallra_e2e::{state_db_holds, Backend, Gallra, Scenario};

/// An InactiveClean customer (nothing blocks the erasure) in the CRM with invoices in billing.
fn erasable_with_invoices(scenario: &Scenario) -> Customer {
    scenario
        .data
        .in_category(Category::InactiveClean)
        .find(|c| {
            c.crm_id().is_some()
                && scenario
                    .db("billing")
                    .count("invoices", Some(&format!("client_id = {}", c.billing_id())))
                    > 0
        })
        .expect("generate more customers")
        .clone()
}

#[test]
fn a_cancel_while_a_step_runs_stops_every_later_erase_and_forgets_the_subject() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 21, 60);
    for_requests(&scenario);
    slow_erase(&scenario, "crm", 3000);
    let gallra = Gallra::new(&scenario.config);
    let customer = erasable_with_invoices(&scenario);
    let panel_row = format!("id = {}", customer.panel_id());
    let id = submit(&gallra, "erase", customer.email());

    // The CRM's erase is under way (billing, before it, is done)...
    let mut run = gallra.spawn(&["run", "--once"]);
    let state = StateDb::of(&scenario);
    let deadline = Instant::now() + Duration::from_secs(30);
    while state.task_state(id, "crm").as_deref() != Some("running") {
        assert!(Instant::now() < deadline, "the CRM step never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    // ... when the request is cancelled, and the cancel is acknowledged.
    let cancelled = gallra
        .run(&[
            "request",
            "cancel",
            &id.to_string(),
            "--reason",
            "withdrawn by the customer",
            "--json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(cancelled["state"], "cancelled", "{cancelled:#}");
    assert_eq!(scenario.db("panel").count("customers", Some(&panel_row)), 1);
    assert!(run.wait().unwrap().success());
    gallra.run(&["run", "--once"]).expect_code(0);

    // No erase started after the acknowledgement: the account source still holds the customer.
    assert_eq!(
        scenario.db("panel").count("customers", Some(&panel_row)),
        1,
        "the panel was erased after the cancel"
    );
    let view = show(&gallra, id);
    assert_eq!(view["state"], "cancelled", "{view:#}");
    assert_eq!(view["receipt"]["state"], "cancelled", "{view:#}");
    assert_eq!(receipt_line(&view, "panel")["outcome"], "cancelled");
    let crm = task(&view, "crm");
    assert!(
        crm["detail"].as_str().unwrap().contains("under way"),
        "the running step's outcome did not overwrite the cancel: {crm:#}"
    );
    let text = gallra
        .run(&["request", "show", &id.to_string()])
        .expect_code(0)
        .stdout;
    assert!(
        text.contains("cancelled") && !text.contains("completed 2"),
        "{text}"
    );
    // Audited once, without the subject.
    let actor = format!("request:{id}");
    let cancels: Vec<_> = audit_entries(&scenario)
        .into_iter()
        .filter(|e| e["action"] == "request_cancelled" && e["actor"] == actor.as_str())
        .collect();
    assert_eq!(cancels.len(), 1, "{cancels:#?}");
    assert_eq!(cancels[0]["detail"], "cancelled: withdrawn by the customer");
    gallra.run(&["audit", "verify"]).expect_code(0);
    // Who asked is forgotten.
    let state_dir = scenario.dir.join("state");
    assert!(!state_db_holds(&state_dir, customer.email()));
    assert!(!state_db_holds(&state_dir, customer.personnummer()));
}

#[test]
fn what_a_legal_hold_keeps_is_erased_when_the_hold_ends_without_keeping_the_email() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 22, 60);
    for_requests(&scenario);
    billing_deletes_after_its_hold(&scenario);
    let gallra = Gallra::new(&scenario.config);
    let customer = erasable_with_invoices(&scenario);
    let client = format!("id = {}", customer.billing_id());
    let invoices = format!("client_id = {}", customer.billing_id());
    let billing = scenario.db("billing");
    let (clients_before, invoices_before) = (
        billing.count("clients", None),
        billing.count("invoices", None),
    );
    let theirs = billing.count("invoices", Some(&invoices));
    let id = submit(&gallra, "erase", customer.email());

    gallra.run(&["run", "--once"]).expect_code(0);
    let view = show(&gallra, id);
    let held = task(&view, "billing");
    assert_eq!(held["state"], "retained", "{held:#}");
    assert_eq!(
        billing.count("clients", Some(&client)),
        1,
        "kept for the hold"
    );
    assert_eq!(billing.count("invoices", Some(&invoices)), theirs);
    assert_eq!(
        billing.rows(&format!("SELECT email FROM clients WHERE {client}")),
        vec![vec![None]],
        "anonymized during the hold"
    );
    // During the hold the state store keeps the row's key, not who asked.
    let state_dir = scenario.dir.join("state");
    assert!(!state_db_holds(&state_dir, customer.email()));
    assert!(!state_db_holds(&state_dir, customer.personnummer()));

    // The hold ends.
    let after = days_after(held["retained_until"].as_str().unwrap(), 1);
    gallra
        .run_with_env(&["run", "--once"], &[("GALLRA_NOW", &after)])
        .expect_code(0);
    let view = show(&gallra, id);
    let ended = task(&view, "billing");
    assert_eq!(ended["state"], "done", "{ended:#}");
    assert!(
        ended["detail"]
            .as_str()
            .unwrap()
            .starts_with(&format!("erased {} records", theirs + 1)),
        "{ended:#}"
    );
    assert_eq!(billing.count("clients", Some(&client)), 0);
    assert_eq!(billing.count("invoices", Some(&invoices)), 0);
    assert_eq!(
        billing.count("clients", None),
        clients_before - 1,
        "no one else"
    );
    assert_eq!(billing.count("invoices", None), invoices_before - theirs);
}

#[test]
fn an_export_file_older_than_exports_keep_is_deleted_and_the_deletion_audited() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 23, 30);
    for_requests(&scenario);
    let gallra = Gallra::new(&scenario.config);
    let customers = scenario.data.customers();
    let old = submit(&gallra, "export", customers[0].email());
    gallra.run(&["run", "--once"]).expect_code(0);
    let exports = scenario.dir.join("state/exports");
    let file = |id: i64, ext: &str| exports.join(format!("request-{id}.{ext}"));
    assert!(file(old, "csv").is_file() && file(old, "json").is_file());

    // 31 days later (the default exports_keep is 30 days), another export is made.
    let later = days_after(&jiff::Timestamp::now().to_string(), 31);
    let new = gallra
        .run_with_env(
            &[
                "request",
                "export",
                "--email",
                customers[1].email(),
                "--json",
            ],
            &[("GALLRA_NOW", &later)],
        )
        .expect_code(0)
        .json()["id"]
        .as_i64()
        .unwrap();
    gallra
        .run_with_env(&["run", "--once"], &[("GALLRA_NOW", &later)])
        .expect_code(0);
    assert!(!file(old, "csv").exists() && !file(old, "json").exists());
    assert!(file(new, "csv").is_file(), "a fresh export is kept");
    let deleted: Vec<String> = audit_entries(&scenario)
        .into_iter()
        .filter(|e| e["action"] == "expire" && e["actor"] == format!("request:{old}").as_str())
        .map(|e| e["detail"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    assert!(deleted
        .iter()
        .any(|d| d.contains(&format!("request-{old}.csv"))));
    let first = gallra_e2e::requests::first_audit_file(&scenario.dir.join("state/audit"));
    let log = std::fs::read_to_string(first).unwrap();
    assert!(
        !log.contains(customers[0].email()),
        "personal data in the audit log"
    );
    gallra.run(&["audit", "verify"]).expect_code(0);
}
