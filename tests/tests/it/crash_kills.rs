//! Seeded SIGKILLs through purge runs and request runs, in SQLite and PostgreSQL systems,
//! aimed at each phase of a run: scanning, erasing, between writing outcomes to the audit
//! log and committing them to the state store, settling a request. After each series of kills one run finishes, and then:
//! - no request is lost: every submitted request exists and is done;
//! - nothing harmful is repeated: the systems hold exactly what a calm run leaves (what
//!   must stay, stays), and each task ends as it does in the calm run;
//! - `gallra audit verify` passes, and the audit log records each erasure once per
//!   (actor, system, outcome, subject), as the calm run's log does; an entry of a task done
//!   again after a kill says so ("again") and is not counted as a repeat.
//!
//! `GALLRA_CRASH_KILLS` sets the kills per series (four series; default 4, for CI);
//! `GALLRA_CRASH_SEED` replays a series with the seed it printed.

use std::path::Path;
use std::time::Instant;

use gallra_e2e::crash::{
    copy_tree, kills_per_series, run_and_kill, seed, submit_erasures, Aim, AuditCheck, Calm, Tally,
};
use gallra_e2e::requests::{for_requests, Lcg};
use gallra_e2e::{available, now, Backend, Gallra, Scenario};

/// Customers in a purge scenario: 180 are purged, in three systems, in two batches.
const PURGE_CUSTOMERS: usize = 1500;
/// Customers in a request scenario.
const REQUEST_CUSTOMERS: usize = 800;
/// Erasure requests in a request scenario.
const REQUESTS: usize = 60;
/// Kills before a scenario's run is let finish; then the next scenario starts.
const KILLS_PER_SCENARIO: usize = 6;

/// What a series kills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    /// The demo's inactivity purge.
    Purge,
    /// A batch of erasure requests, no policy.
    Requests,
}

impl Work {
    /// Where its kills are aimed (delays in milliseconds).
    fn aims(self) -> &'static [Aim] {
        match self {
            Work::Purge => &[
                Aim::Scanning(800),
                Aim::Erasing(600),
                Aim::Recorded,
                Aim::After(3000),
            ],
            Work::Requests => &[
                Aim::Erasing(800),
                Aim::Recorded,
                Aim::Settling,
                Aim::After(1500),
            ],
        }
    }
}

/// A scenario for `work` at `at`. Requests: with `template` the state directory of the
/// submitted requests is copied from it; without, the requests are submitted here.
fn scenario(
    work: Work,
    backend: Backend,
    dir: &Path,
    at: &jiff::Zoned,
    template: Option<&Path>,
) -> Scenario {
    let customers = match work {
        Work::Purge => PURGE_CUSTOMERS,
        Work::Requests => REQUEST_CUSTOMERS,
    };
    let scenario = Scenario::build_at(backend, dir, 41, customers, at.clone());
    if work == Work::Requests {
        match template {
            Some(state) => {
                for_requests(&scenario);
                copy_tree(state, &dir.join("state"));
            }
            None => submit_erasures(&scenario, REQUESTS),
        }
    }
    scenario
}

fn series(work: Work, backend: Backend, default_seed: u64, aims: &[Aim], audit: AuditCheck) {
    let name = format!("killed {work:?} runs in {}", backend.name());
    if !available(backend, &name) {
        return;
    }
    let started = Instant::now();
    let wanted = kills_per_series(4);
    let seed = seed(default_seed);
    eprintln!("{name}: seed {seed:#x} (replay: GALLRA_CRASH_SEED={seed:#x}), {wanted} kills");
    let at = now();
    let root = tempfile::tempdir().unwrap();
    let template = root.path().join("submitted-state");

    let calm_dir = root.path().join("calm");
    std::fs::create_dir(&calm_dir).unwrap();
    let calm = scenario(work, backend, &calm_dir, &at, None);
    let reference = Calm::run(
        &calm,
        (work == Work::Requests).then_some(template.as_path()),
    );
    drop(calm);

    let mut rng = Lcg(seed);
    let mut tally = Tally::default();
    while tally.kills.len() < wanted {
        tally.scenarios += 1;
        assert!(
            tally.scenarios <= wanted + 5,
            "{name}: runs keep finishing before their kill; {}",
            tally.summary()
        );
        let dir = root.path().join(format!("scenario-{}", tally.scenarios));
        std::fs::create_dir(&dir).unwrap();
        let crashed = scenario(work, backend, &dir, &at, Some(&template));
        let mut here = 0;
        while here < KILLS_PER_SCENARIO && tally.kills.len() < wanted {
            let aim = Aim::pick(&mut rng, aims);
            let Some(kill) = run_and_kill(&crashed, aim) else {
                break; // the run finished: nothing left to interrupt
            };
            here += 1;
            eprintln!(
                "{name}: scenario {} kill {}: aimed {:?}, landed {} after {:?}",
                tally.scenarios,
                tally.kills.len() + 1,
                kill.aim,
                kill.landed,
                kill.after
            );
            tally.kills.push(kill);
        }
        check_recovery(&name, work, &crashed, &reference, audit, &mut tally);
    }
    eprintln!(
        "{name}: {} (seed {seed:#x}, {:?})",
        tally.summary(),
        started.elapsed()
    );
}

/// Lets one run finish, then checks that the scenario ends as the calm one did.
fn check_recovery(
    name: &str,
    work: Work,
    crashed: &Scenario,
    calm: &Calm,
    audit: AuditCheck,
    tally: &mut Tally,
) {
    let gallra = Gallra::new(&crashed.config);
    gallra.run(&["run", "--once"]).expect_code(0);
    let requests = (work == Work::Requests).then_some(REQUESTS);
    tally.audit_missing += calm.check(name, crashed, requests, audit);
    gallra.run(&["run", "--once"]).expect_code(0);
    assert!(
        crashed.snapshot() == calm.snapshot,
        "{name}: a run after recovery changed data"
    );
}

#[test]
fn killed_purge_runs_in_sqlite_end_like_a_calm_run() {
    let aims = Work::Purge.aims();
    series(
        Work::Purge,
        Backend::Sqlite,
        0xc0ffee01,
        aims,
        AuditCheck::NoRepeats,
    );
}

#[test]
fn killed_purge_runs_in_postgresql_end_like_a_calm_run() {
    let aims = Work::Purge.aims();
    series(
        Work::Purge,
        Backend::Postgres,
        0xc0ffee02,
        aims,
        AuditCheck::NoRepeats,
    );
}

#[test]
fn killed_request_runs_in_sqlite_end_like_a_calm_run() {
    let aims = Work::Requests.aims();
    series(
        Work::Requests,
        Backend::Sqlite,
        0xc0ffee03,
        aims,
        AuditCheck::NoRepeats,
    );
}

#[test]
fn killed_request_runs_in_postgresql_end_like_a_calm_run() {
    let aims = Work::Requests.aims();
    series(
        Work::Requests,
        Backend::Postgres,
        0xc0ffee04,
        aims,
        AuditCheck::NoRepeats,
    );
}

/// Kills aimed at the moment the runner or the request engine has written task outcomes to
/// the audit log and not yet committed them to the state store (daemon/src/runner/execute.rs
/// `execute_tasks`, daemon/src/requests/engine.rs `Engine::record`). Every erasure must be
/// in the audit log (an entry saying it was about to be attempted is written before each
/// erase call); the tasks are done again by the next run, whose entries say "again".
/// Before the write-ahead order the outcomes were committed first and a kill in between
/// lost their entries for good (10,614 over 208 kills).
#[test]
fn every_erasure_of_a_run_killed_while_auditing_is_in_the_audit_log() {
    let aims = [Aim::Recorded];
    series(
        Work::Purge,
        Backend::Sqlite,
        0xa0d17,
        &aims,
        AuditCheck::Complete,
    );
    series(
        Work::Requests,
        Backend::Sqlite,
        0xa0d18,
        &aims,
        AuditCheck::Complete,
    );
}
