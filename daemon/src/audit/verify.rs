//! Checking a node's chain: every file in order, every line against its own seal and the
//! line before it, then the whole against the node's head in the state store. Stops at the
//! first bad line and says what is wrong with it.
//!
//! Entries are sealed with an HMAC under the chain key (`mac`). Entries written before that
//! carry a bare SHA-256 (`hash`) and still verify, but only before the first sealed entry: an
//! unkeyed entry after a sealed one is a rewrite by someone without the key.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::entry::{sha256_hex, Entry, GENESIS_PREV};
use super::head::{AuditHead, HeadProblem};
pub use super::problem::Problem;
use super::{file_name, list_files, ChainKey, BEFORE_NODES};

/// An intact log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Files read.
    pub files: usize,
    /// Entries checked.
    pub entries: u64,
    /// The last entry's seq (0 if there is none).
    pub last_seq: u64,
    /// Hex SHA-256 of the last entry's line (the next entry's `prev`).
    pub last_hash: Option<String>,
    /// The file the last entry is in (0 if there is none).
    #[serde(skip)]
    pub last_file: u64,
    /// The keyed MAC of the last entry's line: what the head holds for it.
    #[serde(skip)]
    pub last_mac: Option<String>,
    /// Entries in the format before `mac` (a bare SHA-256, which anyone can recompute): only
    /// the head vouches for them.
    pub unsealed: u64,
    /// The head's seq in the state store, if it was checked against one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_seq: Option<u64>,
}

/// Why the log is not intact, or could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A file or the directory could not be read.
    #[error("{path}: cannot {action}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The chain is intact but does not reach, or does not match, the head.
    #[error("{0}")]
    Head(HeadProblem),
    /// The first bad line.
    #[error("{file}:{line}: {problem}")]
    Broken {
        /// The file's name, e.g. `audit-2.log`.
        file: String,
        /// The line, from 1.
        line: u64,
        /// What is wrong.
        problem: Problem,
    },
}

/// Checks every file of the chain from before nodes (`audit-N.log`) in `dir`: see
/// [`verify_node`].
pub fn verify(dir: &Path, key: &ChainKey) -> Result<VerifyReport, VerifyError> {
    verify_node(dir, BEFORE_NODES, key)
}

/// Checks every file of `node`'s chain in `dir`, in order, with the chain key `key`. A
/// missing or empty directory is an intact, empty chain. Says nothing of entries cut off the
/// end: see [`verify_with_head`].
pub fn verify_node(dir: &Path, node: &str, key: &ChainKey) -> Result<VerifyReport, VerifyError> {
    walk(dir, node, key, None)
}

/// [`verify_node`], then the chain against its head kept in the state store (`None`: the
/// store has none). The chain must reach the head's entry, and that entry must be the one the
/// head recorded; a chain with sealed entries must have a head. Entries after the head are
/// allowed: a process may stop between writing the log and its head.
pub fn verify_with_head(
    dir: &Path,
    node: &str,
    key: &ChainKey,
    head: Option<&AuditHead>,
) -> Result<VerifyReport, VerifyError> {
    let mut report = walk(dir, node, key, Some(head))?;
    let problem = match head {
        None if report.entries > report.unsealed => Some(HeadProblem::NoHead {
            sealed: report.entries - report.unsealed,
        }),
        Some(head) if report.last_seq < head.seq => Some(HeadProblem::Short {
            node: node.to_owned(),
            log_end: report.last_seq,
            head: head.seq,
            head_file: head.file,
        }),
        _ => None,
    };
    if let Some(problem) = problem {
        return Err(VerifyError::Head(problem));
    }
    report.head_seq = head.map(|h| h.seq);
    Ok(report)
}

fn walk(
    dir: &Path,
    node: &str,
    key: &ChainKey,
    head: Option<Option<&AuditHead>>,
) -> Result<VerifyReport, VerifyError> {
    let files = list_files(dir, node).map_err(|source| VerifyError::Io {
        path: dir.to_owned(),
        action: "list",
        source,
    })?;
    let mut chain = Chain {
        key,
        node,
        head: head.flatten(),
        last_seq: 0,
        prev: GENESIS_PREV.to_owned(),
        last_line: Vec::new(),
        last_file: 0,
        unsealed: 0,
        sealed_seen: false,
    };
    let mut expected_number = 1;
    for (index, (number, path)) in files.iter().enumerate() {
        let name = file_name(node, *number);
        if *number != expected_number {
            let missing = Problem::missing_files(node, expected_number, number - 1);
            return Err(broken(&name, 1, missing));
        }
        expected_number = number + 1;
        let newest = index + 1 == files.len();
        chain.check_file(path, &name, newest, &files[index..])?;
    }
    let last = (chain.last_seq > 0).then_some(&chain.last_line);
    Ok(VerifyReport {
        files: files.len(),
        entries: chain.last_seq,
        last_seq: chain.last_seq,
        last_hash: last.map(|_| chain.prev.clone()),
        last_file: chain.last_file,
        last_mac: last.map(|line| key.line_mac(line)),
        unsealed: chain.unsealed,
        head_seq: None,
    })
}

/// Where the chain stands after the lines checked so far.
struct Chain<'a> {
    key: &'a ChainKey,
    /// Whose chain: every entry must name it.
    node: &'a str,
    /// The head to meet on the way, if any.
    head: Option<&'a AuditHead>,
    last_seq: u64,
    /// Hex SHA-256 of the last line.
    prev: String,
    last_line: Vec<u8>,
    last_file: u64,
    unsealed: u64,
    sealed_seen: bool,
}

impl Chain<'_> {
    /// `rest` is this file and the ones after it, for finding a moved line.
    fn check_file(
        &mut self,
        path: &Path,
        name: &str,
        newest: bool,
        rest: &[(u64, PathBuf)],
    ) -> Result<(), VerifyError> {
        let io_error = |source| VerifyError::Io {
            path: path.to_owned(),
            action: "read",
            source,
        };
        let mut reader = BufReader::new(File::open(path).map_err(io_error)?);
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(io_error)? == 0 {
                return Ok(());
            }
            number += 1;
            if line.pop() != Some(b'\n') {
                let problem = if newest {
                    Problem::Unfinished
                } else {
                    Problem::Truncated
                };
                return Err(broken(name, number, problem));
            }
            self.check_line(&line, number, rest)
                .map_err(|problem| broken(name, number, problem))?;
            self.last_file = rest[0].0;
            if let Some(head) = self.head.filter(|h| h.seq == self.last_seq) {
                if self.key.line_mac(&line) != head.mac {
                    return Err(VerifyError::Head(HeadProblem::Rewritten {
                        seq: head.seq,
                        at: format!("{name}:{number}"),
                    }));
                }
            }
            std::mem::swap(&mut self.last_line, &mut line);
        }
    }

    fn check_line(
        &mut self,
        line: &[u8],
        number: u64,
        rest: &[(u64, PathBuf)],
    ) -> Result<(), Problem> {
        let entry: Entry = serde_json::from_slice(line).map_err(|e| Problem::NotAnEntry {
            // The serde message could quote a value, so only its kind is told.
            why: if e.is_data() {
                "not the fields of an audit entry"
            } else {
                "not JSON"
            },
        })?;
        match (&entry.hash, &entry.mac) {
            (Some(_), Some(_)) | (None, None) => return Err(Problem::BadSeal),
            (Some(hash), None) => {
                if self.sealed_seen {
                    return Err(Problem::Unsealed);
                }
                if entry.content_hash() != *hash {
                    return Err(Problem::HashMismatch);
                }
            }
            (None, Some(mac)) => {
                if entry.content_mac(self.key) != *mac {
                    return Err(Problem::MacMismatch);
                }
            }
        }
        if entry.canonical_line().as_bytes() != line {
            return Err(Problem::NotCanonical);
        }
        if entry.node.as_deref().unwrap_or(BEFORE_NODES) != self.node {
            return Err(Problem::OtherNode { found: entry.node });
        }
        let expected = self.last_seq + 1;
        if entry.seq < expected {
            return Err(Problem::Backwards {
                seq: entry.seq,
                after: self.last_seq,
            });
        }
        if entry.seq > expected {
            return Err(match find_seq(rest, self.node, number, expected) {
                Some(found_at) => Problem::Moved {
                    seq: entry.seq,
                    expected,
                    found_at,
                },
                None => Problem::Missing {
                    from: expected,
                    to: entry.seq - 1,
                    at_file_start: number == 1,
                },
            });
        }
        if entry.prev != self.prev {
            return Err(Problem::PrevMismatch);
        }
        self.last_seq = entry.seq;
        self.prev = sha256_hex(line);
        if entry.mac.is_some() {
            self.sealed_seen = true;
        } else {
            self.unsealed += 1;
        }
        Ok(())
    }
}

fn broken(file: &str, line: u64, problem: Problem) -> VerifyError {
    VerifyError::Broken {
        file: file.to_owned(),
        line,
        problem,
    }
}

/// Where the entry with `seq` is, after line `after_line` of `files[0]`, as `file:line`.
/// Only asked once something is already wrong, to tell a moved line from a deleted one.
fn find_seq(files: &[(u64, PathBuf)], node: &str, after_line: u64, seq: u64) -> Option<String> {
    #[derive(Deserialize)]
    struct Seq {
        seq: u64,
    }
    for (index, (number, path)) in files.iter().enumerate() {
        let skip = if index == 0 { after_line } else { 0 };
        let reader = BufReader::new(File::open(path).ok()?);
        for (i, line) in reader.split(b'\n').enumerate().skip(skip as usize) {
            let Ok(line) = line else { break };
            if serde_json::from_slice::<Seq>(&line).is_ok_and(|s| s.seq == seq) {
                return Some(format!("{}:{}", file_name(node, *number), i + 1));
            }
        }
    }
    None
}
