//! [`RestoreStore`] on SQLite: tables `restore_windows` and `restore_keeps` (schema version
//! 7). What was kept is only ever stored sealed; the key is a file (the daemon's `restore` module).

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension, Row};

use super::rows::{timestamp, ts};
use super::SqliteStore;
use crate::Sealed;
use crate::{RestoreKeep, RestoreStore, RestoreWindow, Result, RunId};

const WINDOW_COLUMNS: &str = "run, policy, kept_until, destroyed_at";

fn window_from_row(r: &Row<'_>) -> rusqlite::Result<RestoreWindow> {
    Ok(RestoreWindow {
        run: RunId(r.get(0)?),
        policy: r.get(1)?,
        kept_until: timestamp(r, 2)?,
        destroyed_at: match r.get::<_, Option<String>>(3)? {
            Some(_) => Some(timestamp(r, 3)?),
            None => None,
        },
    })
}

fn keep_from_row(r: &Row<'_>) -> rusqlite::Result<RestoreKeep> {
    Ok(RestoreKeep {
        run: RunId(r.get(0)?),
        system: r.get(1)?,
        subject_key: r.get(2)?,
        kept_at: timestamp(r, 3)?,
        sealed: Sealed {
            ciphertext: r.get(4)?,
            nonce: r.get(5)?,
        },
    })
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
                &format!("SELECT {WINDOW_COLUMNS} FROM restore_windows WHERE run = ?1"),
                [run.0],
                window_from_row,
            )?)
        })
    }

    fn restore_window(&self, run: RunId) -> Result<Option<RestoreWindow>> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {WINDOW_COLUMNS} FROM restore_windows WHERE run = ?1"),
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
            let mut stmt = conn.prepare_cached(
                "SELECT run, system, subject_key, kept_at, sealed, nonce FROM restore_keeps
                 WHERE run = ?1 AND (?2 IS NULL OR system = ?2) ORDER BY system, subject_key",
            )?;
            let rows = stmt.query_map(params![run.0, system], keep_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn ended_restore_windows(&self, now: Timestamp) -> Result<Vec<RestoreWindow>> {
        // Timestamps are compared as instants, not text: their widths differ.
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {WINDOW_COLUMNS} FROM restore_windows WHERE destroyed_at IS NULL ORDER BY run"
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
