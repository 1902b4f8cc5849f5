//! How gallra's values are written to and read from SQLite rows.
//!
//! Timestamps are RFC 3339 text in UTC; enums are their stored names; identifiers are the JSON
//! array of their serde form. A value that does not read back is an error, never a default.
//! The records themselves are read in `crate::columns`, the same for both backends.

use gallra_plugin_api::Identifier;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, Type, ValueRef};
use rusqlite::{Row, ToSql};

use crate::columns::{self, Cause, Columns};
use crate::{Action, RunId, RunRecord, RunState, TaskId, TaskRecord, TaskState};

pub(super) use crate::columns::{ts, RUN_COLUMNS};

/// SQLite's rows as [`Columns`]: what gallra cannot read is a conversion failure, which the
/// store reports as corrupt.
impl Columns for Row<'_> {
    type Error = rusqlite::Error;

    fn text(&self, idx: usize) -> rusqlite::Result<Option<String>> {
        self.get(idx)
    }

    fn int(&self, idx: usize) -> rusqlite::Result<Option<i64>> {
        self.get(idx)
    }

    fn blob(&self, idx: usize) -> rusqlite::Result<Vec<u8>> {
        self.get(idx)
    }

    fn corrupt(&self, idx: usize, cause: Cause) -> rusqlite::Error {
        rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, cause)
    }
}

pub(super) fn run_from_row(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    columns::run(r)
}

/// Reads a row of `PENDING_TASKS`.
pub(super) fn task_from_row(r: &Row<'_>) -> rusqlite::Result<TaskRecord> {
    columns::task(r)
}

/// SQLite's LIMIT is an i64; "no limit" (`usize::MAX`) must not overflow it.
pub(super) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(super) fn identifiers_to_json(identifiers: &[Identifier]) -> rusqlite::Result<String> {
    columns::identifiers_json(identifiers)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))
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
