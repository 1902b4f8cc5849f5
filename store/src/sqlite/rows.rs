//! How gallra's values are written to and read from SQLite rows.
//!
//! Timestamps are RFC 3339 text in UTC; enums are their stored names; identifiers are the JSON
//! array of their serde form. A value that does not read back is an error, never a default.

use gallra_plugin_api::Identifier;
use jiff::Timestamp;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, Type, ValueRef};
use rusqlite::{Row, ToSql};

use crate::{Action, RunId, RunRecord, RunState, TaskId, TaskRecord, TaskState};

/// The columns [`run_from_row`] reads, as the start of a query.
pub(super) const RUN_COLUMNS: &str =
    "SELECT id, policy, mode, scheduled_for, state, started_at, finished_at,
    scanned, selected, detail FROM runs";

pub(super) fn run_from_row(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    let finished_at: Option<String> = r.get(6)?;
    Ok(RunRecord {
        id: r.get(0)?,
        policy: r.get(1)?,
        mode: r.get(2)?,
        scheduled_for: timestamp(r, 3)?,
        state: r.get(4)?,
        started_at: timestamp(r, 5)?,
        finished_at: finished_at.map(|s| parse_timestamp(6, &s)).transpose()?,
        scanned: r.get(7)?,
        selected: r.get(8)?,
        detail: r.get(9)?,
    })
}

/// Reads a row of `PENDING_TASKS`.
pub(super) fn task_from_row(r: &Row<'_>) -> rusqlite::Result<TaskRecord> {
    Ok(TaskRecord {
        id: r.get(0)?,
        run: r.get(1)?,
        subject_key: r.get(2)?,
        system: r.get(3)?,
        action: r.get(4)?,
        order: r.get(5)?,
        state: r.get::<_, StoredState>(6)?.0,
        attempts: r.get(7)?,
        detail: r.get(8)?,
        updated_at: timestamp(r, 9)?,
        identifiers: identifiers_from_row(r, 10)?,
    })
}

/// Timestamps are stored as RFC 3339 in UTC: one spelling per instant, so the unique
/// (policy, scheduled_for) holds, and readable with `sqlite3`.
pub(super) fn ts(t: Timestamp) -> String {
    t.to_string()
}

pub(super) fn timestamp(r: &Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    parse_timestamp(idx, &r.get::<_, String>(idx)?)
}

fn parse_timestamp(idx: usize, s: &str) -> rusqlite::Result<Timestamp> {
    s.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

/// SQLite's LIMIT is an i64; "no limit" (`usize::MAX`) must not overflow it.
pub(super) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Why stored identifiers could not be read. Deliberately without serde's message, which can
/// quote the value, i.e. personal data.
#[derive(Debug, thiserror::Error)]
#[error("the identifiers of a decision are not in the form this gallra writes")]
struct UnreadableIdentifiers;

pub(super) fn identifiers_to_json(identifiers: &[Identifier]) -> rusqlite::Result<String> {
    serde_json::to_string(identifiers)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))
}

pub(super) fn identifiers_from_row(r: &Row<'_>, idx: usize) -> rusqlite::Result<Vec<Identifier>> {
    match r.get::<_, Option<String>>(idx)? {
        None => Ok(Vec::new()),
        Some(json) => serde_json::from_str(&json).map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                idx,
                Type::Text,
                Box::new(UnreadableIdentifiers),
            )
        }),
    }
}

/// Ids are stored as plain integers.
macro_rules! sql_id {
    ($ty:ident) => {
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(self.0.into())
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value.as_i64().map($ty)
            }
        }
    };
}

pub(super) use sql_id;

sql_id!(RunId);
sql_id!(TaskId);

/// Enums are stored as their names; an unknown name reads as corrupt, not as a default.
macro_rules! sql_named {
    ($ty:ident) => {
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse::<$ty>()
                    .map_err(|e| FromSqlError::Other(e.to_string().into()))
            }
        }
    };
}

pub(super) use sql_named;

sql_named!(RunState);

sql_named!(Action);

/// A task's state as stored: its name. (The state is gallra-core's, so it cannot carry
/// rusqlite's traits itself.)
pub(super) struct StoredState(pub TaskState);

impl ToSql for StoredState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(self.0.as_str().into())
    }
}

impl FromSql for StoredState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse::<TaskState>()
            .map(StoredState)
            .map_err(|e| FromSqlError::Other(e.to_string().into()))
    }
}
