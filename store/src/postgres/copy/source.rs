//! The SQLite side of a copy: the state database opened read-only, at this gallra's schema
//! version, read in one snapshot, each value as the text PostgreSQL's input for its column
//! accepts.

use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::{migrations, StoreError};

/// The state database, read-only, inside one read transaction (one snapshot).
pub(super) struct Source {
    pub(super) path: PathBuf,
    conn: Connection,
}

impl Source {
    /// Opens `state_dir/state.db` read-only and checks its schema version. `to` names the
    /// target in errors.
    pub(super) fn open(state_dir: &Path, to: &str) -> Result<Source, StoreError> {
        let path = state_dir.join("state.db");
        let refuse = |path: &Path, why: String| StoreError::Copy {
            from: path.to_owned(),
            to: to.to_owned(),
            why,
        };
        if !path.is_file() {
            return Err(refuse(
                &path,
                "there is no state database there (is state_dir in the config the one the SQLite daemon used?)".to_owned(),
            ));
        }
        // No URI parsing: a state_dir spelled `file:…` is a path, not options.
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| StoreError::Open {
            path: path.clone(),
            source: e.into(),
        })?;
        let source = Source { path, conn };
        let found: i64 = source
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| source.sqlite(e))?;
        if found > migrations::LATEST {
            return Err(StoreError::TooNew {
                path: source.path,
                found,
                known: migrations::LATEST,
            });
        }
        if found < migrations::LATEST {
            return Err(refuse(
                &source.path,
                format!(
                "its schema version is {found}, older than this gallra's {}: run this gallra once on the SQLite state to upgrade it (start the daemon with the SQLite config and stop it again), then copy",
                migrations::LATEST
            ),
            ));
        }
        // Every read from here on sees the same snapshot.
        source
            .conn
            .execute_batch("BEGIN DEFERRED; SELECT count(*) FROM sqlite_master;")
            .map_err(|e| source.sqlite(e))?;
        Ok(source)
    }

    /// The database's own tables (not SQLite's bookkeeping), by name.
    pub(super) fn tables(&self) -> Result<Vec<String>, StoreError> {
        self.strings(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            [],
        )
    }

    /// The columns of `table`, in their order.
    pub(super) fn columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        self.strings(
            "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
            [table],
        )
    }

    /// How many rows `table` has.
    pub(super) fn count(&self, table: &str) -> Result<i64, StoreError> {
        let sql = format!("SELECT count(*) FROM {}", quote(table));
        self.conn
            .query_row(&sql, [], |r| r.get(0))
            .map_err(|e| self.sqlite(e))
    }

    /// The highest id AUTOINCREMENT has handed out in `table` (also of rows since deleted),
    /// so that no id comes to mean a second row; 0 if none.
    pub(super) fn last_id(&self, table: &str) -> Result<i64, StoreError> {
        let sql = "SELECT seq FROM sqlite_sequence WHERE name = ?1";
        let seq: Option<i64> = self
            .conn
            .query_row(sql, [table], |r| r.get(0))
            .optional()
            .map_err(|e| self.sqlite(e))?;
        Ok(seq.unwrap_or(0))
    }

    /// Calls `each` with every row of `table` (`columns`, in that order), each value as text
    /// (`None` for NULL): integers in decimal, blobs as `\x` and hex.
    pub(super) fn rows<E: From<StoreError>>(
        &self,
        table: &str,
        columns: &[String],
        mut each: impl FnMut(Vec<Option<String>>) -> Result<(), E>,
    ) -> Result<(), E> {
        let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY rowid",
            list.join(", "),
            quote(table)
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sqlite(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.sqlite(e))?;
        while let Some(row) = rows.next().map_err(|e| self.sqlite(e))? {
            let mut values = Vec::with_capacity(columns.len());
            for (idx, column) in columns.iter().enumerate() {
                let value = row.get_ref(idx).map_err(|e| self.sqlite(e))?;
                values.push(as_text(value).map_err(|source| StoreError::Corrupt {
                    path: self.path.clone(),
                    source: format!("table {table}, column {column}: {source}").into(),
                })?);
            }
            each(values)?;
        }
        Ok(())
    }

    fn strings<P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.sqlite(e))?;
        let names = stmt
            .query_map(params, |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>());
        names.map_err(|e| self.sqlite(e))
    }

    fn sqlite(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

/// A value as text PostgreSQL's input functions read: `1`/`0` is a BOOLEAN too, `\x…` a
/// BYTEA. The error never quotes the value.
fn as_text(value: ValueRef<'_>) -> Result<Option<String>, &'static str> {
    Ok(match value {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
        ValueRef::Text(bytes) => {
            Some(String::from_utf8(bytes.to_vec()).map_err(|_| "a text value is not valid UTF-8")?)
        }
        ValueRef::Blob(bytes) => {
            let mut hex = String::with_capacity(2 + 2 * bytes.len());
            hex.push_str("\\x");
            for b in bytes {
                hex.push_str(&format!("{b:02x}"));
            }
            Some(hex)
        }
    })
}

/// `name` as an SQL identifier (the same quoting in SQLite and PostgreSQL).
pub(super) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_the_text_postgresql_reads() {
        assert_eq!(as_text(ValueRef::Null), Ok(None));
        assert_eq!(as_text(ValueRef::Integer(-7)), Ok(Some("-7".to_owned())));
        assert_eq!(as_text(ValueRef::Text(b"x")), Ok(Some("x".to_owned())));
        assert_eq!(
            as_text(ValueRef::Blob(&[0, 0xab, 0xff])),
            Ok(Some("\\x00abff".to_owned()))
        );
        assert!(as_text(ValueRef::Text(&[0xff])).is_err());
    }
}
