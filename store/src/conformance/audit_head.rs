//! The audit log's head ([`AuditHeadStore`](crate::AuditHeadStore)): one value, replaced on
//! each write.

use super::runs::at;
use super::Backend;
use crate::AuditHead;

/// A new store has no head; each write replaces the one head.
pub fn the_audit_head_is_one_row_replaced_on_each_write(store: &dyn Backend) {
    assert_eq!(store.audit_head().unwrap(), None);
    let mut head = AuditHead {
        file: 1,
        seq: 17,
        mac: "ab".repeat(32),
        updated_at: at("2025-03-01T03:00:00Z"),
    };
    store.set_audit_head(&head).unwrap();
    assert_eq!(store.audit_head().unwrap(), Some(head.clone()));
    head.file = 2;
    head.seq = 18;
    head.updated_at = at("2025-03-01T03:00:00.25Z");
    store.set_audit_head(&head).unwrap();
    assert_eq!(store.audit_head().unwrap(), Some(head));
}
