//! The audit log of a real run: verifiable, searchable by a subject's identifier, and free
//! of personal data.

use gallra_demo::Category;
use gallra_e2e::{Backend, Gallra, Scenario};

#[test]
fn a_real_runs_audit_log_verifies_finds_a_subject_and_holds_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 12, 120);
    let gallra = Gallra::new(&scenario.config);
    // Debug logging, the most talkative there is: still no personal data in it.
    let run = gallra
        .run_with_env(&["run", "--once"], &[("GALLRA_LOG", "debug")])
        .expect_code(0);
    let logs = format!("{}{}", run.stdout, run.stderr).to_lowercase();
    assert!(logs.contains("run started"), "the run logged");
    for c in scenario.data.customers() {
        assert!(
            !logs.contains(&c.email().to_lowercase()),
            "an email in the logs"
        );
        assert!(
            !logs.contains(c.personnummer()),
            "a personnummer in the logs"
        );
        assert!(
            !logs.contains(&c.name().to_lowercase()),
            "a name in the logs"
        );
    }

    let verified = gallra.run(&["audit", "verify"]).expect_code(0);
    assert!(
        verified.stdout.contains("chain intact"),
        "{}",
        verified.stdout
    );

    // "Was this person erased, and when?" — answered from the email, in another spelling.
    let purged = scenario
        .data
        .in_category(Category::InactiveClean)
        .next()
        .unwrap();
    let found = gallra
        .run(&[
            "audit",
            "show",
            "--email",
            &purged.email().to_uppercase(),
            "--json",
        ])
        .expect_code(0)
        .json();
    let systems: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "erase" && e["outcome"] == "done")
        .map(|e| e["system"].as_str().unwrap())
        .collect();
    assert!(
        systems.contains(&"crm") && systems.contains(&"panel") && systems.contains(&"billing"),
        "{found:#}"
    );
    let kept = scenario.data.in_category(Category::Active).next().unwrap();
    let none = gallra
        .run(&["audit", "show", "--email", kept.email(), "--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        none.as_array().unwrap().len(),
        0,
        "an active customer has no entries"
    );

    // No one's email, personnummer or name is in the log's bytes.
    let audit_dir = scenario.dir.join("state/audit");
    let mut bytes = String::new();
    for file in std::fs::read_dir(&audit_dir).unwrap() {
        bytes.push_str(&std::fs::read_to_string(file.unwrap().path()).unwrap());
    }
    assert!(bytes.lines().count() > 10, "the log records the run");
    let lower = bytes.to_lowercase();
    for c in scenario.data.customers() {
        assert!(
            !lower.contains(&c.email().to_lowercase()),
            "an email in the audit log"
        );
        assert!(
            !bytes.contains(c.personnummer()),
            "a personnummer in the audit log"
        );
        assert!(!bytes.contains(c.name()), "a name in the audit log");
    }

    // One changed byte: verify fails and names the line.
    let first = gallra_e2e::requests::first_audit_file(&audit_dir);
    let text = std::fs::read_to_string(&first).unwrap();
    let tampered = text.replacen("\"outcome\":\"done\"", "\"outcome\":\"fail\"", 1);
    assert_ne!(tampered, text);
    std::fs::write(&first, tampered).unwrap();
    let broken = gallra.run(&["audit", "verify"]).expect_code(1);
    assert!(
        broken.stderr.contains("-1.log:") || broken.stdout.contains("-1.log:"),
        "{}{}",
        broken.stdout,
        broken.stderr
    );
}

/// A log that two people's erasure requests wrote into, with its head in the state store,
/// and another person's erasure request waiting for the next run.
struct Erased {
    _dir: tempfile::TempDir,
    scenario: Scenario,
    gallra: Gallra,
    audit_dir: std::path::PathBuf,
    /// One of the people erased.
    first: String,
    /// The second person, whose erasure waits.
    second: String,
}

fn one_erased_one_waiting() -> Erased {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 5, 60);
    // No policy: whatever is erased here, a request erased.
    scenario.edit_config(|config| {
        config.remove("policies");
    });
    let gallra = Gallra::new(&scenario.config);
    let clean: Vec<String> = scenario
        .data
        .in_category(Category::InactiveClean)
        .take(3)
        .map(|c| c.email().to_owned())
        .collect();
    let (first, second) = (clean[0].clone(), clean[1].clone());
    for email in [&first, &clean[2]] {
        gallra
            .run(&["request", "erase", "--email", email])
            .expect_code(0);
    }
    gallra.run(&["run", "--once"]).expect_code(0);
    gallra.run(&["audit", "verify"]).expect_code(0);
    gallra
        .run(&["request", "erase", "--email", &second])
        .expect_code(0);
    Erased {
        audit_dir: scenario.dir.join("state/audit"),
        _dir: dir,
        scenario,
        gallra,
        first,
        second,
    }
}

impl Erased {
    fn log_file(&self) -> std::path::PathBuf {
        gallra_e2e::requests::first_audit_file(&self.audit_dir)
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.log_file())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write_lines(&self, lines: &[String]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(self.log_file(), text).unwrap();
    }

    /// `gallra audit verify` fails saying `what`; the next run erases nothing and says why;
    /// `gallra audit show` does not answer as if the log were whole.
    fn is_caught(&self, what: &str) {
        let verified = self.gallra.run(&["audit", "verify"]).expect_code(1);
        assert!(verified.stdout.contains(what), "{}", verified.stdout);
        let before = self.scenario.snapshot();
        let run = self.gallra.run(&["run", "--once"]).expect_code(1);
        assert!(run.stderr.contains(what), "{}", run.stderr);
        assert!(
            run.stderr.contains("gallra audit accept --reason"),
            "{}",
            run.stderr
        );
        assert!(
            self.scenario.snapshot() == before,
            "a run erased with a log that does not match its head"
        );
        self.gallra
            .run(&["audit", "show", "--email", &self.first])
            .expect_code(1);
    }
}

#[test]
fn an_audit_log_cut_short_stops_erasing_and_verify_says_what_is_missing() {
    let erased = one_erased_one_waiting();
    let mut lines = erased.lines();
    let total = lines.len();
    lines.truncate(total - 3);
    erased.write_lines(&lines);
    erased.is_caught(&format!(
        "the log ends at entry {} but the state store's head is entry {total}",
        total - 3
    ));
}

#[test]
fn an_audit_log_truncated_to_nothing_stops_erasing() {
    let erased = one_erased_one_waiting();
    let total = erased.lines().len();
    std::fs::write(erased.log_file(), "").unwrap();
    erased.is_caught(&format!("entries 1 to {total} are missing"));
}

#[test]
fn a_deleted_audit_directory_stops_erasing() {
    let erased = one_erased_one_waiting();
    let total = erased.lines().len();
    std::fs::remove_dir_all(&erased.audit_dir).unwrap();
    erased.is_caught(&format!("entries 1 to {total} are missing"));
    assert!(!erased.audit_dir.exists(), "no new log over the loss");
}

/// What a tester did: the subject's entries taken out, the rest renumbered, and the chain's
/// bare SHA-256 hashes recomputed (the MACs cannot be, without the key).
#[test]
fn an_audit_log_rewritten_without_one_subjects_entries_stops_erasing() {
    let erased = one_erased_one_waiting();
    let theirs = erased
        .gallra
        .run(&["audit", "show", "--email", &erased.first, "--json"])
        .expect_code(0)
        .json();
    let seqs: Vec<u64> = theirs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(!seqs.is_empty() && seqs.len() < erased.lines().len());
    let lines = erased.lines();
    let total = lines.len() as u64;
    let mut prev = gallra::audit::GENESIS_PREV.to_owned();
    let mut rewritten = Vec::new();
    for line in lines {
        let mut entry: gallra::audit::Entry = serde_json::from_str(&line).unwrap();
        if seqs.contains(&entry.seq) {
            continue;
        }
        entry.seq = rewritten.len() as u64 + 1;
        entry.prev = prev;
        entry.mac = None;
        entry.hash = Some(entry.content_hash());
        let line = entry.canonical_line();
        prev = gallra::audit::sha256_hex(line.as_bytes());
        rewritten.push(line);
    }
    erased.write_lines(&rewritten);
    erased.is_caught(&format!(
        "the log ends at entry {} but the state store's head is entry {total}",
        total - seqs.len() as u64
    ));
}

#[test]
fn a_person_accepts_a_cut_log_and_erasing_goes_on_recorded() {
    let erased = one_erased_one_waiting();
    let mut lines = erased.lines();
    lines.truncate(2);
    erased.write_lines(&lines);
    erased
        .gallra
        .run(&["audit", "accept", "--reason", "asked by anna@example.se"])
        .expect_code(2);
    let accepted = erased
        .gallra
        .run(&[
            "audit",
            "accept",
            "--reason",
            "disk restored from backup, ticket 4711",
        ])
        .expect_code(0);
    assert!(
        accepted.stdout.contains("log ended at entry 2"),
        "{}",
        accepted.stdout
    );
    erased.gallra.run(&["audit", "verify"]).expect_code(0);
    erased.gallra.run(&["run", "--once"]).expect_code(0);
    let found = erased
        .gallra
        .run(&["audit", "show", "--email", &erased.second, "--json"])
        .expect_code(0)
        .json();
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "erase" && e["outcome"] == "done"),
        "{found:#}"
    );
    let log = erased.lines().join("\n");
    assert!(log.contains("\"action\":\"audit_accepted\""));
    assert!(!log.contains("anna@example.se"));
}
