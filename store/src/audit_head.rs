//! The audit log's head: where its chain stood after the last entry gallra wrote, kept in
//! the state store so that a log cut short, emptied, deleted or rewritten is found even when
//! what is left is a valid chain.
//!
//! The audit module writes the head right after each append and before the caller commits
//! what the entries record, so the head never runs ahead of the log and never behind what a
//! committed task outcome covers.

use jiff::Timestamp;

use super::Result;

/// The last entry the audit log was known to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// The file it is in (`audit-N.log`).
    pub file: u64,
    /// Its seq; 0 for a log that had no entry yet when it was anchored.
    pub seq: u64,
    /// Hex HMAC-SHA256 of its line under the chain key; empty when `seq` is 0.
    pub mac: String,
    /// When the head was written.
    pub updated_at: Timestamp,
}

/// Keeping the audit log's head (one row).
pub trait AuditHeadStore: Send + Sync {
    /// The head, or `None` if no gallra that keeps one has written the log yet.
    fn audit_head(&self) -> Result<Option<AuditHead>>;

    /// Replaces the head.
    fn set_audit_head(&self, head: &AuditHead) -> Result<()>;
}
