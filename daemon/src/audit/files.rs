//! The log's files, one chain per node: `audit-NODE-N.log` for the chain node `NODE` writes
//! (one writer each), and `audit-N.log` for the chain from before nodes (node `""`, which no
//! daemon writes any more: see the state store's migration 13).
//!
//! Nodes on different hosts write their chains into their own `state_dir/audit`. Because
//! the node is in every file name, their directories can be copied into one (or be one, on
//! shared storage) without a name clashing, and `gallra audit verify` there checks every
//! chain against its head.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// The node of the chain from before nodes, in the unnamed files `audit-N.log`.
pub const BEFORE_NODES: &str = "";

/// `audit-NODE-N.log`, or `audit-N.log` for [`BEFORE_NODES`].
pub fn file_name(node: &str, number: u64) -> String {
    if node.is_empty() {
        format!("audit-{number}.log")
    } else {
        format!("audit-{node}-{number}.log")
    }
}

/// The node and N of a name exactly as [`file_name`] writes it.
pub(super) fn parse_file_name(name: &str) -> Option<(&str, u64)> {
    let rest = name.strip_prefix("audit-")?.strip_suffix(".log")?;
    let (node, number) = match rest.rsplit_once('-') {
        Some((node, number)) if node_name_error(node).is_none() => (node, number),
        Some(_) => return None,
        None => (BEFORE_NODES, rest),
    };
    let number: u64 = number.parse().ok()?;
    (number > 0 && file_name(node, number) == name).then_some((node, number))
}

/// Why `node` cannot name a chain, if it cannot: it goes into file names, so it is 1 to 100
/// ASCII letters, digits, `.`, `_` and `-` (a host name is).
pub(super) fn node_name_error(node: &str) -> Option<String> {
    let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if node.is_empty() || node.len() > 100 || !node.chars().all(fits) {
        Some(format!(
            "the node name {node:?} cannot name an audit chain: its files are audit-NODE-N.log, so set `[state_store] node` to 1 to 100 letters, digits, '.', '_' or '-'"
        ))
    } else {
        None
    }
}

/// Every chain in `dir`: each node's files, by number. A missing directory holds none; other
/// files are ignored.
pub fn list_chains(dir: &Path) -> io::Result<BTreeMap<String, Vec<(u64, PathBuf)>>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    let mut chains: BTreeMap<String, Vec<(u64, PathBuf)>> = BTreeMap::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if let Some((node, number)) = name.to_str().and_then(parse_file_name) {
            let files = chains.entry(node.to_owned()).or_default();
            files.push((number, entry.path()));
        }
    }
    for files in chains.values_mut() {
        files.sort();
    }
    Ok(chains)
}

/// `node`'s files in `dir`, by number.
pub(crate) fn list_files(dir: &Path, node: &str) -> io::Result<Vec<(u64, PathBuf)>> {
    Ok(list_chains(dir)?.remove(node).unwrap_or_default())
}

/// How a sysadmin is told which chain: `node "web-1"`, or the chain from before nodes.
pub fn chain_label(node: &str) -> String {
    if node.is_empty() {
        "the chain from before nodes (audit-N.log)".to_owned()
    } else {
        format!("node {node:?}")
    }
}
