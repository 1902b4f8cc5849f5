//! Moving a state from SQLite to PostgreSQL: every row of `state_dir/state.db` into a new,
//! empty PostgreSQL store, in one transaction, so that the daemon carries on from the same
//! runs, tasks, requests and audit heads after its config names the new store.
//!
//! Generic by design: each table's columns are read from both schemas and every value goes
//! over as text, cast to the PostgreSQL column's type (`1`/`0` to BOOLEAN, `\x…` to BYTEA),
//! so that a column added by a later migration needs no change here. Only a new table does:
//! [`TABLES`] lists them in an order that respects the foreign keys, and a copy refuses to
//! start when either schema has a table the list lacks.
//!
//! Privacy: rows hold identifiers. Nothing here logs or reports a value, only tables and
//! counts.

mod source;

use std::collections::BTreeSet;
use std::path::Path;

use postgres::types::ToSql;
use postgres::Transaction;

use self::source::{quote, Source};
use super::fail::{Fail, Step};
use super::PostgresStore;
use crate::StoreError;

/// Every table of the state, parents before the tables that reference them. Not the schema
/// bookkeeping (`gallra_schema`, SQLite's own).
const TABLES: &[&str] = &[
    "runs",
    "decisions",
    "tasks",
    "requests",
    "request_tasks",
    "notices",
    "warnings",
    "tombstones",
    "restore_windows",
    "restore_keeps",
    "audit_head",
    "leader",
];

/// PostgreSQL's own table of the schema version, which the target has already.
const BOOKKEEPING: &str = "gallra_schema";

/// Rows sent in one statement.
const BATCH: usize = 1000;

/// What a copy wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyReport {
    /// Every table, in the order copied, with its rows (the same count in both stores).
    pub tables: Vec<TableCopied>,
}

/// One table's rows copied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableCopied {
    /// The table.
    pub table: String,
    /// Its rows, in the SQLite state and now in PostgreSQL.
    pub rows: u64,
}

/// Copies the SQLite state in `state_dir` (`state.db`, opened read-only, which must be at
/// this gallra's schema version) into `to`, which must be empty: nothing in any table, as
/// [`PostgresStore::connect`] leaves a new database. All in one transaction: on any error
/// `to` is left as it was. The identity sequences are set past the copied ids (and past ids
/// SQLite handed out to rows since deleted), and every table's row count is checked before
/// the commit.
///
/// Stop every daemon using the SQLite state first: a daemon writing meanwhile would carry on
/// with a state the copy does not have.
///
/// Fails with [`StoreError::Copy`] for a state or target it refuses (an older state, a
/// target with rows, schemas that differ), [`StoreError::TooNew`] for a state written by a
/// newer gallra.
pub fn copy_sqlite_state(state_dir: &Path, to: &PostgresStore) -> crate::Result<CopyReport> {
    let source = Source::open(state_dir, to.database())?;
    to.call(move |client, ctx| {
        let mut tx = client.transaction()?;
        let copy = Copy {
            source: &source,
            to: &ctx.database,
        };
        let report = copy.run(&mut tx)?;
        tx.commit()?;
        Ok(report)
    })
}

/// One copy under way, inside the target's transaction.
struct Copy<'a> {
    source: &'a Source,
    /// The target, as messages name it.
    to: &'a str,
}

/// A PostgreSQL column.
struct Column {
    name: String,
    /// As PostgreSQL spells it (`bigint`, `boolean`, `bytea`, …): the cast of its text.
    data_type: String,
    identity: bool,
}

impl Copy<'_> {
    fn run(&self, tx: &mut Transaction<'_>) -> Step<CopyReport> {
        self.same_tables(tx)?;
        // No daemon writes meanwhile, and a second copy waits, then finds rows.
        let all: Vec<String> = TABLES.iter().map(|t| quote(t)).collect();
        tx.batch_execute(&format!("LOCK TABLE {} IN EXCLUSIVE MODE", all.join(", ")))?;
        for table in TABLES {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quote(table));
            if tx.query_one(&sql, &[])?.get::<_, bool>(0) {
                return Err(self.refuse(format!(
                    "its table {table} already has rows: copy only into a new, empty database or schema (a second copy would mix two states); if an earlier copy into it succeeded, use it as it is"
                )));
            }
        }
        let mut tables = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let columns = self.columns(tx, table)?;
            self.copy_rows(tx, table, &columns)?;
            self.restart_ids(tx, table, &columns)?;
            tables.push(self.check_count(tx, table)?);
        }
        Ok(CopyReport { tables })
    }

    /// Both schemas hold exactly [`TABLES`] (and their bookkeeping): a table this list lacks
    /// would be left behind.
    fn same_tables(&self, tx: &mut Transaction<'_>) -> Step<()> {
        let known: BTreeSet<String> = TABLES.iter().map(|t| t.to_string()).collect();
        let sqlite: BTreeSet<String> = self.source.tables()?.into_iter().collect();
        let rows = tx.query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
                 AND table_name <> $1",
            &[&BOOKKEEPING],
        )?;
        let postgres: BTreeSet<String> = rows.iter().map(|r| r.get(0)).collect();
        for (store, tables) in [("the SQLite state", &sqlite), ("the target", &postgres)] {
            if let Some(table) = tables.symmetric_difference(&known).next() {
                return Err(self.refuse(format!(
                    "{store} has tables other than this gallra's (table {table}); copy with the gallra that wrote the state, into a store it made"
                )));
            }
        }
        Ok(())
    }

    /// The target's columns of `table`, after checking that SQLite's have the same names.
    fn columns(&self, tx: &mut Transaction<'_>, table: &str) -> Step<Vec<Column>> {
        let rows = tx.query(
            "SELECT column_name::text, data_type::text, is_identity::text = 'YES'
             FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1
             ORDER BY ordinal_position",
            &[&table],
        )?;
        let columns: Vec<Column> = rows
            .iter()
            .map(|r| Column {
                name: r.get(0),
                data_type: r.get(1),
                identity: r.get(2),
            })
            .collect();
        let theirs: BTreeSet<String> = self.source.columns(table)?.into_iter().collect();
        let ours: BTreeSet<String> = columns.iter().map(|c| c.name.clone()).collect();
        if let Some(column) = theirs.symmetric_difference(&ours).next() {
            return Err(self.refuse(format!(
                "table {table} has different columns in SQLite and PostgreSQL (column {column}); copy with the gallra that wrote the state, into a store it made"
            )));
        }
        Ok(columns)
    }

    /// Every row of `table`, [`BATCH`] at a time: each column as one text array, cast back
    /// to its type row by row.
    fn copy_rows(&self, tx: &mut Transaction<'_>, table: &str, columns: &[Column]) -> Step<()> {
        let names: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
        let arrays: Vec<String> = (1..=columns.len())
            .map(|n| format!("${n}::text[]"))
            .collect();
        let casts: Vec<String> = columns
            .iter()
            .map(|c| format!("u.{}::{}", quote(&c.name), c.data_type))
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({names}) OVERRIDING SYSTEM VALUE
             SELECT {casts} FROM unnest({arrays}) AS u ({names})",
            table = quote(table),
            names = names.join(", "),
            casts = casts.join(", "),
            arrays = arrays.join(", "),
        );
        let insert = tx.prepare(&sql)?;
        let source_columns: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let mut batch: Vec<Vec<Option<String>>> = vec![Vec::new(); columns.len()];
        let mut flush = |batch: &mut Vec<Vec<Option<String>>>| -> Step<()> {
            let params: Vec<&(dyn ToSql + Sync)> =
                batch.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
            tx.execute(&insert, &params)?;
            batch.iter_mut().for_each(Vec::clear);
            Ok(())
        };
        self.source.rows(table, &source_columns, |row| {
            for (column, value) in batch.iter_mut().zip(row) {
                column.push(value);
            }
            match batch[0].len() >= BATCH {
                true => flush(&mut batch),
                false => Ok(()),
            }
        })?;
        if !batch[0].is_empty() {
            flush(&mut batch)?;
        }
        Ok(())
    }

    /// Sets each identity column's sequence past the highest id SQLite handed out, so that
    /// the next row the daemon makes gets a new id.
    fn restart_ids(&self, tx: &mut Transaction<'_>, table: &str, columns: &[Column]) -> Step<()> {
        for column in columns.iter().filter(|c| c.identity) {
            let sql = format!(
                "SELECT coalesce(max({}), 0) FROM {}",
                quote(&column.name),
                quote(table)
            );
            let copied: i64 = tx.query_one(&sql, &[])?.get(0);
            let last = copied.max(self.source.last_id(table)?);
            if last > 0 {
                tx.execute(
                    "SELECT setval(pg_get_serial_sequence($1, $2), $3)",
                    &[&quote(table), &column.name, &last],
                )?;
            }
        }
        Ok(())
    }

    /// Both stores have as many rows in `table`.
    fn check_count(&self, tx: &mut Transaction<'_>, table: &str) -> Step<TableCopied> {
        let sql = format!("SELECT count(*) FROM {}", quote(table));
        let copied: i64 = tx.query_one(&sql, &[])?.get(0);
        let read = self.source.count(table)?;
        if copied != read {
            return Err(self.refuse(format!(
                "table {table} has {read} rows in SQLite but {copied} were written; nothing was copied (is the state database being written meanwhile? stop the daemon)"
            )));
        }
        Ok(TableCopied {
            table: table.to_string(),
            rows: copied as u64,
        })
    }

    fn refuse(&self, why: String) -> Fail {
        Fail::Store(StoreError::Copy {
            from: self.source.path.clone(),
            to: self.to.to_owned(),
            why,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{source::Source, TABLES};
    use crate::SqliteStore;

    #[test]
    fn the_list_holds_every_table_of_the_sqlite_schema() {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(dir.path()).unwrap());
        let source = Source::open(dir.path(), "test").unwrap();
        let found: BTreeSet<String> = source.tables().unwrap().into_iter().collect();
        let listed: BTreeSet<String> = TABLES.iter().map(|t| t.to_string()).collect();
        assert_eq!(found, listed);
    }
}
