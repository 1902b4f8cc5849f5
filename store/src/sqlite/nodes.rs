//! What several nodes sharing the store need, on SQLite: the scheduler's leadership, leases
//! renewed, and work claimed whole (a run's subjects, requests). SQLite has one writer at a
//! time, so a claim made in one IMMEDIATE transaction cannot interleave with another node's.

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};

use super::rows::{sql_limit, task_from_row, ts};
use super::SqliteStore;
use crate::model::lease::now_secs;
use crate::{LeaderStore, LeaseStore, RequestId, Result, RunId, TaskRecord};

/// The subjects with tasks a node may take, in key order: pending, or running under no
/// live lease of another node's. `?3` is this node, `?4` now.
const CLAIMABLE_SUBJECTS: &str = "SELECT DISTINCT subject_key FROM tasks
    WHERE run = ?1 AND state IN ('pending', 'running')
        AND (state = 'pending' OR lease_node IS NULL OR lease_node = ?3 OR lease_until <= ?4)
    ORDER BY subject_key
    LIMIT ?2";

/// One subject's tasks a node may take, as [`task_from_row`] reads them.
const SUBJECT_TASKS: &str = "SELECT t.id, t.run, t.subject_key, t.system, t.action, t.ord,
        t.state, t.attempts, t.detail, t.updated_at, d.identifiers_json,
        (SELECT p.resume_token FROM tasks p WHERE p.resume_token IS NOT NULL
            AND p.system = t.system AND p.subject_key = t.subject_key AND p.id <= t.id
            ORDER BY p.id DESC LIMIT 1)
    FROM tasks t
    LEFT JOIN decisions d ON d.run = t.run AND d.subject_key = t.subject_key
    WHERE t.run = ?1 AND t.subject_key = ?2 AND t.state IN ('pending', 'running')
        AND (t.state = 'pending' OR t.lease_node IS NULL OR t.lease_node = ?3
             OR t.lease_until <= ?4)
    ORDER BY t.ord, t.id";

impl SqliteStore {
    /// [`crate::Store::claim_tasks`].
    pub(super) fn claim_subjects(
        &self,
        run: RunId,
        subjects: usize,
        now: Timestamp,
    ) -> Result<Vec<TaskRecord>> {
        let (node, until, secs) = (&self.lease.node, self.lease.until_now(), now_secs());
        self.write(|tx| {
            let keys: Vec<String> = tx
                .prepare_cached(CLAIMABLE_SUBJECTS)?
                .query_map(params![run, sql_limit(subjects), node, secs], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut select = tx.prepare_cached(SUBJECT_TASKS)?;
            let mut mark = tx.prepare_cached(
                "UPDATE tasks SET state = 'running', updated_at = ?2, lease_node = ?3,
                     lease_until = ?4
                 WHERE id = ?1",
            )?;
            let mut claimed = Vec::new();
            for key in &keys {
                let tasks = select.query_map(params![run, key, node, secs], task_from_row)?;
                for task in tasks {
                    let task = task?;
                    mark.execute(params![task.id, ts(now), node, until])?;
                    claimed.push(task);
                }
            }
            Ok(claimed)
        })
    }

    /// [`crate::RequestStore::claim_requests`].
    pub(super) fn claim_due(&self, now: Timestamp, limit: usize) -> Result<Vec<RequestId>> {
        let (node, until) = (&self.lease.node, self.lease.until_now());
        self.write(|tx| {
            let due: Vec<RequestId> = super::requests::due_in(tx, &self.lease.node, now, limit)?;
            let mut mark = tx.prepare_cached(
                "UPDATE requests SET lease_node = ?2, lease_until = ?3 WHERE id = ?1",
            )?;
            for id in &due {
                mark.execute(params![id.0, node, until])?;
            }
            Ok(due)
        })
    }

    /// [`crate::RequestStore::release_requests`].
    pub(super) fn release_claims(&self, ids: &[RequestId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut release = tx.prepare_cached(
                "UPDATE requests SET lease_node = NULL, lease_until = NULL
                 WHERE id = ?1 AND lease_node = ?2",
            )?;
            for id in ids {
                release.execute(params![id.0, self.lease.node])?;
            }
            Ok(())
        })
    }
}

impl LeaseStore for SqliteStore {
    fn renew_leases(&self) -> Result<u64> {
        let (node, until) = (&self.lease.node, self.lease.until_now());
        self.write(|tx| {
            let mut renewed = 0;
            for table in ["tasks", "request_tasks"] {
                renewed += tx
                    .prepare_cached(&format!(
                        "UPDATE {table} SET lease_until = ?2
                         WHERE state = 'running' AND lease_node = ?1"
                    ))?
                    .execute(params![node, until])? as u64;
            }
            renewed += tx
                .prepare_cached("UPDATE requests SET lease_until = ?2 WHERE lease_node = ?1")?
                .execute(params![node, until])? as u64;
            Ok(renewed)
        })
    }

    fn node(&self) -> &str {
        &self.lease.node
    }

    fn expired_leases(&self) -> Result<u64> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT (SELECT count(*) FROM tasks
                             WHERE state = 'running' AND lease_until <= ?1)
                          + (SELECT count(*) FROM request_tasks
                             WHERE state = 'running' AND lease_until <= ?1)
                          + (SELECT count(*) FROM requests WHERE lease_until <= ?1)",
                )?
                .query_row([now_secs()], |r| r.get(0))?)
        })
    }
}

impl LeaderStore for SqliteStore {
    fn lead(&self) -> Result<bool> {
        let (node, until, now) = (&self.lease.node, self.lease.until_now(), now_secs());
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO leader (id, node, lease_until) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET node = excluded.node,
                     lease_until = excluded.lease_until
                 WHERE leader.node = excluded.node OR leader.lease_until <= ?3",
            )?
            .execute(params![node, until, now])?;
            let holder: String = tx
                .prepare_cached("SELECT node FROM leader WHERE id = 1")?
                .query_row([], |r| r.get(0))?;
            Ok(holder == *node)
        })
    }

    fn resign(&self) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM leader WHERE id = 1 AND node = ?1")?
                .execute([&self.lease.node])?;
            Ok(())
        })
    }

    fn leader(&self) -> Result<Option<(String, i64)>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT node, lease_until FROM leader WHERE id = 1")?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?)
        })
    }
}
