//! The audit log's heads ([`AuditHeadStore`](crate::AuditHeadStore)): one value per node,
//! replaced on each write, and every node's listed for checking every chain.

use super::leases::Open;
use super::runs::at;
use super::Backend;
use crate::{AuditHead, Lease};

fn head(file: u64, seq: u64, time: &str) -> AuditHead {
    AuditHead {
        file,
        seq,
        mac: "ab".repeat(32),
        updated_at: at(time),
    }
}

/// A new store has no head; each write replaces this node's one head.
pub fn the_audit_head_is_one_row_replaced_on_each_write(store: &dyn Backend) {
    assert_eq!(store.audit_head().unwrap(), None);
    assert_eq!(store.audit_heads().unwrap(), []);
    let first = head(1, 17, "2025-03-01T03:00:00Z");
    store.set_audit_head(&first).unwrap();
    assert_eq!(store.audit_head().unwrap(), Some(first));
    let second = head(2, 18, "2025-03-01T03:00:00.25Z");
    store.set_audit_head(&second).unwrap();
    assert_eq!(store.audit_head().unwrap(), Some(second.clone()));
    assert_eq!(
        store.audit_heads().unwrap(),
        [(store.node().to_owned(), second)]
    );
}

/// Each node reads and writes only its own head (its own chain), and every node's head is
/// listed, by node name, from any node.
pub fn each_node_keeps_its_own_audit_head_and_all_are_listed(open: Open<'_>) {
    let b = open(Lease::new("node-b"));
    let a = open(Lease::new("node-a"));
    let of_b = head(1, 5, "2025-03-01T03:00:00Z");
    b.set_audit_head(&of_b).unwrap();
    assert_eq!(a.audit_head().unwrap(), None, "b's head is not a's");
    let of_a = head(3, 40, "2025-03-01T04:00:00Z");
    a.set_audit_head(&of_a).unwrap();
    assert_eq!(
        b.audit_head().unwrap(),
        Some(of_b.clone()),
        "a wrote its own"
    );
    assert_eq!(a.audit_head().unwrap(), Some(of_a.clone()));
    let all = vec![("node-a".to_owned(), of_a), ("node-b".to_owned(), of_b)];
    assert_eq!(a.audit_heads().unwrap(), all);
    assert_eq!(b.audit_heads().unwrap(), all);
}
