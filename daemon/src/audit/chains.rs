//! Checking every node's chain in one directory against the heads in the state store: what
//! `gallra audit verify` does once several daemons share a store.
//!
//! Each daemon writes its chain into its own `state_dir/audit`. On one host, or with the
//! directory on storage the nodes share, every chain is there; otherwise the operator copies
//! the other nodes' `audit-NODE-N.log` files in first. A head whose chain is not in the
//! directory is reported as such, never taken as an intact empty chain: its node may have
//! written entries that no one has checked.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use super::head::AuditHead;
use super::verify::{verify_with_head, VerifyError, VerifyReport};
use super::{list_chains, ChainKey};

/// What was found of one node's chain.
#[derive(Debug)]
pub enum ChainVerdict {
    /// Its files were checked (against its head, if the store has one).
    Checked(Result<VerifyReport, VerifyError>),
    /// None of its files are in the directory, though the store has a head with entries for
    /// it (`Some`), or nothing at all is known of it (`None`: a name asked for that is not a
    /// node's).
    NotHere(Option<AuditHead>),
}

impl ChainVerdict {
    /// Whether the chain is here and intact.
    pub fn intact(&self) -> bool {
        matches!(self, Self::Checked(Ok(_)))
    }
}

/// Checks every chain in `dir` with `key`, each against its node's head in `heads`, and
/// reports every head whose chain is not there; by node name. `local` is the node whose
/// chain is written in `dir` (this configuration's): its missing chain was deleted, not left
/// on another host, and it is reported as cut short. `only`, if not empty, restricts the
/// check to those nodes. With nothing at all to check, `local`'s empty chain is reported.
pub fn verify_chains(
    dir: &Path,
    key: &ChainKey,
    heads: &[(String, AuditHead)],
    local: &str,
    only: &[String],
) -> io::Result<Vec<(String, ChainVerdict)>> {
    let chains = list_chains(dir)?;
    let mut nodes: BTreeSet<&str> = if only.is_empty() {
        let known = chains.keys().chain(heads.iter().map(|(node, _)| node));
        known.map(String::as_str).collect()
    } else {
        only.iter().map(String::as_str).collect()
    };
    if nodes.is_empty() {
        nodes.insert(local);
    }
    let verdicts = nodes.into_iter().map(|node| {
        let head = heads.iter().find(|(n, _)| n == node).map(|(_, head)| head);
        let here = chains.contains_key(node) || node == local;
        let verdict = match head {
            Some(head) if !here && head.seq > 0 => ChainVerdict::NotHere(Some(head.clone())),
            None if !here => ChainVerdict::NotHere(None),
            head => ChainVerdict::Checked(verify_with_head(dir, node, key, head)),
        };
        (node.to_owned(), verdict)
    });
    Ok(verdicts.collect())
}
