//! Issue 18: an asynchronous deletion survives a restart. Zendesk's compliance deletion runs
//! on after the connector's last call; the ids it waits on go to gallra as the `InProgress`
//! answer's resume token, which the state store keeps with the task. A daemon killed (-9)
//! while the deletion runs is followed, after its restart, by one that checks those ids
//! until Zendesk reports the deletion complete, and only then calls the task done.

use std::time::Duration;

use gallra_e2e::connectors::{system, Connectors};
use gallra_e2e::requests::{show, task};
use gallra_e2e::wait::wait_until;
use gallra_e2e::{Daemon, Gallra};

/// How long each wait may take.
const PATIENCE: Duration = Duration::from_secs(90);

/// The state and detail of the Zendesk task of request `id`.
fn support_task(gallra: &Gallra, id: i64) -> (String, String) {
    let view = show(gallra, id);
    let task = task(&view, system::SUPPORT);
    let text = |key: &str| task[key].as_str().unwrap_or_default().to_owned();
    (text("state"), text("detail"))
}

#[test]
fn a_compliance_deletion_in_progress_is_followed_to_its_end_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let Some(world) = Connectors::start(dir.path()) else {
        return; // Dovecot::connect said SKIPPED (or panicked under GALLRA_REQUIRE_SERVERS=1)
    };
    let user = world.users.subject;
    let ticket = world
        .zendesk
        .add_ticket(user, "Renewal", "Please renew my hosting");
    let gallra = world.gallra();
    let id = world.submit_erasure(&gallra);

    let mut daemon = Daemon::start(&world.config);
    wait_until("Zendesk's answer: in progress", PATIENCE, || {
        let (state, detail) = support_task(&gallra, id);
        state == "pending" && detail.contains("in progress")
    });
    assert!(world.zendesk.compliance_running(user));
    daemon.signal("KILL");
    daemon.wait(PATIENCE);

    // Once permanently deleted, the user is no longer found by email: only the kept token
    // leads the restarted daemon back to the deletion.
    let checks = |from: usize| {
        let wanted = format!("GET /api/v2/users/{user}/compliance_deletion_statuses");
        let log = world.zendesk.requests();
        log[from.min(log.len())..]
            .iter()
            .filter(|r| **r == wanted)
            .count()
    };
    let before = world.zendesk.requests().len();
    let _restarted = Daemon::start(&world.config);
    wait_until(
        "the restarted daemon to check the deletion twice",
        PATIENCE,
        || checks(before) >= 2,
    );
    let (state, detail) = support_task(&gallra, id);
    assert_eq!(
        state, "pending",
        "not done while Zendesk still deletes: {detail}"
    );
    assert!(detail.contains("in progress"), "{detail}");

    world.zendesk.finish_compliance_deletions();
    wait_until("the Zendesk task to be done", PATIENCE, || {
        support_task(&gallra, id).0 == "done"
    });
    assert!(!world.zendesk.compliance_running(user));
    assert_eq!(world.zendesk.ticket_deletion(ticket), None, "ticket purged");
    assert!(!world
        .zendesk
        .holds_email(gallra_e2e::connectors::SUBJECT.email));
}
