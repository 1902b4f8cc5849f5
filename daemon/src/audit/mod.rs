//! The tamper-evident audit log: what gallra did, where, when, why, and how it went, never
//! who it was done to.
//!
//! # Format
//! JSON lines in `<state_dir>/audit/audit-1.log`, `audit-2.log`, … (directory 0700, files
//! 0600). A file is closed for good once it has reached the size limit, and the next batch
//! starts the next file. One entry per line, fields always in this order:
//!
//! ```text
//! {"seq":17,"time":"2025-03-01T03:00:02.113Z","actor":"policy:inactive","system":"crm",
//!  "action":"erase","outcome":"done","counts":{"rows":3},"subject":["9f…"],"prev":"…","hash":"…"}
//! ```
//! (one line on disk). `seq` counts from 1 across all files. `prev` is the hex SHA-256 of
//! the previous line's bytes (without its newline), and is 64 zeros for the first entry,
//! so the first line of `audit-N.log` links to the last of `audit-(N-1).log`. `hash` is the
//! SHA-256 of the line as it would be written without `hash`, so a changed byte shows
//! even in the last line, which no `prev` covers. `subject` holds one HMAC-SHA256 per
//! identifier of the subject, over `"<kind>:<normalized value>"`, under the
//! [`SubjectKey`] read from a credential file.
//!
//! # What it proves, and what it does not
//! [`verify`] finds a changed byte, a deleted, inserted, moved or appended line, and a
//! deleted file, and names the first bad line as `audit-N.log:LINE`. The chain uses no
//! secret: someone who can write the files can rewrite everything after a point and
//! recompute the hashes, and cutting lines or files off the end leaves a shorter valid
//! chain. Keep [`VerifyReport::last_hash`] elsewhere (a backup, a ticket, another host)
//! to catch those.
//!
//! # Writing
//! [`AuditLog::append`] and [`AuditLog::append_batch`] return only after `fsync`; they block,
//! so async callers use `spawn_blocking`. **Callers never put personal data in `system`,
//! `counts` or `detail`**: the log is kept for years. The subject goes in only as
//! identifiers through [`NewEntry::subject`], which the log writes as keyed hashes.

mod entry;
mod find;
mod subject_key;
mod trail;
mod verify;
mod writer;

#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

pub use entry::{
    sha256_hex, Action, Actor, Entry, NewEntry, Outcome, GENESIS_PREV, MAX_DETAIL_CHARS,
};
pub use find::{find_subject, find_subjects};
pub use subject_key::{KeyError, SubjectKey, MIN_KEY_BYTES};
#[cfg(test)]
pub(crate) use trail::testing;
pub use trail::{append, open, write, AuditUnavailable};
pub use verify::{verify, Problem, VerifyError, VerifyReport};
pub use writer::{AuditError, AuditLog};
/// Mapping runner and engine states to the log's words.
pub mod words {
    pub use super::trail::{action, outcome};
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

/// `audit-N.log`.
pub(crate) fn file_name(number: u64) -> String {
    format!("audit-{number}.log")
}

/// N of `audit-N.log`, for names exactly as [`file_name`] writes them.
fn parse_file_name(name: &str) -> Option<u64> {
    let number: u64 = name
        .strip_prefix("audit-")?
        .strip_suffix(".log")?
        .parse()
        .ok()?;
    (number > 0 && file_name(number) == name).then_some(number)
}

/// The log's files, by number. A missing directory is an empty log; other files are ignored.
pub(crate) fn list_files(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        if let Some(number) = entry.file_name().to_str().and_then(parse_file_name) {
            files.push((number, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}
