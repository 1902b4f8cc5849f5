use std::collections::BTreeMap;

use gallra_plugin_api::{Identifier, IdentifierKind};

use super::entry::clip_detail;
use super::*;

fn key() -> SubjectKey {
    SubjectKey::from_bytes(&[7; 32]).unwrap()
}

#[test]
fn audit_subject_is_hmac_sha256_of_kind_and_normalized_value() {
    let anna = Identifier::parse(IdentifierKind::Email, " Anna@Example.SE ").unwrap();
    // python3: hmac.new(bytes([7]*32), b'email:anna@example.se', hashlib.sha256).hexdigest()
    assert_eq!(
        key().subject(&anna),
        "5917fe6a2b31d46f7e63e0192731230940abc667cf11a5a990f7e777ee8f9933"
    );
}

#[test]
fn audit_key_shorter_than_32_bytes_is_refused() {
    assert!(matches!(
        SubjectKey::from_bytes(&[1; 31]),
        Err(KeyError::TooShort { len: 31, .. })
    ));
}

fn sample_entry() -> Entry {
    Entry {
        seq: 3,
        node: None,
        time: "2025-03-01T03:00:02.113Z".parse().unwrap(),
        actor: "policy:inactive".into(),
        system: Some("crm".into()),
        action: "erase".into(),
        outcome: "done".into(),
        counts: BTreeMap::from([("rows".into(), 3), ("children".into(), 1)]),
        subject: vec!["ab".repeat(32)],
        detail: None,
        prev: GENESIS_PREV.into(),
        hash: None,
        mac: None,
    }
}

const SAMPLE_START: &str = r#"{"seq":3,"time":"2025-03-01T03:00:02.113Z","actor":"policy:inactive","system":"crm","action":"erase","outcome":"done","counts":{"children":1,"rows":3},"subject":["abab"#;

#[test]
fn audit_line_is_canonical_and_its_mac_covers_everything_but_itself_under_the_chain_key() {
    let mut entry = sample_entry();
    entry.seal(&key().chain_key());
    let mac = entry.mac.clone().unwrap();
    let line = entry.canonical_line();
    assert!(line.starts_with(SAMPLE_START), "{line}");
    assert!(line.ends_with(&format!(r#""prev":"{GENESIS_PREV}","mac":"{mac}"}}"#)));
    let without_mac = line.replace(&format!(r#","mac":"{mac}""#), "");
    // python3: k = hmac.new(bytes([7]*32), b'gallra audit chain key v1', hashlib.sha256).digest()
    //          hmac.new(k, b'entry\0' + without_mac, hashlib.sha256).hexdigest()
    let chain = hmac_hex(
        &hmac(&[7; 32], b"gallra audit chain key v1"),
        &[b"entry\0", without_mac.as_bytes()],
    );
    assert_eq!(mac, chain);
    assert_ne!(mac, sha256_hex(without_mac.as_bytes()), "not a bare hash");
    let back: Entry = serde_json::from_str(&line).unwrap();
    assert_eq!(back, entry);
    assert_eq!(back.canonical_line(), line);
}

#[test]
fn audit_line_of_the_format_before_macs_still_reads_back_canonically() {
    let mut entry = sample_entry();
    entry.hash = Some(entry.content_hash());
    let hash = entry.hash.clone().unwrap();
    let line = entry.canonical_line();
    assert!(line.starts_with(SAMPLE_START), "{line}");
    assert!(line.ends_with(&format!(r#""prev":"{GENESIS_PREV}","hash":"{hash}"}}"#)));
    let without_hash = line.replace(&format!(r#","hash":"{hash}""#), "");
    assert_eq!(hash, sha256_hex(without_hash.as_bytes()));
    let back: Entry = serde_json::from_str(&line).unwrap();
    assert_eq!(back.canonical_line(), line);
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac(key, &parts.concat()))
}

#[test]
fn audit_detail_is_cut_to_its_limit_on_a_character_boundary() {
    let long = "å".repeat(MAX_DETAIL_CHARS + 5);
    let cut = clip_detail(&long);
    assert_eq!(cut.chars().count(), MAX_DETAIL_CHARS + 1);
    assert!(cut.ends_with('…'));
    assert_eq!(clip_detail("short"), "short");
}

#[test]
fn audit_file_names_are_exact() {
    use super::files::parse_file_name;
    assert_eq!(parse_file_name("audit-12.log"), Some(("", 12)));
    assert_eq!(parse_file_name("audit-web-1-3.log"), Some(("web-1", 3)));
    assert_eq!(parse_file_name("audit-12-3.log"), Some(("12", 3)));
    assert_eq!(file_name("web-1", 3), "audit-web-1-3.log");
    for name in [
        "audit-0.log",
        "audit-01.log",
        "audit-1.log.bak",
        "audit-x.log",
        "audit-+1.log",
        "audit-web-0.log",
        "audit-web-01.log",
        "audit-a b-1.log",
        "audit--1.log",
    ] {
        assert_eq!(parse_file_name(name), None, "{name}");
    }
}

#[test]
fn audit_reopen_continues_after_a_line_longer_than_the_read_chunk() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let log = AuditLog::open(&dir, key(), DEFAULT_MAX_FILE_BYTES).unwrap();
    log.append(NewEntry::new(
        Actor::Gallra,
        Action::RunStarted,
        Outcome::Started,
    ))
    .unwrap();
    let mut big = NewEntry::new(
        Actor::Policy("p".into()),
        Action::RunFinished,
        Outcome::Done,
    );
    for i in 0..8000 {
        big = big.count(format!("count_{i}"), i);
    }
    log.append(big).unwrap();
    drop(log);
    let log = AuditLog::open(&dir, key(), DEFAULT_MAX_FILE_BYTES).unwrap();
    assert_eq!(log.last_seq(), 2);
    assert_eq!(
        log.append(NewEntry::new(
            Actor::Gallra,
            Action::RunStarted,
            Outcome::Started
        ))
        .unwrap(),
        3
    );
    assert_eq!(verify(&dir, &key().chain_key()).unwrap().entries, 3);
}

#[test]
fn audit_empty_batch_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let log = AuditLog::open(&dir, key(), 100).unwrap();
    assert_eq!(log.append_batch(&[]).unwrap(), 0);
    let report = verify(&dir, &key().chain_key()).unwrap();
    assert_eq!(
        (report.files, report.entries, report.last_hash),
        (1, 0, None)
    );
}

#[test]
fn audit_missing_directory_verifies_as_an_empty_log() {
    let tmp = tempfile::tempdir().unwrap();
    let report = verify(&tmp.path().join("nope"), &key().chain_key()).unwrap();
    assert_eq!((report.files, report.entries), (0, 0));
}

#[test]
fn audit_log_refuses_to_continue_after_a_last_line_that_is_not_an_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    drop(AuditLog::open(&dir, key(), 100).unwrap());
    std::fs::write(dir.join("audit-1.log"), "garbage\n").unwrap();
    let error = AuditLog::open(&dir, key(), 100).unwrap_err();
    assert!(matches!(error, AuditError::Damaged { .. }), "{error}");
    assert!(error.to_string().contains("audit-1.log"), "{error}");
}
