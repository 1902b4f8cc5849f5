//! [`RestoreStore`] on SQLite: tables `restore_windows` and `restore_keeps` (schema version
//! 7). What was kept is only ever stored sealed; the key is a file (the daemon's `restore` module).

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension, Row};

use super::rows::{timestamp, ts};
use super::SqliteStore;
use crate::{RestoreKeep, RestoreStore, RestoreWindow, Result, RunId};
use crate::Sealed;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn store_with_run(dir: &std::path::Path) -> (SqliteStore, RunId) {
        let store = SqliteStore::open(dir).unwrap();
        let run = store
            .begin_run(
                "idle",
                "enforce",
                at("2026-01-01T03:00:00Z"),
                at("2026-01-01T03:00:00Z"),
            )
            .unwrap();
        (store, run)
    }

    fn keep(run: RunId, system: &str, subject: &str, bytes: &[u8]) -> RestoreKeep {
        RestoreKeep {
            run,
            system: system.into(),
            subject_key: subject.into(),
            kept_at: at("2026-01-01T03:00:01Z"),
            sealed: Sealed {
                ciphertext: bytes.to_vec(),
                nonce: vec![0; 24],
            },
        }
    }

    #[test]
    fn a_window_is_opened_once_and_its_first_end_stands() {
        let dir = tempfile::tempdir().unwrap();
        let (store, run) = store_with_run(dir.path());
        let first = store
            .open_restore_window(run, "idle", at("2026-01-15T03:00:00Z"))
            .unwrap();
        let again = store
            .open_restore_window(run, "idle", at("2026-02-15T03:00:00Z"))
            .unwrap();
        assert_eq!(first, again);
        assert_eq!(again.kept_until, at("2026-01-15T03:00:00Z"));
        assert_eq!(store.restore_window(run).unwrap(), Some(first));
    }

    #[test]
    fn a_keep_is_stored_once_and_the_first_stands() {
        let dir = tempfile::tempdir().unwrap();
        let (store, run) = store_with_run(dir.path());
        store
            .open_restore_window(run, "idle", at("2026-01-15T03:00:00Z"))
            .unwrap();
        assert!(!store.is_kept(run, "crm", "7").unwrap());
        store.keep(&keep(run, "crm", "7", b"first")).unwrap();
        store.keep(&keep(run, "crm", "7", b"second")).unwrap();
        store.keep(&keep(run, "panel", "7", b"panel")).unwrap();
        assert!(store.is_kept(run, "crm", "7").unwrap());
        let crm = store.kept(run, Some("crm")).unwrap();
        assert_eq!(crm.len(), 1);
        assert_eq!(crm[0].sealed.ciphertext, b"first");
        assert_eq!(store.kept(run, None).unwrap().len(), 2);
    }

    #[test]
    fn an_ended_window_is_listed_until_destroyed_and_then_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (store, run) = store_with_run(dir.path());
        store
            .open_restore_window(run, "idle", at("2026-01-15T03:00:00Z"))
            .unwrap();
        store.keep(&keep(run, "crm", "7", b"x")).unwrap();
        assert!(store
            .ended_restore_windows(at("2026-01-15T02:59:59Z"))
            .unwrap()
            .is_empty());
        let ended = store
            .ended_restore_windows(at("2026-01-15T03:00:00Z"))
            .unwrap();
        assert_eq!(ended.len(), 1);
        store
            .destroy_restore_window(run, at("2026-01-16T00:00:00Z"))
            .unwrap();
        assert!(store.kept(run, None).unwrap().is_empty());
        assert!(store
            .ended_restore_windows(at("2026-02-01T00:00:00Z"))
            .unwrap()
            .is_empty());
        let window = store.restore_window(run).unwrap().unwrap();
        assert_eq!(window.destroyed_at, Some(at("2026-01-16T00:00:00Z")));
    }
}
