//! SQLite through `rusqlite`.

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{Client, DbError, Row};
use crate::sql::{Dialect, Param, Query};

/// How long a statement waits for another writer's lock before giving up (transient).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per connection (as for PostgreSQL).
const STATEMENT_CACHE: usize = 256;

/// An open SQLite database file.
pub struct Sqlite {
    connection: Connection,
}

impl Sqlite {
    /// Opens an existing database file for reading and writing; never creates one.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags).map_err(map_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(map_error)?;
        // Lookups and erasures bind IN lists of a few lengths per identifier kind, so there
        // are more distinct statements than rusqlite's default 16; re-parsing them showed
        // in the purge's profile.
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Without this, SQLite reads a quoted name that matches no column as a string
        // literal, and a misspelt activity column would quietly read as "no activity".
        for config in [
            DbConfig::SQLITE_DBCONFIG_DQS_DML,
            DbConfig::SQLITE_DBCONFIG_DQS_DDL,
        ] {
            connection.set_db_config(config, false).map_err(map_error)?;
        }
        Ok(Self { connection })
    }
}

impl Client for Sqlite {
    fn query(&mut self, query: &Query) -> Result<Vec<Row>, DbError> {
        let mut statement = self
            .connection
            .prepare_cached(&query.sql)
            .map_err(map_error)?;
        let width = statement.column_count();
        let mut rows = statement
            .query(rusqlite::params_from_iter(query.params.iter().map(value)))
            .map_err(map_error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_error)? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(text(row.get_ref(i).map_err(map_error)?));
            }
            out.push(values);
        }
        Ok(out)
    }

    fn execute(&mut self, query: &Query) -> Result<u64, DbError> {
        let mut statement = self
            .connection
            .prepare_cached(&query.sql)
            .map_err(map_error)?;
        let changed = statement
            .execute(rusqlite::params_from_iter(query.params.iter().map(value)))
            .map_err(map_error)?;
        Ok(changed as u64)
    }

    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.connection.execute_batch(sql).map_err(map_error)
    }

    fn columns(&mut self, table: &str) -> Result<Vec<String>, DbError> {
        let sql = format!("SELECT * FROM {} WHERE 1 = 0", Dialect::Sqlite.quote(table));
        let statement = self.connection.prepare(&sql).map_err(map_error)?;
        Ok(statement
            .column_names()
            .into_iter()
            .map(str::to_owned)
            .collect())
    }
}

fn value(param: &Param) -> Value {
    match param {
        Param::Int(i) => Value::Integer(*i),
        Param::Text(s) | Param::Match(s) => Value::Text(s.clone()),
        Param::Null => Value::Null,
    }
}

fn text(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(b) | ValueRef::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
    }
}

/// SQLite's messages name tables, columns and constraints, never values.
fn map_error(error: rusqlite::Error) -> DbError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let message = message.clone().unwrap_or_else(|| failure.to_string());
            match failure.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                    DbError::transient(format!("{message} (another program holds a lock)"))
                }
                // Out of descriptors (EMFILE/ENFILE shows as "unable to open database file"),
                // memory or disk: the resource comes back, and the erase must not fail for good
                // meanwhile (the file itself was checked at open).
                ErrorCode::CannotOpen | ErrorCode::OutOfMemory | ErrorCode::DiskFull => {
                    DbError::transient(format!(
                        "{message} (out of file descriptors, memory or disk space? tried again later)"
                    ))
                }
                _ => DbError::permanent(message),
            }
        }
        rusqlite::Error::IntegralValueOutOfRange(column, _) => {
            DbError::permanent(format!("an integer is out of range in column {column}"))
        }
        // The other errors describe types, names and positions, not values.
        _ => DbError::permanent(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::ffi;

    use super::map_error;

    fn failure(code: i32, message: &str) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), Some(message.to_owned()))
    }

    #[test]
    fn running_out_of_descriptors_memory_or_disk_is_transient_never_final() {
        for code in [ffi::SQLITE_CANTOPEN, ffi::SQLITE_NOMEM, ffi::SQLITE_FULL] {
            let error = map_error(failure(code, "unable to open database file"));
            assert!(error.transient, "{code}: {error}");
            assert!(!error.connection_lost, "{code}");
        }
        assert!(!map_error(failure(ffi::SQLITE_CONSTRAINT, "UNIQUE constraint failed")).transient);
    }
}
