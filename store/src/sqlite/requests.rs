//! [`RequestStore`] on SQLite: tables `requests` and `request_tasks` (schema version 2).
//!
//! Timestamps here are written with nine fraction digits, so that comparing and ordering them
//! as text (`not_before <= now`, `ORDER BY due_at`) is chronological; they read back exactly.

use gallra_plugin_api::{Identifier, RecordRef, ResumeToken};
use jiff::Timestamp;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};

use super::rows::{identifiers_to_json, sql_id, sql_limit, sql_named};
use super::{Fail, SqliteStore, Step};
use crate::columns::{self, REQUEST_COLUMNS, REQUEST_TASK_COLUMNS};
use crate::model::lease::now_secs;
use crate::{Cancel, NoticeRecord, RequestStore, Result, StoreError, TaskState};
use crate::{
    NewRequestTask, RequestAction, RequestId, RequestKind, RequestRecord, RequestState,
    RequestTask, RequestTaskId, TaskUpdate,
};

const REQUEST: &str = "WHERE id = ?1";

/// Every request by due date; served by the index `requests_by_due`.
const LIST_ALL: &str = "ORDER BY due_at, id LIMIT ?1";

/// Open and blocked requests by due date; served by the index `requests_open_by_due`.
const LIST_OPEN: &str = "WHERE state IN ('open', 'blocked') ORDER BY due_at, id LIMIT ?1";

/// A request's tasks; served by the index `request_tasks_by_request`.
const TASKS_OF: &str = "WHERE t.request = ?1 ORDER BY t.ord, t.id";

/// Requests with a due task (the rule is in [`crate::requests`]). Driven from the
/// index `request_tasks_by_state`, so finished requests, however many, cost nothing.
const DUE_REQUESTS: &str = "SELECT r.id
    FROM (SELECT request FROM request_tasks
              WHERE state IN ('pending', 'running') AND (not_before IS NULL OR not_before <= ?1)
          UNION
          SELECT request FROM request_tasks
              WHERE state = 'retained' AND not_before <= ?1) AS due
    CROSS JOIN requests r ON r.id = due.request
    WHERE r.state <> 'cancelled'
        AND (r.lease_node IS NULL OR r.lease_node IS ?3 OR r.lease_until <= ?4)
        AND NOT EXISTS (SELECT 1 FROM request_tasks l WHERE l.request = r.id
            AND l.state = 'running' AND l.lease_node IS NOT ?3 AND l.lease_until > ?4)
    ORDER BY r.due_at, r.id
    LIMIT ?2";

/// The requests due at `now` that `node` may work, as [`RequestStore::due_requests`] says.
pub(super) fn due_in(
    conn: &Connection,
    node: &str,
    now: Timestamp,
    limit: usize,
) -> Step<Vec<RequestId>> {
    let mut stmt = conn.prepare_cached(DUE_REQUESTS)?;
    let args = params![at(now), sql_limit(limit), node, now_secs()];
    let ids = stmt.query_map(args, |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

/// The earliest time a task becomes due; served by the index `request_tasks_by_state`.
const NEXT_WAKEUP: &str = "SELECT min(t.not_before)
    FROM request_tasks t CROSS JOIN requests r ON r.id = t.request
    WHERE t.state IN ('pending', 'running', 'retained') AND t.not_before IS NOT NULL
        AND r.state <> 'cancelled'";

/// Tasks waiting for a person; served by the index `request_tasks_by_state`.
const NEEDS_PERSON: &str = "CROSS JOIN requests r ON r.id = t.request
    WHERE t.state = 'needs_person' AND r.state <> 'cancelled'
    ORDER BY r.due_at, r.id, t.ord, t.id";

/// Tasks that still need the request's identifiers to find the subject. A hold whose
/// anonymization named what it kept (`kept_json`) finds that by its references instead.
const NEEDING_IDENTIFIERS: &str = "SELECT count(*) FROM request_tasks
    WHERE request = ?1
        AND (state IN ('pending', 'running', 'needs_person')
             OR (state = 'retained' AND not_before IS NOT NULL AND kept_json IS NULL))";

/// A request's state, to tell a cancelled one from a missing one.
const REQUEST_STATE: &str = "SELECT state FROM requests WHERE id = ?1";

impl SqliteStore {
    fn no_such_request(&self, request: RequestId) -> Fail {
        Fail::Store(StoreError::NoSuchRequest {
            path: self.path.clone(),
            request,
        })
    }

    fn query_tasks(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<RequestTask>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let tasks = stmt.query_map(params, task_from_row)?;
            Ok(tasks.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Updates one task unless its request was cancelled.
    fn update_task_in(&self, tx: &Connection, u: &TaskUpdate, now: Timestamp) -> Step<()> {
        let kept = u.kept.as_deref().map(kept_to_json).transpose()?;
        let changed = tx
            .prepare_cached(
                "UPDATE request_tasks SET state = ?2, attempts = attempts + ?3, not_before = ?4,
                     retained_until = coalesce(?5, retained_until),
                     legal_basis = coalesce(?6, legal_basis),
                     detail = coalesce(?7, detail),
                     updated_at = ?8,
                     kept_json = coalesce(?9, kept_json),
                     resume_token = CASE WHEN ?2 IN ('done', 'retained', 'failed', 'kept')
                         THEN NULL ELSE coalesce(?12, resume_token) END,
                     finished_at = CASE WHEN ?2 IN ('done', 'retained', 'failed', 'kept')
                         THEN ?8 END,
                     lease_node = CASE WHEN ?2 = 'running' THEN ?10 END,
                     lease_until = CASE WHEN ?2 = 'running' THEN ?11 END
                 WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM requests r
                     WHERE r.id = request_tasks.request AND r.state = 'cancelled')",
            )?
            .execute(params![
                u.task,
                u.state.as_str(),
                u32::from(u.attempted),
                u.not_before.map(at),
                u.retained_until.map(at),
                u.legal_basis,
                u.detail,
                at(now),
                kept,
                self.lease.node,
                self.lease.until_now(),
                u.resume.as_ref().map(ResumeToken::as_str)
            ])?;
        if changed == 0 {
            let request: Option<RequestId> = tx
                .prepare_cached("SELECT request FROM request_tasks WHERE id = ?1")?
                .query_row([u.task], |r| r.get(0))
                .optional()?;
            return Err(Fail::Store(match request {
                Some(request) => StoreError::RequestCancelled { request },
                None => StoreError::NoSuchRequestTask {
                    path: self.path.clone(),
                    task: u.task,
                },
            }));
        }
        Ok(())
    }

    /// Why a request could not be changed: it was cancelled, or it does not exist.
    fn unchanged_request(&self, tx: &Connection, id: RequestId) -> Step<Fail> {
        let state: Option<RequestState> = tx
            .prepare_cached(REQUEST_STATE)?
            .query_row([id], |r| r.get(0))
            .optional()?;
        Ok(match state {
            Some(RequestState::Cancelled) => {
                Fail::Store(StoreError::RequestCancelled { request: id })
            }
            _ => self.no_such_request(id),
        })
    }
}

impl RequestStore for SqliteStore {
    fn create_request(
        &self,
        kind: RequestKind,
        identifiers: &[Identifier],
        received_at: Timestamp,
        due_at: Timestamp,
        extension: Option<&str>,
        tasks: &[NewRequestTask],
    ) -> Result<RequestId> {
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO requests (kind, state, received_at, due_at, identifiers_json, extension)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                kind,
                RequestState::Open,
                at(received_at),
                at(due_at),
                identifiers_to_json(identifiers)?,
                extension
            ])?;
            let id = RequestId(tx.last_insert_rowid());
            let mut stmt = tx.prepare_cached(
                "INSERT INTO request_tasks (request, system, action, ord, state, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for task in tasks {
                stmt.execute(params![
                    id,
                    task.system,
                    task.action,
                    task.order,
                    TaskState::Pending.as_str(),
                    at(received_at)
                ])?;
            }
            Ok(id)
        })
    }

    fn request(&self, id: RequestId) -> Result<Option<RequestRecord>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(&format!("{REQUEST_COLUMNS} {REQUEST}"))?
                .query_row([id], request_from_row)
                .optional()?)
        })
    }

    fn list_requests(&self, open_only: bool, limit: usize) -> Result<Vec<RequestRecord>> {
        let sql = if open_only { LIST_OPEN } else { LIST_ALL };
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("{REQUEST_COLUMNS} {sql}"))?;
            let requests = stmt.query_map([sql_limit(limit)], request_from_row)?;
            Ok(requests.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn request_tasks(&self, id: RequestId) -> Result<Vec<RequestTask>> {
        self.query_tasks(&format!("{REQUEST_TASK_COLUMNS} {TASKS_OF}"), [id])
    }

    fn request_task(&self, id: RequestTaskId) -> Result<Option<RequestTask>> {
        self.read(|conn| {
            let sql = format!("{REQUEST_TASK_COLUMNS} WHERE t.id = ?1");
            Ok(conn
                .prepare_cached(&sql)?
                .query_row([id], task_from_row)
                .optional()?)
        })
    }

    fn due_requests(&self, now: Timestamp, limit: usize) -> Result<Vec<RequestId>> {
        self.read(|conn| due_in(conn, &self.lease.node, now, limit))
    }

    fn claim_requests(&self, now: Timestamp, limit: usize) -> Result<Vec<RequestId>> {
        self.claim_due(now, limit)
    }

    fn release_requests(&self, ids: &[RequestId]) -> Result<()> {
        self.release_claims(ids)
    }

    fn next_wakeup(&self) -> Result<Option<Timestamp>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(NEXT_WAKEUP)?
                .query_row([], |r| columns::optional_instant(r))?)
        })
    }

    fn update_request_tasks(&self, updates: &[TaskUpdate], now: Timestamp) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for update in updates {
                self.update_task_in(tx, update, now)?;
            }
            Ok(())
        })
    }

    fn retry_request_task(&self, id: RequestTaskId, detail: &str, now: Timestamp) -> Result<bool> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE request_tasks SET state = 'pending', attempts = 0, not_before = NULL,
                         detail = ?2, updated_at = ?3, finished_at = NULL
                     WHERE id = ?1 AND state IN ('failed', 'needs_person')
                         AND NOT EXISTS (SELECT 1 FROM requests r
                             WHERE r.id = request_tasks.request AND r.state = 'cancelled')",
                )?
                .execute(params![id, detail, at(now)])?;
            if changed == 1 {
                return Ok(true);
            }
            let request: Option<RequestId> = tx
                .prepare_cached("SELECT request FROM request_tasks WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            match request {
                Some(request) => match self.unchanged_request(tx, request)? {
                    cancelled @ Fail::Store(StoreError::RequestCancelled { .. }) => Err(cancelled),
                    _ => Ok(false),
                },
                None => Err(Fail::Store(StoreError::NoSuchRequestTask {
                    path: self.path.clone(),
                    task: id,
                })),
            }
        })
    }

    fn set_request_state(
        &self,
        id: RequestId,
        state: RequestState,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            // A final state keeps the time it was first reached, as runs do; a cancel is
            // final for good.
            let changed = tx
                .prepare_cached(
                    "UPDATE requests SET state = ?2, detail = ?3,
                         completed_at = CASE WHEN ?4 THEN coalesce(completed_at, ?5) END
                     WHERE id = ?1 AND (state <> 'cancelled' OR ?2 = 'cancelled')",
                )?
                .execute(params![id, state, detail, is_final(state), at(now)])?;
            if changed == 0 {
                return Err(self.unchanged_request(tx, id)?);
            }
            Ok(())
        })
    }

    fn forget_request_identifiers(&self, id: RequestId) -> Result<()> {
        self.write(|tx| {
            let open: u64 = tx
                .prepare_cached(NEEDING_IDENTIFIERS)?
                .query_row([id], |r| r.get(0))?;
            if open > 0 {
                return Err(Fail::Store(StoreError::RequestTasksOpen {
                    request: id,
                    open,
                }));
            }
            let changed = tx
                .prepare_cached("UPDATE requests SET identifiers_json = NULL WHERE id = ?1")?
                .execute([id])?;
            if changed == 0 {
                return Err(self.no_such_request(id));
            }
            Ok(())
        })?;
        self.truncate_wal();
        Ok(())
    }

    fn cancel_request(&self, id: RequestId, detail: &str, now: Timestamp) -> Result<Cancel> {
        let cancel = self.write(|tx| match cancel::cancel(tx, id, detail, &at(now))? {
            Some(cancel) => Ok(cancel),
            None => Err(self.no_such_request(id)),
        })?;
        if cancel == Cancel::Cancelled {
            self.truncate_wal();
        }
        Ok(cancel)
    }

    fn cancels_to_audit(&self) -> Result<Vec<RequestRecord>> {
        self.read(|conn| {
            let sql = format!(
                "{REQUEST_COLUMNS} WHERE state = 'cancelled' AND cancel_audited = 0 ORDER BY id"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let requests = stmt.query_map([], request_from_row)?;
            Ok(requests.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn cancel_audited(&self, id: RequestId) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE requests SET cancel_audited = 1 WHERE id = ?1")?
                .execute([id])?;
            Ok(())
        })
    }

    fn needs_person_tasks(&self) -> Result<Vec<RequestTask>> {
        self.query_tasks(&format!("{REQUEST_TASK_COLUMNS} {NEEDS_PERSON}"), [])
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

/// Done, failed and cancelled requests have ended (`completed_at` is set).
fn is_final(state: RequestState) -> bool {
    matches!(
        state,
        RequestState::Done | RequestState::Failed | RequestState::Cancelled
    )
}

pub(super) use crate::columns::at;

fn request_from_row(r: &Row<'_>) -> rusqlite::Result<RequestRecord> {
    columns::request(r)
}

fn task_from_row(r: &Row<'_>) -> rusqlite::Result<RequestTask> {
    columns::request_task(r)
}

fn kept_to_json(kept: &[RecordRef]) -> rusqlite::Result<String> {
    columns::kept_json(kept).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

sql_id!(RequestId);
sql_id!(RequestTaskId);

sql_named!(RequestKind);
sql_named!(RequestState);
sql_named!(RequestAction);

mod cancel;
mod notices;
#[cfg(test)]
mod tests;
