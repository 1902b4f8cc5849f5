//! What [`verify`](super::verify) says is wrong with a line of the log.

use std::fmt;

use super::file_name;

/// What is wrong with a line. The text says what was probably done to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not JSON, or not the fields of an entry.
    NotAnEntry {
        /// Which: `not JSON` or `not the fields of an entry`.
        why: &'static str,
    },
    /// The newest file ends without a newline.
    Unfinished,
    /// A finished file ends without a newline.
    Truncated,
    /// `hash` does not match the rest of the entry.
    HashMismatch,
    /// `mac` does not match the rest of the entry under the chain key.
    MacMismatch,
    /// Both `hash` and `mac`, or neither.
    BadSeal,
    /// An unkeyed entry (`hash`) after entries sealed with `mac`.
    Unsealed,
    /// The fields hash right but the bytes are not what gallra writes for them.
    NotCanonical,
    /// These files of the chain from before nodes are absent from the numbering.
    MissingFiles {
        /// The first absent number.
        first: u64,
        /// The last absent number.
        last: u64,
    },
    /// These files of a node's chain are absent from the numbering.
    MissingNodeFiles {
        /// The node.
        node: String,
        /// The first absent number.
        first: u64,
        /// The last absent number.
        last: u64,
    },
    /// The entry names another node than the chain it is in.
    OtherNode {
        /// The node it names (`None`: none, as in the chain from before nodes).
        found: Option<String>,
    },
    /// Seqs `from..=to` are not in the log.
    Missing {
        /// The first absent seq.
        from: u64,
        /// The last absent seq.
        to: u64,
        /// The line is the first of its file.
        at_file_start: bool,
    },
    /// A later seq than expected, and the expected one is further on.
    Moved {
        /// The seq found.
        seq: u64,
        /// The seq that should be here.
        expected: u64,
        /// Where the expected one is, as `file:line`.
        found_at: String,
    },
    /// A seq not greater than the one before.
    Backwards {
        /// The seq found.
        seq: u64,
        /// The seq of the line before.
        after: u64,
    },
    /// `prev` is not the hash of the line before (or not 64 zeros for the first entry).
    PrevMismatch,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnEntry { why } => {
                write!(f, "{why} (the line was changed, or written by hand)")
            }
            Self::Unfinished => f.write_str(
                "the last line has no newline (a write in progress, or one cut short by a crash: gallra removes it when it next starts)",
            ),
            Self::Truncated => f.write_str(
                "the file ends in the middle of a line, in a file gallra had finished (the file was cut or changed)",
            ),
            Self::HashMismatch => {
                f.write_str("entry hash does not match its content (the line was changed)")
            }
            Self::MacMismatch => f.write_str(
                "entry MAC does not match its content under the audit key (the line was changed, or written by someone without the key)",
            ),
            Self::BadSeal => f.write_str(
                "the entry has both or neither of `hash` and `mac` (the line was changed)",
            ),
            Self::Unsealed => f.write_str(
                "an entry without the audit key's MAC after entries sealed with it (the log was rewritten by someone without the key)",
            ),
            Self::NotCanonical => f.write_str(
                "the line is not byte for byte what gallra writes for its content (the line was changed)",
            ),
            Self::MissingFiles { first, last } => missing_files(f, "", *first, *last),
            Self::MissingNodeFiles { node, first, last } => {
                missing_files(f, node, *first, *last)
            }
            Self::OtherNode { found } => write!(
                f,
                "the entry names {}, not the node whose chain it is in (a line was copied from another chain)",
                found.as_deref().map_or("no node".to_owned(), |n| format!("node {n:?}"))
            ),
            Self::Missing { from, to, at_file_start } => {
                let what = if from == to {
                    format!("entry {from} is missing")
                } else {
                    format!("entries {from} to {to} are missing")
                };
                let how = if *at_file_start {
                    "lines were deleted, or a whole file"
                } else if from == to {
                    "a line was deleted"
                } else {
                    "lines were deleted"
                };
                write!(f, "{what} ({how})")
            }
            Self::Moved { seq, expected, found_at } => write!(
                f,
                "entry {seq} where {expected} was expected, and {expected} is at {found_at} (lines were swapped or moved)"
            ),
            Self::Backwards { seq, after } => write!(
                f,
                "entry {seq} comes after {after} (lines were swapped, moved or copied)"
            ),
            Self::PrevMismatch => f.write_str(
                "prev does not match the line before (a line was inserted, replaced or moved)",
            ),
        }
    }
}

/// Files `first` to `last` of `node`'s chain are missing.
fn missing_files(f: &mut fmt::Formatter<'_>, node: &str, first: u64, last: u64) -> fmt::Result {
    if first == last {
        write!(
            f,
            "{} is missing (a whole file was deleted)",
            file_name(node, first)
        )
    } else {
        write!(
            f,
            "{} to {} are missing (whole files were deleted)",
            file_name(node, first),
            file_name(node, last)
        )
    }
}

impl Problem {
    /// Files `first` to `last` of `node`'s chain are missing.
    pub(super) fn missing_files(node: &str, first: u64, last: u64) -> Self {
        if node.is_empty() {
            Self::MissingFiles { first, last }
        } else {
            Self::MissingNodeFiles {
                node: node.to_owned(),
                first,
                last,
            }
        }
    }
}
