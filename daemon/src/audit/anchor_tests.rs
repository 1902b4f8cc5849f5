//! The log anchored in the state store: what a head catches that a chain cannot, what stops
//! writing, and what a person's acceptance starts again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::store::{AuditHeadStore, Lease, SqliteStore};

/// The node the tests' daemon runs as.
const NODE: &str = "web-1";

struct Setup {
    _tmp: tempfile::TempDir,
    state: PathBuf,
    dir: PathBuf,
    store: Arc<SqliteStore>,
    key: SubjectKey,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let store = Arc::new(SqliteStore::open(&state).unwrap().leasing(Lease::new(NODE)));
    Setup {
        key: SubjectKey::generate(&default_key_path(&state)).unwrap(),
        dir: log_dir(&state),
        state,
        store,
        _tmp: tmp,
    }
}

fn entry() -> NewEntry {
    NewEntry::new(Actor::Policy("p".into()), Action::Erase, Outcome::Done).system("crm")
}

impl Setup {
    fn open(&self) -> AuditLog {
        open_anchored(&self.dir, self.key.clone(), 1 << 20, self.store.clone()).unwrap()
    }

    fn head_seq(&self) -> Option<u64> {
        self.store.audit_head().unwrap().map(|h| h.seq)
    }

    fn file(&self) -> PathBuf {
        self.dir.join("audit-web-1-1.log")
    }

    fn verify(&self) -> Result<VerifyReport, VerifyError> {
        let head = self.store.audit_head().unwrap();
        verify_with_head(&self.dir, NODE, &self.key.chain_key(), head.as_ref())
    }
}

fn written(setup: &Setup, n: u64) -> AuditLog {
    let log = setup.open();
    for _ in 0..n {
        log.append(entry()).unwrap();
    }
    log
}

fn keep_lines(path: &Path, keep: usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let kept: String = text.lines().take(keep).map(|l| format!("{l}\n")).collect();
    std::fs::write(path, kept).unwrap();
}

/// What someone without the key can write: `entries` renumbered from `seq`, chained after
/// `prev` with bare SHA-256 hashes, as lines.
fn unkeyed(entries: impl IntoIterator<Item = Entry>, seq: u64, prev: &str) -> String {
    let mut prev = prev.to_owned();
    let mut out = String::new();
    for (seq, mut e) in (seq..).zip(entries) {
        e.seq = seq;
        e.prev = prev;
        e.mac = None;
        e.hash = Some(e.content_hash());
        let line = e.canonical_line();
        prev = sha256_hex(line.as_bytes());
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn entries_of(text: &str) -> impl Iterator<Item = Entry> + '_ {
    text.lines().map(|line| serde_json::from_str(line).unwrap())
}

fn refused(log: &AuditLog) -> String {
    match log.append(entry()) {
        Err(error @ AuditError::Tampered { .. }) => error.to_string(),
        other => panic!("expected the append to be refused, got {other:?}"),
    }
}

#[test]
fn a_fresh_install_is_not_an_alarm_and_its_head_follows_every_append() {
    let s = setup();
    let log = s.open();
    assert_eq!(
        log.status(),
        AuditStatus {
            intact: true,
            head_seq: 0
        }
    );
    assert_eq!(s.head_seq(), Some(0));
    for _ in 0..3 {
        log.append(entry()).unwrap();
    }
    assert_eq!(s.head_seq(), Some(3));
    assert_eq!(s.verify().unwrap().head_seq, Some(3));
}

#[test]
fn a_log_cut_short_while_closed_is_named_and_refuses_every_append() {
    let s = setup();
    drop(written(&s, 10));
    keep_lines(&s.file(), 6);
    let error = s.verify().unwrap_err().to_string();
    assert!(
        error.contains("the log ends at entry 6 but the state store's head is entry 10"),
        "{error}"
    );
    let log = s.open();
    assert!(!log.status().intact);
    let error = refused(&log);
    assert!(
        error.contains("entry 6 but the state store's head is entry 10"),
        "{error}"
    );
    assert!(error.contains("gallra audit accept --reason"), "{error}");
    assert_eq!(s.head_seq(), Some(10), "the head stays where it was");
}

#[test]
fn a_deleted_log_directory_is_not_recreated_over_the_loss() {
    let s = setup();
    drop(written(&s, 4));
    std::fs::remove_dir_all(&s.dir).unwrap();
    let log = s.open();
    let error = refused(&log);
    assert!(error.contains("holds no entries"), "{error}");
    assert!(error.contains("entries 1 to 4 are missing"), "{error}");
    assert!(!s.dir.exists(), "no empty log was started in its place");
}

#[test]
fn a_log_cut_while_gallra_writes_it_refuses_the_next_append() {
    let s = setup();
    let log = written(&s, 5);
    keep_lines(&s.file(), 3);
    let error = refused(&log);
    assert!(error.contains("audit-web-1-1.log holds"), "{error}");
    assert!(!log.status().intact);
}

#[test]
fn a_line_changed_in_place_is_found_by_the_full_check() {
    let s = setup();
    let log = open_checking_every(
        &s.dir,
        s.key.clone(),
        1 << 20,
        s.store.clone(),
        Duration::ZERO,
    )
    .unwrap();
    log.append(entry()).unwrap();
    log.append(entry()).unwrap();
    // Same length, same file: only reading the whole log finds it.
    let text = std::fs::read_to_string(s.file()).unwrap();
    std::fs::write(s.file(), text.replacen("\"crm\"", "\"crn\"", 1)).unwrap();
    let error = refused(&log);
    assert!(
        error.contains("audit-web-1-1.log:1: entry MAC does not match"),
        "{error}"
    );
}

#[test]
fn a_rewrite_with_the_bare_hashes_recomputed_is_caught() {
    let s = setup();
    drop(written(&s, 6));
    // What someone without the key can do: drop an entry, renumber, recompute the chain.
    let text = std::fs::read_to_string(s.file()).unwrap();
    let out = unkeyed(entries_of(&text).skip(1), 1, GENESIS_PREV);
    std::fs::write(s.file(), out).unwrap();
    assert!(
        verify_node(&s.dir, NODE, &s.key.chain_key()).is_ok(),
        "a valid chain"
    );
    let error = s.verify().unwrap_err().to_string();
    assert!(
        error.contains("ends at entry 5 but the state store's head is entry 6"),
        "{error}"
    );
}

#[test]
fn an_unkeyed_entry_after_sealed_ones_is_a_rewrite() {
    let s = setup();
    drop(written(&s, 2));
    let text = std::fs::read_to_string(s.file()).unwrap();
    let last = text.lines().last().unwrap();
    let appended = unkeyed(entries_of(last), 3, &sha256_hex(last.as_bytes()));
    std::fs::write(s.file(), format!("{text}{appended}")).unwrap();
    match verify_node(&s.dir, NODE, &s.key.chain_key()) {
        Err(VerifyError::Broken {
            line: 3, problem, ..
        }) => {
            assert_eq!(problem, Problem::Unsealed)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_log_from_before_heads_is_taken_as_it_is_and_sealed_from_then_on() {
    let s = setup();
    let old = Entry {
        seq: 0,
        node: Some(NODE.into()),
        time: "2025-03-01T03:00:00Z".parse().unwrap(),
        actor: "gallra".into(),
        system: None,
        action: "run_started".into(),
        outcome: "started".into(),
        counts: Default::default(),
        subject: Vec::new(),
        detail: None,
        prev: String::new(),
        hash: None,
        mac: None,
    };
    let out = unkeyed(vec![old; 3], 1, GENESIS_PREV);
    std::fs::create_dir_all(&s.dir).unwrap();
    std::fs::write(s.file(), out).unwrap();
    let log = s.open();
    assert!(log.status().intact);
    assert_eq!(s.head_seq(), Some(3), "adopted");
    assert_eq!(log.append(entry()).unwrap(), 4);
    let report = s.verify().unwrap();
    assert_eq!((report.entries, report.unsealed), (4, 3));
}

#[test]
fn a_sealed_log_whose_head_was_deleted_is_an_alarm() {
    let s = setup();
    drop(written(&s, 2));
    let conn = rusqlite::Connection::open(s.state.join("state.db")).unwrap();
    conn.execute("DELETE FROM audit_head", []).unwrap();
    let error = s.verify().unwrap_err().to_string();
    assert!(error.contains("the state store has no head"), "{error}");
    assert!(!s.open().status().intact);
}

#[test]
fn accepting_a_cut_log_goes_on_from_its_end_and_records_why() {
    let s = setup();
    let log = written(&s, 10);
    keep_lines(&s.file(), 6);
    refused(&log);
    let refused_reason = accept(
        &s.state,
        s.store.as_ref(),
        "restored from anna@example.se's backup",
    );
    assert!(
        matches!(refused_reason, Err(AcceptError::Reason(_))),
        "{refused_reason:?}"
    );
    let accepted = accept(
        &s.state,
        s.store.as_ref(),
        "disk restored from backup, ticket 4711",
    )
    .unwrap();
    assert_eq!(
        (
            accepted.head_seq,
            accepted.log_seq,
            accepted.seq,
            accepted.set_aside
        ),
        (10, 6, 7, None)
    );
    assert!(s.verify().is_ok());
    let last = std::fs::read_to_string(s.file()).unwrap();
    let last: Entry = serde_json::from_str(last.lines().last().unwrap()).unwrap();
    assert_eq!(
        (last.action.as_str(), last.detail.as_deref()),
        (
            "audit_accepted",
            Some("disk restored from backup, ticket 4711")
        )
    );
    assert_eq!(last.counts["head_seq"], 10);
    // The writer that refused picks the accepted log up without a restart.
    assert_eq!(log.append(entry()).unwrap(), 8);
    assert!(log.status().intact);
    assert!(matches!(
        accept(&s.state, s.store.as_ref(), "again"),
        Err(AcceptError::Intact(8))
    ));
}

#[test]
fn accepting_a_broken_chain_sets_its_files_aside_and_starts_a_new_one() {
    let s = setup();
    drop(written(&s, 3));
    let text = std::fs::read_to_string(s.file()).unwrap();
    std::fs::write(s.file(), text.replacen("\"crm\"", "\"crn\"", 1)).unwrap();
    let accepted = accept(&s.state, s.store.as_ref(), "investigated in ticket 4712").unwrap();
    let aside = accepted.set_aside.unwrap();
    assert!(aside.join("audit-web-1-1.log").exists());
    assert_eq!(accepted.seq, 1);
    assert_eq!(s.verify().unwrap().entries, 1);
}

#[test]
fn each_node_writes_its_own_chain_with_its_name_in_every_entry_under_the_mac() {
    let s = setup();
    let other = Arc::new(
        SqliteStore::open(&s.state)
            .unwrap()
            .leasing(Lease::new("web-2")),
    );
    let mine = written(&s, 2);
    let theirs = open_anchored(&s.dir, s.key.clone(), 1 << 20, other.clone()).unwrap();
    theirs.append(entry()).unwrap();
    assert_eq!(mine.append(entry()).unwrap(), 3, "its own seqs");
    let line = std::fs::read_to_string(s.dir.join("audit-web-2-1.log")).unwrap();
    assert!(line.starts_with(r#"{"seq":1,"node":"web-2","#), "{line}");
    let heads = s.store.audit_heads().unwrap();
    let verdicts = verify_chains(&s.dir, &s.key.chain_key(), &heads, NODE, &[]).unwrap();
    let nodes: Vec<_> = verdicts
        .iter()
        .map(|(n, v)| (n.as_str(), v.intact()))
        .collect();
    assert_eq!(nodes, [("web-1", true), ("web-2", true)]);

    // The name is sealed: changed, the MAC no longer matches; moved into another chain (the
    // MAC recomputed by a key holder), the entry names the wrong node.
    let renamed = line.replacen("web-2", "web-3", 1);
    std::fs::write(s.dir.join("audit-web-2-1.log"), renamed).unwrap();
    assert!(matches!(
        verify_node(&s.dir, "web-2", &s.key.chain_key()),
        Err(VerifyError::Broken {
            problem: Problem::MacMismatch,
            ..
        })
    ));
    let mut copied: Entry = serde_json::from_str(line.trim_end()).unwrap();
    copied.seal(&s.key.chain_key());
    std::fs::write(
        s.dir.join("audit-web-3-1.log"),
        copied.canonical_line() + "\n",
    )
    .unwrap();
    let error = verify_node(&s.dir, "web-3", &s.key.chain_key()).unwrap_err();
    assert!(
        matches!(&error, VerifyError::Broken { problem: Problem::OtherNode { found: Some(n) }, .. } if n == "web-2"),
        "{error}"
    );
}

#[test]
fn a_node_name_that_cannot_name_files_is_refused() {
    let s = setup();
    let store = Arc::new(
        SqliteStore::open(&s.state)
            .unwrap()
            .leasing(Lease::new("../x")),
    );
    let error = open_anchored(&s.dir, s.key.clone(), 1 << 20, store).unwrap_err();
    assert!(matches!(error, AuditError::Node(_)), "{error}");
    let store = Arc::new(SqliteStore::open(&s.state).unwrap().leasing(Lease::new("")));
    assert!(
        open_anchored(&s.dir, s.key.clone(), 1 << 20, store).is_err(),
        "node '' is the chain from before nodes: no daemon writes it"
    );
}
