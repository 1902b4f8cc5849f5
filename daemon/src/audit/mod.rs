//! The tamper-evident audit log: what gallra did, where, when, why, and how it went, never
//! who it was done to.
//!
//! # Format
//! One chain per node (each daemon sharing a state store is a node, named by
//! `[state_store] node`): JSON lines in `<state_dir>/audit/audit-NODE-1.log`,
//! `audit-NODE-2.log`, … (directory 0700, files 0600), written by that node alone. A file is
//! closed for good once it has reached the size limit, and the next batch starts the next
//! file. One entry per line, fields always in this order:
//!
//! ```text
//! {"seq":17,"node":"web-1","time":"2025-03-01T03:00:02.113Z","actor":"policy:inactive",
//!  "system":"crm","action":"erase","outcome":"done","counts":{"rows":3},"subject":["9f…"],
//!  "prev":"…","mac":"…"}
//! ```
//! (one line on disk). `seq` counts from 1 across the chain's files. `node` is the chain's
//! node, so an entry says who wrote it wherever it is copied. `prev` is the hex SHA-256 of
//! the previous line's bytes (without its newline), and is 64 zeros for the first entry, so
//! the first line of `audit-NODE-N.log` links to the last of `audit-NODE-(N-1).log`. `mac`
//! is the HMAC-SHA256, under the [`ChainKey`], of the line as it would be written without
//! `mac` (so `node` too), so a changed byte shows even in the last line, which no `prev`
//! covers, and only a holder of the key can write a line that checks. `subject` holds
//! one HMAC-SHA256 per identifier of the subject, over `"<kind>:<normalized value>"`, under
//! the [`SubjectKey`] read from a credential file; the chain key is derived from it.
//!
//! Entries written before gallra sealed them carry `hash` (a bare SHA-256 of the same
//! text) instead of `mac`. They still verify, but only before the first sealed entry.
//!
//! The log from before nodes is the chain of node `""`, in `audit-N.log`, its entries without
//! `node`. It is kept and verified as it was, against the head it had, and no daemon adds
//! to it: after the upgrade each daemon starts its own chain beside it.
//!
//! # Several nodes
//! All nodes must share one audit key (copy `audit.key` to every node before it first
//! starts): subjects are found, and MACs checked, across every chain with it. A node's
//! directory holds only the chains written there; to check them all, copy every node's
//! `state_dir/audit/*.log` into one directory (or keep `state_dir/audit` on storage they
//! share) and run `gallra audit verify` with a configuration whose `state_dir` holds it:
//! each chain found is checked against its node's head in the state store, and a head
//! whose chain is not there is reported ([`verify_chains`]).
//!
//! # The head
//! The log gallra runs with ([`open`]) is anchored in the state store: after every append
//! the head — file, seq and a keyed MAC of the last line — is written there (before the
//! caller commits what the entries record). [`verify_with_head`] then finds what a chain
//! alone cannot: lines or files cut off the end, a log emptied or deleted, a log rewritten
//! with its chain recomputed. Such a log refuses every append, so nothing is erased, until
//! a person runs `gallra audit accept` ([`accept()`]). The head's seq is also a metric, so
//! Prometheus holds a copy off the host: someone who can write both the log and the state
//! database can delete both, which only a copy elsewhere shows.
//!
//! # What it proves
//! [`verify`] finds a changed byte, a deleted, inserted, moved or appended line, and a
//! deleted file, and names the first bad line as `audit-NODE-N.log:LINE`.
//!
//! # Writing
//! [`AuditLog::append`] and [`AuditLog::append_batch`] return only after `fsync`; they block,
//! so async callers use `spawn_blocking`. **Callers never put personal data in `system`,
//! `counts` or `detail`**: the log is kept for years. The subject goes in only as
//! identifiers through [`NewEntry::subject`], which the log writes as keyed hashes.

mod accept;
mod anchor;
mod chain_key;
mod chains;
mod entry;
mod files;
mod find;
mod head;
mod problem;
mod subject_key;
mod tail;
mod trail;
mod verify;
pub mod write_ahead;
mod writer;

#[cfg(test)]
mod anchor_tests;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use accept::{accept, AcceptError, Accepted};
pub use anchor::{open_anchored, open_checking_every, AuditStatus, FULL_CHECK_EVERY};
pub use chain_key::ChainKey;
pub use chains::{verify_chains, ChainVerdict};
pub use entry::{
    sha256_hex, Action, Actor, Entry, NewEntry, Outcome, GENESIS_PREV, MAX_DETAIL_CHARS,
};
pub use files::file_name;
pub(crate) use files::list_files;
pub use files::{chain_label, list_chains, BEFORE_NODES};
pub use find::{find_subject, find_subjects};
pub use head::{AuditHead, HeadProblem};
pub use subject_key::{KeyError, SubjectKey, MIN_KEY_BYTES};
#[cfg(test)]
pub(crate) use trail::testing;
pub use trail::{append, open, write, AuditUnavailable};
pub use verify::{verify, verify_node, verify_with_head, Problem, VerifyError, VerifyReport};
pub use writer::{AuditError, AuditLog};
/// Mapping runner and engine states to the log's words.
pub mod words {
    pub use super::trail::{action, outcome};

    /// Said of a task taken up again after its run or drive stopped during its step (a
    /// kill, a full disk): its erasure may have been made, and recorded in the audit log,
    /// already. Its new entries say so, so that a repeated entry is explained. One wording
    /// for policy runs and requests alike.
    pub const AGAIN: &str = "again after an interrupted run";
}

/// Default size at which a file is closed and the next one started.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The audit log's directory under the state directory.
pub fn log_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("audit")
}

/// Where the subject key is read from until the configuration names a file
/// (`audit_key_file`): `<state_dir>/audit.key`.
pub fn default_key_path(state_dir: &Path) -> PathBuf {
    state_dir.join("audit.key")
}
