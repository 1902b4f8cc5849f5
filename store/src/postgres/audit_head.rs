//! [`AuditHeadStore`] on PostgreSQL: table `audit_head`, one row.

use super::PostgresStore;
use crate::columns::{self, ts, AUDIT_HEAD};
use crate::{AuditHead, AuditHeadStore, Result};

impl AuditHeadStore for PostgresStore {
    fn audit_head(&self) -> Result<Option<AuditHead>> {
        self.read(|client, _| {
            let row = client.query_opt(AUDIT_HEAD, &[])?;
            row.as_ref().map(columns::audit_head).transpose()
        })
    }

    fn set_audit_head(&self, head: &AuditHead) -> Result<()> {
        let head = head.clone();
        self.write(move |tx, _| {
            let (file, seq) = (super::fail::big(head.file), super::fail::big(head.seq));
            tx.execute(
                "INSERT INTO audit_head (id, file, seq, mac, updated_at) VALUES (1, $1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET file = excluded.file, seq = excluded.seq,
                     mac = excluded.mac, updated_at = excluded.updated_at",
                &[&file, &seq, &head.mac, &ts(head.updated_at)],
            )?;
            Ok(())
        })
    }
}
