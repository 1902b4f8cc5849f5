//! Support for the crash tests: where a killed process stood (read from the state store and
//! the audit log), kills aimed at one phase of a run, the audit log's erasures counted per
//! subject, a private PostgreSQL cluster that can be restarted, and a small tmpfs.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gallra::audit::SubjectKey;
use gallra_demo::Category;
use gallra_plugin_api::{Identifier, IdentifierKind};

use crate::binaries::gallra_bin;
use crate::gallra::Gallra;
use crate::requests::{for_requests, submit, Lcg, StateDb};
use crate::scenario::{settings_of, Scenario};
use crate::servers::Backend;

/// Kills per series, from `GALLRA_CRASH_KILLS` (default `default`).
pub fn kills_per_series(default: usize) -> usize {
    std::env::var("GALLRA_CRASH_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// The seed of a series: `GALLRA_CRASH_SEED` if set (to replay a failure), else `default`.
pub fn seed(default: u64) -> u64 {
    std::env::var("GALLRA_CRASH_SEED")
        .ok()
        .and_then(|s| {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            }
        })
        .unwrap_or(default)
}

/// Where a run stood when its process died.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Starting up, loading plugins, checking preconditions: nothing recorded yet.
    Starting,
    /// A policy run reading the account source and recording its decisions.
    Scanning,
    /// Tasks under way: announced in the audit log, erase calls made, their outcomes not
    /// all recorded.
    Erasing,
    /// Task outcomes written to the audit log, not yet committed to the state store (the
    /// next run does those tasks again and says so in their entries).
    Recorded,
    /// Task outcomes committed to the state store, their audit entries not written: the
    /// window that lost entries before the write-ahead order. Never reached since; kept so
    /// that a change that brings it back is seen.
    Unrecorded,
    /// A request's tasks all final, the request not yet settled.
    Settling,
    /// A policy run final in the store, its `run_finished` audit entry not yet written.
    Finishing,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What the state store and the audit log say at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stand {
    last_run: i64,
    last_run_planning: bool,
    runs_enforcing: u64,
    runs_final: u64,
    tasks_running: u64,
    tasks_final: u64,
    tasks_touched: String,
    requests_begun: u64,
    requests_unsettled: u64,
    audit_outcomes: u64,
    audit_runs_finished: u64,
}

impl Stand {
    /// Erasure outcomes in the audit log less erasure tasks final in the store. Above its
    /// value at a process's start: outcomes written and not (yet) committed. Below it:
    /// outcomes committed whose entries are not written (the order broken). Across kills it
    /// only grows: a task whose outcome was written and not committed is done again, and
    /// written again.
    pub fn lead(&self) -> i64 {
        self.audit_outcomes as i64 - self.tasks_final as i64
    }

    /// Finished runs with no `run_finished` audit entry.
    pub fn runs_unaudited(&self) -> u64 {
        self.runs_final.saturating_sub(self.audit_runs_finished)
    }

    /// Task outcomes recorded in the store (policy and request tasks).
    pub fn tasks_final(&self) -> u64 {
        self.tasks_final
    }

    /// Whether this process has begun a new policy run and is scanning for it.
    fn scanning(&self, before: &Stand) -> bool {
        self.last_run_planning && self.last_run > before.last_run
    }

    /// Whether this process has started or recorded a task.
    fn touched(&self, before: &Stand) -> bool {
        self.tasks_touched != before.tasks_touched
    }

    /// The phase this stand shows, given the stand before the process started (so that
    /// what an earlier kill left is not counted again).
    pub fn phase(&self, before: &Stand) -> Phase {
        if self.lead() < before.lead() {
            Phase::Unrecorded
        } else if self.lead() > before.lead() {
            Phase::Recorded
        } else if self.scanning(before) {
            Phase::Scanning
        } else if self.requests_unsettled > 0 && self.touched(before) {
            Phase::Settling
        } else if self.runs_unaudited() > before.runs_unaudited() {
            Phase::Finishing
        } else if self.touched(before)
            && (self.runs_enforcing > 0 || self.tasks_running > 0 || self.requests_begun > 0)
        {
            Phase::Erasing
        } else {
            Phase::Starting
        }
    }
}

/// Reads a scenario's state directory as a killed (or running) process left it.
pub struct Observer {
    state: PathBuf,
    audit: AuditTail,
}

const STAND_SQL: &str = "SELECT \
    (SELECT COALESCE(MAX(id), 0) FROM runs), \
    (SELECT COALESCE((SELECT state = 'planning' FROM runs ORDER BY id DESC LIMIT 1), 0)), \
    (SELECT COUNT(*) FROM runs WHERE state = 'enforcing'), \
    (SELECT COUNT(*) FROM runs \
      WHERE state IN ('done', 'failed', 'reported', 'awaiting_approval')), \
    (SELECT COUNT(*) FROM tasks WHERE state = 'running'), \
    (SELECT COUNT(*) FROM tasks WHERE state NOT IN ('pending', 'running')) \
      + (SELECT COUNT(*) FROM request_tasks WHERE state NOT IN ('pending', 'running') \
         AND action IN ('erase', 'anonymize')), \
    (SELECT COALESCE(MAX(updated_at), '') FROM tasks) \
      || (SELECT COALESCE(MAX(updated_at), '') FROM request_tasks), \
    (SELECT COUNT(*) FROM requests r WHERE r.state = 'open' AND EXISTS \
      (SELECT 1 FROM request_tasks t \
       WHERE t.request = r.id AND t.state NOT IN ('pending', 'running'))), \
    (SELECT COUNT(*) FROM requests r WHERE r.state = 'open' AND NOT EXISTS \
      (SELECT 1 FROM request_tasks t WHERE t.request = r.id \
       AND t.state IN ('pending', 'running', 'needs_person', 'blocked')))";

impl Observer {
    /// Observes `<dir>/state`.
    pub fn of(scenario: &Scenario) -> Observer {
        let state = scenario.dir.join("state");
        Observer {
            audit: AuditTail::new(state.join("audit")),
            state,
        }
    }

    /// The stand now. The audit log is read first: an outcome's entry is written before the
    /// outcome is committed, so reading in this order never counts an entry ahead of an
    /// outcome that was in fact committed by then.
    pub fn stand(&mut self) -> Stand {
        let (outcomes, finished) = self.audit.counts();
        let mut stand = self.store_counts().unwrap_or_default();
        stand.audit_outcomes = outcomes;
        stand.audit_runs_finished = finished;
        stand
    }

    fn store_counts(&self) -> Option<Stand> {
        let db = rusqlite::Connection::open_with_flags(
            self.state.join("state.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .ok()?;
        db.busy_timeout(Duration::from_millis(200)).ok()?;
        db.query_row(STAND_SQL, [], |r| {
            let n = |i| r.get::<_, i64>(i).map(|v| v as u64);
            Ok(Stand {
                last_run: r.get(0)?,
                last_run_planning: r.get::<_, i64>(1)? == 1,
                runs_enforcing: n(2)?,
                runs_final: n(3)?,
                tasks_running: n(4)?,
                tasks_final: n(5)?,
                tasks_touched: r.get(6)?,
                requests_begun: n(7)?,
                requests_unsettled: n(8)?,
                ..Stand::default()
            })
        })
        .ok()
    }
}

/// Follows the audit log's files as they grow, counting complete lines only.
struct AuditTail {
    dir: PathBuf,
    read: BTreeMap<PathBuf, u64>,
    outcomes: u64,
    finished: u64,
}

impl AuditTail {
    fn new(dir: PathBuf) -> AuditTail {
        AuditTail {
            dir,
            read: BTreeMap::new(),
            outcomes: 0,
            finished: 0,
        }
    }

    /// Erase or anonymize entries with an outcome (not those saying an erasure is about to be
    /// attempted), and `run_finished` entries, written so far.
    fn counts(&mut self) -> (u64, u64) {
        for path in audit_files(&self.dir) {
            let offset = self.read.entry(path.clone()).or_insert(0);
            let Ok(mut file) = File::open(&path) else {
                continue;
            };
            let mut bytes = Vec::new();
            if file.seek(SeekFrom::Start(*offset)).is_err() || file.read_to_end(&mut bytes).is_err()
            {
                continue;
            }
            let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
                continue;
            };
            for line in String::from_utf8_lossy(&bytes[..end]).lines() {
                if line.contains("\"action\":\"erase\"")
                    || line.contains("\"action\":\"anonymize\"")
                {
                    if !line.contains("\"outcome\":\"started\"") {
                        self.outcomes += 1;
                    }
                } else if line.contains("\"action\":\"run_finished\"") {
                    self.finished += 1;
                }
            }
            *offset += end as u64 + 1;
        }
        (self.outcomes, self.finished)
    }
}

/// The audit log's files, in order.
fn audit_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let n = name
                        .strip_prefix("audit-")?
                        .strip_suffix(".log")?
                        .rsplit('-')
                        .next()?
                        .parse()
                        .ok()?;
                    Some((n, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

/// When to kill a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aim {
    /// While a policy run scans, after up to this many milliseconds more.
    Scanning(u64),
    /// Once tasks have begun to finish, after up to this many milliseconds more.
    Erasing(u64),
    /// The moment task outcomes are in the audit log and not yet committed to the state
    /// store (or, were the write-ahead order broken, committed and not in the log; or a run
    /// is final in the store and its `run_finished` entry not yet written).
    Recorded,
    /// The moment a request's tasks are all final and it is not yet settled.
    Settling,
    /// This many milliseconds after the start, wherever the process is.
    After(u64),
}

impl Aim {
    /// A seeded choice among `aims`, with its random delay drawn.
    pub fn pick(rng: &mut Lcg, aims: &[Aim]) -> Aim {
        let aim = aims[rng.below(aims.len() as u64) as usize];
        let mut draw = |max: u64| rng.below(max.max(1));
        match aim {
            Aim::Scanning(max) => Aim::Scanning(draw(max)),
            Aim::Erasing(max) => Aim::Erasing(draw(max)),
            Aim::After(max) => Aim::After(20 + draw(max)),
            other => other,
        }
    }

    /// Whether the aim is a moment, checked with the process stopped before it is shot.
    fn exact(&self) -> bool {
        matches!(self, Aim::Recorded | Aim::Settling)
    }

    /// Whether the stand (compared with the one at start and the one when the process
    /// was started) is where this aim shoots, and the delay before the shot.
    fn reached(&self, now: &Stand, start: &Stand, elapsed: Duration) -> Option<u64> {
        match *self {
            Aim::Scanning(delay) => now.scanning(start).then_some(delay),
            Aim::Erasing(delay) => now.touched(start).then_some(delay),
            Aim::Recorded => (now.lead() != start.lead()
                || now.runs_unaudited() > start.runs_unaudited())
            .then_some(0),
            Aim::Settling => {
                (now.requests_unsettled > 0 && now.touched(start) && now.lead() == start.lead())
                    .then_some(0)
            }
            Aim::After(ms) => (elapsed >= Duration::from_millis(ms)).then_some(0),
        }
    }
}

/// One SIGKILL and where it landed.
#[derive(Debug, Clone)]
pub struct Kill {
    /// What it aimed at.
    pub aim: Aim,
    /// Where the process stood, read after it died.
    pub landed: Phase,
    /// Time from spawn to kill.
    pub after: Duration,
}

/// Runs `gallra run --once` for a scenario and SIGKILLs it as `aim` says. `None` if the
/// process finished first (then it must have succeeded).
pub fn run_and_kill(scenario: &Scenario, aim: Aim) -> Option<Kill> {
    let mut observer = Observer::of(scenario);
    let start = observer.stand();
    let started = Instant::now();
    let mut child = spawn_quiet(&scenario.config, &["run", "--once"]);
    if !wait_for(&mut child, &mut observer, &start, aim) {
        return None;
    }
    shoot(&mut child, &mut observer, &start, aim, started)
}

/// Kills (SIGKILL) a `gallra run --once` after `delay` unless it has finished by then, which
/// it must have done without failing; whether it was killed.
pub fn kill_after(child: &mut Child, delay: Duration) -> bool {
    std::thread::sleep(delay);
    let status = child.try_wait().unwrap();
    assert!(
        status.is_none_or(|s| s.success()),
        "gallra run failed: {status:?}"
    );
    if status.is_some() {
        return false;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    true
}

/// Waits until the process stands where `aim` shoots (stopped there with SIGSTOP if the aim
/// is a moment). `false` if it exited first (then it must have succeeded).
pub fn wait_for(child: &mut Child, observer: &mut Observer, start: &Stand, aim: Aim) -> bool {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "gallra run --once failed: {status}");
            return false;
        }
        let now = observer.stand();
        if let Some(delay) = aim.reached(&now, start, started.elapsed()) {
            std::thread::sleep(Duration::from_millis(delay));
            if !aim.exact() || stopped_in_phase(child, observer, start, aim) {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Stops the process (SIGSTOP) and tells whether it stands where `aim` shoots; if not, lets
/// it go on (SIGCONT).
fn stopped_in_phase(child: &mut Child, observer: &mut Observer, start: &Stand, aim: Aim) -> bool {
    signal(child, "STOP");
    let now = observer.stand();
    if aim.reached(&now, start, Duration::ZERO).is_some() {
        return true;
    }
    signal(child, "CONT");
    false
}

/// Lets a process stopped by [`wait_for`] go on (SIGCONT; harmless if it was not stopped).
pub fn resume(child: &Child) {
    signal(child, "CONT");
}

/// Sends a signal by name with kill(1) (the test crate has no libc).
fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {}", child.id());
}

fn shoot(
    child: &mut Child,
    observer: &mut Observer,
    start: &Stand,
    aim: Aim,
    started: Instant,
) -> Option<Kill> {
    if let Some(status) = child.try_wait().unwrap() {
        assert!(status.success(), "gallra run --once failed: {status}");
        return None;
    }
    child.kill().unwrap(); // SIGKILL (a stopped process dies too)
    let after = started.elapsed();
    let status = child.wait().unwrap();
    if status.success() {
        return None; // it finished just before the signal
    }
    Some(Kill {
        aim,
        landed: observer.stand().phase(start),
        after,
    })
}

/// `gallra ARGS --config CONFIG` with its output discarded.
pub fn spawn_quiet(config: &Path, args: &[&str]) -> Child {
    Command::new(gallra_bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .env("GALLRA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gallra starts")
}

/// `gallra ARGS --config CONFIG` with standard error kept in `stderr_file`.
pub fn spawn_logged(config: &Path, args: &[&str], stderr_file: &Path) -> Child {
    Command::new(gallra_bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .env("GALLRA_LOG", "info")
        .stdout(Stdio::null())
        .stderr(File::create(stderr_file).unwrap())
        .spawn()
        .expect("gallra starts")
}

/// Kills tallied per phase, for the figures.
#[derive(Debug, Default)]
pub struct Tally {
    /// Every kill, in order.
    pub kills: Vec<Kill>,
    /// Scenarios (rounds) run.
    pub scenarios: usize,
    /// Audit entries of erasures missing compared with a calm run.
    pub audit_missing: u64,
}

impl Tally {
    /// Kills per phase landed in.
    pub fn per_phase(&self) -> BTreeMap<Phase, usize> {
        let mut counts = BTreeMap::new();
        for kill in &self.kills {
            *counts.entry(kill.landed).or_insert(0) += 1;
        }
        counts
    }

    /// One line for the figures.
    pub fn summary(&self) -> String {
        let phases: Vec<String> = self
            .per_phase()
            .iter()
            .map(|(phase, n)| format!("{phase} {n}"))
            .collect();
        format!(
            "{} kills in {} scenarios ({}); audit entries missing: {}",
            self.kills.len(),
            self.scenarios,
            phases.join(", "),
            self.audit_missing
        )
    }
}

/// Who, where, what, how, and which customer (found by the keyed hash of their email).
pub type ErasureKey = (String, String, String, String, Option<i64>);

/// An audit log's erasure entries, counted per [`ErasureKey`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erasures {
    /// Entries whose `detail` does not say they repeat an earlier one ("repeat", "again").
    pub first: BTreeMap<ErasureKey, u64>,
    /// Every entry, those that repeat an earlier one too.
    pub all: BTreeMap<ErasureKey, u64>,
}

/// Counts the erasure entries of a scenario's audit log, those that say they repeat an
/// earlier one (a task done again after an interrupted run, a retry) apart: those are
/// explained.
pub fn audit_erasures(scenario: &Scenario) -> Erasures {
    let state = scenario.dir.join("state");
    let key = SubjectKey::load(&state.join("audit.key")).expect("the audit key");
    let by_hash: BTreeMap<String, i64> = scenario
        .data
        .customers()
        .iter()
        .filter_map(|c| {
            let email = Identifier::parse(IdentifierKind::Email, c.email()).ok()?;
            Some((key.subject(&email), c.panel_id()))
        })
        .collect();
    let mut counts = Erasures::default();
    for path in audit_files(&state.join("audit")) {
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = |field: &str| entry[field].as_str().unwrap_or("").to_owned();
            if !matches!(text("action").as_str(), "erase" | "anonymize") {
                continue;
            }
            let customer = entry["subject"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|h| by_hash.get(h.as_str()?).copied());
            let key = (
                text("actor"),
                text("system"),
                text("action"),
                text("outcome"),
                customer,
            );
            let detail = text("detail");
            if !(detail.contains("repeat") || detail.contains("again")) {
                *counts.first.entry(key.clone()).or_insert(0) += 1;
            }
            *counts.all.entry(key).or_insert(0) += 1;
        }
    }
    counts
}

/// How two audit logs' erasures differ: (entries the crashed log lacks, entries it holds
/// more than the calm one), each listed. An entry that says it repeats an earlier one
/// counts as recorded, never as a repeat.
pub fn audit_difference(calm: &Erasures, crashed: &Erasures) -> (Vec<String>, Vec<String>) {
    let mut missing = Vec::new();
    let mut repeated = Vec::new();
    for (key, &n) in &calm.first {
        let got = crashed.all.get(key).copied().unwrap_or(0);
        if got < n {
            missing.push(format!("{key:?}: {got} of {n}"));
        }
    }
    for (key, &n) in &crashed.first {
        let want = calm.first.get(key).copied().unwrap_or(0);
        if n > want + tried_again(crashed, key) {
            repeated.push(format!("{key:?}: {n}, calm {want}"));
        }
    }
    (missing, repeated)
}

/// How many more `started` entries than a calm run's `key` may have: one per earlier attempt
/// of the same erasure that the log says ended unfinished (a restart made the call fail, so a
/// later run tried again, as it must). Other outcomes may never repeat.
fn tried_again(crashed: &Erasures, key: &ErasureKey) -> u64 {
    let (actor, system, action, outcome, customer) = key;
    if outcome != "started" {
        return 0;
    }
    ["failed", "blocked", "needs_person"]
        .iter()
        .map(|unfinished| {
            let attempt = (
                actor.clone(),
                system.clone(),
                action.clone(),
                (*unfinished).to_owned(),
                *customer,
            );
            crashed.all.get(&attempt).copied().unwrap_or(0)
        })
        .sum()
}

/// Runs `gallra audit verify` and panics unless the chain is intact.
pub fn assert_audit_verifies(config: &Path) {
    let output = Command::new(gallra_bin())
        .args(["audit", "verify", "--config"])
        .arg(config)
        .output()
        .expect("gallra starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("chain intact"),
        "gallra audit verify: {}\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Copies a directory tree (files, modes kept), for a state directory prepared once.
pub fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// Whether the environment demands that every server a test needs be there.
pub fn servers_required() -> bool {
    std::env::var("GALLRA_REQUIRE_SERVERS").as_deref() == Ok("1")
}

/// Says that a test was skipped and why, or fails it when servers are required.
pub fn skip(test: &str, why: &str) {
    assert!(
        !servers_required(),
        "{test}: required (GALLRA_REQUIRE_SERVERS=1) but {why}"
    );
    eprintln!("SKIPPED: {test}: {why}");
}

/// A PostgreSQL cluster of a test's own, on a free port, run as the `postgres` user (initdb
/// refuses root): restarting it disturbs no other test. Stopped and removed when dropped.
pub struct PgCluster {
    dir: tempfile::TempDir,
    port: u16,
}

/// Where Debian keeps PostgreSQL 15's server programs.
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

impl PgCluster {
    /// Makes and starts a cluster; `Err` says why there is none (no initdb here).
    pub fn start() -> Result<PgCluster, String> {
        let initdb = Path::new(PG_BIN).join("initdb");
        if !initdb.is_file() {
            return Err(format!("{} is absent", initdb.display()));
        }
        let dir = tempfile::tempdir().unwrap();
        let (uid, gid) = (id_of("-u"), id_of("-g"));
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        let port = crate::http::free_port();
        let cluster = PgCluster { dir, port };
        let data = cluster.data();
        cluster.pg(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        );
        cluster.pg_ctl(&["start"]);
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Runs a server program as `postgres`; panics with its log unless it succeeds.
    fn pg(&self, program: &str, args: &[&str]) {
        let output = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(Path::new(PG_BIN).join(program))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("runuser runs");
        let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
        assert!(
            output.status.success(),
            "{program} {args:?}: {}\n{}{}\nserver log:\n{log}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn pg_ctl(&self, args: &[&str]) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let data = self.data();
        let log = self.dir.path().join("log").display().to_string();
        let mut all = vec!["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options];
        all.extend_from_slice(args);
        self.pg("pg_ctl", &all);
    }

    /// `pg_ctl restart -m MODE` (`fast` or `immediate`), back up when it returns.
    pub fn restart(&self, mode: &str) {
        self.pg_ctl(&["restart", "-m", mode]);
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates an empty database.
    pub fn create_database(&self, name: &str) {
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("the private cluster");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(Path::new(PG_BIN).join("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// `id -u postgres` / `id -g postgres`.
fn id_of(flag: &str) -> u32 {
    let output = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .expect("id runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("a postgres user")
}

/// Moves a scenario's systems into databases `<prefix>_<system>` on `cluster`: the same rows,
/// and the config pointed at them.
pub fn move_to_cluster(scenario: &mut Scenario, cluster: &PgCluster, prefix: &str) {
    let Scenario { data, dbs, dir, .. } = scenario;
    for (system, db) in dbs.iter_mut() {
        let name = format!("{prefix}_{system}");
        cluster.create_database(&name);
        db.backend = Backend::Postgres;
        db.path = None;
        db.url = Some(cluster.url(&name));
        db.execute(&data.statements(system, Backend::Postgres.dialect()));
        let url_file = dir.join(format!("{system}.url"));
        std::fs::write(&url_file, cluster.url(&name)).unwrap();
        std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let systems: Vec<String> = scenario.dbs.keys().cloned().collect();
    scenario.edit_config(|config| {
        for system in &systems {
            let settings = settings_of(config, system);
            let url_file = scenario.dir.join(format!("{system}.url"));
            settings.remove("path");
            settings.insert("backend".into(), "postgres".into());
            settings.insert("url_file".into(), url_file.display().to_string().into());
        }
    });
}

/// What a calm run left, to compare a crashed (or disturbed) scenario with.
pub struct Calm {
    /// Every row of every system.
    pub snapshot: BTreeMap<&'static str, Vec<Vec<Option<String>>>>,
    /// The audit log's erasures.
    pub erasures: Erasures,
    /// Each request task's outcome.
    pub outcomes: BTreeMap<(i64, String), [Option<String>; 4]>,
}

/// How the audit log's erasures are checked against the calm run's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditCheck {
    /// No erasure recorded more often than in the calm run, none missing.
    Complete,
    /// No erasure recorded more often; missing ones are counted and shown, not failed on.
    NoRepeats,
}

impl Calm {
    /// Runs `gallra run --once` on `scenario`, undisturbed, and keeps what it left. With
    /// `keep_state`, the state directory (the submitted requests) is first copied there, for
    /// the disturbed scenarios to start from.
    pub fn run(scenario: &Scenario, keep_state: Option<&Path>) -> Calm {
        if let Some(to) = keep_state {
            copy_tree(&scenario.dir.join("state"), to);
        }
        Gallra::new(&scenario.config)
            .run(&["run", "--once"])
            .expect_code(0);
        Calm::of(scenario)
    }

    /// What `scenario` holds after its calm run.
    pub fn of(scenario: &Scenario) -> Calm {
        Calm {
            snapshot: scenario.snapshot(),
            erasures: audit_erasures(scenario),
            outcomes: StateDb::of(scenario).task_outcomes(),
        }
    }

    /// Checks that `other` ends as the calm run did: with `requests` erasures submitted,
    /// every one exists and is done and each task ended the same; the systems hold the
    /// same rows; the audit chain verifies; no erasure is recorded more often (and, for
    /// [`AuditCheck::Complete`], none less). Returns the erasures missing from its audit log.
    pub fn check(
        &self,
        name: &str,
        other: &Scenario,
        requests: Option<usize>,
        audit: AuditCheck,
    ) -> u64 {
        if let Some(n) = requests {
            self.check_requests(name, other, n);
        }
        assert!(
            other.snapshot() == self.snapshot,
            "{name}: the systems differ from a calm run's"
        );
        assert_audit_verifies(&other.config);
        let (missing, repeated) = audit_difference(&self.erasures, &audit_erasures(other));
        assert!(
            repeated.is_empty(),
            "{name}: erasures recorded more often than in the calm run, unexplained:\n{}",
            repeated.join("\n")
        );
        if !missing.is_empty() {
            eprintln!(
                "{name}: {} erasures missing from the audit log",
                missing.len()
            );
        }
        assert!(
            audit == AuditCheck::NoRepeats || missing.is_empty(),
            "{name}: erasures the audit log does not record:\n{}",
            missing.join("\n")
        );
        missing.len() as u64
    }

    fn check_requests(&self, name: &str, other: &Scenario, n: usize) {
        let state = StateDb::of(other);
        assert_eq!(
            state.requests(),
            BTreeMap::from([("done".to_owned(), n as u64)]),
            "{name}: every submitted request exists and is done; unfinished:\n{}",
            state.unfinished().join("\n")
        );
        let differ: Vec<String> = state
            .task_outcomes()
            .iter()
            .filter(|(task, outcome)| {
                self.outcomes.get(*task).map(|o| &o[..3]) != Some(&outcome[..3])
            })
            .map(|(task, outcome)| {
                format!("{task:?}: {outcome:?}, calm: {:?}", self.outcomes.get(task))
            })
            .collect();
        assert!(
            differ.is_empty(),
            "{name}: tasks ended otherwise than in the calm run:\n{}",
            differ.join("\n")
        );
    }
}

/// Configures a scenario for requests only and submits an erasure for each of the first
/// `n` customers nothing blocks.
pub fn submit_erasures(scenario: &Scenario, n: usize) {
    for_requests(scenario);
    let gallra = Gallra::new(&scenario.config);
    let erasable = scenario.data.in_category(Category::InactiveClean);
    let mut submitted = 0;
    for customer in erasable.take(n) {
        submit(&gallra, "erase", customer.email());
        submitted += 1;
    }
    assert_eq!(submitted, n, "generate more customers");
}

/// A tmpfs of a given size mounted on a directory (as root), unmounted when dropped.
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=…`) on `path`, made if missing. `Err` says
    /// why not (not root, no mount here).
    pub fn mount(path: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
        let output = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "mount -t tmpfs: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(Tmpfs {
            path: path.to_owned(),
        })
    }

    /// Fills what space is left with a file, `filler`, until the disk is full.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write as _;
        let filler = self.path.join("filler");
        let mut file = File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let small = [0u8; 512];
        while file.write_all(&small).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
