//! [`AuditHeadStore`] on SQLite: table `audit_head`, one row per node (schema version 13; one
//! row `id = 1` from version 8, read as node `""`).

use rusqlite::{params, Connection};

use super::rows::ts;
use super::SqliteStore;
use crate::columns;
use crate::{AuditHead, AuditHeadStore, Result};

/// The version that made the table (one row), and the one that keyed it by node.
const ONE_HEAD_VERSION: i64 = 8;
const NODE_HEADS_VERSION: i64 = 13;

/// Every head, by node. A read-only store may be of an older schema than this binary writes
/// (`gallra audit verify` beside an older daemon): its one head is node `""`.
fn heads(conn: &Connection) -> rusqlite::Result<Vec<(String, AuditHead)>> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let sql = match version {
        v if v >= NODE_HEADS_VERSION => {
            "SELECT file, seq, mac, updated_at, node FROM audit_head ORDER BY node"
        }
        v if v >= ONE_HEAD_VERSION => "SELECT file, seq, mac, updated_at, '' FROM audit_head",
        _ => return Ok(Vec::new()),
    };
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get(4)?, columns::audit_head(r)?)))?;
    rows.collect()
}

impl AuditHeadStore for SqliteStore {
    fn audit_head(&self) -> Result<Option<AuditHead>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT file, seq, mac, updated_at FROM audit_head WHERE node = ?1",
            )?;
            let mut rows = stmt.query_map([&self.lease.node], |r| columns::audit_head(r))?;
            Ok(rows.next().transpose()?)
        })
    }

    fn set_audit_head(&self, head: &AuditHead) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_head (node, file, seq, mac, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (node) DO UPDATE SET file = excluded.file, seq = excluded.seq,
                     mac = excluded.mac, updated_at = excluded.updated_at",
                params![
                    self.lease.node,
                    head.file,
                    head.seq,
                    head.mac,
                    ts(head.updated_at)
                ],
            )?;
            Ok(())
        })
    }

    fn audit_heads(&self) -> Result<Vec<(String, AuditHead)>> {
        self.read(|conn| Ok(heads(conn)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lease;

    #[test]
    fn the_heads_are_readable_read_only_and_from_before_nodes() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(tmp.path())
            .unwrap()
            .leasing(Lease::new("web-1"));
        let head = AuditHead {
            file: 1,
            seq: 17,
            mac: "ab".repeat(32),
            updated_at: "2025-03-01T03:00:00Z".parse().unwrap(),
        };
        store.set_audit_head(&head).unwrap();
        let reader = SqliteStore::open_read_only(tmp.path()).unwrap().unwrap();
        assert_eq!(
            reader.audit_heads().unwrap(),
            [("web-1".to_owned(), head.clone())]
        );

        // A database an older gallra wrote, read before a daemon has upgraded it.
        let conn = Connection::open(tmp.path().join("state.db")).unwrap();
        conn.execute_batch(
            "DROP TABLE audit_head;
             CREATE TABLE audit_head (id INTEGER PRIMARY KEY, file INTEGER, seq INTEGER,
                 mac TEXT, updated_at TEXT);
             INSERT INTO audit_head VALUES (1, 1, 17, 'abab', '2025-03-01T03:00:00Z');
             PRAGMA user_version = 12;",
        )
        .unwrap();
        let reader = SqliteStore::open_read_only(tmp.path()).unwrap().unwrap();
        let heads = reader.audit_heads().unwrap();
        assert_eq!(heads.len(), 1);
        assert_eq!((heads[0].0.as_str(), heads[0].1.seq), ("", 17));
    }
}
