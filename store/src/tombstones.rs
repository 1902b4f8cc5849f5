//! Tombstones of erasures: what was erased where, sealed, kept while the system's backups
//! live. The daemon seals and opens them; the store only keeps the sealed bytes.

use jiff::Timestamp;

use crate::{Result, Sealed};

/// A tombstone to write: an erasure in `system`, the subject sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTombstone {
    /// The system erased from.
    pub system: String,
    /// When.
    pub erased_at: Timestamp,
    /// When the system's last backup holding the subject is gone: the tombstone goes then.
    pub expires_at: Timestamp,
    /// The identifiers as the connector was asked, encrypted.
    pub sealed: Sealed,
}

/// A stored tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TombstoneRecord {
    /// Its number.
    pub id: i64,
    /// What was written.
    pub tombstone: NewTombstone,
}

/// Tombstones of erasures (the daemon's `tombstones` module seals and opens them). The identifiers are stored only
/// encrypted.
pub trait TombstoneStore: Send + Sync {
    /// Writes tombstones in one transaction.
    fn bury(&self, tombstones: &[NewTombstone]) -> Result<()>;

    /// The tombstones of `system` from erasures at or after `since`, oldest first.
    fn tombstones_since(&self, system: &str, since: Timestamp) -> Result<Vec<TombstoneRecord>>;

    /// Deletes the tombstones expired at `now`; returns how many.
    fn prune_tombstones(&self, now: Timestamp) -> Result<u64>;
}
