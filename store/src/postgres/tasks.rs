//! A run's tasks on PostgreSQL: made once however many nodes resume the run, and claimed by
//! exactly one node at a time.

use gallra_plugin_api::ResumeToken;
use jiff::Timestamp;

use super::fail::{all, big, Fail};
use super::tombstones::bury_in;
use super::PostgresStore;
use crate::columns::{self, ts};
use crate::model::lease::now_secs;
use crate::{
    Action, NewRequestTask, NewTask, NewTombstone, RequestKind, RequestState, Result, RunId,
    StoreError, TaskId, TaskRecord, TaskState,
};

/// Open tasks with their subject's identifiers: pending, or running with no live lease of
/// another node's ($3 is this node, $4 now). Served by the index `tasks_open`.
const OPEN_TASKS: &str = "SELECT t.id, t.run, t.subject_key, t.system, t.action, t.ord,
        t.state, t.attempts, t.detail, t.updated_at, d.identifiers_json,
        (SELECT p.resume_token FROM tasks p WHERE p.resume_token IS NOT NULL
            AND p.system = t.system AND p.subject_key = t.subject_key AND p.id <= t.id
            ORDER BY p.id DESC LIMIT 1)
    FROM tasks t
    LEFT JOIN decisions d ON d.run = t.run AND d.subject_key = t.subject_key
    WHERE t.run = $1 AND t.state IN ('pending', 'running')
        AND (t.state = 'pending' OR t.lease_node IS NULL OR t.lease_node = $3
             OR t.lease_until <= $4)
    ORDER BY t.subject_key, t.ord, t.id
    LIMIT $2";

/// Claims the tasks of `$1` that are free: pending, or running with no lease, this node's
/// own, or one that ran out ($3 this node, $5 now). `SKIP LOCKED`: a task another node is
/// claiming (or finishing) this moment is that node's, and is not waited for; a row that
/// changed since the statement began is checked again as it is now, so no task is claimed
/// twice.
const CLAIM: &str = "UPDATE tasks SET state = 'running', updated_at = $2, lease_node = $3,
        lease_until = $4
    WHERE id IN (SELECT id FROM tasks
        WHERE id = ANY($1) AND (state = 'pending' OR (state = 'running'
            AND (lease_node IS NULL OR lease_node = $3 OR lease_until <= $5)))
        FOR UPDATE SKIP LOCKED)
    RETURNING id";

/// Makes a request per selected subject with identifiers, unless the run filed one already
/// or an earlier request for the subject is still going (a subject kept under a legal hold
/// is not filed for again every night).
const FILE_REQUESTS: &str = "INSERT INTO requests (kind, state, received_at, due_at,
        identifiers_json, origin, from_run, from_subject)
    SELECT $2::text, $3::text, $4::text, $5::text, identifiers_json, $6::text, run, subject_key
    FROM decisions
    WHERE run = $1 AND selected AND identifiers_json IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM requests r
                        WHERE r.from_subject = decisions.subject_key
                          AND r.state NOT IN ('failed', 'cancelled'))
    ON CONFLICT (from_run, from_subject) WHERE from_run IS NOT NULL DO NOTHING";

/// Adds a task in one system to each of the run's requests that has none there.
const FILE_TASK: &str = "INSERT INTO request_tasks (request, system, action, ord, state,
        updated_at)
    SELECT r.id, $2::text, $3::text, $4::bigint, $5::text, $6::text FROM requests r
    WHERE r.from_run = $1 AND NOT EXISTS
        (SELECT 1 FROM request_tasks t WHERE t.request = r.id AND t.system = $2)";

/// Any number, the same in every gallra: filing requests for runs takes this advisory lock,
/// so that two runs filing for one subject at once see each other's requests.
const FILING_LOCK: i64 = 0x6761_6c6c_7266;

impl PostgresStore {
    pub(super) fn create_tasks(
        &self,
        run: RunId,
        systems: &[(String, Action, u32)],
    ) -> Result<u64> {
        // The trait passes no `now` here; `updated_at` only informs people, so the clock is fine.
        let now = ts(gallra_core::clock::now());
        let systems = systems.to_vec();
        self.write(move |tx, ctx| {
            ctx.ensure_run(tx, run, false)?;
            let stmt = tx.prepare(
                "INSERT INTO tasks (run, subject_key, system, action, ord, state, updated_at)
                 SELECT run, subject_key, $2::text, $3::text, $4::bigint, $5::text, $6::text
                 FROM decisions WHERE run = $1 AND selected
                 ON CONFLICT (run, subject_key, system, action) DO NOTHING",
            )?;
            let mut created = 0;
            for (system, action, order) in &systems {
                let pending = TaskState::Pending.as_str();
                let order = i64::from(*order);
                created += tx.execute(
                    &stmt,
                    &[&run.0, system, &action.as_str(), &order, &pending, &now],
                )?;
            }
            Ok(created)
        })
    }

    pub(super) fn file_requests(
        &self,
        run: RunId,
        origin: &str,
        received_at: Timestamp,
        due_at: Timestamp,
        tasks: &[NewRequestTask],
    ) -> Result<u64> {
        let (origin, tasks) = (origin.to_owned(), tasks.to_vec());
        let (received_at, due_at) = (columns::at(received_at), columns::at(due_at));
        self.write(move |tx, ctx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FILING_LOCK])?;
            ctx.ensure_run(tx, run, false)?;
            let (erase, open) = (RequestKind::Erase.as_str(), RequestState::Open.as_str());
            let filed = tx.execute(
                FILE_REQUESTS,
                &[&run.0, &erase, &open, &received_at, &due_at, &origin],
            )?;
            let add_task = tx.prepare(FILE_TASK)?;
            let pending = TaskState::Pending.as_str();
            for task in &tasks {
                let (action, order) = (task.action.as_str(), i64::from(task.order));
                tx.execute(
                    &add_task,
                    &[
                        &run.0,
                        &task.system,
                        &action,
                        &order,
                        &pending,
                        &received_at,
                    ],
                )?;
            }
            Ok(filed)
        })
    }

    pub(super) fn create_one_task(&self, run: RunId, task: &NewTask) -> Result<TaskId> {
        let now = ts(gallra_core::clock::now());
        let task = task.clone();
        self.write(move |tx, ctx| {
            ctx.ensure_run(tx, run, false)?;
            let (action, order) = (task.action.as_str(), i64::from(task.order));
            let (subject, system) = (&task.subject_key, &task.system);
            let pending = TaskState::Pending.as_str();
            tx.execute(
                "INSERT INTO tasks (run, subject_key, system, action, ord, state, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (run, subject_key, system, action) DO NOTHING",
                &[&run.0, subject, system, &action, &order, &pending, &now],
            )?;
            let id = tx.query_one(
                "SELECT id FROM tasks
                 WHERE run = $1 AND subject_key = $2 AND system = $3 AND action = $4",
                &[&run.0, subject, system, &action],
            )?;
            Ok(TaskId(id.get(0)))
        })
    }

    pub(super) fn claim_tasks(&self, tasks: &[TaskId], now: Timestamp) -> Result<u64> {
        if tasks.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = tasks.iter().map(|t| t.0).collect();
        let now = ts(now);
        self.write(move |tx, ctx| {
            let (node, until) = (&ctx.lease.node, ctx.lease.until_now());
            let claimed = tx.query(CLAIM, &[&ids, &now, node, &until, &now_secs()])?;
            if claimed.len() < ids.len() {
                // One not claimed may not exist: that is refused, as SQLite refuses it.
                let found = tx.query("SELECT id FROM tasks WHERE id = ANY($1)", &[&ids])?;
                let found: Vec<i64> = found.iter().map(|r| r.get(0)).collect();
                if let Some(&missing) = ids.iter().find(|id| !found.contains(id)) {
                    return Err(Fail::Store(StoreError::NoSuchTask {
                        path: ctx.database.clone().into(),
                        task: TaskId(missing),
                    }));
                }
            }
            Ok(claimed.len() as u64)
        })
    }

    pub(super) fn give_back_tasks(&self, tasks: &[TaskId], now: Timestamp) -> Result<u64> {
        if tasks.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = tasks.iter().map(|t| t.0).collect();
        let now = ts(now);
        self.write(move |tx, ctx| {
            Ok(tx.execute(
                "UPDATE tasks SET state = 'pending', updated_at = $2, lease_node = NULL,
                     lease_until = NULL
                 WHERE id = ANY($1) AND state = 'running' AND lease_node = $3",
                &[&ids, &now, &ctx.lease.node],
            )?)
        })
    }

    pub(super) fn open_tasks(&self, run: RunId, limit: usize) -> Result<Vec<TaskRecord>> {
        self.read(move |client, ctx| {
            let args = [
                &run.0 as _,
                &big(limit) as _,
                &ctx.lease.node as _,
                &now_secs() as _,
            ];
            all(&client.query(OPEN_TASKS, &args)?, columns::task)
        })
    }

    pub(super) fn finish_tasks(
        &self,
        updates: &[(TaskId, TaskState, Option<String>)],
        tombstones: &[NewTombstone],
        now: Timestamp,
    ) -> Result<()> {
        if updates.is_empty() && tombstones.is_empty() {
            return Ok(());
        }
        let (updates, tombstones, now) = (updates.to_vec(), tombstones.to_vec(), ts(now));
        self.write(move |tx, ctx| {
            bury_in(tx, &tombstones)?;
            let finish = tx.prepare(
                "UPDATE tasks SET state = $2, detail = $3, attempts = attempts + 1,
                     updated_at = $4, lease_node = NULL, lease_until = NULL
                 WHERE id = $1",
            )?;
            for (task, state, detail) in &updates {
                let changed = tx.execute(&finish, &[&task.0, &state.as_str(), detail, &now])?;
                if changed == 0 {
                    return Err(Fail::Store(StoreError::NoSuchTask {
                        path: ctx.database.clone().into(),
                        task: *task,
                    }));
                }
            }
            Ok(())
        })
    }

    pub(super) fn keep_resume(&self, tokens: &[(TaskId, ResumeToken)]) -> Result<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        let tokens: Vec<(i64, String)> = tokens
            .iter()
            .map(|(task, token)| (task.0, token.as_str().to_owned()))
            .collect();
        self.write(move |tx, _| {
            let keep = tx.prepare("UPDATE tasks SET resume_token = $2 WHERE id = $1")?;
            for (task, token) in &tokens {
                tx.execute(&keep, &[task, token])?;
            }
            Ok(())
        })
    }
}
