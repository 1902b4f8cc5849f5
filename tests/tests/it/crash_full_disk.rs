//! The state directory (state store and audit log) runs out of space mid-run: it is a small
//! tmpfs, filled to the last byte while gallra scans or erases. gallra must exit non-zero
//! with an error that says the disk is full or names the path, must have erased nothing it
//! could not record (every erasure done has its task outcome in the state store and its
//! entry in the audit log), and once space is freed the next run finishes, the systems end
//! as a calm run's and `gallra audit verify` passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use gallra_e2e::crash::{
    audit_erasures, resume, skip, spawn_logged, submit_erasures, wait_for, Aim, AuditCheck, Calm,
    Observer, Tmpfs,
};
use gallra_e2e::requests::for_requests;
use gallra_e2e::{now, Backend, Gallra, Scenario};

/// Customers in a scenario (180 purged by the policy).
const CUSTOMERS: usize = 1500;
/// Erasure requests in the request scenario.
const REQUESTS: usize = 60;
/// Scenarios tried before a test gives up on its aim.
const ATTEMPTS: u32 = 5;
/// The tmpfs: room for the run's state and audit log, had nobody filled it.
const SIZE: &str = "32m";

/// Words of an error that says the disk is full.
const FULL: [&str; 3] = ["disk is full", "no space left", "disk full"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    Purge,
    Requests,
}

/// (system, panel id) of every customer whose data is gone from a system: deleted from the
/// panel or the CRM, anonymized in billing.
fn erased(scenario: &Scenario) -> BTreeSet<(String, i64)> {
    let ids = |system: &str, sql: &str| -> BTreeSet<i64> {
        scenario
            .db(system)
            .rows(sql)
            .into_iter()
            .filter_map(|row| row[0].as_deref()?.parse().ok())
            .collect()
    };
    let panel = ids("panel", "SELECT id FROM customers");
    let crm = ids("crm", "SELECT id FROM people");
    let anonymized = ids(
        "billing",
        "SELECT id FROM clients WHERE name = 'Anonymiserad kund'",
    );
    let mut gone = BTreeSet::new();
    for c in scenario.data.customers() {
        if !panel.contains(&c.panel_id()) {
            gone.insert(("panel".to_owned(), c.panel_id()));
        }
        if c.crm_id().is_some_and(|id| !crm.contains(&id)) {
            gone.insert(("crm".to_owned(), c.panel_id()));
        }
        if anonymized.contains(&c.billing_id()) {
            gone.insert(("billing".to_owned(), c.panel_id()));
        }
    }
    gone
}

/// (system, panel id) of every erasure the audit log records as carried out or begun.
fn audited(scenario: &Scenario) -> BTreeSet<(String, i64)> {
    audit_erasures(scenario)
        .all
        .into_keys()
        .filter(|(_, _, _, outcome, _)| matches!(outcome.as_str(), "done" | "retained" | "started"))
        .filter_map(|(_, system, _, _, customer)| Some((system, customer?)))
        .collect()
}

/// Tasks per system in the state store whose state is one of `states`.
fn tasks_in(scenario: &Scenario, states: &str) -> BTreeMap<String, u64> {
    let db = rusqlite::Connection::open_with_flags(
        scenario.dir.join("state/state.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = db
        .prepare(&format!(
            "SELECT system, COUNT(*) FROM (SELECT system, state FROM tasks \
                 UNION ALL SELECT system, state FROM request_tasks) \
                 WHERE state IN ({states}) GROUP BY system"
        ))
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// When an erasure must be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    /// Before the process stops: its task outcome in the state store, its entry in the
    /// audit log (an entry that it began counts).
    Before,
    /// Before or after: an erasure the audit log lacks still has its task open in the state
    /// store, so the next run does it again (idempotently) and records it.
    BeforeOrNextRun,
}

/// Checks that every erasure the systems show is recorded as `record` demands.
fn check_recorded(name: &str, scenario: &Scenario, record: Record) {
    let gone = erased(scenario);
    let in_audit = audited(scenario);
    let unaudited: Vec<&(String, i64)> = gone.difference(&in_audit).collect();
    eprintln!(
        "{name}: {} erasures when the disk filled, {} of them not in the audit log",
        gone.len(),
        unaudited.len()
    );
    let finished = tasks_in(scenario, "'done', 'retained'");
    let open = tasks_in(scenario, "'pending', 'running'");
    for system in ["panel", "billing", "crm"] {
        let count = |set: &mut dyn Iterator<Item = &(String, i64)>| {
            set.filter(|(s, _)| s == system).count() as u64
        };
        let erased_here = count(&mut gone.iter());
        let unaudited_here = count(&mut unaudited.iter().copied());
        let finished_here = finished.get(system).copied().unwrap_or(0);
        let open_here = open.get(system).copied().unwrap_or(0);
        assert!(
            erased_here <= finished_here + open_here,
            "{name}: {erased_here} erased in {system}, the state store has {finished_here} \
             finished and {open_here} open tasks there"
        );
        match record {
            Record::Before => assert!(
                unaudited_here == 0,
                "{name}: {unaudited_here} of {erased_here} erasures in {system} have no audit \
                 entry, e.g. {:?}",
                &unaudited[..unaudited.len().min(5)]
            ),
            Record::BeforeOrNextRun => assert!(
                unaudited_here <= open_here,
                "{name}: {unaudited_here} erasures in {system} have no audit entry and only \
                 {open_here} tasks there are open to be done and recorded again"
            ),
        }
    }
}

fn scenario(work: Work, dir: &Path, at: &jiff::Zoned) -> Scenario {
    std::fs::create_dir_all(dir).unwrap();
    let scenario = Scenario::build_at(Backend::Sqlite, dir, 61, CUSTOMERS, at.clone());
    if work == Work::Requests {
        for_requests(&scenario);
    }
    scenario
}

/// A calm run of `work` to compare with, and scenarios on the same data to disturb.
struct Setup {
    work: Work,
    root: tempfile::TempDir,
    at: jiff::Zoned,
    reference: Calm,
    /// For requests: the state directory of the submitted requests, to copy.
    submitted: PathBuf,
}

impl Setup {
    fn new(work: Work) -> Setup {
        let root = tempfile::tempdir().unwrap();
        let at = now();
        let calm = scenario(work, &root.path().join("calm"), &at);
        if work == Work::Requests {
            submit_erasures(&calm, REQUESTS);
        }
        let submitted = root.path().join("submitted-state");
        let reference = Calm::run(
            &calm,
            (work == Work::Requests).then_some(submitted.as_path()),
        );
        Setup {
            work,
            root,
            at,
            reference,
            submitted,
        }
    }

    /// The `n`th scenario to disturb, in `root/full-n`: its directory and the scenario.
    fn disturbed(&self, n: u32) -> (PathBuf, Scenario) {
        let dir = self.root.path().join(format!("full-{n}"));
        let full = scenario(self.work, &dir, &self.at);
        (dir, full)
    }
}

/// For requests: copies the submitted requests' state directory into `dir/state`.
fn copy_submitted(work: Work, submitted: &Path, dir: &Path) {
    if work == Work::Requests {
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", submitted.display()))
            .arg(dir.join("state"))
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn a_full_disk_mid_run_erases_nothing_unrecorded(work: Work, aim: Aim, record: Record) {
    let name = format!("{work:?} with the state directory filled ({aim:?})");
    let setup = Setup::new(work);
    let reference = &setup.reference;
    // A moment aim can be missed (the run does not stop for the observer), and a disk
    // filled near the end of a run can leave room enough for what is left (a tmpfs page
    // partly used by a file still takes a line): then the run ends undisturbed, and a
    // fresh scenario is tried.
    let mut attempt = 0;
    let (dir, full, tmpfs, status, log, filler) = loop {
        attempt += 1;
        assert!(
            attempt <= ATTEMPTS,
            "{name}: the run finished before the full disk stopped it, {ATTEMPTS} times"
        );
        let (dir, full) = setup.disturbed(attempt);
        let tmpfs = match Tmpfs::mount(&dir.join("state"), SIZE) {
            Ok(tmpfs) => tmpfs,
            Err(why) => return skip(&name, &why),
        };
        // The submitted requests, copied onto the tmpfs.
        copy_submitted(work, &setup.submitted, &dir);
        let mut observer = Observer::of(&full);
        let start = observer.stand();
        let log = setup.root.path().join(format!("stderr-{attempt}.log"));
        let mut child = spawn_logged(&full.config, &["run", "--once"], &log);
        if !wait_for(&mut child, &mut observer, &start, aim) {
            eprintln!("{name}: attempt {attempt} finished before its aim; again on fresh data");
            continue;
        }
        let filler = tmpfs.fill();
        resume(&child); // stopped there if the aim was a moment
        let status = child.wait().unwrap();
        if !status.success() {
            break (dir, full, tmpfs, status, log, filler);
        }
        eprintln!("{name}: attempt {attempt} needed no more space once the disk was full; again on fresh data");
    };
    let stderr = std::fs::read_to_string(&log).unwrap();
    let said = stderr
        .lines()
        .filter(|l| l.contains("ERROR") || l.starts_with("gallra:"))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("{name}: the run {status}; its errors:\n{said}");
    let lower = said.to_lowercase();
    assert!(
        FULL.iter().any(|w| lower.contains(w))
            || said.contains(&*dir.join("state").to_string_lossy()),
        "{name}: the error says neither that the disk is full nor where:\n{stderr}"
    );

    check_recorded(&name, &full, record);

    // Space freed: the next run finishes, and all ends as in the calm run.
    std::fs::remove_file(filler).unwrap();
    Gallra::new(&full.config)
        .run(&["run", "--once"])
        .expect_code(0);
    let requests = (work == Work::Requests).then_some(REQUESTS);
    reference.check(&name, &full, requests, AuditCheck::Complete);
    drop(tmpfs);
}

#[test]
fn a_purge_that_fills_the_disk_while_scanning_erases_nothing() {
    let aim = Aim::Scanning(100);
    a_full_disk_mid_run_erases_nothing_unrecorded(Work::Purge, aim, Record::Before);
}

#[test]
fn a_purge_that_fills_the_disk_while_erasing_leaves_each_erasure_recorded_or_to_redo() {
    let aim = Aim::Erasing(50);
    a_full_disk_mid_run_erases_nothing_unrecorded(Work::Purge, aim, Record::BeforeOrNextRun);
}

#[test]
fn erasure_requests_that_fill_the_disk_leave_each_erasure_recorded_or_to_redo() {
    let aim = Aim::Erasing(20);
    a_full_disk_mid_run_erases_nothing_unrecorded(Work::Requests, aim, Record::BeforeOrNextRun);
}

/// The runner writes an audit entry for each task of a batch before its erase calls, and
/// the outcomes before committing them (daemon/src/runner/execute.rs `execute_tasks`); a
/// disk that fills stops the run at the next write, and every erasure made is in the log.
/// (Before the write-ahead order, a batch was erased and only then recorded, and a full
/// disk left its erasures unaudited.)
/// Filled once billing's anonymizations (and the account source's erase) were made but before
/// their outcomes were written: the next run redoes them ("again"), and its fresh re-check
/// finds nothing left that reports an activity time, since the first attempt erased the
/// subject everywhere. It carries the erasure on (see `runner::recheck::recheck_many`'s
/// `continuing`) and records it done, as the calm run did; before, it recorded billing
/// "retained: kept: changed since the plan: no system reports an activity time".
#[test]
fn a_purge_that_fills_the_disk_while_erasing_erases_nothing_unrecorded() {
    let aim = Aim::Erasing(50);
    a_full_disk_mid_run_erases_nothing_unrecorded(Work::Purge, aim, Record::Before);
}

/// As above, for requests (requests/engine.rs `Engine::announce` before the step,
/// `Engine::record` after it).
#[test]
fn erasure_requests_that_fill_the_disk_erase_nothing_unrecorded() {
    let aim = Aim::Erasing(20);
    a_full_disk_mid_run_erases_nothing_unrecorded(Work::Requests, aim, Record::Before);
}

/// Filled the moment task outcomes are in the audit log and not yet committed: the commit
/// or the next audit write fails and stops the run (a failed audit write is an error, not
/// a log line), every erasure made is in the audit log already, and the tasks not
/// committed are done again by the next run. (Before the write-ahead order the outcomes
/// were committed first, and a full disk lost their entries for good.)
#[test]
fn a_purge_whose_audit_log_fills_the_disk_stops_and_leaves_each_erasure_recorded_or_to_redo() {
    let aim = Aim::Recorded;
    a_full_disk_mid_run_erases_nothing_unrecorded(Work::Purge, aim, Record::Before);
}

/// The audit log's own disk is full before the run starts (a tmpfs on `state/audit`,
/// filled): the entry saying an erasure is about to be attempted cannot be written, so
/// nothing is erased; the run exits non-zero naming the path and the full disk, and its
/// tasks are left pending. Once space is freed the next run ends as a calm one.
fn a_full_audit_log_erases_nothing(work: Work) {
    let name = format!("{work:?} with the audit log's disk full from the start");
    let setup = Setup::new(work);
    let (dir, full) = setup.disturbed(1);
    let (reference, dir, full) = (&setup.reference, &dir, &full);
    let audit_dir = dir.join("state/audit");
    let tmpfs = match Tmpfs::mount(&audit_dir, "4m") {
        Ok(tmpfs) => tmpfs,
        Err(why) => return skip(&name, &why),
    };
    copy_submitted(work, &setup.submitted, dir);
    let before = full.snapshot();
    let filler = tmpfs.fill();

    let gallra = Gallra::new(&full.config);
    let run = gallra.run(&["run", "--once"]);
    eprintln!("{name}: exit {:?}:\n{}", run.code, run.stderr.trim());
    assert_ne!(
        run.code,
        Some(0),
        "{name}: the run succeeded:\n{}",
        run.stderr
    );
    let said = run.stderr.to_lowercase();
    assert!(
        FULL.iter().any(|w| said.contains(w)) && run.stderr.contains(&*audit_dir.to_string_lossy()),
        "{name}: the error does not say that the audit log's disk is full, and where:\n{}",
        run.stderr
    );
    assert!(
        full.snapshot() == before,
        "{name}: something was erased though its audit entry could not be written"
    );
    let touched = tasks_in(full, "'done', 'retained', 'failed', 'blocked', 'running'");
    assert!(
        touched.is_empty(),
        "{name}: tasks were attempted or left running: {touched:?}"
    );

    std::fs::remove_file(filler).unwrap();
    gallra.run(&["run", "--once"]).expect_code(0);
    let requests = (work == Work::Requests).then_some(REQUESTS);
    reference.check(&name, full, requests, AuditCheck::Complete);
    drop(tmpfs);
}

#[test]
fn a_purge_whose_audit_log_is_full_erases_nothing() {
    a_full_audit_log_erases_nothing(Work::Purge);
}

#[test]
fn erasure_requests_whose_audit_log_is_full_erase_nothing() {
    a_full_audit_log_erases_nothing(Work::Requests);
}
