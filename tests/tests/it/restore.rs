//! The restore window, end to end: the real `gallra` binary and SQL plugin against SQLite.
//! A purge under `restore_window = "14 days"` keeps what it erases, encrypted under a key
//! file of its own; `gallra restore RUN` puts exactly those rows back, byte for byte, and
//! touches nothing else; a second restore changes nothing; after the window the key file
//! and the ciphertexts are gone and restore refuses, saying when the window ended. A system
//! that cannot restore is not erased at all.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use gallra_e2e::{state_db_holds, Gallra, Outcome, Scenario};
use tempfile::TempDir;

type Snapshot = BTreeMap<&'static str, Vec<Vec<Option<String>>>>;

/// Every row of every table, sorted, so that a re-inserted row compares equal wherever the
/// database puts it.
fn snapshot(scenario: &Scenario) -> Snapshot {
    let mut snapshot = scenario.snapshot();
    for rows in snapshot.values_mut() {
        rows.sort();
    }
    snapshot
}

fn with_window(scenario: &Scenario, systems: &[&str]) {
    scenario.edit_config(|config| {
        let policy = config["policies"]["inactive-6-months"]
            .as_table_mut()
            .unwrap();
        policy.insert("restore_window".into(), "14 days".into());
        policy.insert(
            "systems".into(),
            toml::Value::Array(systems.iter().map(|s| (*s).into()).collect()),
        );
    });
}

/// A purge of 300 customers under a 14-day restore window on the CRM and the panel.
struct Purge {
    dir: TempDir,
    scenario: Scenario,
    gallra: Gallra,
    before: Snapshot,
    /// What `gallra run --once --json` printed, with debug logs (to check them for
    /// personal data).
    out: Outcome,
    run: i64,
    purged: Snapshot,
}

fn purge() -> Purge {
    let (dir, scenario) = Scenario::sqlite(11, 300);
    with_window(&scenario, &["crm", "panel"]);
    let gallra = scenario.gallra();
    let before = snapshot(&scenario);
    let out = gallra
        .run_with_env(&["run", "--once", "--json"], &[("GALLRA_LOG", "debug")])
        .expect_code(0);
    let run = out.json()[0]["run"].as_i64().unwrap();
    let purged = snapshot(&scenario);
    Purge {
        dir,
        scenario,
        gallra,
        before,
        out,
        run,
        purged,
    }
}

fn kept_rows(state_dir: &Path) -> i64 {
    let db = rusqlite::Connection::open(state_dir.join("state.db")).unwrap();
    db.query_row("SELECT count(*) FROM restore_keeps", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_purge_is_undone_exactly_once_within_its_window_and_never_after() {
    // The purge, keeping what it erases.
    let Purge {
        dir,
        scenario,
        gallra,
        before,
        out: purge,
        run,
        purged,
    } = purge();
    let state_dir = dir.path().join("state");
    let report = purge.json();
    assert_eq!(report[0]["state"], "done", "{report}");
    let erased = before["customers"].len() - purged["customers"].len();
    assert_eq!(erased, scenario.expected_purged().len());
    assert!(erased > 10, "the purge must erase customers");
    assert!(purged["people"].len() < before["people"].len());
    assert_eq!(
        purged["clients"], before["clients"],
        "billing is not in the policy"
    );

    // The key is a private file beside the state database; what it seals is not readable.
    let key = state_dir.join("restore").join(format!("run-{run}.key"));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(key.parent().unwrap()), 0o700);
    let gone_emails: Vec<String> = before["customers"]
        .iter()
        .filter(|row| !purged["customers"].contains(row))
        .filter_map(|row| row[1].clone())
        .collect();
    assert!(!gone_emails.is_empty());
    for email in &gone_emails {
        assert!(
            !state_db_holds(&state_dir, email),
            "the state database holds an erased customer's email in plain text"
        );
    }

    // A dry run counts and changes nothing.
    let dry = gallra
        .run(&["restore", &run.to_string(), "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(dry["systems"]["panel"]["subjects"], erased as u64, "{dry}");
    assert_eq!(snapshot(&scenario), purged);

    // The restore brings back exactly what was erased, byte for byte, and nothing else.
    let out = gallra
        .run_with_env(
            &["restore", &run.to_string(), "--json"],
            &[("GALLRA_LOG", "debug")],
        )
        .expect_code(0);
    let counts = out.json();
    assert_eq!(
        snapshot(&scenario),
        before,
        "every table as before the purge"
    );
    let restored = counts["systems"]["panel"]["restored"].as_u64().unwrap();
    let services = before["services"].len() - purged["services"].len();
    assert_eq!(restored as usize, erased + services, "{counts}");
    for email in &gone_emails {
        for text in [&purge.stderr, &out.stdout, &out.stderr] {
            assert!(
                !text.contains(email.as_str()),
                "an erased customer's email in the output or debug log"
            );
        }
    }

    // Again: everything is there already; nothing changes.
    let again = gallra
        .run(&["restore", &run.to_string(), "--json"])
        .expect_code(0)
        .json();
    for system in ["crm", "panel"] {
        assert_eq!(again["systems"][system]["restored"], 0, "{again}");
    }
    assert_eq!(
        again["systems"]["panel"]["already_present"]
            .as_u64()
            .unwrap() as usize,
        erased + services
    );
    assert_eq!(snapshot(&scenario), before);

    // After the window: the key file and the ciphertexts are gone, and restore says why.
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(15 * 24)).to_string();
    let late = gallra
        .run_with_env(&["restore", &run.to_string()], &[("GALLRA_NOW", &later)])
        .expect_code(1);
    assert!(
        late.stderr
            .contains(&format!("the restore window of run {run} ended on")),
        "{}",
        late.stderr
    );
    assert!(
        late.stderr.contains("its key was destroyed"),
        "{}",
        late.stderr
    );
    assert!(!key.exists(), "the key file is destroyed");
    assert_eq!(kept_rows(&state_dir), 0, "the ciphertexts are deleted");
    assert_eq!(snapshot(&scenario), before);
}

#[test]
fn a_system_that_cannot_restore_is_not_erased() {
    let (_dir, scenario) = Scenario::sqlite(5, 80);
    // Billing anonymizes in place: its connector offers no restore.
    with_window(&scenario, &["crm", "billing", "panel"]);
    let gallra = scenario.gallra();
    let before = snapshot(&scenario);
    let report = gallra.run_once(1);
    assert_eq!(report[0]["state"], "failed", "{report}");
    let after = snapshot(&scenario);
    assert_eq!(after["clients"], before["clients"], "billing is not erased");
    assert_eq!(
        after["customers"], before["customers"],
        "nor the panel after it"
    );
    assert!(report[0]["tasks"]["billing"]["failed"].as_u64().unwrap() > 0);
    // The CRM, which can, was erased and kept: restore puts it back.
    assert!(after["people"].len() < before["people"].len());
    let run = report[0]["run"].as_i64().unwrap();
    gallra.run(&["restore", &run.to_string()]).expect_code(0);
    assert_eq!(snapshot(&scenario), before);
}

#[test]
fn a_run_without_a_window_has_nothing_to_restore() {
    let (dir, scenario) = Scenario::sqlite(3, 40);
    let gallra = scenario.gallra();
    let report = gallra.run_once(0);
    let run = report[0]["run"].as_i64().unwrap();
    let out = gallra.run(&["restore", &run.to_string()]).expect_code(1);
    assert!(
        out.stderr.contains("kept nothing to restore"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("state").join("restore").exists());
    // A system name that is not in the config is a usage error that names the systems.
    let typo = gallra
        .run(&["restore", &run.to_string(), "--system", "crn"])
        .expect_code(2);
    assert!(
        typo.stderr.contains("\"crn\" is not a system") && typo.stderr.contains("crm"),
        "{}",
        typo.stderr
    );
}

#[test]
fn an_export_that_fails_blocks_the_erase_until_a_run_can_keep() {
    let (dir, scenario) = Scenario::sqlite(7, 60);
    with_window(&scenario, &["crm", "panel"]);
    // The CRM behind the test-faults connector: every export answers 503, nothing else fails.
    let schedule = dir.path().join("faults.json");
    std::fs::write(
        &schedule,
        r#"{"rate": 1.0, "faults": ["5xx"], "operations": ["export"]}"#,
    )
    .unwrap();
    scenario.edit_config(|config| {
        let file = schedule.display().to_string();
        gallra_e2e::behind_faults(config, "crm", ("schedule_file", file.into()));
    });
    let gallra = scenario.gallra();
    let before = snapshot(&scenario);
    let report = gallra.run_once(1);
    assert_eq!(report[0]["state"], "failed", "{report}");
    assert!(report[0]["tasks"]["crm"]["failed"].as_u64().unwrap() > 0);
    assert_eq!(
        snapshot(&scenario),
        before,
        "nothing is erased that could not be kept (and the panel waits for the CRM)"
    );

    // The export works again: the next run keeps, then erases.
    std::fs::remove_file(&schedule).unwrap();
    let again = gallra.run_once(0);
    assert_eq!(again[0]["state"], "done", "{again}");
    let after = snapshot(&scenario);
    assert!(after["people"].len() < before["people"].len());
    assert!(after["customers"].len() < before["customers"].len());
    let dry = gallra
        .run(&[
            "restore",
            &again[0]["run"].to_string(),
            "--dry-run",
            "--json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(
        dry["systems"]["panel"]["subjects"].as_u64().unwrap() as usize,
        before["customers"].len() - after["customers"].len(),
        "{dry}"
    );
}

/// Someone the purge erased who then asks to be erased (their request finds nothing left) is
/// not brought back by a restore of that run; everyone else is.
#[test]
fn a_customer_who_asked_to_be_erased_is_not_restored() {
    let Purge {
        dir: _dir,
        scenario,
        gallra,
        before,
        run,
        purged,
        ..
    } = purge();
    let asked = before["customers"]
        .iter()
        .find(|row| !purged["customers"].contains(row))
        .cloned()
        .expect("the purge erased someone");
    let email = asked[1].clone().unwrap();
    gallra
        .run(&["request", "erase", "--email", &email])
        .expect_code(0);
    gallra.run(&["run", "--once"]).expect_code(0);

    let counts = gallra
        .run(&["restore", &run.to_string(), "--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        counts["systems"]["panel"]["asked_to_be_erased"], 1,
        "{counts}"
    );
    let customers = &snapshot(&scenario)["customers"];
    assert!(
        !customers.contains(&asked),
        "a customer who asked to be erased was restored"
    );
    let expected: Vec<_> = before["customers"]
        .iter()
        .filter(|row| **row != asked)
        .cloned()
        .collect();
    assert_eq!(customers, &expected, "everyone else is back");
}
