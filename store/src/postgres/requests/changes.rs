//! What changes a request and its tasks on PostgreSQL. Each transaction locks the request
//! row before it reads or writes the tasks: a change shares the lock, a cancel or a forget
//! takes it alone, so a step under way never writes over a cancel, and no task is made to
//! need the identifiers while they are being forgotten.

use gallra_plugin_api::ResumeToken;
use jiff::Timestamp;
use postgres::{GenericClient, Transaction};

use super::super::fail::{Fail, Step};
use super::super::{Ctx, PostgresStore};
use crate::columns::{self, at, kept_json};
use crate::{Cancel, RequestId, RequestState, RequestTaskId, Result, StoreError, TaskUpdate};

/// One task's change; the request is locked already.
const UPDATE_TASK: &str = "UPDATE request_tasks SET state = $2, attempts = attempts + $3,
        not_before = $4,
        retained_until = coalesce($5, retained_until),
        legal_basis = coalesce($6, legal_basis),
        detail = coalesce($7, detail),
        updated_at = $8,
        kept_json = coalesce($9, kept_json),
        resume_token = CASE WHEN $2 IN ('done', 'retained', 'failed', 'kept')
            THEN NULL ELSE coalesce($12, resume_token) END,
        finished_at = CASE WHEN $2 IN ('done', 'retained', 'failed', 'kept') THEN $8 END,
        lease_node = CASE WHEN $2 = 'running' THEN $10::text END,
        lease_until = CASE WHEN $2 = 'running' THEN $11::bigint END
    WHERE id = $1";

/// Tasks that still need the request's identifiers to find the subject. A hold whose
/// anonymization named what it kept (`kept_json`) finds that by its references instead.
const NEEDING_IDENTIFIERS: &str = "SELECT count(*) FROM request_tasks
    WHERE request = $1
        AND (state IN ('pending', 'running', 'needs_person')
             OR (state = 'retained' AND not_before IS NOT NULL AND kept_json IS NULL))";

/// Locks the request of `task` against cancels (shared: other changes go on) and says which
/// it is; a cancelled one or a missing task is refused.
fn lock_for_task(tx: &mut Transaction<'_>, ctx: &Ctx, task: RequestTaskId) -> Step<RequestId> {
    let row = tx.query_opt(
        "SELECT r.id, r.state FROM requests r JOIN request_tasks t ON t.request = r.id
         WHERE t.id = $1 FOR SHARE OF r",
        &[&task.0],
    )?;
    let Some(row) = row else {
        return Err(Fail::Store(StoreError::NoSuchRequestTask {
            path: ctx.database.clone().into(),
            task,
        }));
    };
    let request = RequestId(row.get(0));
    match row.get::<_, &str>(1) {
        "cancelled" => Err(Fail::Store(StoreError::RequestCancelled { request })),
        _ => Ok(request),
    }
}

/// Locks the request alone and reads its state; a missing one is refused.
pub(super) fn lock_request(
    tx: &mut impl GenericClient,
    ctx: &Ctx,
    id: RequestId,
) -> Step<RequestState> {
    match tx.query_opt(
        "SELECT state FROM requests WHERE id = $1 FOR UPDATE",
        &[&id.0],
    )? {
        Some(row) => columns::request_state(&row),
        None => Err(no_such_request(ctx, id)),
    }
}

fn no_such_request(ctx: &Ctx, request: RequestId) -> Fail {
    Fail::Store(StoreError::NoSuchRequest {
        path: ctx.database.clone().into(),
        request,
    })
}

impl PostgresStore {
    pub(super) fn update_tasks(&self, updates: &[TaskUpdate], now: Timestamp) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let (updates, now) = (updates.to_vec(), at(now));
        self.write(move |tx, ctx| {
            let (node, until) = (&ctx.lease.node, ctx.lease.until_now());
            for u in &updates {
                lock_for_task(tx, ctx, u.task)?;
                let kept = u.kept.as_deref().map(kept_json).transpose()?;
                let (not_before, retained_until) = (u.not_before.map(at), u.retained_until.map(at));
                let resume = u.resume.as_ref().map(ResumeToken::as_str);
                tx.execute(
                    UPDATE_TASK,
                    &[
                        &u.task.0,
                        &u.state.as_str(),
                        &i64::from(u.attempted),
                        &not_before,
                        &retained_until,
                        &u.legal_basis,
                        &u.detail,
                        &now,
                        &kept,
                        node,
                        &until,
                        &resume,
                    ],
                )?;
            }
            Ok(())
        })
    }

    pub(super) fn retry_task(
        &self,
        id: RequestTaskId,
        detail: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let (detail, now) = (detail.to_owned(), at(now));
        self.write(move |tx, ctx| {
            lock_for_task(tx, ctx, id)?;
            let changed = tx.execute(
                "UPDATE request_tasks SET state = 'pending', attempts = 0, not_before = NULL,
                     detail = $2, updated_at = $3, finished_at = NULL
                 WHERE id = $1 AND state IN ('failed', 'needs_person')",
                &[&id.0, &detail, &now],
            )?;
            Ok(changed == 1)
        })
    }

    pub(super) fn set_state(
        &self,
        id: RequestId,
        state: RequestState,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        let (detail, now) = (detail.map(str::to_owned), at(now));
        let is_final = matches!(
            state,
            RequestState::Done | RequestState::Failed | RequestState::Cancelled
        );
        self.write(move |tx, ctx| {
            let found = lock_request(tx, ctx, id)?;
            // A cancel is final for good.
            if found == RequestState::Cancelled && state != RequestState::Cancelled {
                return Err(Fail::Store(StoreError::RequestCancelled { request: id }));
            }
            // A final state keeps the time it was first reached, as runs do.
            tx.execute(
                "UPDATE requests SET state = $2, detail = $3,
                     completed_at = CASE WHEN $4 THEN coalesce(completed_at, $5) END
                 WHERE id = $1",
                &[&id.0, &state.as_str(), &detail, &is_final, &now],
            )?;
            Ok(())
        })
    }

    pub(super) fn forget_request(&self, id: RequestId) -> Result<()> {
        self.write(move |tx, ctx| {
            lock_request(tx, ctx, id)?;
            let open: i64 = tx.query_one(NEEDING_IDENTIFIERS, &[&id.0])?.get(0);
            if open > 0 {
                let open = open as u64;
                return Err(Fail::Store(StoreError::RequestTasksOpen {
                    request: id,
                    open,
                }));
            }
            tx.execute(
                "UPDATE requests SET identifiers_json = NULL WHERE id = $1",
                &[&id.0],
            )?;
            Ok(())
        })
    }

    pub(super) fn cancel(&self, id: RequestId, detail: &str, now: Timestamp) -> Result<Cancel> {
        let (detail, now) = (detail.to_owned(), at(now));
        self.write(move |tx, ctx| super::cancel::cancel(tx, ctx, id, &detail, &now))
    }
}
