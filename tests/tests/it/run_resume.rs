//! Issue 18: a policy run's deletion in progress is followed by the next run. The CRM sits
//! behind the test-faults connector, whose erase only queues a deletion job (`InProgress`
//! with a resume token) and removes the subject only when a call hands that token back: the
//! first run leaves every subject it selected blocked in the CRM and in the panel, which
//! waits for it; the next run is handed the CRM tokens its tasks kept and finishes the job.

use gallra_e2e::{behind_faults, Scenario};

#[test]
fn a_runs_deletion_in_progress_is_finished_by_the_next_run_through_its_resume_token() {
    let (_dir, scenario) = Scenario::sqlite(11, 60);
    scenario.edit_config(|config| {
        let schedule = toml::toml! {
            rate = 1.0
            faults = ["deferred"]
            operations = ["erase"]
        };
        behind_faults(config, "crm", ("schedule", schedule.into()));
    });
    let gallra = scenario.gallra();
    let before = scenario.snapshot();

    let first = gallra.run_once(1);
    let crm = &first[0]["tasks"]["crm"];
    let blocked = crm["blocked"].as_u64().unwrap_or_default();
    assert!(blocked > 0, "{first}");
    assert_eq!(crm["done"].as_u64().unwrap_or_default(), 0, "{first}");
    assert_eq!(
        scenario.snapshot()["people"],
        before["people"],
        "a queued deletion removed nothing yet"
    );

    let next = gallra.run_once(0);
    assert_eq!(next[0]["state"], "done", "{next}");
    let crm = &next[0]["tasks"]["crm"];
    assert_eq!(crm["done"].as_u64(), Some(blocked), "{next}");
    let after = scenario.snapshot();
    assert!(
        after["people"].len() < before["people"].len(),
        "the jobs the tokens named are done"
    );
    assert!(after["customers"].len() < before["customers"].len());
}
