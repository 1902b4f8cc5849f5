//! [`TombstoneStore`] on SQLite: table `tombstones` (schema version 6). The identifiers are
//! only ever stored sealed.

use jiff::Timestamp;
use rusqlite::{params, Row, Transaction};

use super::rows::{timestamp, ts};
use super::{SqliteStore, Step};
use crate::{NewTombstone, Result, TombstoneRecord, TombstoneStore};
use crate::Sealed;

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
    Ok(TombstoneRecord {
        id: r.get(0)?,
        tombstone: NewTombstone {
            system: r.get(1)?,
            erased_at: timestamp(r, 2)?,
            expires_at: timestamp(r, 3)?,
            sealed: Sealed {
                ciphertext: r.get(4)?,
                nonce: r.get(5)?,
            },
        },
    })
}

impl TombstoneStore for SqliteStore {
    fn bury(&self, tombstones: &[NewTombstone]) -> Result<()> {
        if tombstones.is_empty() {
            return Ok(());
        }
        self.write(|tx| bury_in(tx, tombstones))
    }

    fn tombstones_since(&self, system: &str, since: Timestamp) -> Result<Vec<TombstoneRecord>> {
        // Timestamps are compared as instants, not text: their widths differ.
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, system, erased_at, expires_at, sealed, nonce FROM tombstones
                 WHERE system = ?1 ORDER BY erased_at, id",
            )?;
            let rows = stmt.query_map([system], tombstone_from_row)?;
            let all: Vec<TombstoneRecord> = rows.collect::<rusqlite::Result<_>>()?;
            Ok(all
                .into_iter()
                .filter(|t| t.tombstone.erased_at >= since)
                .collect())
        })
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
                let expired = expires_at.parse::<Timestamp>().map_or(true, |at| at <= now);
                if expired {
                    pruned += delete.execute([id])? as u64;
                }
            }
            Ok(pruned)
        })
    }
}

#[cfg(test)]
mod tests {
    use gallra_plugin_api::{Identifier, IdentifierKind, Subject};

    use super::*;
    use crate::tombstones::{TombstoneKey, KEY_BYTES};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn tombstone(key: &TombstoneKey, erased: &str, expires: &str) -> NewTombstone {
        let subject = Subject::new(vec![Identifier::parse(
            IdentifierKind::Email,
            "anna@example.se",
        )
        .unwrap()]);
        NewTombstone {
            system: "crm".into(),
            erased_at: at(erased),
            expires_at: at(expires),
            sealed: key.seal("crm", &subject),
        }
    }

    #[test]
    fn prune_removes_exactly_the_expired() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let key = TombstoneKey::from_bytes(&[1; KEY_BYTES]);
        store
            .bury(&[
                tombstone(&key, "2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"),
                tombstone(&key, "2026-01-02T00:00:00Z", "2026-02-01T00:00:00Z"),
                tombstone(&key, "2026-01-03T00:00:00Z", "2026-02-02T00:00:00Z"),
            ])
            .unwrap();
        assert_eq!(
            store.prune_tombstones(at("2026-02-01T00:00:00Z")).unwrap(),
            2
        );
        let left = store
            .tombstones_since("crm", at("2025-01-01T00:00:00Z"))
            .unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].tombstone.erased_at, at("2026-01-03T00:00:00Z"));
        assert_eq!(
            store.prune_tombstones(at("2026-02-01T00:00:00Z")).unwrap(),
            0
        );
    }

    #[test]
    fn tombstones_are_listed_per_system_from_a_date_and_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let key = TombstoneKey::from_bytes(&[1; KEY_BYTES]);
        let mut billing = tombstone(&key, "2026-01-05T00:00:00Z", "2026-03-01T00:00:00Z");
        billing.system = "billing".into();
        store
            .bury(&[
                tombstone(&key, "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"),
                tombstone(&key, "2026-01-04T00:00:00Z", "2026-03-01T00:00:00Z"),
                billing,
            ])
            .unwrap();
        let since = store
            .tombstones_since("crm", at("2026-01-02T00:00:00Z"))
            .unwrap();
        assert_eq!(since.len(), 1);
        let subject = key.open("crm", &since[0].tombstone.sealed).unwrap();
        assert_eq!(subject.identifiers[0].value(), "anna@example.se");
        let bytes = std::fs::read(store.path()).unwrap();
        let wal = std::fs::read(dir.path().join("state.db-wal")).unwrap_or_default();
        for file in [bytes, wal] {
            assert!(!file.windows(15).any(|w| w == b"anna@example.se"));
        }
    }
}
