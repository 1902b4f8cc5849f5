//! A node's chain anchored in the state store: checked against the node's head when it is
//! opened, before
//! every append (cheaply: is the file still what gallra left?), and in full every few
//! minutes; the head written after every append. A log that does not match refuses every
//! append, so nothing is erased that it would have to record, until a person accepts it
//! (`gallra audit accept`) — while the daemon goes on serving reads.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::files::node_name_error;
use super::head::{AuditHead, HeadProblem};
use super::verify::{verify_with_head, VerifyError, VerifyReport};
use super::writer::{Slot, State};
use super::{list_files, AuditError, AuditLog, ChainKey, SubjectKey};
use crate::store::AuditHeadStore;

/// How often the whole log is checked against its head while gallra writes it (the file
/// being written is checked before every append).
pub const FULL_CHECK_EVERY: Duration = Duration::from_secs(600);

/// Whether the log can be written, and how far its head reaches: what the metrics show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditStatus {
    /// The log matches its head; appends go through.
    pub intact: bool,
    /// The head's seq in the state store (0: none, or a log without entries).
    pub head_seq: u64,
}

type Watcher = Box<dyn Fn(AuditStatus) + Send + Sync>;

/// The state store side of an anchored log.
pub(super) struct Anchor {
    store: Arc<dyn AuditHeadStore>,
    check_every: Duration,
    status: Mutex<AuditStatus>,
    watcher: Mutex<Option<Watcher>>,
}

/// Opens the chain of the store's node ([`LeaseStore::node`](crate::store::LeaseStore::node))
/// in `dir` and checks it against that node's head in `store`. A log that does not
/// match opens all the same, refusing every append with [`AuditError::Tampered`]. A store
/// without a head takes the log as it is (a new install, or a log written before gallra
/// kept heads), unless the log holds sealed entries, which only a gallra that keeps heads
/// writes.
pub fn open_anchored(
    dir: &Path,
    key: SubjectKey,
    max_file_bytes: u64,
    store: Arc<dyn AuditHeadStore>,
) -> Result<AuditLog, AuditError> {
    open_checking_every(dir, key, max_file_bytes, store, FULL_CHECK_EVERY)
}

/// [`open_anchored`] with the full check made every `check_every`.
pub fn open_checking_every(
    dir: &Path,
    key: SubjectKey,
    max_file_bytes: u64,
    store: Arc<dyn AuditHeadStore>,
    check_every: Duration,
) -> Result<AuditLog, AuditError> {
    let node = store.node().to_owned();
    if let Some(error) = node_name_error(&node) {
        return Err(AuditError::Node(error));
    }
    let (slot, head_seq) = open_slot(dir, &node, &key.chain_key(), store.as_ref())?;
    let anchor = Anchor {
        store,
        check_every,
        status: Mutex::new(AuditStatus {
            intact: matches!(slot, Slot::Open(_)),
            head_seq,
        }),
        watcher: Mutex::new(None),
    };
    Ok(AuditLog::with_slot(
        dir,
        &node,
        key,
        max_file_bytes,
        slot,
        Some(anchor),
    ))
}

/// The writer for `node`'s chain in `dir` if it matches the head, or why not; and the head's
/// seq.
fn open_slot(
    dir: &Path,
    node: &str,
    chain: &ChainKey,
    store: &dyn AuditHeadStore,
) -> Result<(Slot, u64), AuditError> {
    let head = store.audit_head().map_err(|source| AuditError::Head {
        dir: dir.to_owned(),
        source,
    })?;
    let head_seq = head.as_ref().map_or(0, |h| h.seq);
    // Opening would start an empty log over the loss: say what is missing instead.
    if let Some(head) = head.as_ref().filter(|h| h.seq > 0) {
        if list_files(dir, node).map_or(true, |files| files.is_empty()) {
            let problem = HeadProblem::Short {
                node: node.to_owned(),
                log_end: 0,
                head: head.seq,
                head_file: head.file,
            };
            return Ok((Slot::Refused(problem.to_string()), head_seq));
        }
    }
    let state = match State::open(dir, node) {
        Ok(state) => state,
        Err(AuditError::Damaged { path, problem }) => {
            let problem = format!("{}: {problem}", path.display());
            return Ok((Slot::Refused(problem), head_seq));
        }
        Err(error) => return Err(error),
    };
    match verify_with_head(dir, node, chain, head.as_ref()) {
        Ok(report) if head.is_none() => {
            let adopted = head_at(&report);
            store
                .set_audit_head(&adopted)
                .map_err(|source| AuditError::Head {
                    dir: dir.to_owned(),
                    source,
                })?;
            if adopted.seq > 0 {
                tracing::info!(
                    dir = %dir.display(),
                    node,
                    seq = adopted.seq,
                    "the audit log's head is kept in the state store from now on"
                );
            }
            Ok((Slot::Open(state), adopted.seq))
        }
        Ok(_) => Ok((Slot::Open(state), head_seq)),
        Err(VerifyError::Io {
            path,
            action,
            source,
        }) => Err(AuditError::Io {
            path,
            action,
            source,
        }),
        Err(problem) => Ok((Slot::Refused(problem.to_string()), head_seq)),
    }
}

/// The head for the end of a verified log (seq 0 for an empty one).
pub(super) fn head_at(report: &VerifyReport) -> AuditHead {
    AuditHead {
        file: report.last_file.max(1),
        seq: report.last_seq,
        mac: report.last_mac.clone().unwrap_or_default(),
        updated_at: crate::clock::now(),
    }
}

impl Anchor {
    /// Before an append: a refused log is looked at again (a person may have accepted it
    /// since); an open one is refused if its file changed under gallra, or if the full
    /// check, when due, finds it no longer matches its head.
    pub(super) fn before_write(&self, log: &AuditLog, slot: &mut Slot) -> Result<(), AuditError> {
        let problem = match slot {
            Slot::Refused(_) => {
                let (again, head_seq) =
                    open_slot(&log.dir, &log.node, &log.chain, self.store.as_ref())?;
                let intact = matches!(again, Slot::Open(_));
                *slot = again;
                self.set_status(AuditStatus { intact, head_seq });
                return Ok(());
            }
            Slot::Open(state) => match state.changed_under_us() {
                Some(problem) => problem,
                None if state.checked_at.elapsed() < self.check_every => return Ok(()),
                None => match self.full_check(log, state.last_seq)? {
                    None => {
                        state.checked_at = Instant::now();
                        return Ok(());
                    }
                    Some(problem) => problem,
                },
            },
        };
        tracing::error!(dir = %log.dir.display(), %problem, "the audit log no longer matches its head; nothing is erased until a person accepts it");
        *slot = Slot::Refused(problem);
        let head_seq = self.status().head_seq;
        self.set_status(AuditStatus {
            intact: false,
            head_seq,
        });
        Ok(())
    }

    /// The whole log against the head in the store and against where this writer stands.
    fn full_check(&self, log: &AuditLog, last_seq: u64) -> Result<Option<String>, AuditError> {
        let head = self.store.audit_head().map_err(|source| AuditError::Head {
            dir: log.dir.clone(),
            source,
        })?;
        Ok(
            match verify_with_head(&log.dir, &log.node, &log.chain, head.as_ref()) {
                Ok(report) if report.last_seq == last_seq => None,
                Ok(report) => Some(format!(
                    "the log ends at entry {} but gallra has written up to entry {last_seq}",
                    report.last_seq
                )),
                Err(problem) => Some(problem.to_string()),
            },
        )
    }

    /// After an append: the new head, `seq` in file `number`, whose line is `line`.
    pub(super) fn record(
        &self,
        log: &AuditLog,
        number: u64,
        seq: u64,
        line: &[u8],
    ) -> Result<(), AuditError> {
        let head = AuditHead {
            file: number,
            seq,
            mac: log.chain.line_mac(line),
            updated_at: crate::clock::now(),
        };
        self.store
            .set_audit_head(&head)
            .map_err(|source| AuditError::Head {
                dir: log.dir.clone(),
                source,
            })?;
        self.set_status(AuditStatus {
            intact: true,
            head_seq: seq,
        });
        Ok(())
    }

    pub(super) fn status(&self) -> AuditStatus {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn watch(&self, watcher: Watcher) {
        watcher(self.status());
        *self.watcher.lock().unwrap_or_else(PoisonError::into_inner) = Some(watcher);
    }

    fn set_status(&self, status: AuditStatus) {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner) = status;
        if let Some(watcher) = &*self.watcher.lock().unwrap_or_else(PoisonError::into_inner) {
            watcher(status);
        }
    }
}
