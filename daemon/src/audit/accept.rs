//! `gallra audit accept`: a person acknowledges that this node's chain no longer matches its
//! head (cut short, emptied, deleted, rewritten) and gallra goes on from the chain as it is,
//! recording that it was accepted, when, and why. Other nodes' chains are theirs to accept.
//!
//! A log whose chain still verifies is kept and the head re-anchored at its end. A log whose
//! chain is broken cannot be continued: its files are moved, untouched, into
//! `audit/set-aside-<time>/` (this node's files only) for whoever investigates, and a new chain starts. Either way
//! the first new entry says what was accepted.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::anchor::head_at;
use super::verify::{verify_node, verify_with_head, VerifyError};
use super::writer::State;
use super::{
    default_key_path, list_files, log_dir, Action, Actor, AuditError, AuditLog, KeyError, NewEntry,
    Outcome, SubjectKey, DEFAULT_MAX_FILE_BYTES,
};
use crate::store::{AuditHeadStore, StoreError};

/// What was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The head's seq before (0: there was none).
    pub head_seq: u64,
    /// Where the log ended when it was accepted (0: it had no entries, or was set aside).
    pub log_seq: u64,
    /// Where the files of a broken chain were moved, if they were.
    pub set_aside: Option<PathBuf>,
    /// The seq of the entry that records the acceptance: the new head.
    pub seq: u64,
}

/// Why nothing was accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The reason is empty or holds personal data.
    #[error("{0}")]
    Reason(String),
    /// The log matches its head: there is nothing to accept.
    #[error(
        "the audit log matches its head in the state store (entry {0}): there is nothing to accept"
    )]
    Intact(u64),
    /// The state store failed.
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    /// The audit key could not be read.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// The log could not be read, moved or written.
    #[error("{0}")]
    Audit(#[from] AuditError),
}

/// Accepts the chain of `store`'s node in `state_dir/audit` as it is, for `reason` (kept in
/// the log, so it must not hold personal data). Refuses a chain that matches its head.
pub fn accept(
    state_dir: &Path,
    store: &dyn AuditHeadStore,
    reason: &str,
) -> Result<Accepted, AcceptError> {
    if reason.trim().is_empty() {
        return Err(AcceptError::Reason(
            "reason: say why the log may be accepted as it is (e.g. \"disk restored from backup, ticket 4711\")".into(),
        ));
    }
    gallra_core::free_text::refuse_personal_data("reason", reason, &[])
        .map_err(AcceptError::Reason)?;
    let key = SubjectKey::generate(&default_key_path(state_dir))?;
    let chain = key.chain_key();
    let dir = log_dir(state_dir);
    let node = store.node();
    let head = store.audit_head()?;
    let head_seq = head.as_ref().map_or(0, |h| h.seq);
    // Cuts a line a crash left unfinished, as the writer would; a last line that is not an
    // entry leaves the chain broken.
    let continuable = State::open(&dir, node).map(drop);
    let (log_seq, set_aside) = match continuable {
        Ok(()) => match verify_with_head(&dir, node, &chain, head.as_ref()) {
            Ok(report) => return Err(AcceptError::Intact(report.last_seq)),
            Err(VerifyError::Io {
                path,
                action,
                source,
            }) => return Err(io(path, action, source)),
            Err(_) => match verify_node(&dir, node, &chain) {
                Ok(report) => (report.last_seq, None),
                Err(VerifyError::Io {
                    path,
                    action,
                    source,
                }) => return Err(io(path, action, source)),
                Err(_) => (0, Some(set_files_aside(&dir, node)?)),
            },
        },
        Err(AuditError::Damaged { .. }) => (0, Some(set_files_aside(&dir, node)?)),
        Err(error) => return Err(error.into()),
    };
    // Written before the head moves, so that a daemon waiting on the log sees it matched
    // only once the acceptance is in it.
    let log = AuditLog::open_node(&dir, node, key, DEFAULT_MAX_FILE_BYTES)?;
    let files_set_aside = match &set_aside {
        Some(aside) => list_files(aside, node).map_or(0, |f| f.len() as u64),
        None => 0,
    };
    log.append(
        NewEntry::new(Actor::Operator, Action::AuditAccepted, Outcome::Done)
            .detail(reason.trim())
            .count("head_seq", head_seq)
            .count("log_seq", log_seq)
            .count("files_set_aside", files_set_aside),
    )?;
    drop(log);
    let report = verify_node(&dir, node, &chain).map_err(|e| {
        AcceptError::Audit(AuditError::Damaged {
            path: dir.clone(),
            problem: e.to_string(),
        })
    })?;
    store.set_audit_head(&head_at(&report))?;
    Ok(Accepted {
        head_seq,
        log_seq,
        set_aside,
        seq: report.last_seq,
    })
}

fn io(path: PathBuf, action: &'static str, source: std::io::Error) -> AcceptError {
    AcceptError::Audit(AuditError::Io {
        path,
        action,
        source,
    })
}

/// Moves every file of `node`'s chain in `dir` into a new `dir/set-aside-<time>/`, untouched.
fn set_files_aside(dir: &Path, node: &str) -> Result<PathBuf, AuditError> {
    let stamp = crate::clock::now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let aside = dir.join(format!("set-aside-{stamp}"));
    DirBuilder::new()
        .mode(0o700)
        .create(&aside)
        .map_err(AuditError::io(&aside, "create"))?;
    for (_, path) in list_files(dir, node).map_err(AuditError::io(dir, "list"))? {
        let name = path.file_name().unwrap_or_default();
        std::fs::rename(&path, aside.join(name)).map_err(AuditError::io(&path, "move aside"))?;
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(AuditError::io(dir, "sync"))?;
    tracing::warn!(dir = %aside.display(), "moved the audit log's files aside; a new chain starts");
    Ok(aside)
}
