//! One process at a time changes a state directory: a second `gallra run --once` (or one
//! beside the running service) refuses, naming the holder, instead of erasing everything a
//! second time and forking the audit chain. Commands that only look never lock, create or
//! change the state.

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use gallra_e2e::wait::wait_until;
use gallra_e2e::{Backend, Daemon, Gallra, Outcome, Scenario};

const CUSTOMERS: usize = 300;
const ROUNDS: usize = 20;

fn finish(child: Child) -> Outcome {
    child.wait_with_output().expect("gallra ran").into()
}

/// The number of entries in the audit log, after checking its chain is intact.
fn intact_entries(gallra: &Gallra) -> u64 {
    let verified = gallra
        .run(&["audit", "verify", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(verified["intact"], true, "{verified}");
    verified["entries"].as_u64().unwrap()
}

#[test]
fn two_runs_started_together_one_works_the_other_names_it_and_the_work_is_done_once() {
    let dir = tempfile::tempdir().unwrap();
    let now = gallra_e2e::now();
    let raced_dir = dir.path().join("raced");
    let alone_dir = dir.path().join("alone");
    std::fs::create_dir_all(&raced_dir).unwrap();
    std::fs::create_dir_all(&alone_dir).unwrap();
    let raced = Scenario::build_at(Backend::Sqlite, &raced_dir, 13, CUSTOMERS, now.clone());
    // The same rows, run the same number of times one after another: one run's work each.
    let alone = Scenario::build_at(Backend::Sqlite, &alone_dir, 13, CUSTOMERS, now);
    let gallra = Gallra::new(&raced.config);

    for round in 1..=ROUNDS {
        let first = gallra.start(&["run", "--once"]);
        let second = gallra.start(&["run", "--once"]);
        let pids = (first.id(), second.id());
        let (first, second) = (finish(first), finish(second));
        let (winner, loser) = match (first.code, second.code) {
            (Some(0), Some(2)) => (pids.0, second),
            (Some(2), Some(0)) => (pids.1, first),
            codes => panic!(
                "round {round}: exit codes {codes:?}, not one 0 and one 2\nfirst:\n{}\nsecond:\n{}",
                first.stderr, second.stderr
            ),
        };
        assert!(
            loser
                .stderr
                .contains(&format!("pid {winner}, `gallra run --once`")),
            "round {round}: the refusal does not name the holder (pid {winner}):\n{}",
            loser.stderr
        );
        assert!(
            loser.stderr.contains("wait for that one to finish"),
            "{}",
            loser.stderr
        );
        assert!(
            loser.stdout.is_empty(),
            "the refused run reported: {}",
            loser.stdout
        );
    }

    let alone_gallra = Gallra::new(&alone.config);
    for _ in 0..ROUNDS {
        alone_gallra.run(&["run", "--once"]).expect_code(0);
    }
    let purged = raced.expected_purged();
    assert!(!purged.is_empty());
    let left = raced.db("panel").count("customers", None);
    assert_eq!(left as usize, CUSTOMERS - purged.len());
    assert_eq!(
        raced.snapshot(),
        alone.snapshot(),
        "the raced rounds did not erase exactly what runs one at a time erase"
    );
    assert_eq!(
        intact_entries(&gallra),
        intact_entries(&alone_gallra),
        "the raced rounds wrote a different number of audit entries than runs one at a time"
    );
}

#[test]
fn beside_the_running_service_a_run_or_a_request_is_refused_and_looking_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 17, 40);
    let gallra = Gallra::new(&scenario.config);
    let lock = dir.path().join("state/lock");
    let before = scenario.snapshot();
    let mut daemon = Daemon::start(&scenario.config);
    let pid = daemon.pid();
    wait_until(
        "the service to take the lock",
        Duration::from_secs(30),
        || std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&format!("pid {pid}\n"))),
    );

    let refused = gallra.run(&["run", "--once"]).expect_code(2);
    assert!(
        refused.stderr.contains(&format!("pid {pid}, `gallra run`")),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("admin API"), "{}", refused.stderr);
    let email = "anna.svensson@example.se";
    let refused = gallra
        .run(&["request", "erase", "--email", email])
        .expect_code(2);
    assert!(
        refused.stderr.contains(&format!("pid {pid}")),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains(email), "{}", refused.stderr);
    assert_eq!(
        scenario.snapshot(),
        before,
        "a refused command changed a system"
    );

    // Looking needs no lock.
    gallra.run(&["runs", "--json"]).expect_code(0);
    gallra.run(&["request", "list", "--json"]).expect_code(0);
    gallra.run(&["plan", "--json"]).expect_code(0);

    daemon.signal("TERM");
    assert!(daemon.wait(Duration::from_secs(10)).success());
    // Its lock went with it.
    gallra.run(&["run", "--once"]).expect_code(0);
}

/// The state files a command could change, with their bytes. SQLite's bookkeeping is left
/// out: the shared-memory index, which readers use too, and an empty write-ahead log, which
/// a reader opens when there is none.
fn state_files(state: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(state)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file() && !p.to_string_lossy().ends_with("-shm"))
                .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
                .filter(|(name, bytes)| !(name.ends_with("-wal") && bytes.is_empty()))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn commands_that_only_look_neither_create_nor_change_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 19, 40);
    let gallra = Gallra::new(&scenario.config);
    let state = dir.path().join("state");
    let looks: [(&[&str], i32); 7] = [
        (&["check"], 0),
        (&["plan"], 0),
        (&["runs"], 0),
        (&["request", "list"], 0),
        (&["request", "show", "1"], 2),
        (&["task", "list"], 0),
        (&["audit", "verify"], 0),
    ];
    for (args, code) in looks {
        gallra.run(args).expect_code(code);
        assert!(
            !state.exists(),
            "`gallra {}` created the state directory",
            args.join(" ")
        );
    }

    gallra.run(&["run", "--once"]).expect_code(0);
    let after_run = state_files(&state);
    assert!(after_run.iter().any(|(name, _)| name.ends_with("state.db")));
    for (args, code) in looks {
        gallra.run(args).expect_code(code);
        let now = state_files(&state);
        let changed: Vec<&str> = (now.iter().chain(&after_run))
            .filter(|file| !(now.contains(file) && after_run.contains(file)))
            .map(|(name, _)| name.as_str())
            .collect();
        assert!(
            changed.is_empty(),
            "`gallra {}` changed the state: {changed:?}",
            args.join(" ")
        );
    }
}
