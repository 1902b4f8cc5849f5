//! Cancelling a request: one transaction, under the request's lock, that leaves nothing for
//! a step under way to write over, and nothing of who the request was about.

use postgres::Transaction;

use super::super::fail::Step;
use super::super::Ctx;
use super::changes::lock_request;
use crate::requests::CANCELLED_RUNNING;
use crate::{Cancel, RequestId, RequestState};

/// Tasks that wait fail as cancelled; nothing is due for them again.
const CANCEL_WAITING: &str = "UPDATE request_tasks
    SET state = 'failed', not_before = NULL, kept_json = NULL, resume_token = NULL,
        updated_at = $2, finished_at = $2,
        detail = CASE state WHEN 'running' THEN $3 ELSE 'cancelled' END
    WHERE request = $1 AND state IN ('pending', 'running', 'blocked', 'needs_person')";

/// A hold's erasure still to come is called off; what the hold keeps is said as it was.
const CANCEL_HOLD: &str = "UPDATE request_tasks
    SET not_before = NULL, kept_json = NULL, resume_token = NULL, updated_at = $2,
        detail = coalesce(detail || '; ', '') || 'the erasure at the end of the hold was cancelled'
    WHERE request = $1 AND state = 'retained' AND not_before IS NOT NULL";

/// The request ends cancelled, forgetting who it was about. It ends now, also if it had
/// failed before: a failed request waited for a person, who ends it here.
const CANCEL_REQUEST: &str = "UPDATE requests
    SET state = 'cancelled', detail = $2, completed_at = $3, identifiers_json = NULL
    WHERE id = $1";

/// Cancels `id` if it is open, blocked or failed (its tasks failed, and it waits for a person
/// to try them again or to stop it); a missing request is refused.
pub(super) fn cancel(
    tx: &mut Transaction<'_>,
    ctx: &Ctx,
    id: RequestId,
    detail: &str,
    now: &str,
) -> Step<Cancel> {
    let state = lock_request(tx, ctx, id)?;
    if !matches!(
        state,
        RequestState::Open | RequestState::Blocked | RequestState::Failed
    ) {
        return Ok(Cancel::NotOpen(state));
    }
    tx.execute(CANCEL_WAITING, &[&id.0, &now, &CANCELLED_RUNNING])?;
    tx.execute(CANCEL_HOLD, &[&id.0, &now])?;
    tx.execute(CANCEL_REQUEST, &[&id.0, &detail, &now])?;
    Ok(Cancel::Cancelled)
}
