//! Reading gallra's records from a row, whichever backend it came from.
//!
//! Both backends store the same values the same way: timestamps as RFC 3339 text in UTC,
//! enums as their stored names, identifiers and kept references as JSON text, sealed bytes
//! as blobs, numbers as 64-bit integers. So each record is read once, here, from any row that
//! can hand out those few column types ([`Columns`]). A value that does not read back is an
//! error, never a default.

use std::error::Error;
use std::str::FromStr;

use gallra_plugin_api::{Identifier, RecordRef, ResumeToken};
use jiff::Timestamp;

use crate::{
    AuditHead, ClearWhy, NewTombstone, NoticeRecord, RequestRecord, RequestTask, RestoreKeep,
    RestoreWindow, RunId, RunRecord, Sealed, TaskRecord, TombstoneRecord, WarningRecord,
};

/// Why a column could not be read: the backend's own error.
pub(crate) type Cause = Box<dyn Error + Send + Sync>;

/// A row of either backend, as the few column types gallra stores.
pub(crate) trait Columns {
    /// The backend's error.
    type Error;

    /// A text column, `None` if NULL.
    fn text(&self, idx: usize) -> Result<Option<String>, Self::Error>;

    /// An integer column, `None` if NULL.
    fn int(&self, idx: usize) -> Result<Option<i64>, Self::Error>;

    /// A blob column (never NULL where gallra reads one).
    fn blob(&self, idx: usize) -> Result<Vec<u8>, Self::Error>;

    /// The backend's error for a value at `idx` that is not in the form gallra writes.
    fn corrupt(&self, idx: usize, cause: Cause) -> Self::Error;
}

/// The typed reads every record is made of.
trait Typed: Columns {
    fn required<T>(&self, idx: usize, value: Option<T>) -> Result<T, Self::Error> {
        value.ok_or_else(|| self.corrupt(idx, "a required value is missing (NULL)".into()))
    }

    fn string(&self, idx: usize) -> Result<String, Self::Error> {
        let value = self.text(idx)?;
        self.required(idx, value)
    }

    fn i64(&self, idx: usize) -> Result<i64, Self::Error> {
        let value = self.int(idx)?;
        self.required(idx, value)
    }

    /// A count or an order, which is never negative nor beyond `T`.
    fn number<T: TryFrom<i64>>(&self, idx: usize) -> Result<T, Self::Error>
    where
        T::Error: Error + Send + Sync + 'static,
    {
        let value = self.i64(idx)?;
        T::try_from(value).map_err(|e| self.corrupt(idx, e.into()))
    }

    /// A stored name (an enum) or a timestamp: anything parsed from its text.
    fn parsed<T: FromStr>(&self, idx: usize) -> Result<T, Self::Error>
    where
        T::Err: ToString,
    {
        let text = self.string(idx)?;
        text.parse()
            .map_err(|e: T::Err| self.corrupt(idx, e.to_string().into()))
    }

    fn optional<T: FromStr>(&self, idx: usize) -> Result<Option<T>, Self::Error>
    where
        T::Err: ToString,
    {
        match self.text(idx)? {
            None => Ok(None),
            Some(_) => self.parsed(idx).map(Some),
        }
    }

    /// The identifiers' JSON; none if NULL. The parser's message is left out: it can quote
    /// the value, i.e. personal data.
    fn identifiers(&self, idx: usize) -> Result<Vec<Identifier>, Self::Error> {
        match self.text(idx)? {
            None => Ok(Vec::new()),
            Some(json) => serde_json::from_str(&json).map_err(|_| {
                let cause = "the identifiers of a decision are not in the form this gallra writes";
                self.corrupt(idx, cause.into())
            }),
        }
    }

    fn kept(&self, idx: usize) -> Result<Option<Vec<RecordRef>>, Self::Error> {
        self.text(idx)?
            .map(|json| serde_json::from_str(&json).map_err(|e| self.corrupt(idx, e.into())))
            .transpose()
    }

    /// A resume token; one the plugin API would refuse is a corrupt row.
    fn resume(&self, idx: usize) -> Result<Option<ResumeToken>, Self::Error> {
        self.text(idx)?
            .map(|text| ResumeToken::try_from(text).map_err(|e| self.corrupt(idx, e.into())))
            .transpose()
    }

    fn sealed(&self, ciphertext: usize, nonce: usize) -> Result<Sealed, Self::Error> {
        Ok(Sealed {
            ciphertext: self.blob(ciphertext)?,
            nonce: self.blob(nonce)?,
        })
    }
}

impl<R: Columns + ?Sized> Typed for R {}

/// The columns [`run`] reads, as the start of a query.
pub(crate) const RUN_COLUMNS: &str =
    "SELECT id, policy, mode, scheduled_for, state, started_at, finished_at,
    scanned, selected, detail FROM runs";

pub(crate) fn run<R: Columns>(r: &R) -> Result<RunRecord, R::Error> {
    Ok(RunRecord {
        id: RunId(r.i64(0)?),
        policy: r.string(1)?,
        mode: r.string(2)?,
        scheduled_for: r.parsed(3)?,
        state: r.parsed(4)?,
        started_at: r.parsed(5)?,
        finished_at: r.optional(6)?,
        scanned: r.number(7)?,
        selected: r.number(8)?,
        detail: r.text(9)?,
    })
}

/// A row of a run's open tasks with their subject's identifiers.
pub(crate) fn task<R: Columns>(r: &R) -> Result<TaskRecord, R::Error> {
    Ok(TaskRecord {
        id: crate::TaskId(r.i64(0)?),
        run: RunId(r.i64(1)?),
        subject_key: r.string(2)?,
        system: r.string(3)?,
        action: r.parsed(4)?,
        order: r.number(5)?,
        state: r.parsed(6)?,
        attempts: r.number(7)?,
        detail: r.text(8)?,
        updated_at: r.parsed(9)?,
        identifiers: r.identifiers(10)?,
        resume: r.resume(11)?,
    })
}

/// The columns [`request`] reads, as the start of a query.
pub(crate) const REQUEST_COLUMNS: &str = "SELECT id, kind, state, received_at, due_at,
        completed_at, identifiers_json, detail, extension, origin
    FROM requests";

pub(crate) fn request<R: Columns>(r: &R) -> Result<RequestRecord, R::Error> {
    Ok(RequestRecord {
        id: crate::RequestId(r.i64(0)?),
        kind: r.parsed(1)?,
        state: r.parsed(2)?,
        received_at: r.parsed(3)?,
        due_at: r.parsed(4)?,
        completed_at: r.optional(5)?,
        identifiers: r.identifiers(6)?,
        detail: r.text(7)?,
        extension: r.text(8)?,
        origin: r.text(9)?,
    })
}

/// The columns [`request_task`] reads, as the start of a query on `request_tasks t`.
pub(crate) const REQUEST_TASK_COLUMNS: &str = "SELECT t.id, t.request, t.system, t.action,
        t.ord, t.state, t.attempts, t.not_before, t.retained_until, t.legal_basis, t.detail,
        t.updated_at, t.kept_json, t.finished_at, t.resume_token
    FROM request_tasks t";

pub(crate) fn request_task<R: Columns>(r: &R) -> Result<RequestTask, R::Error> {
    Ok(RequestTask {
        id: crate::RequestTaskId(r.i64(0)?),
        request: crate::RequestId(r.i64(1)?),
        system: r.string(2)?,
        action: r.parsed(3)?,
        order: r.number(4)?,
        state: r.parsed(5)?,
        attempts: r.number(6)?,
        not_before: r.optional(7)?,
        retained_until: r.optional(8)?,
        legal_basis: r.text(9)?,
        detail: r.text(10)?,
        updated_at: r.parsed(11)?,
        kept: r.kept(12)?,
        finished_at: r.optional(13)?,
        resume: r.resume(14)?,
    })
}

/// The columns [`notice`] reads, of the notice of task `?1`/`$1`.
pub(crate) const NOTICE_COLUMNS: &str =
    "SELECT first_sent_at, last_sent_at, reminders, escalated_at FROM notices";

pub(crate) fn notice<R: Columns>(r: &R) -> Result<NoticeRecord, R::Error> {
    Ok(NoticeRecord {
        first_sent_at: r.parsed(0)?,
        last_sent_at: r.parsed(1)?,
        reminders: r.number(2)?,
        escalated_at: r.optional(3)?,
    })
}

/// The columns [`warning`] reads, as the start of a query.
pub(crate) const WARNING_COLUMNS: &str = "SELECT policy, subject_key, run, warned_at,
        delete_on, cleared_at, cleared_why
    FROM warnings";

pub(crate) fn warning<R: Columns>(r: &R) -> Result<WarningRecord, R::Error> {
    Ok(WarningRecord {
        policy: r.string(0)?,
        subject_key: r.string(1)?,
        run: RunId(r.i64(2)?),
        warned_at: r.parsed(3)?,
        delete_on: r.parsed(4)?,
        cleared_at: r.optional(5)?,
        cleared_why: r.optional::<ClearWhy>(6)?,
    })
}

/// The columns [`tombstone`] reads, as the start of a query.
pub(crate) const TOMBSTONE_COLUMNS: &str =
    "SELECT id, system, erased_at, expires_at, sealed, nonce FROM tombstones";

pub(crate) fn tombstone<R: Columns>(r: &R) -> Result<TombstoneRecord, R::Error> {
    Ok(TombstoneRecord {
        id: r.i64(0)?,
        tombstone: NewTombstone {
            system: r.string(1)?,
            erased_at: r.parsed(2)?,
            expires_at: r.parsed(3)?,
            sealed: r.sealed(4, 5)?,
        },
    })
}

/// The columns [`restore_window`] reads, as the start of a query.
pub(crate) const WINDOW_COLUMNS: &str =
    "SELECT run, policy, kept_until, destroyed_at FROM restore_windows";

pub(crate) fn restore_window<R: Columns>(r: &R) -> Result<RestoreWindow, R::Error> {
    Ok(RestoreWindow {
        run: RunId(r.i64(0)?),
        policy: r.string(1)?,
        kept_until: r.parsed(2)?,
        destroyed_at: r.optional(3)?,
    })
}

/// The columns [`restore_keep`] reads, as the start of a query.
pub(crate) const KEEP_COLUMNS: &str =
    "SELECT run, system, subject_key, kept_at, sealed, nonce FROM restore_keeps";

pub(crate) fn restore_keep<R: Columns>(r: &R) -> Result<RestoreKeep, R::Error> {
    Ok(RestoreKeep {
        run: RunId(r.i64(0)?),
        system: r.string(1)?,
        subject_key: r.string(2)?,
        kept_at: r.parsed(3)?,
        sealed: r.sealed(4, 5)?,
    })
}

/// A head from its columns `file, seq, mac, updated_at`, first in the row.
pub(crate) fn audit_head<R: Columns>(r: &R) -> Result<AuditHead, R::Error> {
    Ok(AuditHead {
        file: r.number(0)?,
        seq: r.number(1)?,
        mac: r.string(2)?,
        updated_at: r.parsed(3)?,
    })
}

/// Instants as both backends store them where only equality matters: RFC 3339 in UTC, one
/// spelling per instant (so the unique (policy, scheduled_for) holds).
pub(crate) fn ts(t: Timestamp) -> String {
    t.to_string()
}

/// Instants where the database compares or orders them as text (requests): a fixed nine
/// fraction digits, so that text order is time order.
pub(crate) fn at(t: Timestamp) -> String {
    format!("{t:.9}")
}

/// Identifiers as stored: the JSON array of their serde form.
pub(crate) fn identifiers_json(identifiers: &[Identifier]) -> serde_json::Result<String> {
    serde_json::to_string(identifiers)
}

/// Kept references as stored: the JSON array of their serde form.
pub(crate) fn kept_json(kept: &[RecordRef]) -> serde_json::Result<String> {
    serde_json::to_string(kept)
}

/// The identifiers a decision stores: as given, and none (NULL) for a decision given none,
/// unless it is selected: its tasks and requests are made from it.
pub(crate) fn decision_identifiers(d: &crate::Decision) -> serde_json::Result<Option<String>> {
    match d.selected || !d.identifiers.is_empty() {
        true => identifiers_json(&d.identifiers).map(Some),
        false => Ok(None),
    }
}

/// A row of `(system, state, count)`, for [`crate::Store::task_counts`].
pub(crate) fn task_count<R: Columns>(r: &R) -> Result<(String, crate::TaskState, u64), R::Error> {
    Ok((r.string(0)?, r.parsed(1)?, r.number(2)?))
}

/// A row of `(subject_key, reason, identifiers_json)`, not selected unless the caller says.
pub(crate) fn decision<R: Columns>(r: &R) -> Result<crate::Decision, R::Error> {
    Ok(crate::Decision {
        subject_key: r.string(0)?,
        selected: false,
        reason: r.string(1)?,
        identifiers: r.identifiers(2)?,
    })
}

/// The tombstones erased at or after `since`, oldest first. Timestamps are compared as
/// instants, not text: their widths differ ("…:05.5Z" sorts before "…:05Z" as text).
pub(crate) fn since(tombstones: Vec<TombstoneRecord>, since: Timestamp) -> Vec<TombstoneRecord> {
    let mut found: Vec<TombstoneRecord> = tombstones
        .into_iter()
        .filter(|t| t.tombstone.erased_at >= since)
        .collect();
    found.sort_by_key(|t| (t.tombstone.erased_at, t.id));
    found
}

/// Whether a tombstone stored as expiring at `expires_at` has expired at `now`; one whose
/// time cannot be read goes too (it could never be pruned otherwise).
pub(crate) fn expired(expires_at: &str, now: Timestamp) -> bool {
    expires_at.parse::<Timestamp>().map_or(true, |at| at <= now)
}

/// A row of `(subject_key, warned_at)`: a standing warning.
pub(crate) fn standing<R: Columns>(r: &R) -> Result<(String, Timestamp), R::Error> {
    Ok((r.string(0)?, r.parsed(1)?))
}

/// A row whose first column is an instant or NULL (e.g. `min(not_before)`).
pub(crate) fn optional_instant<R: Columns>(r: &R) -> Result<Option<Timestamp>, R::Error> {
    r.optional(0)
}

/// A row whose first column is a request's state.
pub(crate) fn request_state<R: Columns>(r: &R) -> Result<crate::RequestState, R::Error> {
    r.parsed(0)
}
