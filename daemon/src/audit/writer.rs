//! Appending to the log: one writer per process, lines written whole and fsync'd before
//! `append` returns.

use std::fmt;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::Timestamp;

use super::entry::{clip_detail, sha256_hex, Entry, NewEntry, GENESIS_PREV};
use super::{file_name, list_files, SubjectKey};

/// Why the log could not be opened or written. Names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Reading or writing a file failed.
    #[error("audit log {path}: cannot {action}: {source} (is the state directory writable? is the disk full?)")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The last entry on disk cannot be read, so there is nothing to chain the next one to.
    #[error("audit log {path}: {problem}; gallra adds nothing to a log it cannot continue (run `gallra audit verify`, keep a copy of the directory, and move the damaged file aside)")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A write failed and the partial write could not be removed.
    #[error("audit log {path}: an earlier write failed and could not be undone; restart gallra to continue from what is on disk")]
    Poisoned {
        /// The file.
        path: PathBuf,
    },
}

/// The audit log, open for appending. `Send + Sync`; appends are serialized inside.
pub struct AuditLog {
    dir: PathBuf,
    key: SubjectKey,
    max_file_bytes: u64,
    state: Mutex<State>,
}

/// The file being written and where the chain stands.
struct State {
    number: u64,
    path: PathBuf,
    file: File,
    /// Bytes in `file`, all of them complete, fsync'd lines.
    size: u64,
    last_seq: u64,
    /// Hex SHA-256 of the last line: the next entry's `prev`.
    prev: String,
    poisoned: bool,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("last_seq", &self.last_seq())
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens the log in `dir` (created 0700 if missing) and continues its chain: the next
    /// entry gets the seq after the last one on disk and links to its line.
    ///
    /// A last line without its newline is a write a crash cut short. It is cut away, with a
    /// warning: an append returns only after the whole line and its newline are fsync'd, so
    /// no caller was ever told that entry was recorded, and the lines before it are intact.
    /// A file may grow past `max_file_bytes` by one batch; the next batch starts a new file.
    pub fn open(dir: &Path, key: SubjectKey, max_file_bytes: u64) -> Result<Self, AuditError> {
        let io_error = |path: &Path, action| {
            let path = path.to_owned();
            move |source| AuditError::Io {
                path,
                action,
                source,
            }
        };
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error(dir, "create the directory"))?;
        let files = list_files(dir).map_err(io_error(dir, "list"))?;
        let state = match files.last() {
            None => {
                let path = dir.join(file_name(1));
                let file = create_file(&path, dir)?;
                State::new(1, path, file, 0, 0, GENESIS_PREV.to_owned())
            }
            Some((number, path)) => {
                let mut file = OpenOptions::new()
                    .read(true)
                    .append(true)
                    .open(path)
                    .map_err(io_error(path, "open"))?;
                let size = cut_torn_line(&mut file, path)?;
                let (last_seq, prev) = match chain_end(&mut file, size, path)? {
                    Some(end) => end,
                    None => earlier_chain_end(&files[..files.len() - 1])?,
                };
                State::new(*number, path.clone(), file, size, last_seq, prev)
            }
        };
        Ok(Self {
            dir: dir.to_owned(),
            key,
            max_file_bytes: max_file_bytes.max(1),
            state: Mutex::new(state),
        })
    }

    /// Appends one entry and fsyncs it. Returns its seq.
    pub fn append(&self, entry: NewEntry) -> Result<u64, AuditError> {
        self.append_batch(std::slice::from_ref(&entry))
    }

    /// Appends entries in order with one write and one fsync, all into the same file.
    /// Returns the seq of the last one (the log's last seq if `entries` is empty). On an
    /// error nothing of the batch stays in the log.
    pub fn append_batch(&self, entries: &[NewEntry]) -> Result<u64, AuditError> {
        let mut state = match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => {
                return Err(AuditError::Poisoned {
                    path: poisoned.into_inner().path.clone(),
                })
            }
        };
        if state.poisoned {
            return Err(AuditError::Poisoned {
                path: state.path.clone(),
            });
        }
        if entries.is_empty() {
            return Ok(state.last_seq);
        }
        if state.size > 0 && state.size >= self.max_file_bytes {
            self.start_next_file(&mut state)?;
        }
        let now = crate::clock::now();
        let mut seq = state.last_seq;
        let mut prev = state.prev.clone();
        let mut bytes = Vec::new();
        for new in entries {
            seq += 1;
            let line = self.entry(seq, prev, new, now).canonical_line();
            prev = sha256_hex(line.as_bytes());
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
        }
        let written = state
            .file
            .write_all(&bytes)
            .and_then(|()| state.file.sync_data());
        if let Err(source) = written {
            // Take back whatever part of the batch reached the file, so the chain on disk
            // still ends where `state` says it does.
            let size = state.size;
            if state
                .file
                .set_len(size)
                .and_then(|()| state.file.sync_data())
                .is_err()
            {
                state.poisoned = true;
            }
            return Err(AuditError::Io {
                path: state.path.clone(),
                action: "append to",
                source,
            });
        }
        state.size += bytes.len() as u64;
        state.last_seq = seq;
        state.prev = prev;
        Ok(seq)
    }

    /// The seq of the last entry written (0 for an empty log).
    pub fn last_seq(&self) -> u64 {
        self.state.lock().map(|s| s.last_seq).unwrap_or(0)
    }

    /// The directory the log is in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key subjects are hashed with (for [`super::find_subject`]).
    pub fn key(&self) -> &SubjectKey {
        &self.key
    }

    fn entry(&self, seq: u64, prev: String, new: &NewEntry, now: Timestamp) -> Entry {
        let mut entry = Entry {
            seq,
            time: new.time.unwrap_or(now),
            actor: new.actor.to_string(),
            system: new.system.clone(),
            action: new.action.as_str().to_owned(),
            outcome: new.outcome.as_str().to_owned(),
            counts: new.counts.clone(),
            subject: self.key.subjects(&new.identifiers),
            detail: new.detail.as_deref().map(clip_detail),
            prev,
            hash: String::new(),
        };
        entry.hash = entry.content_hash();
        entry
    }

    fn start_next_file(&self, state: &mut State) -> Result<(), AuditError> {
        let number = state.number + 1;
        let path = self.dir.join(file_name(number));
        state.file = create_file(&path, &self.dir)?;
        state.number = number;
        state.path = path;
        state.size = 0;
        Ok(())
    }
}

impl State {
    fn new(number: u64, path: PathBuf, file: File, size: u64, last_seq: u64, prev: String) -> Self {
        Self {
            number,
            path,
            file,
            size,
            last_seq,
            prev,
            poisoned: false,
        }
    }
}

/// Creates an empty log file (0600) and makes its name durable.
fn create_file(path: &Path, dir: &Path) -> Result<File, AuditError> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| AuditError::Io {
            path: path.to_owned(),
            action: "create",
            source,
        })?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| AuditError::Io {
            path: dir.to_owned(),
            action: "sync",
            source,
        })?;
    Ok(file)
}

/// Removes an unfinished last line (no newline) from the file being continued. Returns the
/// size left.
fn cut_torn_line(file: &mut File, path: &Path) -> Result<u64, AuditError> {
    let io_error = |action| {
        move |source| AuditError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    };
    let len = file.metadata().map_err(io_error("stat"))?.len();
    let complete = complete_len(file, len).map_err(io_error("read"))?;
    if complete < len {
        file.set_len(complete)
            .and_then(|()| file.sync_data())
            .map_err(io_error("cut the unfinished last line of"))?;
        tracing::warn!(
            path = %path.display(),
            bytes = len - complete,
            "removed an unfinished last line of the audit log, left by a write that was cut short; it was never reported as written"
        );
    }
    Ok(complete)
}

/// The seq and line hash of the last entry in a file of `len` complete bytes, or `None` for
/// an empty file.
fn chain_end(file: &mut File, len: u64, path: &Path) -> Result<Option<(u64, String)>, AuditError> {
    let line = last_line(file, len).map_err(|source| AuditError::Io {
        path: path.to_owned(),
        action: "read",
        source,
    })?;
    let Some(line) = line else {
        return Ok(None);
    };
    match serde_json::from_slice::<Entry>(&line) {
        Ok(entry) => Ok(Some((entry.seq, sha256_hex(&line)))),
        Err(e) => Err(AuditError::Damaged {
            path: path.to_owned(),
            problem: format!(
                "its last line is not an audit entry ({:?} error at column {})",
                e.classify(),
                e.column()
            ),
        }),
    }
}

/// Where the chain ends when the newest file is empty: the last line of the newest file
/// before it that has one, or the start of the chain.
fn earlier_chain_end(files: &[(u64, PathBuf)]) -> Result<(u64, String), AuditError> {
    for (_, path) in files.iter().rev() {
        let io_error = |action| {
            move |source| AuditError::Io {
                path: path.clone(),
                action,
                source,
            }
        };
        let mut file = File::open(path).map_err(io_error("open"))?;
        let len = file.metadata().map_err(io_error("stat"))?.len();
        if complete_len(&mut file, len).map_err(io_error("read"))? < len {
            return Err(AuditError::Damaged {
                path: path.clone(),
                problem: "its last line has no newline, in a file gallra had finished".into(),
            });
        }
        if let Some(end) = chain_end(&mut file, len, path)? {
            return Ok(end);
        }
    }
    Ok((0, GENESIS_PREV.to_owned()))
}

const CHUNK: u64 = 64 * 1024;

/// Reads backwards from `end` until `done` finds what it needs in the bytes read so far
/// (which start at the returned offset), or the start of the file is reached.
fn read_back(
    file: &mut File,
    end: u64,
    done: impl Fn(&[u8]) -> bool,
) -> io::Result<(Vec<u8>, u64)> {
    let mut buf = Vec::new();
    let mut start = end;
    while start > 0 && !done(&buf) {
        let from = start.saturating_sub(CHUNK);
        let mut chunk = vec![0; usize::try_from(start - from).unwrap_or(0)];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        start = from;
    }
    Ok((buf, start))
}

/// Length of the file up to and including its last newline.
fn complete_len(file: &mut File, len: u64) -> io::Result<u64> {
    let (buf, start) = read_back(file, len, |buf| buf.contains(&b'\n'))?;
    Ok(match buf.iter().rposition(|&b| b == b'\n') {
        Some(i) => start + i as u64 + 1,
        None => 0,
    })
}

/// The last line of the first `len` bytes (which end in a newline, or are empty), without
/// its newline.
fn last_line(file: &mut File, len: u64) -> io::Result<Option<Vec<u8>>> {
    if len == 0 {
        return Ok(None);
    }
    // The line starts after the newline before the final one.
    let (buf, _) = read_back(file, len, |buf| {
        buf.len() > 1 && buf[..buf.len() - 1].contains(&b'\n')
    })?;
    let body = &buf[..buf.len().saturating_sub(1)];
    let begin = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    Ok(Some(body[begin..].to_vec()))
}
