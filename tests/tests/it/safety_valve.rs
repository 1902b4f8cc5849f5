//! Safety valves: a run that would remove too much stops before removing anything, and waits
//! for a person to approve it.

use gallra_e2e::{Gallra, Scenario};

/// A broken activity column (every login reads as years old, services and invoices no longer
/// counted) makes every subject look inactive: the run must stop, delete nothing, exit 3.
#[test]
fn a_run_that_would_purge_everyone_deletes_nothing_until_approved() {
    let (_dir, scenario) = Scenario::sqlite(5, 200);
    scenario.db("panel").execute(&[
        "UPDATE customers SET last_login = '2001-01-01 00:00:00', created_at = '2001-01-01 00:00:00'".into(),
        "UPDATE services SET status = 'ended', ended_at = '2001-01-01 00:00:00'".into(),
    ]);
    scenario
        .db("billing")
        .execute(&["UPDATE invoices SET paid_at = '2001-01-01 00:00:00'".into()]);
    let gallra = scenario.gallra();
    let before = scenario.snapshot();

    let plan = gallra.run(&["plan", "--json"]).expect_code(0).json();
    assert_eq!(plan[0]["selected"], 200);
    assert!(plan[0]["safety"].as_str().unwrap().contains("max_fraction"));

    let run = gallra.run_once(3);
    assert_eq!(run[0]["state"], "awaiting_approval");
    assert!(run[0]["detail"]
        .as_str()
        .unwrap()
        .contains("gallra approve"));
    assert_eq!(scenario.snapshot(), before, "a stopped run deleted data");

    // Running again does not sneak past the valve either; its newer plan supersedes the
    // first, which can no longer be approved.
    let again = gallra.run_once(3);
    assert_eq!(scenario.snapshot(), before);
    let first = run[0]["run"].as_i64().unwrap().to_string();
    let refused = gallra.run(&["approve", &first]).expect_code(2);
    assert!(refused.stderr.contains("superseded"), "{}", refused.stderr);

    // A person approves the newest run; the next pass carries out exactly that run.
    let run_id = again[0]["run"].as_i64().unwrap().to_string();
    gallra.run(&["approve", &run_id]).expect_code(0);
    let resumed = gallra
        .run(&["run", "--once", "--json", "--policy", "inactive-6-months"])
        .json();
    assert_eq!(resumed[0]["run"].as_i64().unwrap().to_string(), run_id);
    assert_eq!(resumed[0]["state"], "done");
    assert_eq!(scenario.db("panel").count("customers", None), 0);
}

#[test]
fn approving_a_run_that_is_not_waiting_is_refused() {
    let (_dir, scenario) = Scenario::sqlite(5, 50);
    let gallra = scenario.gallra();
    let run = gallra.run_once(0);
    let id = run[0]["run"].as_i64().unwrap().to_string();
    let refused = gallra.run(&["approve", &id]).expect_code(2);
    assert!(
        refused.stderr.contains("not awaiting approval"),
        "{}",
        refused.stderr
    );
    let missing = gallra.run(&["approve", "999"]).expect_code(2);
    assert!(missing.stderr.contains("no run 999"), "{}", missing.stderr);
}

/// The policy's own table in the scenario's config.
fn policy_table(config: &mut toml::Table) -> &mut toml::Table {
    config["policies"]["inactive-6-months"]
        .as_table_mut()
        .expect("the demo policy")
}

/// `run --once --json` at an instant, expecting `code`.
fn run_at(gallra: &Gallra, at: &str, code: i32) -> serde_json::Value {
    gallra
        .run_with_env(&["run", "--once", "--json"], &[("GALLRA_NOW", at)])
        .expect_code(code)
        .json()
}

/// An account source that suddenly shows a tenth of its customers (a truncated replica, a
/// wrong database) is taken as broken: nothing is deleted until a person approves, and a
/// stopped run never becomes the yardstick the next run is measured against.
#[test]
fn a_source_that_suddenly_reports_far_fewer_subjects_deletes_nothing_until_approved() {
    let (_dir, scenario) = Scenario::sqlite(7, 200);
    let gallra = scenario.gallra();
    let first = gallra.run_once(0);
    assert_eq!(first[0]["state"], "done");

    let panel = scenario.db("panel");
    let left = panel.count("customers", None);
    let kept = format!("(SELECT id FROM customers ORDER BY id LIMIT {})", left / 10);
    panel.execute(&[
        format!("DELETE FROM services WHERE customer_id NOT IN {kept}"),
        format!("DELETE FROM customers WHERE id NOT IN {kept}"),
    ]);
    let before = scenario.snapshot();
    let stopped = gallra.run_once(3);
    assert_eq!(stopped[0]["state"], "awaiting_approval");
    let detail = stopped[0]["detail"].as_str().unwrap();
    assert!(detail.contains("looks broken"), "{detail}");
    // The yardstick is what the first run left: what it saw, less what it purged.
    let expected = first[0]["scanned"].as_u64().unwrap() - first[0]["selected"].as_u64().unwrap();
    assert_eq!(expected, left);
    assert!(
        detail.contains(&format!("where {left} were left after the last run")),
        "{detail}"
    );
    // The stopped run is no yardstick: the next run is measured against the first one again
    // (and its newer plan is the one to approve).
    let again = gallra.run_once(3);
    assert_eq!(scenario.snapshot(), before, "a stopped run deleted data");

    // A person confirms the source really is this small; from then on it is the yardstick.
    let id = again[0]["run"].as_i64().unwrap().to_string();
    gallra.run(&["approve", &id]).expect_code(0);
    gallra.run(&["run", "--once", "--json"]).expect_code(0);
    let after = gallra.run_once(0);
    assert_eq!(after[0]["state"], "done", "{after}");
}

/// After quiet runs, a run that would purge many times more than usual (here: the clock jumps
/// years ahead, as a wrong time zone or a bad NTP answer would make it) waits for approval.
#[test]
fn a_run_far_above_the_median_of_the_last_runs_waits_for_approval() {
    let (_dir, scenario) = Scenario::sqlite(11, 300);
    // Only the median valve: the absolute ones and the clock valve would catch a jump this
    // large by themselves.
    scenario.edit_config(|config| {
        let policy = policy_table(config);
        policy.remove("max_fraction");
        policy.remove("max_per_run");
        policy.insert("max_clock_gap".into(), "10 years".into());
    });
    let gallra = scenario.gallra();
    let today = jiff::Zoned::now().timestamp().to_string();
    for _ in 0..4 {
        assert_eq!(run_at(&gallra, &today, 0)[0]["state"], "done");
    }
    let before = scenario.snapshot();
    let later = (jiff::Zoned::now() + jiff::Span::new().years(3))
        .timestamp()
        .to_string();
    let stopped = run_at(&gallra, &later, 3);
    assert_eq!(stopped[0]["state"], "awaiting_approval", "{stopped}");
    let detail = stopped[0]["detail"].as_str().unwrap();
    assert!(detail.contains("max_vs_median = 3"), "{detail}");
    assert_eq!(scenario.snapshot(), before, "a stopped run deleted data");

    // Turned off, the same jump goes through.
    scenario.edit_config(|config| {
        policy_table(config).insert("max_vs_median".into(), false.into());
    });
    assert_eq!(run_at(&gallra, &later, 0)[0]["state"], "done");
    assert!(scenario.snapshot() != before);
}
