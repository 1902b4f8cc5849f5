//! [`RestoreStore`] on SQLite: tables `restore_windows` and `restore_keeps` (schema version
//! 7). What was kept is only ever stored sealed; the key is a file (the daemon's `restore` module).

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension, Row};

use super::rows::ts;
use super::SqliteStore;
use crate::columns::{self, KEEP_COLUMNS, WINDOW_COLUMNS};
use crate::{RestoreKeep, RestoreStore, RestoreWindow, Result, RunId};

fn window_from_row(r: &Row<'_>) -> rusqlite::Result<RestoreWindow> {
    columns::restore_window(r)
}

fn keep_from_row(r: &Row<'_>) -> rusqlite::Result<RestoreKeep> {
    columns::restore_keep(r)
}

impl RestoreStore for SqliteStore {
    fn open_restore_window(
        &self,
        run: RunId,
        policy: &str,
        kept_until: Timestamp,
    ) -> Result<RestoreWindow> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO restore_windows (run, policy, kept_until) VALUES (?1, ?2, ?3)
                 ON CONFLICT (run) DO NOTHING",
                params![run.0, policy, ts(kept_until)],
            )?;
            Ok(tx.query_row(
                &format!("{WINDOW_COLUMNS} WHERE run = ?1"),
                [run.0],
                window_from_row,
            )?)
        })
    }

    fn restore_window(&self, run: RunId) -> Result<Option<RestoreWindow>> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    &format!("{WINDOW_COLUMNS} WHERE run = ?1"),
                    [run.0],
                    window_from_row,
                )
                .optional()?)
        })
    }

    fn is_kept(&self, run: RunId, system: &str, subject_key: &str) -> Result<bool> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT 1 FROM restore_keeps WHERE run = ?1 AND system = ?2 AND subject_key = ?3",
                    params![run.0, system, subject_key],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })
    }

    fn keep(&self, keep: &RestoreKeep) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO restore_keeps (run, system, subject_key, kept_at, sealed, nonce)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (run, system, subject_key) DO NOTHING",
                params![
                    keep.run.0,
                    keep.system,
                    keep.subject_key,
                    ts(keep.kept_at),
                    keep.sealed.ciphertext,
                    keep.sealed.nonce
                ],
            )?;
            Ok(())
        })
    }

    fn kept(&self, run: RunId, system: Option<&str>) -> Result<Vec<RestoreKeep>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{KEEP_COLUMNS}
                 WHERE run = ?1 AND (?2 IS NULL OR system = ?2) ORDER BY system, subject_key"
            ))?;
            let rows = stmt.query_map(params![run.0, system], keep_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn ended_restore_windows(&self, now: Timestamp) -> Result<Vec<RestoreWindow>> {
        // Timestamps are compared as instants, not text: their widths differ.
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{WINDOW_COLUMNS} WHERE destroyed_at IS NULL ORDER BY run"
            ))?;
            let rows = stmt.query_map([], window_from_row)?;
            let open: Vec<RestoreWindow> = rows.collect::<rusqlite::Result<_>>()?;
            Ok(open.into_iter().filter(|w| w.kept_until <= now).collect())
        })
    }

    fn destroy_restore_window(&self, run: RunId, now: Timestamp) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM restore_keeps WHERE run = ?1", [run.0])?;
            tx.execute(
                "UPDATE restore_windows SET destroyed_at = ?2 WHERE run = ?1",
                params![run.0, ts(now)],
            )?;
            Ok(())
        })
    }
}
