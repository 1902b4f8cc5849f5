//! Tombstones of erasures ([`TombstoneStore`](crate::TombstoneStore)): kept sealed, listed
//! per system, pruned when they expire.

use super::runs::at;
use super::Backend;
use crate::{NewTombstone, Sealed};

/// A tombstone of an erasure from `system` at `erased`, expiring at `expires`. The sealed
/// bytes stand for what the daemon encrypted; the store keeps them as they are.
pub fn tombstone(system: &str, erased: &str, expires: &str) -> NewTombstone {
    NewTombstone {
        system: system.into(),
        erased_at: at(erased),
        expires_at: at(expires),
        sealed: Sealed {
            ciphertext: format!("sealed {system} {erased}").into_bytes(),
            nonce: vec![7; 24],
        },
    }
}

/// Pruning deletes exactly the tombstones expired at its time, and counts them.
pub fn prune_removes_exactly_the_expired(store: &dyn Backend) {
    store
        .bury(&[
            tombstone("crm", "2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"),
            tombstone("crm", "2026-01-02T00:00:00Z", "2026-02-01T00:00:00Z"),
            tombstone("crm", "2026-01-03T00:00:00Z", "2026-02-02T00:00:00Z"),
        ])
        .unwrap();
    let now = at("2026-02-01T00:00:00Z");
    assert_eq!(store.prune_tombstones(now).unwrap(), 2);
    let left = store
        .tombstones_since("crm", at("2025-01-01T00:00:00Z"))
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].tombstone.erased_at, at("2026-01-03T00:00:00Z"));
    assert_eq!(store.prune_tombstones(now).unwrap(), 0);
}

/// A system's tombstones from a date come oldest first, with their sealed bytes unchanged.
pub fn tombstones_are_listed_per_system_from_a_date_with_their_sealed_bytes(store: &dyn Backend) {
    let expires = "2026-03-01T00:00:00Z";
    let later = tombstone("crm", "2026-01-04T00:00:00.5Z", expires);
    let earlier = tombstone("crm", "2026-01-04T00:00:00Z", expires);
    store
        .bury(&[
            tombstone("crm", "2026-01-01T00:00:00Z", expires),
            later.clone(),
            earlier.clone(),
            tombstone("billing", "2026-01-05T00:00:00Z", expires),
        ])
        .unwrap();
    store.bury(&[]).unwrap();
    let since = store
        .tombstones_since("crm", at("2026-01-02T00:00:00Z"))
        .unwrap();
    let found: Vec<NewTombstone> = since.into_iter().map(|t| t.tombstone).collect();
    assert_eq!(found, [earlier, later]);
    assert!(store
        .tombstones_since("panel", at("2000-01-01T00:00:00Z"))
        .unwrap()
        .is_empty());
}
