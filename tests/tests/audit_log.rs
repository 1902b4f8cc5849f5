//! The audit log of a real run: verifiable, searchable by a subject's identifier, and free
//! of personal data.

use gallra::demo::Category;
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
    let first = audit_dir.join("audit-1.log");
    let text = std::fs::read_to_string(&first).unwrap();
    let tampered = text.replacen("\"outcome\":\"done\"", "\"outcome\":\"fail\"", 1);
    assert_ne!(tampered, text);
    std::fs::write(&first, tampered).unwrap();
    let broken = gallra.run(&["audit", "verify"]).expect_code(1);
    assert!(
        broken.stderr.contains("audit-1.log:") || broken.stdout.contains("audit-1.log:"),
        "{}{}",
        broken.stdout,
        broken.stderr
    );
}
