//! Requests when systems fail and processes die: transient failures are retried until they
//! pass, permanent ones leave the request visibly failed, and a batch of erasures killed
//! with SIGKILL again and again ends exactly where a calm run ends.
//!
//! Policy (000, «Rätten att bli glömd»): «En användare kan när som helst begära att bli
//! borttagen ur samtliga beebytes system och tredjepartssystem. … En sådan begäran
//! verkställs senast inom en vecka (7 dagar).»

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use gallra_demo::{Category, Customer};
use gallra_e2e::crash::kill_after;
use gallra_e2e::requests::{
    for_requests, receipt_line, show, sleep_past, submit, task, task_retry, Lcg, StateDb,
};
use gallra_e2e::{available, now, settings_of, Backend, Gallra, Scenario, TestDb, TABLES};

/// An InactiveClean customer (no active service, nothing unpaid) who is in the CRM.
fn erasable_in_crm(scenario: &Scenario) -> Customer {
    scenario
        .data
        .in_category(Category::InactiveClean)
        .find(|c| c.crm_id().is_some())
        .unwrap()
        .clone()
}

/// How the CRM fails its first calls.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Its URL points at a port nobody listens on: connection refused.
    Unreachable,
    /// Another transaction holds a lock on its tables; gallra's lock wait times out.
    Locked,
}

/// The demo systems in SQLite, except the CRM, which lives on a database server.
fn with_crm_on_server(dir: &Path, backend: Backend) -> (Scenario, TestDb, std::path::PathBuf) {
    let scenario = Scenario::build(Backend::Sqlite, dir, 8, 60);
    for_requests(&scenario);
    let crm = TestDb::create(backend, dir, "crm_server");
    crm.execute(&scenario.data.statements("crm", backend.dialect()));
    let url_file = dir.join("crm.url");
    scenario.edit_config(|config| {
        let settings = settings_of(config, "crm");
        settings.remove("path");
        settings.insert("backend".into(), backend.name().into());
        settings.insert("url_file".into(), url_file.display().to_string().into());
    });
    (scenario, crm, url_file)
}

fn write_url(file: &Path, url: &str) {
    std::fs::write(file, url).unwrap();
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn a_system_failing_its_first_3_calls_transiently_still_completes(backend: Backend, fault: Fault) {
    let name = "a_system_failing_its_first_3_calls_transiently_still_completes";
    if !available(backend, name) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (scenario, crm, url_file) = with_crm_on_server(dir.path(), backend);
    let url = crm.url.clone().unwrap();
    let gallra = Gallra::new(&scenario.config);
    let customer = erasable_in_crm(&scenario);
    let crm_id = customer.crm_id().unwrap();
    let others = |crm: &TestDb| {
        (
            crm.rows(&format!(
                "SELECT id, email, name, phone, personnummer FROM people WHERE id <> {crm_id}"
            )),
            crm.rows(&format!(
                "SELECT id, person_id, body FROM notes WHERE person_id <> {crm_id}"
            )),
        )
    };
    let others_before = others(&crm);

    // The fault: three `run --once` meet it, each trying the CRM once.
    let mut lock_holder = None;
    match fault {
        Fault::Unreachable => write_url(
            &url_file,
            &url.replace(":5432/", ":1/").replace(":3306/", ":1/"),
        ),
        Fault::Locked => {
            assert_eq!(
                backend,
                Backend::Postgres,
                "the lock fault is written for PostgreSQL"
            );
            write_url(&url_file, &format!("{url}?options=-c%20lock_timeout%3D300"));
            let mut holder = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            holder
                .batch_execute("BEGIN; LOCK TABLE people, notes IN ACCESS EXCLUSIVE MODE")
                .unwrap();
            lock_holder = Some(holder);
        }
    }
    let id = submit(&gallra, "erase", customer.email());
    for attempt in 1..=3 {
        gallra.run(&["run", "--once"]).expect_code(0);
        let view = show(&gallra, id);
        let crm_task = task(&view, "crm");
        assert_eq!(
            crm_task["state"], "pending",
            "attempt {attempt} ({fault:?}): {crm_task:#}"
        );
        // The first call to meet the fault is the precondition's status question to the
        // CRM (every system that reports status is asked before an erasure): it schedules a
        // re-check rather than counting an erase attempt.
        assert!(
            crm_task["detail"]
                .as_str()
                .is_some_and(|d| d.contains("system \"crm\"")),
            "the CRM is named as what the request waits for: {crm_task:#}"
        );
        assert!(
            crm_task["not_before"].is_string(),
            "a retry is scheduled: {crm_task:#}"
        );
        // Blocked (its precondition cannot be checked), never done while a system is left.
        assert_eq!(
            view["state"], "blocked",
            "never done while a system is left: {view:#}"
        );
        // The account source waits: the customer stays findable while the CRM is left.
        assert_eq!(task(&view, "panel")["state"], "pending", "{view:#}");
        assert_eq!(
            scenario
                .db("panel")
                .count("customers", Some(&format!("id = {}", customer.panel_id()))),
            1
        );
        sleep_past(&crm_task["not_before"]);
    }

    // The fault clears; the next run completes the erasure with nobody resubmitting.
    write_url(&url_file, &url);
    if let Some(mut holder) = lock_holder.take() {
        holder.batch_execute("ROLLBACK").unwrap();
    }
    assert_eq!(crm.count("people", Some(&format!("id = {crm_id}"))), 1);
    gallra.run(&["run", "--once"]).expect_code(0);
    let view = show(&gallra, id);
    assert_eq!(task(&view, "crm")["state"], "done", "{view:#}");
    assert_eq!(task(&view, "panel")["state"], "done", "{view:#}");
    assert_eq!(view["state"], "done", "{view:#}");
    assert_eq!(receipt_line(&view, "crm")["outcome"], "erased");
    assert_eq!(crm.count("people", Some(&format!("id = {crm_id}"))), 0);
    assert_eq!(
        crm.count("notes", Some(&format!("person_id = {crm_id}"))),
        0
    );
    assert_eq!(
        others(&crm),
        others_before,
        "someone else was touched in the CRM"
    );
    assert_eq!(
        scenario
            .db("panel")
            .count("customers", Some(&format!("id = {}", customer.panel_id()))),
        0
    );
}

#[test]
fn a_system_failing_its_first_3_calls_with_a_lock_timeout_still_completes_in_postgresql() {
    a_system_failing_its_first_3_calls_transiently_still_completes(
        Backend::Postgres,
        Fault::Locked,
    );
}

#[test]
fn a_system_unreachable_for_its_first_3_calls_still_completes_in_mariadb() {
    a_system_failing_its_first_3_calls_transiently_still_completes(
        Backend::Mysql,
        Fault::Unreachable,
    );
}

#[test]
fn a_system_unreachable_for_its_first_3_calls_still_completes_in_postgresql() {
    a_system_failing_its_first_3_calls_transiently_still_completes(
        Backend::Postgres,
        Fault::Unreachable,
    );
}

/// The demo systems for requests, with the CRM broken for good (its notes table is gone),
/// and an erase request submitted for a customer the CRM holds: the scratch directory (keep
/// it alive), the scenario, the customer, `gallra`, and the request's id.
fn erase_with_crm_broken() -> (tempfile::TempDir, Scenario, Customer, Gallra, i64) {
    let (dir, scenario) = Scenario::sqlite(9, 60);
    for_requests(&scenario);
    let customer = erasable_in_crm(&scenario);
    scenario.db("crm").execute(&["DROP TABLE notes".to_owned()]);
    let gallra = scenario.gallra();
    let id = submit(&gallra, "erase", customer.email());
    (dir, scenario, customer, gallra, id)
}

#[test]
fn a_permanent_failure_leaves_the_request_visibly_failed_and_never_done() {
    let (_dir, scenario, customer, gallra, id) = erase_with_crm_broken();

    for _ in 0..2 {
        gallra.run(&["run", "--once"]).expect_code(0);
        let view = show(&gallra, id);
        let crm = task(&view, "crm");
        assert_eq!(crm["state"], "failed", "{crm:#}");
        assert_eq!(
            crm["attempts"], 1,
            "a permanent error is not retried: {crm:#}"
        );
        assert!(
            crm["detail"]
                .as_str()
                .unwrap()
                .contains("no such table: notes"),
            "the task says what went wrong: {crm:#}"
        );
        assert_eq!(view["state"], "failed", "{view:#}");
        assert_eq!(view["detail"], "2 of 3 tasks failed");
        assert_eq!(receipt_line(&view, "crm")["outcome"], "not_done");
        let listed = gallra
            .run(&["request", "list", "--all", "--json"])
            .expect_code(0)
            .json();
        let listed = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone();
        assert_eq!(listed["state"], "failed", "visible in the list: {listed:#}");
    }
    // The CRM still holds the person: nothing was half-deleted there.
    assert_eq!(
        scenario.db("crm").count(
            "people",
            Some(&format!("id = {}", customer.crm_id().unwrap()))
        ),
        1
    );
}

#[test]
fn a_permanently_failed_request_stays_in_the_default_request_list() {
    // Issue 3: «one that fails permanently leaves the request open, visibly failed, never
    // marked done». A failed request waits for a person; the list a person reads shows it.
    let (_dir, _, _, gallra, id) = erase_with_crm_broken();
    gallra.run(&["run", "--once"]).expect_code(0);
    assert_eq!(show(&gallra, id)["state"], "failed");
    let listed = gallra
        .run(&["request", "list", "--json"])
        .expect_code(0)
        .json();
    assert!(
        listed.as_array().unwrap().iter().any(|r| r["id"] == id),
        "the failed request is not in `gallra request list`: {listed:#}"
    );
}

#[test]
fn a_permanent_failure_elsewhere_keeps_the_subject_in_the_account_source() {
    // README: «Per subject they run in order, the account source last, so a subject stays
    // findable until every other system has erased it.»
    let (_dir, scenario, customer, gallra, id) = erase_with_crm_broken();
    gallra.run(&["run", "--once"]).expect_code(0);
    let view = show(&gallra, id);
    assert_eq!(task(&view, "crm")["state"], "failed", "{view:#}");
    assert_ne!(
        task(&view, "panel")["state"],
        "done",
        "the panel was erased while the CRM still holds the person: {view:#}"
    );
    assert_eq!(
        scenario
            .db("panel")
            .count("customers", Some(&format!("id = {}", customer.panel_id()))),
        1,
        "the customer is no longer findable in the account source"
    );
}

#[test]
fn a_failed_request_is_tried_again_by_a_person_once_its_system_is_fixed_and_then_done() {
    // Issue 14: a request whose system failed could only be filed again, which needs the
    // identifiers again. `gallra task retry` is the way back.
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 9, 60);
    for_requests(&scenario);
    let customer = erasable_in_crm(&scenario);
    let crm = scenario.db("crm");
    crm.execute(&["ALTER TABLE notes RENAME TO notes_aside".to_owned()]);
    let gallra = Gallra::new(&scenario.config);
    let id = submit(&gallra, "erase", customer.email());
    gallra.run(&["run", "--once"]).expect_code(0);
    let failed = show(&gallra, id);
    assert_eq!(failed["state"], "failed", "{failed:#}");
    assert_eq!(
        StateDb::of(&scenario).holding_identifiers().get("failed"),
        Some(&1),
        "a failed request keeps who it is about until a person retries or cancels it"
    );

    crm.execute(&["ALTER TABLE notes_aside RENAME TO notes".to_owned()]);
    task_retry(
        &gallra,
        task(&failed, "crm"),
        "notes table restored, ticket 4711",
    );
    let reopened = show(&gallra, id);
    assert_eq!(reopened["state"], "open", "{reopened:#}");
    assert_eq!(task(&reopened, "crm")["state"], "pending");
    assert_eq!(task(&reopened, "crm")["attempts"], 0);
    assert_eq!(
        task(&reopened, "panel")["state"],
        "pending",
        "the account source, held back by the CRM's failure, comes back with it"
    );
    gallra.run(&["run", "--once"]).expect_code(0);

    let done = show(&gallra, id);
    assert_eq!(done["state"], "done", "{done:#}");
    assert_eq!(receipt_line(&done, "crm")["outcome"], "erased");
    assert!(StateDb::of(&scenario).holding_identifiers().is_empty());
    // The receipt's completion is the last task's finish, after the request was received.
    let time = |v: &serde_json::Value| v.as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    let completed = time(&done["receipt"]["completed_at"]);
    let last = done["task_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| time(&t["finished_at"]))
        .max()
        .unwrap();
    assert_eq!(completed, last, "{done:#}");
    assert!(completed >= time(&done["received_at"]), "{done:#}");
}

#[test]
fn a_failed_request_can_be_cancelled_and_forgets_who_it_was_about() {
    let (_dir, scenario, _, gallra, id) = erase_with_crm_broken();
    gallra.run(&["run", "--once"]).expect_code(0);
    assert_eq!(show(&gallra, id)["state"], "failed");
    gallra
        .run(&[
            "request",
            "cancel",
            &id.to_string(),
            "--reason",
            "filed again later",
        ])
        .expect_code(0);
    let view = show(&gallra, id);
    assert_eq!(view["state"], "cancelled", "{view:#}");
    assert!(StateDb::of(&scenario).holding_identifiers().is_empty());
}

/// Customers whose erasure nothing blocks, made so by the generator.
const BATCH: usize = 200;

/// Builds the scenario for the batch and submits one erasure per erasable customer.
fn batch_scenario(dir: &Path, at: &jiff::Zoned) -> (Scenario, Vec<Customer>) {
    let scenario = Scenario::build_at(Backend::Sqlite, dir, 31, 1800, at.clone());
    for_requests(&scenario);
    let chosen: Vec<Customer> = scenario
        .data
        .in_category(Category::InactiveClean)
        .take(BATCH)
        .cloned()
        .collect();
    assert_eq!(chosen.len(), BATCH, "generate more customers");
    let gallra = Gallra::new(&scenario.config);
    let started = Instant::now();
    for customer in &chosen {
        submit(&gallra, "erase", customer.email());
    }
    eprintln!("{BATCH} requests submitted in {:?}", started.elapsed());
    (scenario, chosen)
}

type Snapshot = BTreeMap<&'static str, Vec<Vec<Option<String>>>>;

/// What the systems must hold after the batch, worked out from the rows before it: the
/// chosen customers gone from the panel and the CRM, their billing client anonymized (the
/// invoices stay under the bookkeeping hold), every other row as it was.
fn expected_after(before: &Snapshot, chosen: &[Customer]) -> Snapshot {
    let panel: BTreeSet<String> = chosen.iter().map(|c| c.panel_id().to_string()).collect();
    let billing: BTreeSet<String> = chosen.iter().map(|c| c.billing_id().to_string()).collect();
    let crm: BTreeSet<String> = chosen
        .iter()
        .filter_map(|c| c.crm_id())
        .map(|id| id.to_string())
        .collect();
    let key = |row: &Vec<Option<String>>, column: usize| row[column].clone().unwrap_or_default();
    let mut after = before.clone();
    for (table, rows) in after.iter_mut() {
        match *table {
            "customers" => rows.retain(|r| !panel.contains(&key(r, 0))),
            "services" => rows.retain(|r| !panel.contains(&key(r, 1))),
            "people" => rows.retain(|r| !crm.contains(&key(r, 0))),
            "notes" => rows.retain(|r| !crm.contains(&key(r, 1))),
            "clients" => {
                for row in rows.iter_mut().filter(|r| billing.contains(&key(r, 0))) {
                    // id, email, name, personnummer, address
                    *row = vec![
                        row[0].clone(),
                        None,
                        Some("Anonymiserad kund".into()),
                        None,
                        None,
                    ];
                }
                rows.sort();
            }
            "invoices" => {}
            other => panic!("unexpected table {other}"),
        }
    }
    assert_eq!(after.len(), TABLES.len());
    after
}

#[test]
fn a_batch_of_200_erasures_killed_again_and_again_ends_like_a_calm_run() {
    killed_batch(Also::Nothing);
}

#[test]
fn every_request_of_a_killed_batch_of_200_erasures_is_marked_done() {
    killed_batch(Also::RequestsDone);
}

#[test]
fn a_killed_batch_of_200_erasures_records_every_legal_hold_like_a_calm_run() {
    killed_batch(Also::SameTaskOutcomes);
}

/// What [`killed_batch`] checks beyond the systems' rows and that every task is final.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Also {
    Nothing,
    /// Every request is marked done.
    RequestsDone,
    /// Every task has the calm run's state, retention date and legal basis.
    SameTaskOutcomes,
}

/// Submits 200 erasures, kills `gallra run --once` at seeded random points while their
/// tasks run, then lets one run finish, and compares with a calm run on the same data.
fn killed_batch(also: Also) {
    let started = Instant::now();
    let at = now();

    let calm_dir = tempfile::tempdir().unwrap();
    let (calm, _) = batch_scenario(calm_dir.path(), &at);
    eprintln!("calm scenario ready after {:?}", started.elapsed());
    Gallra::new(&calm.config)
        .run(&["run", "--once"])
        .expect_code(0);
    let calm_after = calm.snapshot();
    eprintln!("calm run done after {:?}", started.elapsed());

    let dir = tempfile::tempdir().unwrap();
    let (crashed, chosen) = batch_scenario(dir.path(), &at);
    let before = crashed.snapshot();
    let expected = expected_after(&before, &chosen);
    assert_eq!(
        calm_after, expected,
        "the calm run itself erased the wrong rows"
    );
    let state = StateDb::of(&crashed);
    let total: u64 = state.tasks().values().sum();
    assert_eq!(total, 3 * BATCH as u64, "one task per system per request");

    let gallra = Gallra::new(&crashed.config);
    let mut rng = Lcg(0x5eed_0200);
    let (mut kills, mut kills_mid_batch) = (0, 0);
    for _ in 0..40 {
        let settled_before = state.tasks_settled();
        let mut child = gallra.spawn(&["run", "--once"]);
        // Let it reach the tasks (opening the plugins takes a moment), then kill it at a
        // random point.
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none()
            && state.tasks_settled() == settled_before
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        if !kill_after(&mut child, Duration::from_millis(rng.below(150))) {
            break; // it finished: nothing left to interrupt
        }
        kills += 1;
        let settled = state.tasks_settled();
        if settled > settled_before && settled < total {
            kills_mid_batch += 1;
        }
        eprintln!(
            "kill {kills}: {settled}/{total} tasks settled, {:?}",
            state.requests()
        );
    }
    eprintln!("{kills} runs killed, {kills_mid_batch} mid-batch");
    assert!(
        kills_mid_batch >= 3,
        "only {kills_mid_batch} kills landed while tasks ran; the schedule missed"
    );

    gallra.run(&["run", "--once"]).expect_code(0);
    // Every task ran to its end, as in the calm run: done, or retained under the
    // bookkeeping hold where a client has invoices; none left waiting, none failed.
    let calm_tasks = StateDb::of(&calm).tasks();
    assert_eq!(
        calm_tasks.keys().collect::<Vec<_>>(),
        ["done", "retained"],
        "the calm run: {calm_tasks:?}"
    );
    let tasks = state.tasks();
    assert!(
        tasks.keys().all(|s| s == "done" || s == "retained"),
        "tasks left after the kills: {tasks:?}"
    );
    if also == Also::SameTaskOutcomes {
        let calm_outcomes = StateDb::of(&calm).task_outcomes();
        let differ: Vec<String> = state
            .task_outcomes()
            .iter()
            .filter(|(task, outcome)| outcome[..3] != calm_outcomes[*task][..3])
            .map(|(task, outcome)| {
                format!("{task:?}: {outcome:?}, calm: {:?}", calm_outcomes[task])
            })
            .collect();
        assert!(
            differ.is_empty(),
            "{} tasks ended otherwise than in the calm run:\n{}",
            differ.len(),
            differ.join("\n")
        );
    }
    if also == Also::RequestsDone {
        assert_eq!(
            state.requests(),
            BTreeMap::from([("done".to_owned(), BATCH as u64)]),
            "every request completes; unfinished:\n{}",
            state.unfinished().join("\n")
        );
    }
    let after = crashed.snapshot();
    assert!(
        after == expected,
        "the killed-and-resumed systems differ from what they must hold"
    );
    assert!(
        after == calm_after,
        "the killed-and-resumed systems differ from a calm run's"
    );
    gallra.run(&["run", "--once"]).expect_code(0);
    assert!(
        crashed.snapshot() == calm_after,
        "a run after recovery changed data"
    );
    eprintln!("took {:?}", started.elapsed());
}
