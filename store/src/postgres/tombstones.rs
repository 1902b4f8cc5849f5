//! [`TombstoneStore`] on PostgreSQL: table `tombstones`. The identifiers are only ever
//! stored sealed.

use jiff::Timestamp;
use postgres::Transaction;

use super::fail::{all, Step};
use super::PostgresStore;
use crate::columns::{self, ts, TOMBSTONE_COLUMNS};
use crate::{NewTombstone, Result, TombstoneRecord, TombstoneStore};

/// Writes tombstones inside a caller's transaction.
pub(super) fn bury_in(tx: &mut Transaction<'_>, tombstones: &[NewTombstone]) -> Step<()> {
    if tombstones.is_empty() {
        return Ok(());
    }
    let stmt = tx.prepare(
        "INSERT INTO tombstones (system, erased_at, expires_at, sealed, nonce)
         VALUES ($1, $2, $3, $4, $5)",
    )?;
    for t in tombstones {
        let (erased_at, expires_at) = (ts(t.erased_at), ts(t.expires_at));
        let (sealed, nonce) = (&t.sealed.ciphertext, &t.sealed.nonce);
        tx.execute(&stmt, &[&t.system, &erased_at, &expires_at, sealed, nonce])?;
    }
    Ok(())
}

impl TombstoneStore for PostgresStore {
    fn bury(&self, tombstones: &[NewTombstone]) -> Result<()> {
        if tombstones.is_empty() {
            return Ok(());
        }
        let tombstones = tombstones.to_vec();
        self.write(move |tx, _| bury_in(tx, &tombstones))
    }

    fn tombstones_since(&self, system: &str, since: Timestamp) -> Result<Vec<TombstoneRecord>> {
        let system = system.to_owned();
        let all_of = self.read(move |client, _| {
            let sql = format!("{TOMBSTONE_COLUMNS} WHERE system = $1");
            all(&client.query(&sql, &[&system])?, columns::tombstone)
        })?;
        Ok(columns::since(all_of, since))
    }

    fn prune_tombstones(&self, now: Timestamp) -> Result<u64> {
        self.write(move |tx, _| {
            let rows = tx.query("SELECT id, expires_at FROM tombstones", &[])?;
            let expired: Vec<i64> = rows
                .iter()
                .filter(|r| columns::expired(r.get(1), now))
                .map(|r| r.get(0))
                .collect();
            Ok(tx.execute("DELETE FROM tombstones WHERE id = ANY($1)", &[&expired])?)
        })
    }
}
