//! Re-applying erasures after a system is restored from a backup, end to end: the real
//! `gallra` binary and SQL plugin against SQLite. The CRM keeps backups for 30 days; a purge
//! erases people from it; the CRM is restored from a copy taken before the purge; `gallra
//! reapply` erases exactly those people again, from tombstones that hold no identifier in
//! plain text; after the 30 days the tombstones are gone and nothing is re-applied.

use std::collections::BTreeSet;
use std::path::Path;

use gallra_e2e::{state_db_holds, Scenario};

type Rows = Vec<Vec<Option<String>>>;

fn crm_rows(scenario: &Scenario) -> (Rows, Rows) {
    let snapshot = scenario.snapshot();
    (snapshot["people"].clone(), snapshot["notes"].clone())
}

fn ids(rows: &Rows, column: usize) -> BTreeSet<i64> {
    rows.iter()
        .map(|r| r[column].as_deref().unwrap().parse().unwrap())
        .collect()
}

/// Copies the CRM database file over `to` (a backup, or a restore), with no WAL left over.
fn copy_db(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    for suffix in ["-wal", "-shm"] {
        let mut side = to.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
}

#[test]
fn a_restored_system_has_exactly_the_purged_erased_again() {
    let (dir, scenario) = Scenario::sqlite(11, 300);
    scenario.edit_config(|config| {
        // The demo says so already; the test depends on it.
        config["systems"]["crm"]
            .as_table_mut()
            .unwrap()
            .insert("backup_retention".into(), "30 days".into());
    });
    let gallra = scenario.gallra();
    let crm = scenario.db("crm").path.clone().unwrap();
    let backup = dir.path().join("crm-backup.db");
    let state_dir = dir.path().join("state");
    let before_purge = jiff::Timestamp::now().to_string();
    let before = crm_rows(&scenario);
    copy_db(&crm, &backup);

    // The purge.
    let run = gallra.run_once(0);
    assert_eq!(run[0]["state"], "done");
    let purged = crm_rows(&scenario);
    let gone: BTreeSet<i64> = ids(&before.0, 0)
        .difference(&ids(&purged.0, 0))
        .copied()
        .collect();
    assert!(gone.len() > 10, "the purge must erase people from the CRM");
    let gone_emails: Vec<String> = before
        .0
        .iter()
        .filter(|r| gone.contains(&r[0].as_deref().unwrap().parse().unwrap()))
        .filter_map(|r| r[1].clone())
        .collect();
    assert!(!gone_emails.is_empty());
    for email in &gone_emails {
        assert!(
            !state_db_holds(&state_dir, email),
            "the state database holds an erased subject's email in plain text"
        );
    }

    // The restore brings them back…
    copy_db(&backup, &crm);
    assert_eq!(crm_rows(&scenario), before);

    // …a dry run only counts…
    let dry = gallra
        .run(&[
            "reapply",
            "--system",
            "crm",
            "--since",
            &before_purge,
            "--dry-run",
            "--json",
        ])
        .expect_code(0)
        .json();
    // One tombstone per purged customer: the CRM was asked for each (some it never held).
    let asked = scenario.expected_purged().len();
    assert_eq!(dry["tombstones"], asked as u64);
    assert_eq!(crm_rows(&scenario), before, "a dry run changed data");

    // …and reapply erases exactly them again; every other row stays as it was.
    let out = gallra
        .run(&["reapply", "--system", "crm", "--since", &before_purge])
        .expect_code(0);
    assert!(
        out.stdout.contains(&format!(
            "{} erased again, {} already gone, 0 kept by the system, 0 failed",
            gone.len(),
            asked - gone.len()
        )),
        "{}",
        out.stdout
    );
    for email in &gone_emails {
        assert!(!out.stdout.contains(email.as_str()) && !out.stderr.contains(email.as_str()));
    }
    assert_eq!(
        crm_rows(&scenario),
        purged,
        "reapply must leave the CRM as the purge did"
    );

    // Again: all already gone, nothing changes.
    let again = gallra
        .run(&[
            "reapply",
            "--system",
            "crm",
            "--since",
            &before_purge,
            "--json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(again["already_gone"], asked as u64);
    assert_eq!(again["erased_again"], 0);
    assert_eq!(crm_rows(&scenario), purged);

    // Past the 30 days of backups the tombstones are pruned and nothing is re-applied.
    copy_db(&backup, &crm);
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(31 * 24)).to_string();
    let late = gallra.run_with_env(
        &["reapply", "--system", "crm", "--since", &before_purge],
        &[("GALLRA_NOW", &later)],
    );
    let late = late.expect_code(0);
    assert!(
        late.stdout.contains("re-applied 0 erasures"),
        "{}",
        late.stdout
    );
    // The demo keeps backups of every system for 30 days: the tombstones of all go.
    let pruned: usize = late
        .stdout
        .lines()
        .find_map(|l| {
            l.strip_suffix(
                " tombstones had passed their system's backup retention and were removed",
            )
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no pruned count: {}", late.stdout));
    assert!(pruned >= asked, "{}", late.stdout);
    assert!(
        late.stdout.contains("the window has passed"),
        "{}",
        late.stdout
    );
    assert_eq!(
        crm_rows(&scenario),
        before,
        "nothing is re-applied after the window"
    );
}

#[test]
fn reapply_refuses_what_it_cannot_do() {
    let (_dir, scenario) = Scenario::sqlite(3, 20);
    scenario.edit_config(|config| {
        config["systems"].as_table_mut().unwrap().insert(
            "binders".into(),
            toml::Value::Table(toml::toml! {
                manual = { instructions = "Shred the folder" }
                backup_retention = "1 day"
            }),
        );
    });
    let gallra = scenario.gallra();
    // What `gallra reapply --system SYSTEM --since SINCE` says as it refuses (exit 2).
    let refused = |system: &str, since: &str| {
        gallra
            .run(&["reapply", "--system", system, "--since", since])
            .expect_code(2)
            .stderr
    };
    let manual = refused("binders", "2025-01-01");
    assert!(manual.contains("has no connector"), "{manual}");
    let unknown = refused("nope", "2025-01-01");
    assert!(unknown.contains("no system \"nope\""), "{unknown}");
    assert!(
        unknown.contains("crm"),
        "names the known systems: {unknown}"
    );
    let future = refused("crm", "2999-01-01");
    assert!(future.contains("in the future"), "{future}");
    let garbage = refused("crm", "yesterday-ish");
    assert!(garbage.contains("--since"), "{garbage}");
}

#[test]
fn an_erasure_requested_by_the_subject_is_re_applied_too() {
    let (dir, scenario) = Scenario::sqlite(5, 60);
    // No policy: whatever is erased here, the request erased.
    scenario.edit_config(|config| {
        config.remove("policies");
    });
    let gallra = scenario.gallra();
    let customer = scenario
        .data
        .in_category(gallra_demo::Category::InactiveClean)
        .find(|c| c.crm_id().is_some())
        .unwrap();
    let crm = scenario.db("crm").path.clone().unwrap();
    let backup = dir.path().join("crm-backup.db");
    let since = jiff::Timestamp::now().to_string();
    let before = crm_rows(&scenario);
    copy_db(&crm, &backup);

    gallra
        .run(&["request", "erase", "--email", customer.email(), "--json"])
        .expect_code(0);
    gallra.run(&["run", "--once"]).expect_code(0);
    let erased = crm_rows(&scenario);
    assert_eq!(
        erased.0.len(),
        before.0.len() - 1,
        "the request erased the person"
    );

    copy_db(&backup, &crm);
    let out = gallra
        .run(&["reapply", "--system", "crm", "--since", &since, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(out["tombstones"], 1);
    assert_eq!(out["erased_again"], 1);
    assert_eq!(crm_rows(&scenario), erased);
}
