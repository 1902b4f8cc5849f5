//! [`AuditHeadStore`] on PostgreSQL: table `audit_head`, one row per node (schema version
//! 13; the one head from before is node `""`).

use super::PostgresStore;
use crate::columns::{self, ts};
use crate::{AuditHead, AuditHeadStore, Result};

/// A head's columns as [`columns::audit_head`] reads them, then its node.
const HEADS: &str = "SELECT file, seq, mac, updated_at, node FROM audit_head";

impl AuditHeadStore for PostgresStore {
    fn audit_head(&self) -> Result<Option<AuditHead>> {
        self.read(|client, ctx| {
            let sql = format!("{HEADS} WHERE node = $1");
            let row = client.query_opt(&sql, &[&ctx.lease.node])?;
            row.as_ref().map(columns::audit_head).transpose()
        })
    }

    fn set_audit_head(&self, head: &AuditHead) -> Result<()> {
        let head = head.clone();
        self.write(move |tx, ctx| {
            let (file, seq) = (super::fail::big(head.file), super::fail::big(head.seq));
            tx.execute(
                "INSERT INTO audit_head (node, file, seq, mac, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (node) DO UPDATE SET file = excluded.file, seq = excluded.seq,
                     mac = excluded.mac, updated_at = excluded.updated_at",
                &[
                    &ctx.lease.node,
                    &file,
                    &seq,
                    &head.mac,
                    &ts(head.updated_at),
                ],
            )?;
            Ok(())
        })
    }

    fn audit_heads(&self) -> Result<Vec<(String, AuditHead)>> {
        self.read(|client, _| {
            let rows = client.query(&format!("{HEADS} ORDER BY node"), &[])?;
            rows.iter()
                .map(|row| Ok((row.get(4), columns::audit_head(row)?)))
                .collect()
        })
    }
}
