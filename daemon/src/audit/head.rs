//! What the chain is checked against besides itself: the head in the state store. A log cut
//! short, emptied, deleted, or rewritten with its chain recomputed is still a valid chain;
//! only the head, kept elsewhere, shows what it no longer holds.

use std::fmt;

use super::file_name;
pub use crate::store::AuditHead;

/// How the log differs from its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadProblem {
    /// The log ends before the entry the head names.
    Short {
        /// Whose chain.
        node: String,
        /// The log's last seq (0: no entries at all).
        log_end: u64,
        /// The head's seq.
        head: u64,
        /// The file the head's entry was written to.
        head_file: u64,
    },
    /// The entry at the head's seq is not the one the head recorded.
    Rewritten {
        /// The head's seq.
        seq: u64,
        /// Where that seq is now, as `file:line`.
        at: String,
    },
    /// The log holds entries sealed with the audit key, so a gallra that keeps a head wrote
    /// them, but the state store has none.
    NoHead {
        /// Sealed entries in the log.
        sealed: u64,
    },
}

impl fmt::Display for HeadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Short {
                node,
                log_end: 0,
                head,
                head_file,
            } => write!(
                f,
                "the audit log holds no entries (it was emptied, or its files or directory were deleted), but the state store's head is entry {head} in {}: entries 1 to {head} are missing",
                file_name(node, *head_file)
            ),
            Self::Short {
                node,
                log_end,
                head,
                head_file,
            } => write!(
                f,
                "the log ends at entry {log_end} but the state store's head is entry {head} in {}: entries {} to {head} were cut off or deleted",
                file_name(node, *head_file),
                log_end + 1
            ),
            Self::Rewritten { seq, at } => write!(
                f,
                "{at}: entry {seq} is not the entry the state store's head recorded (the log was rewritten and its chain recomputed)"
            ),
            Self::NoHead { sealed } => write!(
                f,
                "the log holds {sealed} entries sealed with the audit key, but the state store has no head for it (the state database was replaced or its head deleted)"
            ),
        }
    }
}
