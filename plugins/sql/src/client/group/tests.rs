//! Group commit against a fake connection that logs every statement, so the tests can see
//! which commit carried whose work, without timing anything.

use std::sync::{Arc, Barrier, Mutex};

use super::*;
use crate::sql::Query;

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, line: impl Into<String>) {
        self.0.lock().unwrap().push(line.into());
    }
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn count(&self, line: &str) -> usize {
        self.lines().iter().filter(|l| *l == line).count()
    }
}

struct Fake {
    log: Log,
    fail_commit: bool,
}

impl Client for Fake {
    fn query(&mut self, query: &Query) -> Result<Vec<super::super::Row>, DbError> {
        self.log.push(query.sql.clone());
        Ok(Vec::new())
    }
    fn execute(&mut self, query: &Query) -> Result<u64, DbError> {
        self.log.push(query.sql.clone());
        Ok(1)
    }
    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.log.push(sql);
        if sql == "COMMIT" && self.fail_commit {
            return Err(DbError::transient("disk full"));
        }
        Ok(())
    }
    fn columns(&mut self, _table: &str) -> Result<Vec<String>, DbError> {
        Ok(Vec::new())
    }
}

fn work(name: &str) -> Query {
    Query {
        sql: name.to_owned(),
        params: Vec::new(),
    }
}

fn connected(log: &Log, fail_commit: bool) -> Shared {
    let shared = Shared::new();
    shared.read().client = Some(Box::new(Fake {
        log: log.clone(),
        fail_commit,
    }));
    shared
}

fn no_connect() -> Result<Box<dyn Client>, DbError> {
    panic!("already connected")
}

#[test]
fn a_call_alone_commits_its_own_work_before_it_answers() {
    let log = Log::default();
    let shared = connected(&log, false);
    let n = shared
        .write("BEGIN", no_connect, |c| c.execute(&work("erase a")))
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        log.lines(),
        ["BEGIN", SAVEPOINT, "erase a", RELEASE, "COMMIT"]
    );
}

#[test]
fn a_failed_call_is_rolled_back_to_its_savepoint_and_reports_its_own_error() {
    let log = Log::default();
    let shared = connected(&log, false);
    let result: Result<(), _> = shared.write("BEGIN", no_connect, |c| {
        c.execute(&work("erase b"))?;
        Err(DbError::permanent("no such table"))
    });
    assert_eq!(result.unwrap_err().message, "no such table");
    assert_eq!(
        log.lines(),
        [
            "BEGIN",
            SAVEPOINT,
            "erase b",
            ROLLBACK_TO,
            RELEASE,
            "COMMIT"
        ]
    );
}

/// Runs `calls` writes from as many threads at once; returns each call's result and the
/// log, in which each call also marks where it answered.
fn concurrent(calls: usize, fail_commit: bool) -> (Vec<Result<u64, DbError>>, Log) {
    let log = Log::default();
    let shared = Arc::new(connected(&log, fail_commit));
    let start = Arc::new(Barrier::new(calls));
    let threads: Vec<_> = (0..calls)
        .map(|i| {
            let (shared, start, log) = (shared.clone(), start.clone(), log.clone());
            std::thread::spawn(move || {
                start.wait();
                let result = shared.write("BEGIN", no_connect, |c| {
                    // Long enough that the others queue behind it.
                    std::thread::sleep(Duration::from_millis(2));
                    c.execute(&work(&format!("erase {i}")))
                });
                log.push(format!("answered {i}"));
                result
            })
        })
        .collect();
    let results = threads.into_iter().map(|t| t.join().unwrap()).collect();
    (results, log)
}

#[test]
fn concurrent_calls_share_commits_and_none_answers_before_its_commit() {
    let (results, log) = concurrent(16, false);
    assert!(results.iter().all(Result::is_ok));
    let lines = log.lines();
    let commits = log.count("COMMIT");
    assert!(commits < 16, "{commits} commits for 16 calls: {lines:?}");
    for i in 0..16 {
        let did = lines
            .iter()
            .position(|l| *l == format!("erase {i}"))
            .unwrap();
        let answered = lines
            .iter()
            .position(|l| *l == format!("answered {i}"))
            .unwrap();
        assert!(
            lines[did..answered].iter().any(|l| l == "COMMIT"),
            "call {i} answered before a commit carried its work: {lines:?}"
        );
    }
}

#[test]
fn a_failed_commit_fails_every_call_in_its_group() {
    let (results, log) = concurrent(8, true);
    assert!(results.iter().all(Result::is_err), "{results:?}");
    assert!(results.iter().all(|r| r.as_ref().unwrap_err().transient));
    assert!(log.count("COMMIT") >= 1);
}

#[test]
fn a_panicking_call_fails_its_group_instead_of_leaving_it_waiting() {
    let log = Log::default();
    let shared = Arc::new(connected(&log, false));
    // One call joins a group and waits for it, as if another were queued behind it.
    shared.queued.fetch_add(1, Ordering::SeqCst);
    let waiter = {
        let shared = shared.clone();
        std::thread::spawn(move || {
            shared.write("BEGIN", no_connect, |c| c.execute(&work("erase w")))
        })
    };
    while log.count(RELEASE) == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    shared.queued.fetch_sub(1, Ordering::SeqCst);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = shared.write("BEGIN", no_connect, |_| -> Result<(), DbError> {
            panic!("bug in a connector")
        });
    }));
    assert!(panicked.is_err());
    let waited = waiter.join().unwrap();
    assert!(waited.unwrap_err().connection_lost);
    assert_eq!(log.count("COMMIT"), 0, "{:?}", log.lines());
}
