//! [`RequestStore`] on PostgreSQL: tables `requests` and `request_tasks`; what changes them
//! in [`changes`], notices in [`notices`].
//!
//! Timestamps here have nine fraction digits, so that comparing and ordering them as text
//! (`not_before <= now`, `ORDER BY due_at`) is chronological; the columns are `COLLATE "C"`.

use gallra_plugin_api::Identifier;
use jiff::Timestamp;

use super::fail::{all, big};
use super::PostgresStore;
use crate::columns::{self, at, identifiers_json, REQUEST_COLUMNS, REQUEST_TASK_COLUMNS};
use crate::model::lease::now_secs;
use crate::{Cancel, NoticeRecord, RequestStore, Result, TaskState};
use crate::{
    NewRequestTask, RequestId, RequestKind, RequestRecord, RequestState, RequestTask,
    RequestTaskId, TaskUpdate,
};

/// Requests with a due task (the rule is in [`crate::requests`]) and no live lease of
/// another node's ($3 this node, $4 now). Driven from the index `request_tasks_by_state`, so
/// finished requests, however many, cost nothing.
pub(super) const DUE_REQUESTS: &str = "SELECT r.id
    FROM (SELECT request FROM request_tasks
              WHERE state IN ('pending', 'running') AND (not_before IS NULL OR not_before <= $1)
          UNION
          SELECT request FROM request_tasks
              WHERE state = 'retained' AND not_before <= $1) AS due
    JOIN requests r ON r.id = due.request
    WHERE r.state <> 'cancelled'
        AND (r.lease_node IS NULL OR r.lease_node = $3 OR r.lease_until <= $4)
        AND NOT EXISTS (SELECT 1 FROM request_tasks l WHERE l.request = r.id
            AND l.state = 'running' AND l.lease_node IS DISTINCT FROM $3
            AND l.lease_until > $4)
    ORDER BY r.due_at, r.id
    LIMIT $2";

/// The earliest time a task becomes due; served by the index `request_tasks_by_state`.
const NEXT_WAKEUP: &str = "SELECT min(t.not_before)
    FROM request_tasks t JOIN requests r ON r.id = t.request
    WHERE t.state IN ('pending', 'running', 'retained') AND t.not_before IS NOT NULL
        AND r.state <> 'cancelled'";

/// Tasks waiting for a person; served by the index `request_tasks_by_state`.
const NEEDS_PERSON: &str = "JOIN requests r ON r.id = t.request
    WHERE t.state = 'needs_person' AND r.state <> 'cancelled'
    ORDER BY r.due_at, r.id, t.ord, t.id";

impl PostgresStore {
    fn query_requests(&self, sql: String, limit: Option<usize>) -> Result<Vec<RequestRecord>> {
        self.read(move |client, _| {
            let rows = match limit {
                Some(limit) => client.query(&sql, &[&big(limit)])?,
                None => client.query(&sql, &[])?,
            };
            all(&rows, columns::request)
        })
    }

    fn query_tasks(&self, sql: String, id: Option<i64>) -> Result<Vec<RequestTask>> {
        self.read(move |client, _| {
            let rows = match id {
                Some(id) => client.query(&sql, &[&id])?,
                None => client.query(&sql, &[])?,
            };
            all(&rows, columns::request_task)
        })
    }
}

impl RequestStore for PostgresStore {
    fn create_request(
        &self,
        kind: RequestKind,
        identifiers: &[Identifier],
        received_at: Timestamp,
        due_at: Timestamp,
        extension: Option<&str>,
        tasks: &[NewRequestTask],
    ) -> Result<RequestId> {
        let identifiers = identifiers.to_vec();
        let (received_at, due_at) = (at(received_at), at(due_at));
        let (extension, tasks) = (extension.map(str::to_owned), tasks.to_vec());
        self.write(move |tx, _| {
            let identifiers = identifiers_json(&identifiers)?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO requests (kind, state, received_at, due_at, identifiers_json,
                         extension)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[
                        &kind.as_str(),
                        &RequestState::Open.as_str(),
                        &received_at,
                        &due_at,
                        &identifiers,
                        &extension,
                    ],
                )?
                .get(0);
            let stmt = tx.prepare(
                "INSERT INTO request_tasks (request, system, action, ord, state, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )?;
            let pending = TaskState::Pending.as_str();
            for task in &tasks {
                let (action, order) = (task.action.as_str(), i64::from(task.order));
                tx.execute(
                    &stmt,
                    &[&id, &task.system, &action, &order, &pending, &received_at],
                )?;
            }
            Ok(RequestId(id))
        })
    }

    fn request(&self, id: RequestId) -> Result<Option<RequestRecord>> {
        let sql = format!("{REQUEST_COLUMNS} WHERE id = $1");
        self.read(move |client, _| {
            let row = client.query_opt(&sql, &[&id.0])?;
            row.as_ref().map(columns::request).transpose()
        })
    }

    fn list_requests(&self, open_only: bool, limit: usize) -> Result<Vec<RequestRecord>> {
        // Served by the indexes `requests_open_by_due` and `requests_by_due`.
        let which = match open_only {
            true => "WHERE state IN ('open', 'blocked')",
            false => "",
        };
        let sql = format!("{REQUEST_COLUMNS} {which} ORDER BY due_at, id LIMIT $1");
        self.query_requests(sql, Some(limit))
    }

    fn request_tasks(&self, id: RequestId) -> Result<Vec<RequestTask>> {
        let sql = format!("{REQUEST_TASK_COLUMNS} WHERE t.request = $1 ORDER BY t.ord, t.id");
        self.query_tasks(sql, Some(id.0))
    }

    fn request_task(&self, id: RequestTaskId) -> Result<Option<RequestTask>> {
        let sql = format!("{REQUEST_TASK_COLUMNS} WHERE t.id = $1");
        Ok(self.query_tasks(sql, Some(id.0))?.pop())
    }

    fn due_requests(&self, now: Timestamp, limit: usize) -> Result<Vec<RequestId>> {
        let now = at(now);
        self.read(move |client, ctx| {
            let args = [
                &now as _,
                &big(limit) as _,
                &ctx.lease.node as _,
                &now_secs() as _,
            ];
            let rows = client.query(DUE_REQUESTS, &args)?;
            Ok(rows.iter().map(|r| RequestId(r.get(0))).collect())
        })
    }

    fn claim_requests(&self, now: Timestamp, limit: usize) -> Result<Vec<RequestId>> {
        self.claim_due(now, limit)
    }

    fn release_requests(&self, ids: &[RequestId]) -> Result<()> {
        self.release_claims(ids)
    }

    fn next_wakeup(&self) -> Result<Option<Timestamp>> {
        self.read(|client, _| columns::optional_instant(&client.query_one(NEXT_WAKEUP, &[])?))
    }

    fn update_request_tasks(&self, updates: &[TaskUpdate], now: Timestamp) -> Result<()> {
        self.update_tasks(updates, now)
    }

    fn retry_request_task(&self, id: RequestTaskId, detail: &str, now: Timestamp) -> Result<bool> {
        self.retry_task(id, detail, now)
    }

    fn set_request_state(
        &self,
        id: RequestId,
        state: RequestState,
        detail: Option<&str>,
        at: Timestamp,
    ) -> Result<()> {
        self.set_state(id, state, detail, at)
    }

    fn forget_request_identifiers(&self, id: RequestId) -> Result<()> {
        self.forget_request(id)
    }

    fn cancel_request(&self, id: RequestId, detail: &str, now: Timestamp) -> Result<Cancel> {
        self.cancel(id, detail, now)
    }

    fn cancels_to_audit(&self) -> Result<Vec<RequestRecord>> {
        let sql = format!(
            "{REQUEST_COLUMNS} WHERE state = 'cancelled' AND NOT cancel_audited ORDER BY id"
        );
        self.query_requests(sql, None)
    }

    fn cancel_audited(&self, id: RequestId) -> Result<()> {
        self.write(move |tx, _| {
            tx.execute(
                "UPDATE requests SET cancel_audited = true WHERE id = $1",
                &[&id.0],
            )?;
            Ok(())
        })
    }

    fn needs_person_tasks(&self) -> Result<Vec<RequestTask>> {
        self.query_tasks(format!("{REQUEST_TASK_COLUMNS} {NEEDS_PERSON}"), None)
    }

    fn notice_sent(&self, task: RequestTaskId, at: Timestamp) -> Result<NoticeRecord> {
        notices::sent(self, task, at)
    }

    fn notice(&self, task: RequestTaskId) -> Result<Option<NoticeRecord>> {
        notices::get(self, task)
    }

    fn notice_escalated(&self, task: RequestTaskId, at: Timestamp) -> Result<()> {
        notices::escalated(self, task, at)
    }
}

mod cancel;
mod changes;
mod notices;
