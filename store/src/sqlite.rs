//! The SQLite backend: one file, `state_dir/state.db`, in WAL mode.
//!
//! Durability: `synchronous = FULL`, so a committed state transition survives power loss.
//! That costs one fsync per commit, which is why every write that touches many rows (a batch
//! of decisions, the fan-out of tasks, a batch of outcomes) is a single transaction.
//!
//! Privacy: `secure_delete` is on, so identifiers dropped by `forget_identifiers` are zeroed in
//! the database pages, and the WAL is truncated afterwards so no old copy lingers there.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use gallra_plugin_api::ResumeToken;
use jiff::Timestamp;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};

use crate::model::lease::{now_secs, Lease};

use self::rows::{
    identifiers_to_json, run_from_row, sql_limit, task_from_row, ts, StoredState, RUN_COLUMNS,
};
use super::{
    migrations, Action, Decision, DecisionFilter, NewRequestTask, NewTask, NewTombstone, Result,
    RunId, RunRecord, RunState, Store, StoreError, TaskId, TaskRecord, TaskState,
};

/// How long a write waits for another process (e.g. a `gallra` command) holding the lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The state store in `state_dir/state.db`. One connection behind a mutex: SQLite has one
/// writer anyway, and the calls are short.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// The leases this handle takes on the tasks it starts.
    lease: Lease,
    /// Committed write transactions, so tests can prove batching without timing anything.
    #[cfg(test)]
    commits: std::sync::atomic::AtomicU64,
}

/// A failure inside a transaction: SQLite's, or one of ours that already says what happened.
enum Fail {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

type Step<T> = std::result::Result<T, Fail>;

impl SqliteStore {
    /// Opens (creating if needed) the state database in `state_dir`, which is created with mode
    /// 0700 if missing, and brings its schema up to date. A database written by a newer gallra
    /// is refused with [`StoreError::TooNew`].
    pub fn open(state_dir: &Path) -> Result<SqliteStore> {
        create_state_dir(state_dir)?;
        let path = state_dir.join("state.db");
        let open_err = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
            path: path.clone(),
            source,
        };
        // The file holds identifiers: create it private. SQLite gives its -wal and -shm files
        // the same mode.
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| open_err(e.into()))?;
        // No URI parsing: a state_dir spelled `file:…` is a path, not options.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&path, flags).map_err(|e| open_err(e.into()))?;
        configure(&conn).map_err(open_err)?;
        migrations::migrate(&mut conn, &path)?;
        tracing::debug!(path = %path.display(), "state database open");
        Ok(SqliteStore {
            path,
            conn: Mutex::new(conn),
            lease: Lease::default(),
            #[cfg(test)]
            commits: Default::default(),
        })
    }

    /// The same store, taking leases as `lease` says (a node id of its own, a length); by
    /// default this host's name and [`crate::DEFAULT_LEASE`].
    pub fn leasing(self, lease: Lease) -> Self {
        Self { lease, ..self }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock rolled its transaction back on unwind, so the
        // connection is still sound.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in one IMMEDIATE transaction (taking the write lock up front, so it cannot
    /// fail half-way for want of it) and commits.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Step<T>) -> Result<T> {
        let mut conn = self.lock();
        let result = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        #[cfg(test)]
        if result.is_ok() {
            self.commits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        result.map_err(|e| self.error(e))
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Step<T>) -> Result<T> {
        f(&self.lock()).map_err(|e| self.error(e))
    }

    fn error(&self, fail: Fail) -> StoreError {
        let path = self.path.clone();
        match fail {
            Fail::Store(e) => e,
            Fail::Sql(rusqlite::Error::FromSqlConversionFailure(_, _, source)) => {
                StoreError::Corrupt { path, source }
            }
            Fail::Sql(source) => StoreError::Sqlite { path, source },
        }
    }

    fn no_such_run(&self, run: RunId) -> Fail {
        Fail::Store(StoreError::NoSuchRun {
            path: self.path.clone(),
            run,
        })
    }

    fn ensure_run(&self, tx: &Connection, run: RunId) -> Step<()> {
        let found = tx
            .prepare_cached("SELECT 1 FROM runs WHERE id = ?1")?
            .exists([run])?;
        if found {
            Ok(())
        } else {
            Err(self.no_such_run(run))
        }
    }

    fn task_exists(&self, tx: &Connection, task: TaskId) -> Step<bool> {
        Ok(tx
            .prepare_cached("SELECT 1 FROM tasks WHERE id = ?1")?
            .exists([task])?)
    }

    fn finish_in(
        &self,
        tx: &Connection,
        task: TaskId,
        state: TaskState,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Step<()> {
        let changed = tx
            .prepare_cached(
                "UPDATE tasks SET state = ?2, detail = ?3, attempts = attempts + 1, updated_at = ?4,
                     lease_node = NULL, lease_until = NULL
                 WHERE id = ?1",
            )?
            .execute(params![task, state.as_str(), detail, ts(now)])?;
        if changed == 0 {
            return Err(Fail::Store(StoreError::NoSuchTask {
                path: self.path.clone(),
                task,
            }));
        }
        Ok(())
    }

    /// After personal data was dropped: the WAL still holds the pages as they were; move them
    /// into the database (where secure_delete zeroed the values) and cut the WAL to nothing.
    /// Best effort: a reader in another process can hold the checkpoint back, and the next one
    /// catches up.
    fn truncate_wal(&self) {
        let truncated = self
            .lock()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            });
        if !matches!(truncated, Ok(0)) {
            tracing::debug!(path = %self.path.display(), "WAL not truncated after forgetting identifiers; a later checkpoint will");
        }
    }

    fn query_runs(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<RunRecord>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let runs = stmt.query_map(params, run_from_row)?;
            Ok(runs.collect::<rusqlite::Result<_>>()?)
        })
    }
}

impl Store for SqliteStore {
    fn begin_run(
        &self,
        policy: &str,
        mode: &str,
        scheduled_for: Timestamp,
        now: Timestamp,
    ) -> Result<RunId> {
        self.write(|tx| {
            let existing: Option<RunId> = tx
                .prepare_cached("SELECT id FROM runs WHERE policy = ?1 AND scheduled_for = ?2")?
                .query_row(params![policy, ts(scheduled_for)], |r| r.get(0))
                .optional()?;
            if let Some(run) = existing {
                return Err(Fail::Store(StoreError::RunExists { run }));
            }
            tx.prepare_cached(
                "INSERT INTO runs (policy, mode, scheduled_for, state, started_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                policy,
                mode,
                ts(scheduled_for),
                RunState::Planning,
                ts(now)
            ])?;
            Ok(RunId(tx.last_insert_rowid()))
        })
    }

    fn record_decisions(&self, run: RunId, decisions: &[Decision]) -> Result<()> {
        if decisions.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            self.ensure_run(tx, run)?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO decisions (run, subject_key, selected, reason, identifiers_json)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (run, subject_key) DO UPDATE SET
                     selected = excluded.selected,
                     reason = excluded.reason,
                     identifiers_json = excluded.identifiers_json",
            )?;
            for d in decisions {
                // Identifiers are stored as given; a decision given none stores none (NULL),
                // unless it is selected: its tasks and requests are made from it.
                let identifiers = if d.selected || !d.identifiers.is_empty() {
                    Some(identifiers_to_json(&d.identifiers)?)
                } else {
                    None
                };
                stmt.execute(params![
                    run,
                    d.subject_key,
                    d.selected,
                    d.reason,
                    identifiers
                ])?;
            }
            Ok(())
        })
    }

    fn set_run_state(
        &self,
        run: RunId,
        state: RunState,
        scanned: u64,
        selected: u64,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            // A final state keeps the time it was first reached.
            let changed = tx
                .prepare_cached(
                    "UPDATE runs SET state = ?2, scanned = ?3, selected = ?4, detail = ?5,
                         finished_at = CASE WHEN ?6 THEN coalesce(finished_at, ?7) END
                     WHERE id = ?1",
                )?
                .execute(params![
                    run,
                    state,
                    scanned,
                    selected,
                    detail,
                    state.is_final(),
                    ts(now)
                ])?;
            if changed == 0 {
                return Err(self.no_such_run(run));
            }
            Ok(())
        })
    }

    fn create_tasks_for_selected(
        &self,
        run: RunId,
        systems: &[(String, Action, u32)],
    ) -> Result<u64> {
        // The trait passes no `now` here; `updated_at` only informs people, so the clock is fine.
        let now = ts(gallra_core::clock::now());
        self.write(|tx| {
            self.ensure_run(tx, run)?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO tasks (run, subject_key, system, action, ord, state, updated_at)
                 SELECT run, subject_key, ?2, ?3, ?4, ?5, ?6
                 FROM decisions WHERE run = ?1 AND selected = 1
                 ON CONFLICT (run, subject_key, system, action) DO NOTHING",
            )?;
            let mut created = 0;
            for (system, action, order) in systems {
                let n = stmt.execute(params![
                    run,
                    system,
                    action,
                    order,
                    TaskState::Pending.as_str(),
                    now
                ])?;
                created += n as u64;
            }
            Ok(created)
        })
    }

    fn file_requests_for_selected(
        &self,
        run: RunId,
        origin: &str,
        received_at: Timestamp,
        due_at: Timestamp,
        tasks: &[NewRequestTask],
    ) -> Result<u64> {
        use crate::{RequestKind, RequestState};
        self.write(|tx| {
            self.ensure_run(tx, run)?;
            let filed = tx
                .prepare_cached(
                    "INSERT INTO requests (kind, state, received_at, due_at, identifiers_json,
                                           origin, from_run, from_subject)
                     SELECT ?2, ?3, ?4, ?5, identifiers_json, ?6, run, subject_key
                     FROM decisions
                     WHERE run = ?1 AND selected = 1 AND identifiers_json IS NOT NULL
                       -- A subject a run filed for before (its data kept under a legal hold in
                       -- the account source, say) is not filed for again every night.
                       AND NOT EXISTS (SELECT 1 FROM requests r
                                       WHERE r.from_subject = decisions.subject_key
                                         AND r.state NOT IN ('failed', 'cancelled'))
                     ON CONFLICT (from_run, from_subject) WHERE from_run IS NOT NULL DO NOTHING",
                )?
                .execute(params![
                    run,
                    RequestKind::Erase,
                    RequestState::Open,
                    ts(received_at),
                    ts(due_at),
                    origin
                ])?;
            let mut add_task = tx.prepare_cached(
                "INSERT INTO request_tasks (request, system, action, ord, state, updated_at)
                 SELECT r.id, ?2, ?3, ?4, ?5, ?6 FROM requests r
                 WHERE r.from_run = ?1 AND NOT EXISTS
                     (SELECT 1 FROM request_tasks t WHERE t.request = r.id AND t.system = ?2)",
            )?;
            for task in tasks {
                add_task.execute(params![
                    run,
                    task.system,
                    task.action,
                    task.order,
                    TaskState::Pending.as_str(),
                    ts(received_at)
                ])?;
            }
            Ok(filed as u64)
        })
    }

    fn create_task(&self, run: RunId, task: &NewTask) -> Result<TaskId> {
        let now = ts(gallra_core::clock::now());
        self.write(|tx| {
            self.ensure_run(tx, run)?;
            let key = params![run, task.subject_key, task.system, task.action];
            tx.prepare_cached(
                "INSERT INTO tasks (run, subject_key, system, action, ord, state, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (run, subject_key, system, action) DO NOTHING",
            )?
            .execute(params![
                run,
                task.subject_key,
                task.system,
                task.action,
                task.order,
                TaskState::Pending.as_str(),
                now
            ])?;
            let id = tx
                .prepare_cached(
                    "SELECT id FROM tasks
                     WHERE run = ?1 AND subject_key = ?2 AND system = ?3 AND action = ?4",
                )?
                .query_row(key, |r| r.get(0))?;
            Ok(id)
        })
    }

    fn start_tasks(&self, tasks: &[TaskId], now: Timestamp) -> Result<u64> {
        if tasks.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "UPDATE tasks SET state = 'running', updated_at = ?2, lease_node = ?3,
                     lease_until = ?4
                 WHERE id = ?1 AND (state = 'pending' OR (state = 'running' AND {FREE}))"
            ))?;
            let (node, until) = (&self.lease.node, self.lease.until_now());
            let mut started = 0;
            for &task in tasks {
                let n = stmt.execute(params![task, ts(now), node, until, now_secs()])?;
                if n == 0 && !self.task_exists(tx, task)? {
                    return Err(Fail::Store(StoreError::NoSuchTask {
                        path: self.path.clone(),
                        task,
                    }));
                }
                started += n as u64;
            }
            Ok(started)
        })
    }

    fn release_tasks(&self, tasks: &[TaskId], now: Timestamp) -> Result<u64> {
        if tasks.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "UPDATE tasks SET state = 'pending', updated_at = ?2, lease_node = NULL,
                     lease_until = NULL
                 WHERE id = ?1 AND state = 'running' AND lease_node IS ?3",
            )?;
            let mut released = 0;
            for &task in tasks {
                let n = stmt.execute(params![task, ts(now), self.lease.node])?;
                released += n as u64;
            }
            Ok(released)
        })
    }

    fn pending_tasks(&self, run: RunId, limit: usize) -> Result<Vec<TaskRecord>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(PENDING_TASKS)?;
            let args = params![run, sql_limit(limit), self.lease.node, now_secs()];
            let tasks = stmt.query_map(args, task_from_row)?;
            Ok(tasks.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn claim_tasks(&self, run: RunId, subjects: usize, now: Timestamp) -> Result<Vec<TaskRecord>> {
        self.claim_subjects(run, subjects, now)
    }

    fn finish_tasks_and_bury(
        &self,
        updates: &[(TaskId, TaskState, Option<String>)],
        tombstones: &[NewTombstone],
        now: Timestamp,
    ) -> Result<()> {
        if updates.is_empty() && tombstones.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            tombstones::bury_in(tx, tombstones)?;
            for (task, state, detail) in updates {
                self.finish_in(tx, *task, *state, detail.as_deref(), now)?;
            }
            Ok(())
        })
    }

    fn keep_resume_tokens(&self, tokens: &[(TaskId, ResumeToken)]) -> Result<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut keep = tx.prepare_cached("UPDATE tasks SET resume_token = ?2 WHERE id = ?1")?;
            for (task, token) in tokens {
                keep.execute(params![task, token.as_str()])?;
            }
            Ok(())
        })
    }

    fn run(&self, run: RunId) -> Result<Option<RunRecord>> {
        self.read(|conn| {
            let sql = format!("{RUN_COLUMNS} WHERE id = ?1");
            Ok(conn
                .prepare_cached(&sql)?
                .query_row([run], run_from_row)
                .optional()?)
        })
    }

    fn runs_in_state(&self, states: &[RunState]) -> Result<Vec<RunRecord>> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; states.len()].join(", ");
        let sql = format!("{RUN_COLUMNS} WHERE state IN ({marks}) ORDER BY id");
        self.query_runs(&sql, rusqlite::params_from_iter(states))
    }

    fn recent_runs(&self, policy: Option<&str>, limit: usize) -> Result<Vec<RunRecord>> {
        let limit = sql_limit(limit);
        match policy {
            Some(policy) => self.query_runs(
                &format!("{RUN_COLUMNS} WHERE policy = ?1 ORDER BY id DESC LIMIT ?2"),
                params![policy, limit],
            ),
            None => self.query_runs(
                &format!("{RUN_COLUMNS} ORDER BY id DESC LIMIT ?1"),
                params![limit],
            ),
        }
    }

    fn deselect(&self, run: RunId, subjects: &[(String, String)]) -> Result<()> {
        if subjects.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            self.ensure_run(tx, run)?;
            let mut update = tx.prepare_cached(
                "UPDATE decisions SET selected = 0, reason = ?3, identifiers_json = NULL
                 WHERE run = ?1 AND subject_key = ?2",
            )?;
            for (key, reason) in subjects {
                update.execute(params![run, key, reason])?;
            }
            Ok(())
        })?;
        self.truncate_wal();
        Ok(())
    }

    fn decisions(
        &self,
        run: RunId,
        which: DecisionFilter,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Decision>> {
        match which {
            DecisionFilter::Selected => self.selected_decisions(run, after_key, limit),
            DecisionFilter::WarningDue => self.warnings_due(run, after_key, limit),
        }
    }

    fn decision_counts(&self, run: RunId) -> Result<Vec<(String, bool, u64)>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT reason, selected, count(*) FROM decisions WHERE run = ?1
                 GROUP BY reason, selected ORDER BY reason, selected",
            )?;
            let rows = stmt.query_map([run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn task_counts(&self, run: RunId) -> Result<Vec<(String, TaskState, u64)>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT system, state, count(*) FROM tasks WHERE run = ?1
                 GROUP BY system, state ORDER BY system, state",
            )?;
            let rows = stmt.query_map([run], |r| {
                Ok((r.get(0)?, r.get::<_, StoredState>(1)?.0, r.get(2)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn forget_identifiers(&self, run: RunId) -> Result<()> {
        self.write(|tx| {
            self.ensure_run(tx, run)?;
            let open: u64 = tx
                .prepare_cached(
                    "SELECT count(*) FROM tasks
                     WHERE run = ?1 AND state IN ('pending', 'running')",
                )?
                .query_row([run], |r| r.get(0))?;
            if open > 0 {
                return Err(Fail::Store(StoreError::TasksOpen { run, open }));
            }
            tx.prepare_cached(
                "UPDATE decisions SET identifiers_json = NULL
                 WHERE run = ?1 AND identifiers_json IS NOT NULL",
            )?
            .execute([run])?;
            Ok(())
        })?;
        self.truncate_wal();
        Ok(())
    }
}

fn create_state_dir(dir: &Path) -> Result<()> {
    let err = |source| StoreError::CreateDir {
        path: dir.to_owned(),
        source,
    };
    // Personal data lives here: only the gallra user may look in.
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)?;
    let mode = dir.metadata().map_err(err)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %dir.display(),
            mode = format!("{:o}", mode & 0o777),
            "state directory is readable by others; it holds personal data (chmod 700 it)"
        );
    }
    Ok(())
}

/// Connection settings. Everything here is per connection, so it runs on every open.
fn configure(
    conn: &Connection,
) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!(
            "the file system does not support WAL mode (journal_mode is {mode}); put the state directory on a local file system"
        )
        .into());
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "secure_delete", true)?;
    Ok(())
}

/// Open tasks with their subject's identifiers; served by the index `tasks_open`.
const PENDING_TASKS: &str = "SELECT t.id, t.run, t.subject_key, t.system, t.action, t.ord,
        t.state, t.attempts, t.detail, t.updated_at, d.identifiers_json,
        (SELECT p.resume_token FROM tasks p WHERE p.resume_token IS NOT NULL
            AND p.system = t.system AND p.subject_key = t.subject_key AND p.id <= t.id
            ORDER BY p.id DESC LIMIT 1)
    FROM tasks t
    LEFT JOIN decisions d ON d.run = t.run AND d.subject_key = t.subject_key
    WHERE t.run = ?1 AND t.state IN ('pending', 'running')
        AND (t.state = 'pending' OR t.lease_node IS NULL OR t.lease_node = ?3
             OR t.lease_until <= ?4)
    ORDER BY t.subject_key, t.ord, t.id
    LIMIT ?2";

/// A running task another node may take over: no lease (from before leases), this node's own
/// (a process of this node that stopped), or one that ran out. `?3` is this node, `?5` now.
const FREE: &str = "(lease_node IS NULL OR lease_node = ?3 OR lease_until <= ?5)";

/// A page of selected decisions; served by the index `decisions_selected`.
const SELECTED_DECISIONS: &str = "SELECT subject_key, reason, identifiers_json FROM decisions
    WHERE run = ?1 AND selected = 1
    ORDER BY subject_key LIMIT ?2";

/// The next page of selected decisions, after key `?3`.
const SELECTED_DECISIONS_AFTER: &str = "SELECT subject_key, reason, identifiers_json FROM decisions
    WHERE run = ?1 AND selected = 1 AND subject_key > ?3
    ORDER BY subject_key LIMIT ?2";

mod audit_head;
mod decisions;
mod nodes;
mod requests;
mod restore;
mod rows;
#[cfg(test)]
mod tests;
mod tombstones;
mod warnings;
