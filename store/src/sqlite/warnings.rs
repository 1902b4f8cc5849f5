//! [`WarningStore`] on SQLite: table `warnings` (schema version 3), and the held addresses
//! on `decisions`. Also a read-only opening of the state database for `gallra plan`, which
//! must see the standing warnings without changing anything.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use jiff::Timestamp;
use rusqlite::{params, Connection, OpenFlags, Row};

use super::rows::{sql_limit, ts};
use super::{SqliteStore, BUSY_TIMEOUT};
use crate::columns::{self, WARNING_COLUMNS};
use crate::{
    migrations, ClearWhy, Decision, Result, RunId, StoreError, WarningRecord, WarningStore,
};
use gallra_core::policy::Reason;

/// The first schema version with the `warnings` table.
const WARNINGS_VERSION: i64 = 3;

/// Standing warnings among a JSON array of keys; served by the index `warnings_standing`.
const STANDING: &str = "SELECT subject_key, warned_at FROM warnings
    WHERE policy = ?1 AND cleared_at IS NULL
        AND subject_key IN (SELECT value FROM json_each(?2))";

const CLEAR: &str = "UPDATE warnings SET cleared_at = ?3, cleared_why = ?4
    WHERE policy = ?1 AND subject_key = ?2 AND cleared_at IS NULL";

/// Decisions due a warning; served by the decisions' unique (run, subject_key) index.
const DUE: &str = "SELECT subject_key, reason, identifiers_json FROM decisions
    WHERE run = ?1 AND subject_key > ?2 AND reason = ?3
    ORDER BY subject_key LIMIT ?4";

/// Subjects whose every task in the run is done: the erased.
const CLEAR_ERASED: &str = "UPDATE warnings SET cleared_at = ?3, cleared_why = 'erased'
    WHERE policy = ?1 AND cleared_at IS NULL AND subject_key IN (
        SELECT subject_key FROM tasks WHERE run = ?2
        GROUP BY subject_key HAVING count(*) = sum(state = 'done'))";

const HISTORY: &str = "WHERE policy = ?1 AND subject_key = ?2 ORDER BY id";

impl SqliteStore {
    /// Up to `limit` decisions of `run` still due a warning with a key after `after_key`, in
    /// key order, with their held identifiers.
    pub(super) fn warnings_due(
        &self,
        run: RunId,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Decision>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(DUE)?;
            // Every key sorts after the empty string.
            let after = after_key.unwrap_or("");
            let rows = stmt.query_map(
                params![run, after, Reason::WarningDue.code(), sql_limit(limit)],
                |r| columns::decision(r),
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Opens `state_dir/state.db` to read only, never creating, upgrading or writing it:
    /// `None` if there is none yet, or if it predates warnings (so it holds none). A
    /// database from a newer gallra is refused with [`StoreError::TooNew`].
    pub fn open_read_only(state_dir: &Path) -> Result<Option<SqliteStore>> {
        let path = state_dir.join("state.db");
        if !path.exists() {
            return Ok(None);
        }
        let open_err = |source: rusqlite::Error| StoreError::Open {
            path: path.clone(),
            source: source.into(),
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_err)?;
        if version > migrations::LATEST {
            return Err(StoreError::TooNew {
                path,
                found: version,
                known: migrations::LATEST,
            });
        }
        if version < WARNINGS_VERSION {
            return Ok(None);
        }
        Ok(Some(SqliteStore {
            path,
            conn: Mutex::new(conn),
            lease: crate::Lease::default(),
            #[cfg(test)]
            commits: Default::default(),
        }))
    }
}

impl WarningStore for SqliteStore {
    fn standing_warnings(
        &self,
        policy: &str,
        keys: &[&str],
    ) -> Result<BTreeMap<String, Timestamp>> {
        if keys.is_empty() {
            return Ok(BTreeMap::new());
        }
        let keys = serde_json::to_string(keys).expect("strings encode as JSON");
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(STANDING)?;
            let rows = stmt.query_map(params![policy, keys], |r| columns::standing(r))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn clear_warnings(
        &self,
        policy: &str,
        keys: &[&str],
        why: ClearWhy,
        now: Timestamp,
    ) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(CLEAR)?;
            let mut cleared = 0;
            for key in keys {
                cleared += stmt.execute(params![policy, key, ts(now), why.as_str()])? as u64;
            }
            Ok(cleared)
        })
    }

    fn record_warning(
        &self,
        policy: &str,
        run: RunId,
        subject_key: &str,
        warned_at: Timestamp,
        delete_on: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            self.ensure_run(tx, run)?;
            tx.prepare_cached(CLEAR)?.execute(params![
                policy,
                subject_key,
                ts(warned_at),
                ClearWhy::Superseded.as_str()
            ])?;
            tx.prepare_cached(
                "INSERT INTO warnings (policy, subject_key, run, warned_at, delete_on)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                policy,
                subject_key,
                run,
                ts(warned_at),
                ts(delete_on)
            ])?;
            tx.prepare_cached(
                "UPDATE decisions SET reason = ?3 WHERE run = ?1 AND subject_key = ?2",
            )?
            .execute(params![run, subject_key, Reason::Warned.code()])?;
            Ok(())
        })
    }

    fn clear_erased_warnings(&self, policy: &str, run: RunId, now: Timestamp) -> Result<u64> {
        self.write(|tx| {
            let cleared =
                tx.prepare_cached(CLEAR_ERASED)?
                    .execute(params![policy, run, ts(now)])?;
            Ok(cleared as u64)
        })
    }
}

impl SqliteStore {
    /// Every warning `policy` sent the subject, oldest first: the record of who was told
    /// what and when, for a person inspecting the database. Not part of the store traits:
    /// gallra itself only asks which warnings stand.
    pub fn warning_history(&self, policy: &str, subject_key: &str) -> Result<Vec<WarningRecord>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("{WARNING_COLUMNS} {HISTORY}"))?;
            let rows = stmt.query_map(params![policy, subject_key], warning_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

fn warning_from_row(r: &Row<'_>) -> rusqlite::Result<WarningRecord> {
    columns::warning(r)
}

#[cfg(test)]
mod tests;
