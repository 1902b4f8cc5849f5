//! "Was this person erased, and when?": a subject's entries, found by hashing what they give,
//! in every node's chain in the directory.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use gallra_plugin_api::Identifier;

use super::entry::Entry;
use super::{list_chains, AuditError, SubjectKey};

/// The entries about the subject known by `identifier`, in log order.
pub fn find_subject(
    dir: &Path,
    key: &SubjectKey,
    identifier: &Identifier,
) -> Result<Vec<Entry>, AuditError> {
    find_subjects(dir, key, std::slice::from_ref(identifier))
}

/// The entries about a subject known by any of `identifiers`, in every chain in `dir`: by
/// time, each chain's in its own order (an entry's `node` says whose chain it is in). Lines
/// that are not entries are skipped (with a warning): `verify` is what judges the log, this
/// only searches it.
pub fn find_subjects(
    dir: &Path,
    key: &SubjectKey,
    identifiers: &[Identifier],
) -> Result<Vec<Entry>, AuditError> {
    let wanted = key.subjects(identifiers);
    let mut found = Vec::new();
    let mut unreadable = 0u64;
    let chains = list_chains(dir).map_err(AuditError::io(dir, "list"))?;
    for (_, path) in chains.values().flatten() {
        let reader = BufReader::new(File::open(path).map_err(AuditError::io(path, "open"))?);
        for line in reader.split(b'\n') {
            let line = line.map_err(AuditError::io(path, "read"))?;
            match serde_json::from_slice::<Entry>(&line) {
                Ok(entry) if entry.subject.iter().any(|s| wanted.contains(s)) => found.push(entry),
                Ok(_) => {}
                Err(_) => unreadable += 1,
            }
        }
    }
    // Stable: within a chain, and at one instant, the chain's order stands.
    found.sort_by_key(|entry| entry.time);
    if unreadable > 0 {
        tracing::warn!(
            dir = %dir.display(),
            lines = unreadable,
            "skipped audit log lines that are not entries; run `gallra audit verify`"
        );
    }
    Ok(found)
}
