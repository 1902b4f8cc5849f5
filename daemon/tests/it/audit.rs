//! The audit log's promises: a chain that `verify` checks across rotated files, naming the
//! first bad line after each kind of tampering; a crash-torn line that does not break it;
//! subjects kept only as keyed hashes; a key file that must be private.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use gallra::audit::{
    self, find_subject, Action, Actor, AuditLog, ChainKey, Entry, KeyError, NewEntry, Outcome,
    Problem, SubjectKey, VerifyError, VerifyReport,
};
use gallra_plugin_api::{Identifier, IdentifierKind};
use serde_json::Value;

const ANNA_EMAIL: &str = "Anna.Svensson@Example.se";
const ANNA_PNR: &str = "19811218-9876";
const BERT_EMAIL: &str = "bert@example.com";

fn email(value: &str) -> Identifier {
    Identifier::parse(IdentifierKind::Email, value).unwrap()
}

fn personnummer(value: &str) -> Identifier {
    Identifier::parse(IdentifierKind::Personnummer, value).unwrap()
}

fn test_key() -> SubjectKey {
    SubjectKey::from_bytes(b"0123456789abcdef0123456789abcdef").unwrap()
}

/// The chain checked with the test key.
fn verify(dir: &Path) -> Result<VerifyReport, VerifyError> {
    audit::verify(dir, &chain())
}

fn chain() -> ChainKey {
    test_key().chain_key()
}

/// Entries like a run's: every 10th about Anna, every 7th about Bert.
fn run_entry(i: u64) -> NewEntry {
    let entry = NewEntry::new(
        Actor::Policy("inactive-6-months".into()),
        Action::Erase,
        Outcome::Done,
    )
    .system(["panel", "crm", "billing"][(i % 3) as usize])
    .count("rows", i % 5);
    if i.is_multiple_of(10) {
        entry.subject(&[email(ANNA_EMAIL), personnummer(ANNA_PNR)])
    } else if i.is_multiple_of(7) {
        entry.subject(&[email(BERT_EMAIL)])
    } else {
        entry
    }
}

/// A log of 1000 entries in 3 files, written in batches of 10.
fn thousand_entries(dir: &Path) {
    let log = AuditLog::open(dir, test_key(), 120_000).unwrap();
    for start in (1..=1000).step_by(10) {
        let batch: Vec<NewEntry> = (start..start + 10).map(run_entry).collect();
        log.append_batch(&batch).unwrap();
    }
}

fn file(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("audit-{n}.log"))
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

/// The first bad line, as `verify` names it.
fn first_bad(dir: &Path) -> (String, u64, Problem) {
    match verify(dir) {
        Err(VerifyError::Broken {
            file,
            line,
            problem,
        }) => (file, line, problem),
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

fn seq_of(line: &str) -> u64 {
    serde_json::from_str::<Value>(line).unwrap()["seq"]
        .as_u64()
        .unwrap()
}

fn logged() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    thousand_entries(&dir);
    (tmp, dir)
}

#[test]
fn verify_passes_on_1000_entries_across_3_rotated_files() {
    let (_tmp, dir) = logged();
    let report = verify(&dir).unwrap();
    assert_eq!(report.files, 3);
    assert_eq!(report.entries, 1000);
    assert_eq!(report.last_seq, 1000);
    let last = lines(&file(&dir, 3)).pop().unwrap();
    assert_eq!(report.last_hash, Some(audit::sha256_hex(last.as_bytes())));
    let last: Value = serde_json::from_str(&last).unwrap();
    assert!(
        last["mac"].is_string() && last.get("hash").is_none(),
        "{last}"
    );
    // The chain crosses files: the first line of file 2 links to the last of file 1.
    let end_of_1 = lines(&file(&dir, 1)).pop().unwrap();
    let start_of_2: Value = serde_json::from_str(&lines(&file(&dir, 2))[0]).unwrap();
    assert_eq!(start_of_2["prev"], audit::sha256_hex(end_of_1.as_bytes()));
    assert_eq!(start_of_2["seq"], seq_of(&end_of_1) + 1);
}

#[test]
fn verify_names_the_line_whose_byte_was_changed() {
    let (_tmp, dir) = logged();
    let path = file(&dir, 2);
    let mut all = lines(&path);
    all[16] = all[16].replacen("inactive-6-months", "inactive-6-monthz", 1);
    write_lines(&path, &all);
    let (file, line, problem) = first_bad(&dir);
    assert_eq!((file.as_str(), line), ("audit-2.log", 17));
    assert_eq!(problem, Problem::MacMismatch);
    assert_eq!(
        verify(&dir).unwrap_err().to_string(),
        "audit-2.log:17: entry MAC does not match its content under the audit key (the line was changed, or written by someone without the key)"
    );
}

#[test]
fn verify_finds_a_changed_byte_in_the_very_last_line() {
    let (_tmp, dir) = logged();
    let path = file(&dir, 3);
    let mut all = lines(&path);
    let last = all.len() - 1;
    all[last] = all[last].replacen("\"outcome\":\"done\"", "\"outcome\":\"dune\"", 1);
    write_lines(&path, &all);
    let (file, line, problem) = first_bad(&dir);
    assert_eq!((file.as_str(), line), ("audit-3.log", all.len() as u64));
    assert_eq!(problem, Problem::MacMismatch);
}

#[test]
fn verify_finds_a_changed_byte_that_keeps_the_fields_the_same() {
    let (_tmp, dir) = logged();
    let path = file(&dir, 1);
    let mut all = lines(&path);
    all[4] = all[4].replacen("\"seq\":", "\"seq\": ", 1);
    write_lines(&path, &all);
    assert_eq!(
        first_bad(&dir),
        ("audit-1.log".into(), 5, Problem::NotCanonical)
    );
}

#[test]
fn verify_names_the_place_of_a_deleted_line() {
    let (_tmp, dir) = logged();
    let path = file(&dir, 2);
    let mut all = lines(&path);
    let gone = seq_of(&all[16]);
    all.remove(16);
    write_lines(&path, &all);
    let (file, line, problem) = first_bad(&dir);
    assert_eq!((file.as_str(), line), ("audit-2.log", 17));
    assert_eq!(
        problem,
        Problem::Missing {
            from: gone,
            to: gone,
            at_file_start: false
        }
    );
    assert!(
        problem.to_string().contains("a line was deleted"),
        "{problem}"
    );
}

#[test]
fn verify_names_the_first_of_two_swapped_lines() {
    let (_tmp, dir) = logged();
    let path = file(&dir, 2);
    let mut all = lines(&path);
    let expected = seq_of(&all[16]);
    all.swap(16, 17);
    write_lines(&path, &all);
    let (file, line, problem) = first_bad(&dir);
    assert_eq!((file.as_str(), line), ("audit-2.log", 17));
    assert_eq!(
        problem,
        Problem::Moved {
            seq: expected + 1,
            expected,
            found_at: "audit-2.log:18".into()
        }
    );
}

/// A hand-made entry after the last line, even by a holder of the key: valid JSON, a right
/// seq and a right MAC, but a `prev` that is not the last line's.
#[test]
fn verify_names_a_line_appended_by_hand() {
    let (_tmp, dir) = logged();
    let path = file(&dir, 3);
    let mut all = lines(&path);
    let mut forged: Entry = serde_json::from_str(all.last().unwrap()).unwrap();
    forged.seq = 1001;
    forged.outcome = "retained".into();
    forged.seal(&chain());
    all.push(forged.canonical_line());
    write_lines(&path, &all);
    assert_eq!(
        first_bad(&dir),
        (
            "audit-3.log".into(),
            all.len() as u64,
            Problem::PrevMismatch
        )
    );
}

#[test]
fn verify_names_a_copied_line_appended_by_hand() {
    let (_tmp, dir) = logged();
    let path = file(&dir, 3);
    let mut all = lines(&path);
    all.push(all[3].clone());
    write_lines(&path, &all);
    let (file, line, problem) = first_bad(&dir);
    assert_eq!((file.as_str(), line), ("audit-3.log", all.len() as u64));
    assert!(
        matches!(problem, Problem::Backwards { after: 1000, .. }),
        "{problem:?}"
    );
}

#[test]
fn verify_names_a_line_inserted_in_the_middle() {
    let (_tmp, dir) = logged();
    let path = file(&dir, 1);
    let mut all = lines(&path);
    let copy = all[8].clone();
    all.insert(20, copy);
    write_lines(&path, &all);
    let (file, line, problem) = first_bad(&dir);
    assert_eq!((file.as_str(), line), ("audit-1.log", 21));
    assert!(
        matches!(problem, Problem::Backwards { seq: 9, after: 20 }),
        "{problem:?}"
    );
}

#[test]
fn verify_names_a_deleted_middle_file() {
    let (_tmp, dir) = logged();
    fs::remove_file(file(&dir, 2)).unwrap();
    let (file, line, problem) = first_bad(&dir);
    assert_eq!((file.as_str(), line), ("audit-3.log", 1));
    assert_eq!(problem, Problem::MissingFiles { first: 2, last: 2 });
    assert_eq!(
        problem.to_string(),
        "audit-2.log is missing (a whole file was deleted)"
    );
}

#[test]
fn verify_finds_a_middle_file_deleted_and_the_rest_renumbered() {
    let (_tmp, dir) = logged();
    let first_of_3 = seq_of(&lines(&file(&dir, 3))[0]);
    let first_of_2 = seq_of(&lines(&file(&dir, 2))[0]);
    fs::rename(file(&dir, 3), file(&dir, 2)).unwrap();
    let (file, line, problem) = first_bad(&dir);
    assert_eq!((file.as_str(), line), ("audit-2.log", 1));
    assert_eq!(
        problem,
        Problem::Missing {
            from: first_of_2,
            to: first_of_3 - 1,
            at_file_start: true
        }
    );
}

#[test]
fn verify_names_a_deleted_first_file() {
    let (_tmp, dir) = logged();
    fs::remove_file(file(&dir, 1)).unwrap();
    assert_eq!(
        first_bad(&dir),
        (
            "audit-2.log".into(),
            1,
            Problem::MissingFiles { first: 1, last: 1 }
        )
    );
}

#[test]
fn reopening_after_a_torn_last_line_continues_the_chain_and_verify_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let log = AuditLog::open(&dir, test_key(), 1 << 20).unwrap();
    for i in 1..=50 {
        log.append(run_entry(i)).unwrap();
    }
    drop(log);
    // A crash in the middle of writing entry 51: part of its line, no newline.
    let path = file(&dir, 1);
    let whole = lines(&path);
    let torn = &whole[10][..40];
    fs::write(
        &path,
        format!("{}{torn}", fs::read_to_string(&path).unwrap()),
    )
    .unwrap();
    assert_eq!(
        first_bad(&dir),
        ("audit-1.log".into(), 51, Problem::Unfinished)
    );

    let log = AuditLog::open(&dir, test_key(), 1 << 20).unwrap();
    assert_eq!(log.last_seq(), 50);
    assert_eq!(log.append(run_entry(51)).unwrap(), 51);
    let report = verify(&dir).unwrap();
    assert_eq!((report.entries, report.last_seq, report.files), (51, 51, 1));
}

#[test]
fn reopening_after_the_only_line_of_a_new_file_was_torn_links_to_the_file_before() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let log = AuditLog::open(&dir, test_key(), 1000).unwrap();
    let mut seq = 0;
    while !file(&dir, 2).exists() {
        seq = log.append(run_entry(seq + 1)).unwrap();
    }
    drop(log);
    // File 2 was started and its first line cut short.
    let start_of_2 = fs::read_to_string(file(&dir, 2)).unwrap();
    fs::write(file(&dir, 2), &start_of_2[..30]).unwrap();

    let log = AuditLog::open(&dir, test_key(), 1000).unwrap();
    assert_eq!(log.last_seq(), seq - 1);
    log.append(run_entry(seq)).unwrap();
    log.append(run_entry(seq + 1)).unwrap();
    let report = verify(&dir).unwrap();
    assert_eq!(report.entries, seq + 1);
}

#[test]
fn concurrent_appends_from_many_threads_keep_one_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audit");
    let log = AuditLog::open(&dir, test_key(), 4096).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let log = &log;
            s.spawn(move || {
                for i in 0..25 {
                    log.append(run_entry(t * 100 + i)).unwrap();
                }
            });
        }
    });
    let report = verify(&dir).unwrap();
    assert_eq!(report.entries, 100);
    assert!(report.files > 1);
}

#[test]
fn show_finds_exactly_the_subjects_entries_by_email_in_another_spelling() {
    let (_tmp, dir) = logged();
    let anna_seqs: Vec<u64> = (1..=1000u64).filter(|i| i.is_multiple_of(10)).collect();
    let found = find_subject(&dir, &test_key(), &email(&ANNA_EMAIL.to_uppercase())).unwrap();
    assert_eq!(found.iter().map(|e| e.seq).collect::<Vec<_>>(), anna_seqs);
    assert!(found
        .iter()
        .all(|e| e.action == "erase" && e.outcome == "done"));
    // Her personnummer in its ten-digit spelling finds the same entries.
    let by_pnr = find_subject(&dir, &test_key(), &personnummer("811218-9876")).unwrap();
    assert_eq!(by_pnr, found);
    // Someone else's address finds only theirs; a stranger's nothing.
    let bert = find_subject(&dir, &test_key(), &email("BERT@example.com")).unwrap();
    assert!(bert
        .iter()
        .all(|e| e.seq.is_multiple_of(7) && !e.seq.is_multiple_of(10)));
    assert!(!bert.is_empty());
    let nobody = find_subject(&dir, &test_key(), &email("nobody@example.com")).unwrap();
    assert!(nobody.is_empty());
    // Under another key nobody is found.
    let other = SubjectKey::from_bytes(&[9; 32]).unwrap();
    assert!(find_subject(&dir, &other, &email(ANNA_EMAIL))
        .unwrap()
        .is_empty());
}

#[test]
fn the_log_never_contains_the_email_or_personnummer() {
    let (_tmp, dir) = logged();
    let mut bytes = Vec::new();
    for n in 1..=3 {
        bytes.extend(fs::read(file(&dir, n)).unwrap());
    }
    let text = String::from_utf8(bytes).unwrap().to_lowercase();
    for needle in [
        ANNA_EMAIL,
        "anna.svensson",
        BERT_EMAIL,
        "bert@",
        ANNA_PNR,
        "198112189876",
        "811218-9876",
        "8112189876",
    ] {
        assert!(
            !text.contains(&needle.to_lowercase()),
            "the log contains {needle}"
        );
    }
}

#[test]
fn log_files_are_private_to_their_owner() {
    let (_tmp, dir) = logged();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for n in 1..=3 {
        assert_eq!(mode(&file(&dir, n)), 0o600);
    }
}

#[test]
fn key_file_readable_by_others_is_refused_naming_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("audit.key");
    fs::write(&path, "a".repeat(64)).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let error = SubjectKey::load(&path).unwrap_err();
    assert!(
        matches!(error, KeyError::Readable { mode: 0o644, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("chmod 600"), "{text}");
    assert!(!text.contains("aaaa"), "{text}");

    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    SubjectKey::load(&path).unwrap();
}

#[test]
fn key_file_shorter_than_32_bytes_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("audit.key");
    fs::write(&path, "too short\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let error = SubjectKey::load(&path).unwrap_err();
    assert!(
        matches!(error, KeyError::TooShort { len: 9, .. }),
        "{error:?}"
    );
}

#[test]
fn generated_key_is_mode_0600_and_kept_across_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let path = audit::default_key_path(tmp.path());
    let first = SubjectKey::generate(&path).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let again = SubjectKey::generate(&path).unwrap();
    let loaded = SubjectKey::load(&path).unwrap();
    let anna = email(ANNA_EMAIL);
    assert_eq!(first.subject(&anna), again.subject(&anna));
    assert_eq!(first.subject(&anna), loaded.subject(&anna));
    let other_path = tmp.path().join("other.key");
    let other = SubjectKey::generate(&other_path).unwrap();
    assert_ne!(first.subject(&anna), other.subject(&anna));
}

#[test]
fn key_never_appears_in_debug_output() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("audit.key");
    let key = SubjectKey::generate(&path).unwrap();
    let secret = fs::read_to_string(&path).unwrap().trim().to_owned();
    let raw = b"0123456789abcdef0123456789abcdef";
    let log = AuditLog::open(
        &tmp.path().join("audit"),
        SubjectKey::from_bytes(raw).unwrap(),
        1000,
    )
    .unwrap();
    for text in [format!("{key:?}"), format!("{key:#?}"), format!("{log:?}")] {
        assert!(!text.contains(&secret), "{text}");
        assert!(!text.contains(&secret[..16]), "{text}");
        assert!(!text.contains("0123456789abcdef"), "{text}");
        assert!(!text.contains("48, 49, 50"), "{text}");
    }
    let entry = NewEntry::new(Actor::Request(42), Action::Erase, Outcome::Done)
        .subject(&[email(ANNA_EMAIL)]);
    assert!(!format!("{entry:?}").to_lowercase().contains("anna"));
}

#[test]
fn audit_log_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<AuditLog>();
    shared::<SubjectKey>();
}

/// The same by someone who does not know the canonical form: caught by its hash.
#[test]
fn verify_names_a_line_appended_by_hand_without_the_canonical_form() {
    let (_tmp, dir) = logged();
    let path = file(&dir, 3);
    let mut all = lines(&path);
    let mut forged: Value = serde_json::from_str(all.last().unwrap()).unwrap();
    forged["seq"] = 1001.into();
    all.push(forged.to_string());
    write_lines(&path, &all);
    let (file, line, problem) = first_bad(&dir);
    assert_eq!((file.as_str(), line), ("audit-3.log", all.len() as u64));
    assert_eq!(problem, Problem::MacMismatch);
}
