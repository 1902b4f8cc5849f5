//! What every drive does before the tasks: cancellations reach the audit log, and export
//! files older than `[requests] exports_keep` are deleted.
//!
//! A cancel is recorded by whoever cancels (the CLI, the admin API) in the state store only;
//! the engine, the one process writing the audit log, writes its entry here, so that two
//! processes never append to the chain at once.

use std::path::Path;

use jiff::Timestamp;

use super::engine::DriveError;
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::context::Context;
use crate::store::RequestStore;

/// Writes an entry for each cancellation not yet in the audit log, then marks it written.
/// Stopped before the mark, the entry is written again by the next drive.
pub fn audit_cancels(context: &Context, store: &dyn RequestStore) -> Result<(), DriveError> {
    for request in store.cancels_to_audit()? {
        let mut entry = NewEntry::new(
            Actor::Request(request.id.0),
            Action::RequestCancelled,
            Outcome::Cancelled,
        );
        // The reason was refused if it named the subject.
        if let Some(detail) = &request.detail {
            entry = entry.detail(detail.clone());
        }
        context.write_audit(&[entry])?;
        store.cancel_audited(request.id)?;
    }
    Ok(())
}

/// Deletes the export files in `dir` written longer than `exports_keep` before `now`: a
/// request's files (`request-N.csv`) count from when the request was completed, on gallra's
/// clock, any other file from its modification time. Each deletion is written to the audit
/// log first (the file's name only); a file that then cannot be deleted is tried, and
/// recorded, again at the next drive.
pub fn expire_exports(
    context: &Context,
    store: &dyn RequestStore,
    dir: &Path,
    now: Timestamp,
) -> Result<(), DriveError> {
    let keep = &context.config.requests.exports_keep;
    let Ok(listing) = std::fs::read_dir(dir) else {
        return Ok(()); // no export was ever written
    };
    let mut expired = Vec::new();
    for entry in listing.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let completed = match request_of(&name) {
            Actor::Request(id) => store
                .request(super::RequestId(id))?
                .and_then(|r| r.completed_at),
            _ => None,
        };
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| Timestamp::try_from(t).ok());
        let Some(written) = completed.or(modified) else {
            continue;
        };
        let until = keep
            .after(&written.to_zoned(context.config.time_zone.clone()))
            .timestamp();
        if until <= now {
            expired.push(entry.path());
        }
    }
    if expired.is_empty() {
        return Ok(());
    }
    let entries: Vec<NewEntry> = expired
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            NewEntry::new(request_of(&name), Action::Expire, Outcome::Done).detail(format!(
                "export file {name} deleted: written more than exports_keep ({keep}) ago"
            ))
        })
        .collect();
    context.write_audit(&entries)?;
    for path in &expired {
        if let Err(error) = std::fs::remove_file(path) {
            tracing::error!(file = %path.display(), %error, "cannot delete an expired export file; tried again at the next wake");
        }
    }
    tracing::info!(files = expired.len(), "expired export files deleted");
    Ok(())
}

/// The request an export file is named for (`request-12.csv`), or gallra itself.
fn request_of(name: &str) -> Actor {
    name.strip_prefix("request-")
        .and_then(|rest| rest.split('.').next())
        .and_then(|id| id.parse().ok())
        .map_or(Actor::Gallra, Actor::Request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_file_is_attributed_to_its_request() {
        assert_eq!(request_of("request-12.csv"), Actor::Request(12));
        assert_eq!(request_of("request-7.json"), Actor::Request(7));
        assert_eq!(request_of("notes.txt"), Actor::Gallra);
    }
}
