//! [`AuditHeadStore`] on SQLite: table `audit_head` (schema version 8), one row.

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::rows::ts;
use super::SqliteStore;
use crate::columns::{self, AUDIT_HEAD};
use crate::{AuditHead, AuditHeadStore, Result, StoreError};

fn head_from(conn: &Connection) -> rusqlite::Result<Option<AuditHead>> {
    conn.query_row(AUDIT_HEAD, [], |r| columns::audit_head(r))
        .optional()
}

impl AuditHeadStore for SqliteStore {
    fn audit_head(&self) -> Result<Option<AuditHead>> {
        self.read(|conn| Ok(head_from(conn)?))
    }

    fn set_audit_head(&self, head: &AuditHead) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_head (id, file, seq, mac, updated_at) VALUES (1, ?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET file = excluded.file, seq = excluded.seq,
                     mac = excluded.mac, updated_at = excluded.updated_at",
                params![head.file, head.seq, head.mac, ts(head.updated_at)],
            )?;
            Ok(())
        })
    }
}

/// The head in `state_dir/state.db`, read without creating, migrating or locking anything
/// (for `gallra audit verify`): `None` if there is no database or it has no head yet.
pub fn read_audit_head(state_dir: &Path) -> Result<Option<AuditHead>> {
    let path = state_dir.join("state.db");
    if !path.exists() {
        return Ok(None);
    }
    let sqlite = |source| StoreError::Sqlite {
        path: path.clone(),
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&path, flags).map_err(sqlite)?;
    conn.busy_timeout(super::BUSY_TIMEOUT).map_err(sqlite)?;
    let has_table: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'audit_head'",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite)?;
    if !has_table {
        return Ok(None);
    }
    head_from(&conn).map_err(sqlite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_head_is_readable_without_the_store() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(read_audit_head(tmp.path()).unwrap(), None, "no database");
        let store = SqliteStore::open(tmp.path()).unwrap();
        assert_eq!(store.audit_head().unwrap(), None);
        assert_eq!(read_audit_head(tmp.path()).unwrap(), None, "no head yet");
        let mut head = AuditHead {
            file: 1,
            seq: 17,
            mac: "ab".repeat(32),
            updated_at: "2025-03-01T03:00:00Z".parse().unwrap(),
        };
        store.set_audit_head(&head).unwrap();
        head.seq = 18;
        store.set_audit_head(&head).unwrap();
        assert_eq!(read_audit_head(tmp.path()).unwrap(), Some(head));
    }
}
