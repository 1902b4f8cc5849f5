//! [`RestoreStore`] on PostgreSQL: tables `restore_windows` and `restore_keeps`. What was
//! kept is only ever stored sealed; the key is a file (the daemon's `restore` module).

use jiff::Timestamp;

use super::fail::all;
use super::PostgresStore;
use crate::columns::{self, ts, KEEP_COLUMNS, WINDOW_COLUMNS};
use crate::{RestoreKeep, RestoreStore, RestoreWindow, Result, RunId};

impl RestoreStore for PostgresStore {
    fn open_restore_window(
        &self,
        run: RunId,
        policy: &str,
        kept_until: Timestamp,
    ) -> Result<RestoreWindow> {
        let (policy, kept_until) = (policy.to_owned(), ts(kept_until));
        self.write(move |tx, _| {
            tx.execute(
                "INSERT INTO restore_windows (run, policy, kept_until) VALUES ($1, $2, $3)
                 ON CONFLICT (run) DO NOTHING",
                &[&run.0, &policy, &kept_until],
            )?;
            let sql = format!("{WINDOW_COLUMNS} WHERE run = $1");
            columns::restore_window(&tx.query_one(&sql, &[&run.0])?)
        })
    }

    fn restore_window(&self, run: RunId) -> Result<Option<RestoreWindow>> {
        self.read(move |client, _| {
            let sql = format!("{WINDOW_COLUMNS} WHERE run = $1");
            let row = client.query_opt(&sql, &[&run.0])?;
            row.as_ref().map(columns::restore_window).transpose()
        })
    }

    fn is_kept(&self, run: RunId, system: &str, subject_key: &str) -> Result<bool> {
        let (system, subject_key) = (system.to_owned(), subject_key.to_owned());
        self.read(move |client, _| {
            let row = client.query_opt(
                "SELECT 1 FROM restore_keeps WHERE run = $1 AND system = $2 AND subject_key = $3",
                &[&run.0, &system, &subject_key],
            )?;
            Ok(row.is_some())
        })
    }

    fn keep(&self, keep: &RestoreKeep) -> Result<()> {
        let keep = keep.clone();
        self.write(move |tx, _| {
            tx.execute(
                "INSERT INTO restore_keeps (run, system, subject_key, kept_at, sealed, nonce)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (run, system, subject_key) DO NOTHING",
                &[
                    &keep.run.0,
                    &keep.system,
                    &keep.subject_key,
                    &ts(keep.kept_at),
                    &keep.sealed.ciphertext,
                    &keep.sealed.nonce,
                ],
            )?;
            Ok(())
        })
    }

    fn kept(&self, run: RunId, system: Option<&str>) -> Result<Vec<RestoreKeep>> {
        let system = system.map(str::to_owned);
        self.read(move |client, _| {
            let sql = format!(
                "{KEEP_COLUMNS} WHERE run = $1 AND ($2::text IS NULL OR system = $2)
                 ORDER BY system, subject_key"
            );
            all(
                &client.query(&sql, &[&run.0, &system])?,
                columns::restore_keep,
            )
        })
    }

    fn ended_restore_windows(&self, now: Timestamp) -> Result<Vec<RestoreWindow>> {
        let open = self.read(move |client, _| {
            let sql = format!("{WINDOW_COLUMNS} WHERE destroyed_at IS NULL ORDER BY run");
            all(&client.query(&sql, &[])?, columns::restore_window)
        })?;
        // Timestamps are compared as instants, not text: their widths differ.
        Ok(open.into_iter().filter(|w| w.kept_until <= now).collect())
    }

    fn destroy_restore_window(&self, run: RunId, now: Timestamp) -> Result<()> {
        let now = ts(now);
        self.write(move |tx, _| {
            // Locking the window first waits for keeps under way (their foreign key holds
            // it), so that none is left behind.
            tx.execute(
                "SELECT 1 FROM restore_windows WHERE run = $1 FOR UPDATE",
                &[&run.0],
            )?;
            tx.execute("DELETE FROM restore_keeps WHERE run = $1", &[&run.0])?;
            tx.execute(
                "UPDATE restore_windows SET destroyed_at = $2 WHERE run = $1",
                &[&run.0, &now],
            )?;
            Ok(())
        })
    }
}
