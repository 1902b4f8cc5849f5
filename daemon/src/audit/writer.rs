//! Appending to a node's chain: one writer per process, lines written whole and fsync'd
//! before `append` returns, and — for a log anchored in the state store — the head written
//! after.

use std::fmt;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;

use super::anchor::{Anchor, AuditStatus};
use super::entry::{clip_detail, sha256_hex, Entry, NewEntry, GENESIS_PREV};
use super::tail::{chain_end, create_file, cut_torn_line, earlier_chain_end};
use super::{file_name, list_files, ChainKey, SubjectKey, BEFORE_NODES};

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
    /// The log does not match its head in the state store, or was changed under gallra.
    #[error("audit log {dir}: {problem}. gallra erases nothing until a person has looked: keep a copy of {dir} and of the state database, find out what happened, then run `gallra audit accept --reason \"…\"` to go on from the log as it is")]
    Tampered {
        /// The log's directory.
        dir: PathBuf,
        /// What is wrong, as `gallra audit verify` says it.
        problem: String,
    },
    /// The store's node name cannot name a chain's files.
    #[error("audit log: {0}")]
    Node(String),
    /// The state store could not read or keep the head.
    #[error("audit log {dir}: the state store cannot keep the log's head: {source} (is the state database writable? is the disk full?)")]
    Head {
        /// The log's directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: crate::store::StoreError,
    },
}

impl AuditError {
    /// Turns an I/O error on `path`, while doing `action`, into [`AuditError::Io`].
    pub(super) fn io(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Io {
            path,
            action,
            source,
        }
    }
}

/// The audit log, open for appending. `Send + Sync`; appends are serialized inside.
pub struct AuditLog {
    pub(super) dir: PathBuf,
    /// Whose chain it writes (`""`: the chain from before nodes).
    pub(super) node: String,
    key: SubjectKey,
    pub(super) chain: ChainKey,
    pub(super) max_file_bytes: u64,
    pub(super) slot: Mutex<Slot>,
    pub(super) anchor: Option<Anchor>,
}

/// The writer, or why it refuses to write.
pub(super) enum Slot {
    /// Writing, from where the chain stands.
    Open(State),
    /// The log does not match its head: every append is refused until it does again.
    Refused(String),
}

/// The file being written and where the chain stands.
pub(super) struct State {
    number: u64,
    path: PathBuf,
    file: File,
    /// Device and inode of `file`, to tell it from a file put in its place.
    id: (u64, u64),
    /// Bytes in `file`, all of them complete, fsync'd lines.
    size: u64,
    pub(super) last_seq: u64,
    /// Hex SHA-256 of the last line: the next entry's `prev`.
    prev: String,
    poisoned: bool,
    /// When the whole log was last checked against its head.
    pub(super) checked_at: std::time::Instant,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("node", &self.node)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("last_seq", &self.last_seq())
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens the chain from before nodes (`audit-N.log`) in `dir`, for tests and tools: see
    /// [`AuditLog::open_node`].
    pub fn open(dir: &Path, key: SubjectKey, max_file_bytes: u64) -> Result<Self, AuditError> {
        Self::open_node(dir, BEFORE_NODES, key, max_file_bytes)
    }

    /// Opens `node`'s chain in `dir` (created 0700 if missing) and continues it: the next
    /// entry gets the seq after the last one on disk and links to its line. Nothing is
    /// checked against a head: see [`super::open`] for the log gallra runs with.
    ///
    /// A last line without its newline is a write a crash cut short. It is cut away, with a
    /// warning: an append returns only after the whole line and its newline are fsync'd, so
    /// no caller was ever told that entry was recorded, and the lines before it are intact.
    /// A file may grow past `max_file_bytes` by one batch; the next batch starts a new file.
    pub fn open_node(
        dir: &Path,
        node: &str,
        key: SubjectKey,
        max_file_bytes: u64,
    ) -> Result<Self, AuditError> {
        let state = State::open(dir, node)?;
        Ok(Self::with_slot(
            dir,
            node,
            key,
            max_file_bytes,
            Slot::Open(state),
            None,
        ))
    }

    pub(super) fn with_slot(
        dir: &Path,
        node: &str,
        key: SubjectKey,
        max_file_bytes: u64,
        slot: Slot,
        anchor: Option<Anchor>,
    ) -> Self {
        Self {
            dir: dir.to_owned(),
            node: node.to_owned(),
            chain: key.chain_key(),
            key,
            max_file_bytes: max_file_bytes.max(1),
            slot: Mutex::new(slot),
            anchor,
        }
    }

    /// Appends one entry and fsyncs it. Returns its seq.
    pub fn append(&self, entry: NewEntry) -> Result<u64, AuditError> {
        self.append_batch(std::slice::from_ref(&entry))
    }

    /// Appends entries in order with one write and one fsync, all into the same file, then
    /// (for a log anchored in the state store) records the new head there. Returns the seq
    /// of the last one (the log's last seq if `entries` is empty). On an error nothing of the
    /// batch stays in the log — except when only the head could not be recorded: the entries
    /// stay, and the head catches up with the next append.
    ///
    /// An anchored log that no longer matches its head refuses every append with
    /// [`AuditError::Tampered`].
    pub fn append_batch(&self, entries: &[NewEntry]) -> Result<u64, AuditError> {
        let mut slot = self.lock_slot()?;
        if let Some(anchor) = &self.anchor {
            anchor.before_write(self, &mut slot)?;
        }
        let state = match &mut *slot {
            Slot::Open(state) => state,
            Slot::Refused(problem) => return Err(self.tampered(problem)),
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
            self.start_next_file(state)?;
        }
        let now = crate::clock::now();
        let mut seq = state.last_seq;
        let mut prev = state.prev.clone();
        let mut bytes = Vec::new();
        let mut line = String::new();
        for new in entries {
            seq += 1;
            line = self.entry(seq, prev, new, now).canonical_line();
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
        if let Some(anchor) = &self.anchor {
            anchor.record(self, state.number, seq, line.as_bytes())?;
        }
        Ok(seq)
    }

    /// The seq of the last entry written (0 for an empty log, or one that refuses writes).
    pub fn last_seq(&self) -> u64 {
        match self.slot.lock().as_deref() {
            Ok(Slot::Open(state)) => state.last_seq,
            _ => 0,
        }
    }

    /// Why every append is refused, if it is: the log does not match its head.
    pub fn refusal(&self) -> Option<AuditError> {
        match self.slot.lock().as_deref() {
            Ok(Slot::Refused(problem)) => Some(self.tampered(problem)),
            _ => None,
        }
    }

    /// Whether the log is writable, and the head's seq (the last seq for a log without one).
    pub fn status(&self) -> AuditStatus {
        match &self.anchor {
            Some(anchor) => anchor.status(),
            None => AuditStatus {
                intact: true,
                head_seq: self.last_seq(),
            },
        }
    }

    /// Calls `watch` with the log's status now and whenever it changes (after every append
    /// to an anchored log): how the metrics follow it.
    pub fn watch(&self, watch: impl Fn(AuditStatus) + Send + Sync + 'static) {
        match &self.anchor {
            Some(anchor) => anchor.watch(Box::new(watch)),
            None => watch(self.status()),
        }
    }

    /// The directory the log is in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The node whose chain this is (`""`: the chain from before nodes).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The key subjects are hashed with (for [`super::find_subject`]).
    pub fn key(&self) -> &SubjectKey {
        &self.key
    }

    pub(super) fn tampered(&self, problem: &str) -> AuditError {
        AuditError::Tampered {
            dir: self.dir.clone(),
            problem: problem.to_owned(),
        }
    }

    fn lock_slot(&self) -> Result<MutexGuard<'_, Slot>, AuditError> {
        self.slot.lock().map_err(|poisoned| AuditError::Poisoned {
            path: match &*poisoned.into_inner() {
                Slot::Open(state) => state.path.clone(),
                Slot::Refused(_) => self.dir.clone(),
            },
        })
    }

    fn entry(&self, seq: u64, prev: String, new: &NewEntry, now: Timestamp) -> Entry {
        let mut entry = Entry {
            seq,
            node: (!self.node.is_empty()).then(|| self.node.clone()),
            time: new.time.unwrap_or(now),
            actor: new.actor.to_string(),
            system: new.system.clone(),
            action: new.action.as_str().to_owned(),
            outcome: new.outcome.as_str().to_owned(),
            counts: new.counts.clone(),
            subject: self.key.subjects(&new.identifiers),
            detail: new.detail.as_deref().map(clip_detail),
            prev,
            hash: None,
            mac: None,
        };
        entry.seal(&self.chain);
        entry
    }

    fn start_next_file(&self, state: &mut State) -> Result<(), AuditError> {
        let number = state.number + 1;
        let path = self.dir.join(file_name(&self.node, number));
        state.file = create_file(&path, &self.dir)?;
        state.id = file_id(&state.file, &path)?;
        state.number = number;
        state.path = path;
        state.size = 0;
        Ok(())
    }
}

impl State {
    /// Opens `node`'s chain in `dir` for appending, creating the directory and first file if
    /// missing, cutting away a line a crash left unfinished.
    pub(super) fn open(dir: &Path, node: &str) -> Result<Self, AuditError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(AuditError::io(dir, "create the directory"))?;
        let files = list_files(dir, node).map_err(AuditError::io(dir, "list"))?;
        let (number, path, file, size, last_seq, prev) = match files.last() {
            None => {
                let path = dir.join(file_name(node, 1));
                let file = create_file(&path, dir)?;
                (1, path, file, 0, 0, GENESIS_PREV.to_owned())
            }
            Some((number, path)) => {
                let mut file = OpenOptions::new()
                    .read(true)
                    .append(true)
                    .open(path)
                    .map_err(AuditError::io(path, "open"))?;
                let size = cut_torn_line(&mut file, path)?;
                let (last_seq, prev) = match chain_end(&mut file, size, path)? {
                    Some(end) => end,
                    None => earlier_chain_end(&files[..files.len() - 1])?,
                };
                (*number, path.clone(), file, size, last_seq, prev)
            }
        };
        Ok(Self {
            number,
            id: file_id(&file, &path)?,
            path,
            file,
            size,
            last_seq,
            prev,
            poisoned: false,
            checked_at: std::time::Instant::now(),
        })
    }

    /// What is wrong with the file being written, if it is no longer what gallra left: gone,
    /// replaced, or of another length. Cheap enough for every append.
    pub(super) fn changed_under_us(&self) -> Option<String> {
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        match std::fs::metadata(&self.path) {
            Err(_) => Some(format!(
                "{name} (or the whole directory) was deleted while gallra was writing it"
            )),
            Ok(meta) if (meta.dev(), meta.ino()) != self.id => Some(format!(
                "{name} was replaced by another file while gallra was writing it"
            )),
            Ok(meta) if meta.len() != self.size => Some(format!(
                "{name} holds {} bytes, but gallra had written {} to it (it was cut or changed while gallra was writing it)",
                meta.len(),
                self.size
            )),
            Ok(_) => None,
        }
    }
}

fn file_id(file: &File, path: &Path) -> Result<(u64, u64), AuditError> {
    let meta = file.metadata().map_err(|source| AuditError::Io {
        path: path.to_owned(),
        action: "stat",
        source,
    })?;
    Ok((meta.dev(), meta.ino()))
}
