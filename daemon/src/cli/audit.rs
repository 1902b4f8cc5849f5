//! `gallra audit verify`, `show` and `accept`: checking every node's audit chain against its
//! head in the state store, finding a subject's entries by their keyed hash, and a person
//! accepting this node's chain that no longer matches its head.
//!
//! All read `<state_dir>/audit` and the key in `<state_dir>/audit.key` (the configuration
//! will name it with `audit_key_file`). Several daemons sharing a store each write their own
//! chain (`audit-NODE-N.log`) on their own host: `verify` and `show` read every chain in the
//! directory, so copy the other nodes' `state_dir/audit/*.log` in (or share the directory)
//! to check and search them all; a node whose head is in the store but whose chain is not
//! here fails `verify` unless `--node` leaves it out.

use std::fmt::Write as _;
use std::path::Path;

use clap::{Args, Subcommand};
use gallra_plugin_api::{Identifier, IdentifierKind};
use serde_json::json;

use super::output::{plural, print_json};
use super::setup::{load, lock_state, FAILED, OK};
use crate::audit::{
    self, chain_label, AcceptError, ChainVerdict, Entry, SubjectKey, VerifyError, VerifyReport,
};
use crate::config::Config;

/// `gallra audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every node's chain in the audit directory: that no line was changed, deleted,
    /// inserted or moved, that no file is missing, and that each chain still reaches, and
    /// matches, its node's head in the state store (nothing cut off the end, emptied,
    /// deleted or rewritten). A node whose head is in the store but whose chain is not in
    /// the directory (it runs on another host) fails the check: copy that host's
    /// `state_dir/audit/*.log` here, run the check there with `--node`, or leave it out with
    /// `--node`. Exit 1 says what is wrong.
    Verify(VerifyArgs),
    /// Every entry about one subject, in every node's chain in the audit directory: "was
    /// this person erased, and when?".
    Show(ShowArgs),
    /// Accept this node's audit chain that no longer matches its head, after finding out
    /// why: gallra goes on from the chain as it is (a broken chain's files are moved aside)
    /// and records the acceptance with the reason. Until then it erases nothing.
    Accept {
        /// Why the log may be accepted (kept in the log: no personal data).
        #[arg(long)]
        reason: String,
    },
}

/// Which chains `verify` checks.
#[derive(Debug, Default, Args)]
pub struct VerifyArgs {
    /// Check only this node's chain (repeat for several; `--node ''` is the chain from
    /// before nodes, `audit-N.log`). Without it, every chain in the directory and every
    /// node with a head in the state store.
    #[arg(long = "node", value_name = "NAME")]
    pub nodes: Vec<String>,
}

/// Who to look for. The values are hashed with the audit key, never printed.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct ShowArgs {
    /// Email address (any capitalization).
    #[arg(long)]
    pub email: Option<String>,
    /// Personnummer or samordningsnummer (YYYYMMDD-NNNN or YYMMDD-NNNN).
    #[arg(long)]
    pub personnummer: Option<String>,
    /// The customer's number in the account source.
    #[arg(long)]
    pub customer_id: Option<String>,
}

/// Runs `gallra audit …` with the configuration at `config_path`. Returns the exit status.
pub fn audit(config_path: &Path, command: AuditCommand, json: bool) -> u8 {
    let config = match load(config_path) {
        Ok(config) => config,
        Err(status) => return status,
    };
    match command {
        AuditCommand::Verify(args) => verify(&config, &args.nodes, json),
        AuditCommand::Show(args) => show(&config, args, json),
        AuditCommand::Accept { reason } => {
            // Accepting moves the head and may set the log aside: never beside a running
            // gallra, which writes both.
            let _lock = match lock_state(&config, "audit accept") {
                Ok(lock) => lock,
                Err(status) => return status,
            };
            accept(&config, &reason, json)
        }
    }
}

fn verify(config: &Config, only: &[String], json: bool) -> u8 {
    match check(config, only) {
        Ok(verdicts) => {
            let (status, text) = render_verify(&verdicts, &audit::log_dir(&config.state_dir), json);
            println!("{text}");
            status
        }
        Err(message) => {
            eprintln!("gallra: {message}");
            FAILED
        }
    }
}

/// Every chain in the audit directory (or those of `only`) checked against its node's head,
/// without creating or locking anything; `Err` if they cannot be checked at all.
fn check(config: &Config, only: &[String]) -> Result<Vec<(String, ChainVerdict)>, String> {
    let state_dir = &config.state_dir;
    let dir = audit::log_dir(state_dir);
    let heads = match crate::statestore::open_read_only(config) {
        Ok(Some(store)) => store.audit_heads().map_err(|e| e.to_string())?,
        Ok(None) => Vec::new(),
        Err(error) => return Err(error.to_string()),
    };
    let listing = |e: std::io::Error| format!("audit log {}: cannot list: {e}", dir.display());
    let key_path = audit::default_key_path(state_dir);
    let key = if key_path.exists() {
        SubjectKey::load(&key_path).map_err(|e| e.to_string())?
    } else {
        // Only empty chains check without the key: any key does for them.
        let chains = audit::list_chains(&dir).map_err(listing)?;
        let has_lines = chains
            .values()
            .flatten()
            .any(|(_, path)| std::fs::metadata(path).map_or(true, |meta| meta.len() > 0));
        if has_lines {
            return Err(format!(
                "no audit key at {}: the log's MACs cannot be checked without the key they were made with (put it back from a backup)",
                key_path.display()
            ));
        }
        SubjectKey::from_bytes(&[0; 32]).map_err(|e| e.to_string())?
    };
    let local = crate::statestore::lease(config).node;
    audit::verify_chains(&dir, &key.chain_key(), &heads, &local, only).map_err(listing)
}

fn accept(config: &Config, reason: &str, json: bool) -> u8 {
    let store = match crate::statestore::open(config) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("gallra audit accept: {error}");
            return FAILED;
        }
    };
    match audit::accept(&config.state_dir, store.as_ref(), reason) {
        Ok(accepted) if json => {
            print_json(&json!({
                "accepted": true,
                "head_seq": accepted.head_seq,
                "log_seq": accepted.log_seq,
                "set_aside": accepted.set_aside,
                "seq": accepted.seq,
            }));
            OK
        }
        Ok(accepted) => {
            let mut text = format!(
                "accepted: the state store's head was entry {}, the log ended at entry {}",
                accepted.head_seq, accepted.log_seq
            );
            if let Some(aside) = &accepted.set_aside {
                let _ = write!(
                    text,
                    "; its chain was broken, so its files were moved to {} and a new chain starts",
                    aside.display()
                );
            }
            let _ = write!(
                text,
                "\nentry {} records the acceptance and its reason; gallra erases again",
                accepted.seq
            );
            println!("{text}");
            OK
        }
        Err(AcceptError::Reason(why)) => {
            eprintln!("gallra audit accept: {why}");
            super::setup::CONFIG
        }
        Err(error @ AcceptError::Intact(_)) => {
            println!("{error}");
            OK
        }
        Err(error) => {
            eprintln!("gallra audit accept: {error}");
            FAILED
        }
    }
}

/// The verdicts as text or JSON, and the exit status: 1 unless every chain is here and
/// intact.
fn render_verify(verdicts: &[(String, ChainVerdict)], dir: &Path, json: bool) -> (u8, String) {
    let intact = verdicts.iter().all(|(_, verdict)| verdict.intact());
    let status = if intact { OK } else { FAILED };
    if json {
        let chains: Vec<_> = verdicts
            .iter()
            .map(|(node, verdict)| chain_json(node, verdict, dir))
            .collect();
        let entries: u64 = verdicts
            .iter()
            .filter_map(|(_, verdict)| match verdict {
                ChainVerdict::Checked(Ok(report)) => Some(report.entries),
                _ => None,
            })
            .sum();
        let value = json!({ "intact": intact, "entries": entries, "chains": chains });
        return (status, value.to_string());
    }
    let mut text = String::new();
    for (node, verdict) in verdicts {
        let said = chain_text(node, verdict, dir).replace('\n', "\n  ");
        let _ = writeln!(text, "{}: {said}", chain_label(node));
    }
    text.pop();
    (status, text)
}

/// One chain's verdict, in words.
fn chain_text(node: &str, verdict: &ChainVerdict, dir: &Path) -> String {
    match verdict {
        ChainVerdict::Checked(Ok(report)) => report_text(report, dir),
        ChainVerdict::Checked(Err(error)) => error.to_string(),
        ChainVerdict::NotHere(Some(head)) => format!(
            "its chain is not here, but the state store's head for it is entry {} in {}: copy that node's state_dir/audit/*.log into {}, or run `gallra audit verify --node {node}` on its host",
            head.seq,
            audit::file_name(node, head.file),
            dir.display()
        ),
        ChainVerdict::NotHere(None) => format!(
            "no chain of it in {} and no head for it in the state store (is the node's name right?)",
            dir.display()
        ),
    }
}

/// One chain's verdict, as JSON.
fn chain_json(node: &str, verdict: &ChainVerdict, dir: &Path) -> serde_json::Value {
    let mut value = json!({ "node": node, "intact": verdict.intact() });
    let more = match verdict {
        ChainVerdict::Checked(Ok(report)) => serde_json::to_value(report).ok(),
        ChainVerdict::Checked(Err(VerifyError::Broken {
            file,
            line,
            problem,
        })) => Some(json!({ "file": file, "line": line, "problem": problem.to_string() })),
        ChainVerdict::Checked(Err(error)) => Some(json!({ "problem": error.to_string() })),
        ChainVerdict::NotHere(_) => Some(json!({
            "here": false,
            "problem": chain_text(node, verdict, dir),
        })),
    };
    if let (Some(map), Some(serde_json::Value::Object(more))) = (value.as_object_mut(), more) {
        map.extend(more);
    }
    value
}

/// An intact chain, in words.
fn report_text(report: &VerifyReport, dir: &Path) -> String {
    let mut text = format!(
        "{} in {}, chain intact",
        plural(report.entries, "entry", "entries"),
        plural(report.files as u64, "file", "files"),
    );
    if let Some(head) = report.head_seq {
        let _ = write!(text, ", matches its head (entry {head}) in the state store");
    }
    if report.unsealed > 0 {
        let _ = write!(
            text,
            "\nthe first {} were written before entries were sealed with the audit key",
            plural(report.unsealed, "entry", "entries")
        );
    }
    match &report.last_hash {
        Some(hash) => {
            let _ = write!(text, "\nlast entry {}, hash {hash}", report.last_seq);
        }
        None => {
            let _ = write!(text, " (no audit log in {} yet)", dir.display());
        }
    }
    text
}

fn show(config: &Config, args: ShowArgs, json: bool) -> u8 {
    let dir = &audit::log_dir(&config.state_dir);
    let key_path = &audit::default_key_path(&config.state_dir);
    let identifiers = match identifiers(args) {
        Ok(identifiers) => identifiers,
        Err(status) => return status,
    };
    if !key_path.exists() {
        eprintln!(
            "gallra: no audit key at {} (gallra creates it when it first writes the audit log)",
            key_path.display()
        );
        return FAILED;
    }
    let key = match SubjectKey::load(key_path) {
        Ok(key) => key,
        Err(error) => {
            eprintln!("gallra: {error}");
            return FAILED;
        }
    };
    // An answer from a log that lost entries, or lacks a node's chain, could deny an
    // erasure that happened.
    let intact = match check(config, &[]) {
        Ok(verdicts) => {
            let mut status = OK;
            for (node, verdict) in verdicts.iter().filter(|(_, v)| !v.intact()) {
                eprintln!(
                    "gallra: entries about this subject may be missing: {}: {}",
                    chain_label(node),
                    chain_text(node, verdict, dir)
                );
                status = FAILED;
            }
            status
        }
        Err(message) => {
            eprintln!("gallra: {message}");
            FAILED
        }
    };
    match audit::find_subjects(dir, &key, &identifiers) {
        Ok(entries) if json => {
            print_json(&entries);
            intact
        }
        Ok(entries) => {
            print!("{}", render_entries(&entries));
            intact
        }
        Err(error) => {
            eprintln!("gallra: {error}");
            FAILED
        }
    }
}

fn identifiers(args: ShowArgs) -> Result<Vec<Identifier>, u8> {
    let given = [
        (IdentifierKind::Email, args.email, "--email"),
        (
            IdentifierKind::Personnummer,
            args.personnummer,
            "--personnummer",
        ),
        (
            IdentifierKind::CustomerId,
            args.customer_id,
            "--customer-id",
        ),
    ];
    super::requests::parse_identifiers(given)
}

/// One line per entry, oldest first.
fn render_entries(entries: &[Entry]) -> String {
    if entries.is_empty() {
        return "no audit entries for this subject\n".to_owned();
    }
    let mut text = String::new();
    for e in entries {
        let counts: Vec<String> = e.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(
            text,
            "{}  {}#{}  {}  {}",
            e.time.strftime("%Y-%m-%d %H:%M:%SZ"),
            e.node.as_deref().unwrap_or(""),
            e.seq,
            e.actor,
            e.action
        );
        if let Some(system) = &e.system {
            let _ = write!(text, " in {system}");
        }
        let _ = write!(text, ": {}", e.outcome);
        if !counts.is_empty() {
            let _ = write!(text, " ({})", counts.join(", "));
        }
        if let Some(detail) = &e.detail {
            let _ = write!(text, " — {detail}");
        }
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "{}; `gallra audit verify` checks that the log is intact",
        plural(entries.len() as u64, "entry", "entries")
    );
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use std::sync::Arc;

    use super::*;
    use crate::audit::{Action, Actor, AuditLog, NewEntry, Outcome, Problem};
    use crate::store::{AuditHeadStore, Lease, SqliteStore};

    fn config(dir: &Path) -> PathBuf {
        let path = dir.join("gallra.toml");
        std::fs::write(
            &path,
            "state_dir = \"state\"\naccount_source = \"panel\"\n[systems.panel]\nplugin = \"sql\"\n",
        )
        .unwrap();
        path
    }

    #[test]
    fn audit_verify_says_how_many_entries_and_files_are_intact() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("audit");
        let key = SubjectKey::from_bytes(&[7; 32]).unwrap();
        let log = AuditLog::open_node(&dir, "web-1", key, 1024).unwrap();
        for _ in 0..3 {
            log.append(NewEntry::new(
                Actor::Gallra,
                Action::RunStarted,
                Outcome::Started,
            ))
            .unwrap();
        }
        let chain = SubjectKey::from_bytes(&[7; 32]).unwrap().chain_key();
        let verdicts = || {
            let result = audit::verify_node(&dir, "web-1", &chain);
            vec![("web-1".to_owned(), ChainVerdict::Checked(result))]
        };
        let (status, text) = render_verify(&verdicts(), &dir, false);
        assert_eq!(status, OK);
        assert!(
            text.starts_with(
                "node \"web-1\": 3 entries in 1 file, chain intact\n  last entry 3, hash "
            ),
            "{text}"
        );
        let (_, json) = render_verify(&verdicts(), &dir, true);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["intact"], true);
        assert_eq!(value["entries"], 3);
        assert_eq!(value["chains"][0]["node"], "web-1");
    }

    #[test]
    fn audit_verify_failure_names_file_and_line_and_exits_1() {
        let verdicts = vec![(
            "web-1".to_owned(),
            ChainVerdict::Checked(Err(VerifyError::Broken {
                file: "audit-web-1-2.log".into(),
                line: 17,
                problem: Problem::HashMismatch,
            })),
        )];
        let (status, text) = render_verify(&verdicts, Path::new("/x"), false);
        assert_eq!(status, FAILED);
        assert_eq!(
            text,
            "node \"web-1\": audit-web-1-2.log:17: entry hash does not match its content (the line was changed)"
        );
        let (_, json) = render_verify(&verdicts, Path::new("/x"), true);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["intact"], false);
        assert_eq!(value["chains"][0]["line"], 17);
    }

    fn verify_args(nodes: &[&str]) -> AuditCommand {
        AuditCommand::Verify(VerifyArgs {
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
        })
    }

    /// `node`'s chain in `state/audit`, anchored in the store in `state`, with `n` entries.
    fn node_writes(state: &Path, node: &str, n: usize) {
        let store = SqliteStore::open(state).unwrap().leasing(Lease::new(node));
        let log = audit::open(state, Arc::new(store)).unwrap();
        for _ in 0..n {
            log.append(NewEntry::new(
                Actor::Gallra,
                Action::RunStarted,
                Outcome::Started,
            ))
            .unwrap();
        }
    }

    #[test]
    fn audit_commands_read_the_state_dir_of_the_config() {
        let tmp = tempfile::tempdir().unwrap();
        let path = config(tmp.path());
        let state = tmp.path().join("state");
        assert_eq!(audit(&path, verify_args(&[]), false), OK);
        std::fs::create_dir(&state).unwrap();
        let log = audit::open(&state, Arc::new(SqliteStore::open(&state).unwrap())).unwrap();
        let anna = Identifier::parse(IdentifierKind::Email, "anna@example.se").unwrap();
        log.append(
            NewEntry::new(Actor::Request(1), Action::Erase, Outcome::Done)
                .system("crm")
                .subject(&[anna]),
        )
        .unwrap();
        assert_eq!(audit(&path, verify_args(&[]), true), OK);
        let args = ShowArgs {
            email: Some("Anna@Example.se".into()),
            personnummer: None,
            customer_id: None,
        };
        assert_eq!(audit(&path, AuditCommand::Show(args), false), OK);
        let bad = ShowArgs {
            email: Some("not an email".into()),
            personnummer: None,
            customer_id: None,
        };
        assert_eq!(
            audit(&path, AuditCommand::Show(bad), false),
            super::super::setup::CONFIG
        );
    }

    #[test]
    fn audit_verify_checks_every_nodes_chain_and_fails_on_a_head_whose_chain_is_not_here() {
        let tmp = tempfile::tempdir().unwrap();
        let path = config(tmp.path());
        let state = tmp.path().join("state");
        node_writes(&state, "web-1", 2);
        // web-2 shares the store, but writes its chain on its own host.
        let elsewhere = tmp.path().join("web-2-host");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::copy(state.join("audit.key"), elsewhere.join("audit.key")).unwrap();
        std::os::unix::fs::symlink(state.join("state.db"), elsewhere.join("state.db")).unwrap();
        node_writes(&elsewhere, "web-2", 3);

        let config = crate::config::load(&path).unwrap();
        let verdicts = check(&config, &[]).unwrap();
        let (status, text) = render_verify(&verdicts, &audit::log_dir(&state), false);
        assert_eq!(status, FAILED, "{text}");
        assert!(
            text.contains("node \"web-1\": 2 entries in 1 file, chain intact"),
            "{text}"
        );
        assert!(
            text.contains("node \"web-2\": its chain is not here, but the state store's head for it is entry 3 in audit-web-2-1.log"),
            "{text}"
        );
        assert_eq!(audit(&path, verify_args(&[]), false), FAILED);
        assert_eq!(audit(&path, verify_args(&["web-1"]), false), OK, "left out");
        assert_eq!(
            audit(&path, verify_args(&["web-3"]), false),
            FAILED,
            "no such node"
        );

        // The operator copies web-2's chain in: every chain checks, and show finds both.
        let copied = audit::log_dir(&state).join("audit-web-2-1.log");
        std::fs::copy(
            audit::log_dir(&elsewhere).join("audit-web-2-1.log"),
            &copied,
        )
        .unwrap();
        let verdicts = check(&config, &[]).unwrap();
        let (status, json) = render_verify(&verdicts, &audit::log_dir(&state), true);
        assert_eq!(status, OK, "{json}");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["entries"], 5);
        assert_eq!(value["chains"][1]["node"], "web-2");
        // A line of web-2's chain cut off: its head shows it.
        let text = std::fs::read_to_string(&copied).unwrap();
        let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
        std::fs::write(&copied, cut).unwrap();
        assert_eq!(audit(&path, verify_args(&["web-2"]), false), FAILED);
    }

    #[test]
    fn an_install_from_before_nodes_still_verifies_after_the_upgrade() {
        let tmp = tempfile::tempdir().unwrap();
        let path = config(tmp.path());
        let state = tmp.path().join("state");
        // Written the old way: audit-N.log, entries without a node, the one head (which the
        // migration makes node "").
        std::fs::create_dir_all(&state).unwrap();
        let key = SubjectKey::generate(&audit::default_key_path(&state)).unwrap();
        let dir = audit::log_dir(&state);
        let old = AuditLog::open(&dir, key.clone(), 1 << 20).unwrap();
        for _ in 0..3 {
            old.append(NewEntry::new(
                Actor::Gallra,
                Action::RunStarted,
                Outcome::Started,
            ))
            .unwrap();
        }
        drop(old);
        let old_store = SqliteStore::open(&state).unwrap().leasing(Lease::new(""));
        let report = audit::verify(&dir, &key.chain_key()).unwrap();
        old_store
            .set_audit_head(&crate::store::AuditHead {
                file: 1,
                seq: 3,
                mac: report.last_mac.unwrap(),
                updated_at: crate::clock::now(),
            })
            .unwrap();
        let before = std::fs::read(dir.join("audit-1.log")).unwrap();
        // The upgraded daemon starts its own chain beside it.
        node_writes(&state, "web-1", 1);
        assert_eq!(
            std::fs::read(dir.join("audit-1.log")).unwrap(),
            before,
            "untouched"
        );

        let config = crate::config::load(&path).unwrap();
        let (status, text) = render_verify(&check(&config, &[]).unwrap(), &dir, false);
        assert_eq!(status, OK, "{text}");
        assert!(
            text.starts_with("the chain from before nodes (audit-N.log): 3 entries in 1 file, chain intact, matches its head (entry 3)"),
            "{text}"
        );
        // The old chain is still held to its head.
        let text = std::fs::read_to_string(dir.join("audit-1.log")).unwrap();
        let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
        std::fs::write(dir.join("audit-1.log"), cut).unwrap();
        assert_eq!(audit(&path, verify_args(&[]), false), FAILED);
        assert_eq!(audit(&path, verify_args(&["web-1"]), false), OK);
    }

    #[test]
    fn audit_show_prints_one_line_per_entry_without_the_identifier() {
        let entry = Entry {
            seq: 4,
            node: None,
            time: "2025-03-01T03:00:00Z".parse().unwrap(),
            actor: "request:42".into(),
            system: Some("crm".into()),
            action: "erase".into(),
            outcome: "done".into(),
            counts: [("rows".to_owned(), 3)].into(),
            subject: vec!["ab".repeat(32)],
            detail: None,
            prev: audit::GENESIS_PREV.into(),
            hash: None,
            mac: Some("cd".repeat(32)),
        };
        assert_eq!(
            render_entries(&[entry]),
            "2025-03-01 03:00:00Z  #4  request:42  erase in crm: done (rows=3)\n\
             1 entry; `gallra audit verify` checks that the log is intact\n"
        );
        assert_eq!(render_entries(&[]), "no audit entries for this subject\n");
    }
}
