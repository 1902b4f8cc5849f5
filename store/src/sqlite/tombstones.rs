//! [`TombstoneStore`] on SQLite: table `tombstones` (schema version 6). The identifiers are
//! only ever stored sealed.

use jiff::Timestamp;
use rusqlite::{params, Row, Transaction};

use super::rows::ts;
use super::{SqliteStore, Step};
use crate::columns::{self, TOMBSTONE_COLUMNS};
use crate::{NewTombstone, Result, TombstoneRecord, TombstoneStore};

/// Writes tombstones inside a caller's transaction.
pub(super) fn bury_in(tx: &Transaction<'_>, tombstones: &[NewTombstone]) -> Step<()> {
    if tombstones.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO tombstones (system, erased_at, expires_at, sealed, nonce)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for t in tombstones {
        stmt.execute(params![
            t.system,
            ts(t.erased_at),
            ts(t.expires_at),
            t.sealed.ciphertext,
            t.sealed.nonce
        ])?;
    }
    Ok(())
}

fn tombstone_from_row(r: &Row<'_>) -> rusqlite::Result<TombstoneRecord> {
    columns::tombstone(r)
}

impl TombstoneStore for SqliteStore {
    fn bury(&self, tombstones: &[NewTombstone]) -> Result<()> {
        if tombstones.is_empty() {
            return Ok(());
        }
        self.write(|tx| bury_in(tx, tombstones))
    }

    fn tombstones_since(&self, system: &str, since: Timestamp) -> Result<Vec<TombstoneRecord>> {
        let all = self.read(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("{TOMBSTONE_COLUMNS} WHERE system = ?1"))?;
            let rows = stmt.query_map([system], tombstone_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        Ok(columns::since(all, since))
    }

    fn prune_tombstones(&self, now: Timestamp) -> Result<u64> {
        self.write(|tx| {
            let expired: Vec<(i64, String)> = tx
                .prepare_cached("SELECT id, expires_at FROM tombstones")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut delete = tx.prepare_cached("DELETE FROM tombstones WHERE id = ?1")?;
            let mut pruned = 0;
            for (id, expires_at) in expired {
                if columns::expired(&expires_at, now) {
                    pruned += delete.execute([id])? as u64;
                }
            }
            Ok(pruned)
        })
    }
}
