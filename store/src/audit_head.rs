//! The audit log's heads: where each node's chain stood after the last entry it wrote, kept
//! in the state store so that a log cut short, emptied, deleted or rewritten is found even
//! when what is left is a valid chain.
//!
//! Each daemon sharing a store writes its own chain and keeps its own head, under its node
//! name ([`LeaseStore::node`]). Node `""` is the chain from before nodes (files
//! `audit-N.log`): its head is the one an older gallra kept, and no daemon writes it again.
//!
//! The audit module writes the head right after each append and before the caller commits
//! what the entries record, so the head never runs ahead of the log and never behind what a
//! committed task outcome covers.

use jiff::Timestamp;

use super::{LeaseStore, Result};

/// The last entry a node's chain was known to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// The file it is in: N of `audit-NODE-N.log` (of `audit-N.log` for node `""`).
    pub file: u64,
    /// Its seq; 0 for a log that had no entry yet when it was anchored.
    pub seq: u64,
    /// Hex HMAC-SHA256 of its line under the chain key; empty when `seq` is 0.
    pub mac: String,
    /// When the head was written.
    pub updated_at: Timestamp,
}

/// Keeping the audit log's heads: one per node, this node's ([`LeaseStore::node`]) written.
pub trait AuditHeadStore: LeaseStore {
    /// This node's head, or `None` if this node has not written its chain yet.
    fn audit_head(&self) -> Result<Option<AuditHead>>;

    /// Replaces this node's head; no other node's.
    fn set_audit_head(&self, head: &AuditHead) -> Result<()>;

    /// Every node's head, by node name in byte order (`""`: the chain from before nodes), for
    /// checking every chain (`gallra audit verify`). A store read-only opened at an older
    /// schema lists its one head as node `""`.
    fn audit_heads(&self) -> Result<Vec<(String, AuditHead)>>;
}
