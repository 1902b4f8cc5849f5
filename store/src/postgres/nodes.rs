//! What several nodes sharing the store need, on PostgreSQL: the scheduler's leadership,
//! leases renewed, and work claimed whole (a run's subjects, requests) by exactly one node,
//! however many claim at once.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::fail::{all, big};
use super::PostgresStore;
use crate::columns::{self, ts};
use crate::model::lease::now_secs;
use crate::{LeaderStore, LeaseStore, RequestId, Result, RunId, TaskRecord};

/// The subjects with tasks a node may take, in key order, leaving out those it tried
/// already ($3 this node, $4 now, $5 tried).
const CLAIMABLE_SUBJECTS: &str = "SELECT DISTINCT subject_key FROM tasks
    WHERE run = $1 AND state IN ('pending', 'running')
        AND (state = 'pending' OR lease_node IS NULL OR lease_node = $3 OR lease_until <= $4)
        AND subject_key <> ALL($5)
    ORDER BY subject_key
    LIMIT $2";

/// The free tasks of some subjects, with their identifiers, as they are now.
const SUBJECT_TASKS: &str = "SELECT t.id, t.run, t.subject_key, t.system, t.action, t.ord,
        t.state, t.attempts, t.detail, t.updated_at, d.identifiers_json,
        (SELECT p.resume_token FROM tasks p WHERE p.resume_token IS NOT NULL
            AND p.system = t.system AND p.subject_key = t.subject_key AND p.id <= t.id
            ORDER BY p.id DESC LIMIT 1)
    FROM tasks t
    LEFT JOIN decisions d ON d.run = t.run AND d.subject_key = t.subject_key
    WHERE t.run = $1 AND t.subject_key = ANY($2) AND t.state IN ('pending', 'running')
        AND (t.state = 'pending' OR t.lease_node IS NULL OR t.lease_node = $3
             OR t.lease_until <= $4)
    ORDER BY t.subject_key, t.ord, t.id";

/// A subject of a run, as a transaction-level advisory lock: whoever holds it is the only
/// node claiming that subject's tasks until its transaction ends. Tried, never waited for:
/// a subject another node is claiming this moment is its, and is skipped.
const LOCK_SUBJECT: &str =
    "SELECT pg_try_advisory_xact_lock(hashtextextended($1::text || ':' || $2, 0))";

/// Marks the given requests that are still free with this node's lease ($2 this node, $3
/// until, $4 now); one another node is claiming this moment is skipped.
const CLAIM_REQUESTS: &str = "UPDATE requests SET lease_node = $2, lease_until = $3
    WHERE id IN (SELECT id FROM requests WHERE id = ANY($1)
        AND (lease_node IS NULL OR lease_node = $2 OR lease_until <= $4)
        FOR UPDATE SKIP LOCKED)
    RETURNING id";

impl PostgresStore {
    /// [`crate::Store::claim_tasks`]: each subject is locked before its tasks are read (as
    /// they are now) and marked, so a subject's tasks go to one node whole. A subject another
    /// node is claiming is skipped, one it claimed already is found taken; either way the
    /// claim goes on to further subjects, so it comes back empty only when none is left.
    pub(super) fn claim_subjects(
        &self,
        run: RunId,
        subjects: usize,
        now: Timestamp,
    ) -> Result<Vec<TaskRecord>> {
        let now = ts(now);
        self.write(move |tx, ctx| {
            let (node, until, secs) = (&ctx.lease.node, ctx.lease.until_now(), now_secs());
            let (mut tried, mut tasks) = (Vec::<String>::new(), Vec::<TaskRecord>::new());
            let mut claimed = 0;
            while claimed < subjects {
                let want = big(subjects - claimed);
                let args = [&run.0 as _, &want as _, node as _, &secs as _, &tried as _];
                let rows = tx.query(CLAIMABLE_SUBJECTS, &args)?;
                let candidates: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
                if candidates.is_empty() {
                    break;
                }
                let mut locked = Vec::new();
                for key in candidates {
                    let row = tx.query_one(LOCK_SUBJECT, &[&run.0.to_string(), &key])?;
                    if row.get::<_, bool>(0) {
                        locked.push(key.clone());
                    }
                    tried.push(key);
                }
                let rows = tx.query(SUBJECT_TASKS, &[&run.0, &locked, node, &secs])?;
                let found = all(&rows, columns::task)?;
                let mut keys: Vec<&str> = found.iter().map(|t| t.subject_key.as_str()).collect();
                keys.dedup();
                claimed += keys.len();
                tasks.extend(found);
            }
            let ids: Vec<i64> = tasks.iter().map(|t| t.id.0).collect();
            tx.execute(
                "UPDATE tasks SET state = 'running', updated_at = $2, lease_node = $3,
                     lease_until = $4
                 WHERE id = ANY($1)",
                &[&ids, &now, node, &until],
            )?;
            Ok(tasks)
        })
    }

    /// [`crate::RequestStore::claim_requests`]: the due requests are marked with this node's
    /// lease where they are still free. A request another node is claiming this moment is
    /// skipped (`SKIP LOCKED`), one it claimed already is found taken; either way the claim
    /// goes on down the due list, so it comes back empty only when nothing is left.
    pub(super) fn claim_due(&self, now: Timestamp, limit: usize) -> Result<Vec<RequestId>> {
        let now = ts(now);
        self.write(move |tx, ctx| {
            let (node, until, secs) = (&ctx.lease.node, ctx.lease.until_now(), now_secs());
            // Walks down the due list, trying each request once: the list may shift while
            // it is walked (other nodes claim and release), so what was tried is remembered.
            let (mut tried, mut claimed) = (BTreeSet::<i64>::new(), Vec::<RequestId>::new());
            while claimed.len() < limit {
                let window = big(tried.len() + limit - claimed.len());
                let args = [&now as _, &window as _, node as _, &secs as _];
                let rows = tx.query(super::requests::DUE_REQUESTS, &args)?;
                let fresh: Vec<i64> = (rows.iter().map(|r| r.get::<_, i64>(0)))
                    .filter(|id| !tried.contains(id))
                    .collect();
                if fresh.is_empty() {
                    break;
                }
                tried.extend(&fresh);
                let rows = tx.query(CLAIM_REQUESTS, &[&fresh, node, &until, &secs])?;
                let taken: BTreeSet<i64> = rows.iter().map(|r| r.get(0)).collect();
                let kept = fresh.into_iter().filter(|id| taken.contains(id));
                claimed.extend(kept.map(RequestId));
            }
            Ok(claimed)
        })
    }

    /// [`crate::RequestStore::release_requests`].
    pub(super) fn release_claims(&self, ids: &[RequestId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        self.write(move |tx, ctx| {
            tx.execute(
                "UPDATE requests SET lease_node = NULL, lease_until = NULL
                 WHERE id = ANY($1) AND lease_node = $2",
                &[&ids, &ctx.lease.node],
            )?;
            Ok(())
        })
    }
}

impl LeaseStore for PostgresStore {
    fn renew_leases(&self) -> Result<u64> {
        self.write(|tx, ctx| {
            let (node, until) = (&ctx.lease.node, ctx.lease.until_now());
            let mut renewed = 0;
            for table in ["tasks", "request_tasks"] {
                renewed += tx.execute(
                    &format!(
                        "UPDATE {table} SET lease_until = $2
                         WHERE state = 'running' AND lease_node = $1"
                    ),
                    &[node, &until],
                )?;
            }
            renewed += tx.execute(
                "UPDATE requests SET lease_until = $2 WHERE lease_node = $1",
                &[node, &until],
            )?;
            Ok(renewed)
        })
    }

    fn node(&self) -> &str {
        &self.ctx.lease.node
    }

    fn expired_leases(&self) -> Result<u64> {
        self.read(|client, _| {
            let count: i64 = client
                .query_one(
                    "SELECT (SELECT count(*) FROM tasks
                             WHERE state = 'running' AND lease_until <= $1)
                          + (SELECT count(*) FROM request_tasks
                             WHERE state = 'running' AND lease_until <= $1)
                          + (SELECT count(*) FROM requests WHERE lease_until <= $1)",
                    &[&now_secs()],
                )?
                .get(0);
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }
}

impl LeaderStore for PostgresStore {
    fn lead(&self) -> Result<bool> {
        self.write(|tx, ctx| {
            let (node, until) = (&ctx.lease.node, ctx.lease.until_now());
            tx.execute(
                "INSERT INTO leader (id, node, lease_until) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET node = excluded.node,
                     lease_until = excluded.lease_until
                 WHERE leader.node = excluded.node OR leader.lease_until <= $3",
                &[node, &until, &now_secs()],
            )?;
            let holder: String = tx
                .query_one("SELECT node FROM leader WHERE id = 1", &[])?
                .get(0);
            Ok(holder == *node)
        })
    }

    fn resign(&self) -> Result<()> {
        self.write(|tx, ctx| {
            tx.execute(
                "DELETE FROM leader WHERE id = 1 AND node = $1",
                &[&ctx.lease.node],
            )?;
            Ok(())
        })
    }

    fn leader(&self) -> Result<Option<(String, i64)>> {
        self.read(|client, _| {
            Ok(client
                .query_opt("SELECT node, lease_until FROM leader WHERE id = 1", &[])?
                .map(|r| (r.get(0), r.get(1))))
        })
    }
}
