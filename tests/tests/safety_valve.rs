//! Safety valves: a run that would remove too much stops before removing anything, and waits
//! for a person to approve it.

use gallra_e2e::{available, Backend, Gallra, Scenario};

/// A broken activity column (every login reads as years old, services and invoices no longer
/// counted) makes every subject look inactive: the run must stop, delete nothing, exit 3.
#[test]
fn a_run_that_would_purge_everyone_deletes_nothing_until_approved() {
    if !available(
        Backend::Sqlite,
        "a_run_that_would_purge_everyone_deletes_nothing_until_approved",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 5, 200);
    scenario.db("panel").execute(&[
        "UPDATE customers SET last_login = '2001-01-01 00:00:00', created_at = '2001-01-01 00:00:00'".into(),
        "UPDATE services SET status = 'ended', ended_at = '2001-01-01 00:00:00'".into(),
    ]);
    scenario
        .db("billing")
        .execute(&["UPDATE invoices SET paid_at = '2001-01-01 00:00:00'".into()]);
    let gallra = Gallra::new(&scenario.config);
    let before = scenario.snapshot();

    let plan = gallra.run(&["plan", "--json"]).expect_code(0).json();
    assert_eq!(plan[0]["selected"], 200);
    assert!(plan[0]["safety"].as_str().unwrap().contains("max_fraction"));

    let run = gallra
        .run(&["run", "--once", "--json"])
        .expect_code(3)
        .json();
    assert_eq!(run[0]["state"], "awaiting_approval");
    assert!(run[0]["detail"]
        .as_str()
        .unwrap()
        .contains("gallra approve"));
    assert_eq!(scenario.snapshot(), before, "a stopped run deleted data");

    // Running again does not sneak past the valve either.
    gallra.run(&["run", "--once", "--json"]).expect_code(3);
    assert_eq!(scenario.snapshot(), before);

    // A person approves the first run; the next pass carries out exactly that run.
    let run_id = run[0]["run"].as_i64().unwrap().to_string();
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
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 5, 50);
    let gallra = Gallra::new(&scenario.config);
    let run = gallra
        .run(&["run", "--once", "--json"])
        .expect_code(0)
        .json();
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
