//! A PostgreSQL that restarts while gallra erases in it. The restart is done on a private
//! cluster (initdb + pg_ctl on a free port), never on the machine's shared server. The
//! disturbed run either finishes or exits with an error that says the database went away;
//! the next run finishes; then nothing is lost, nothing that should stay is deleted, and
//! nothing is done twice: the systems, the requests and the audit log end as a calm run's.

use std::path::Path;
use std::time::Duration;

use gallra_e2e::crash::{
    copy_tree, move_to_cluster, skip, spawn_logged, submit_erasures, wait_for, Aim, AuditCheck,
    Calm, Observer, PgCluster,
};
use gallra_e2e::requests::{for_requests, StateDb};
use gallra_e2e::{now, Backend, Gallra, Scenario};

/// Customers in the purge scenario (180 purged).
const CUSTOMERS: usize = 1500;
/// Erasure requests in the request scenario.
const REQUESTS: usize = 60;

/// Words of an error that says the database went away for a while.
const TRANSIENT: [&str; 8] = [
    "connection",
    "terminat",
    "shut down",
    "shutting down",
    "closed",
    "restart",
    "unavailable",
    "recovery",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    Purge,
    Requests,
}

/// The demo systems moved into `<prefix>_*` databases on the cluster; for requests, with
/// the erasures submitted (or their state directory copied from `template`).
fn scenario(
    work: Work,
    cluster: &PgCluster,
    dir: &Path,
    prefix: &str,
    at: &jiff::Zoned,
    template: Option<&Path>,
) -> Scenario {
    std::fs::create_dir(dir).unwrap();
    let mut scenario = Scenario::build_at(Backend::Sqlite, dir, 51, CUSTOMERS, at.clone());
    move_to_cluster(&mut scenario, cluster, prefix);
    match (work, template) {
        (Work::Purge, _) => {}
        (Work::Requests, Some(state)) => {
            for_requests(&scenario);
            copy_tree(state, &dir.join("state"));
        }
        (Work::Requests, None) => submit_erasures(&scenario, REQUESTS),
    }
    scenario
}

/// Request tasks that failed an attempt and were tried again.
fn retried_tasks(scenario: &Scenario) -> u64 {
    let db = rusqlite::Connection::open(scenario.dir.join("state/state.db")).unwrap();
    db.query_row(
        "SELECT COUNT(*) FROM request_tasks WHERE attempts > 1 OR detail LIKE 'attempt %'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as u64
}

/// Sleeps until every retry the state store has scheduled is due.
fn wait_for_retries(scenario: &Scenario) {
    let db = rusqlite::Connection::open(scenario.dir.join("state/state.db")).unwrap();
    let latest: Option<String> = db
        .query_row(
            "SELECT MAX(not_before) FROM request_tasks WHERE state IN ('pending', 'running')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if let Some(at) = latest {
        let at: jiff::Timestamp = at.parse().unwrap();
        let wait = at.duration_since(jiff::Timestamp::now());
        if wait.is_positive() {
            std::thread::sleep(wait.unsigned_abs());
        }
    }
    std::thread::sleep(Duration::from_millis(50));
}

fn a_restart_mid_run_loses_nothing(work: Work, mode: &str) {
    let name = format!("{work:?} across a PostgreSQL restart -m {mode}");
    let cluster = match PgCluster::start() {
        Ok(cluster) => cluster,
        Err(why) => return skip(&name, &why),
    };
    let at = now();
    let root = tempfile::tempdir().unwrap();
    let template = root.path().join("submitted-state");

    let calm = scenario(work, &cluster, &root.path().join("calm"), "calm", &at, None);
    let reference = Calm::run(
        &calm,
        (work == Work::Requests).then_some(template.as_path()),
    );

    let dir = root.path().join("disturbed");
    let restarted = scenario(work, &cluster, &dir, "disturbed", &at, Some(&template));
    let mut observer = Observer::of(&restarted);
    let start = observer.stand();
    let log = root.path().join("stderr.log");
    let mut child = spawn_logged(&restarted.config, &["run", "--once"], &log);
    assert!(
        wait_for(&mut child, &mut observer, &start, Aim::Erasing(0)),
        "{name}: the run finished before it erased anything"
    );
    let erased_before = observer.stand();
    cluster.restart(mode);
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap();
    eprintln!(
        "{name}: the run {status}; {} task outcomes recorded when the restart began",
        erased_before.tasks_final()
    );
    let disturbed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .filter(|l| {
            let l = l.to_lowercase();
            TRANSIENT.iter().any(|word| l.contains(word))
        })
        .collect();
    let retried = retried_tasks(&restarted);
    eprintln!(
        "{name}: {} log lines about the lost connection (the first: {}), {retried} request \
         tasks retried",
        disturbed.len(),
        disturbed.first().unwrap_or(&"-")
    );
    assert!(
        !disturbed.is_empty() || retried > 0,
        "{name}: the restart did not reach the run; its log:\n{stderr}"
    );
    if !status.success() {
        let lower = stderr.to_lowercase();
        assert!(
            TRANSIENT.iter().any(|word| lower.contains(word)),
            "{name}: the run failed ({status}) without saying the database went away:\n{stderr}"
        );
        let last = stderr.lines().rev().find(|l| l.contains("gallra:"));
        eprintln!("{name}: its error: {}", last.unwrap_or("(none)"));
    }

    wait_for_retries(&restarted);
    Gallra::new(&restarted.config)
        .run(&["run", "--once"])
        .expect_code(0);
    let requests = (work == Work::Requests).then_some(REQUESTS);
    reference.check(&name, &restarted, requests, AuditCheck::Complete);
    if let Some(n) = requests {
        eprintln!("{name}: {:?} of {n}", StateDb::of(&restarted).requests());
    }
}

#[test]
fn a_purge_across_a_fast_postgresql_restart_loses_nothing() {
    a_restart_mid_run_loses_nothing(Work::Purge, "fast");
}

#[test]
fn a_purge_across_an_immediate_postgresql_restart_loses_nothing() {
    a_restart_mid_run_loses_nothing(Work::Purge, "immediate");
}

#[test]
fn erasure_requests_across_a_fast_postgresql_restart_lose_nothing() {
    a_restart_mid_run_loses_nothing(Work::Requests, "fast");
}

#[test]
fn erasure_requests_across_an_immediate_postgresql_restart_lose_nothing() {
    a_restart_mid_run_loses_nothing(Work::Requests, "immediate");
}
