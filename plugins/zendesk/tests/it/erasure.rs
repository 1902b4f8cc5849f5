//! Lookup, export and erase against the testkit's Zendesk: pages, exact matches, the two
//! deletion steps in order, compliance deletion as InProgress, and going on after a cut.

use gallra_plugin_api::{Connector, ConnectorError, EraseOutcome, Subject};

use crate::support::*;

const ANNA: &str = "anna.svensson@example.se";

fn seeded() -> (Zendesk, u64, Vec<u64>) {
    let server = Zendesk::start();
    server.set_page_size(2);
    let anna = server.add_user(NewUser::new("Anna Svensson", ANNA));
    let tickets = (0..5)
        .map(|n| server.add_ticket(anna, &format!("Ärende {n}"), "Min faktura"))
        .collect();
    for n in 0..6 {
        server.add_user(NewUser::new("Other", &format!("x{n}.{ANNA}")));
    }
    (server, anna, tickets)
}

#[test]
fn lookup_reads_every_search_page_and_keeps_only_the_exact_email() {
    let (server, anna, _) = seeded();
    let secrets = Secrets::new();
    let found = open(&server, &secrets).lookup(&by_email(ANNA)).unwrap();
    assert_eq!(found.records.len(), 1);
    assert_eq!(found.records[0].collection, "users");
    assert_eq!(found.records[0].key, anna.to_string());
    let pages = server
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/v2/users/search"))
        .count();
    assert_eq!(pages, 4, "7 matches in pages of 2");
}

#[test]
fn export_reads_every_page_of_requested_tickets() {
    let (server, _, tickets) = seeded();
    let secrets = Secrets::new();
    let export = open(&server, &secrets).export(&by_email(ANNA)).unwrap();
    let subjects: Vec<&str> = export
        .fields
        .iter()
        .filter(|f| f.collection == "tickets" && f.field == "subject")
        .filter_map(|f| f.value.as_deref())
        .collect();
    assert_eq!(subjects.len(), tickets.len());
    assert!(export
        .fields
        .iter()
        .any(|f| f.field == "email" && f.value.as_deref() == Some(ANNA)));
}

#[test]
fn erase_deletes_tickets_then_the_user_each_in_two_steps_and_waits_for_compliance() {
    let (server, anna, tickets) = seeded();
    let secrets = Secrets::new();
    let connector = open(&server, &secrets);
    let subject = by_email(ANNA);

    let resume = match connector.erase(&subject).unwrap() {
        EraseOutcome::InProgress {
            check_after_secs,
            reason,
            resume,
        } => {
            assert_eq!(check_after_secs, 900, "from the settings");
            assert!(reason.contains("compliance"), "{reason}");
            resume.expect("the ids to check again go back to gallra")
        }
        other => panic!("expected InProgress while Zendesk deletes, got {other:?}"),
    };
    assert!(
        !resume.as_str().contains(ANNA),
        "no personal data in the token"
    );
    assert_eq!(server.user_deletion(anna), Some(Deletion::Permanent));
    for ticket in &tickets {
        assert_eq!(server.ticket_deletion(*ticket), None, "ticket purged");
    }
    assert!(!server.holds_email(ANNA));
    assert!(server.compliance_running(anna));

    let log = server.requests();
    let at = |wanted: String| {
        log.iter()
            .position(|r| *r == wanted)
            .unwrap_or_else(|| panic!("{wanted} was never sent"))
    };
    for ticket in &tickets {
        assert!(
            at(format!("DELETE /api/v2/tickets/{ticket}"))
                < at(format!("DELETE /api/v2/deleted_tickets/{ticket}"))
        );
        assert!(
            at(format!("DELETE /api/v2/deleted_tickets/{ticket}"))
                < at(format!("DELETE /api/v2/users/{anna}")),
            "tickets go before their requester"
        );
    }
    assert!(
        at(format!("DELETE /api/v2/users/{anna}"))
            < at(format!("DELETE /api/v2/deleted_users/{anna}"))
    );

    // Still running, and gallra restarted: a new instance handed the token checks the id
    // it can no longer find by email.
    drop(connector);
    let connector = open(&server, &secrets);
    let resumed = Subject {
        resume: Some(resume),
        ..subject.clone()
    };
    assert!(matches!(
        connector.erase(&resumed).unwrap(),
        EraseOutcome::InProgress { .. }
    ));
    server.finish_compliance_deletions();
    assert_eq!(
        connector.erase(&resumed).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
    assert_eq!(
        connector.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 0 },
        "erasing again is a no-op"
    );
    assert!(connector.lookup(&subject).unwrap().records.is_empty());
    assert_eq!(
        server.user_deletion(anna + 6 + tickets.len() as u64),
        Some(Deletion::Active),
        "the neighbours stay"
    );
}

#[test]
fn a_soft_deleted_user_is_found_and_erase_goes_on_with_the_permanent_step() {
    let (server, anna, _) = seeded();
    server.soft_delete_user(anna);
    let secrets = Secrets::new();
    let connector = open(&server, &secrets);
    let subject = by_email(ANNA);

    let found = connector.lookup(&subject).unwrap();
    assert_eq!(found.records.len(), 1);
    assert_eq!(found.records[0].collection, "deleted_users");
    let export = connector.export(&subject).unwrap();
    assert!(export
        .fields
        .iter()
        .any(|f| f.collection == "deleted_users" && f.value.as_deref() == Some("Anna Svensson")));

    assert!(matches!(
        connector.erase(&subject).unwrap(),
        EraseOutcome::InProgress { .. }
    ));
    assert_eq!(server.user_deletion(anna), Some(Deletion::Permanent));
    assert!(!server
        .requests()
        .contains(&format!("DELETE /api/v2/users/{anna}")));
    server.finish_compliance_deletions();
    assert!(matches!(
        connector.erase(&subject).unwrap(),
        EraseOutcome::Erased { .. }
    ));
}

#[test]
fn a_search_at_zendesks_cap_of_10000_is_an_error_not_an_answer() {
    let server = Zendesk::start();
    for n in 0..10_001 {
        server.add_user(NewUser::new("Bulk", &format!("b{n}.{ANNA}")));
    }
    let secrets = Secrets::new();
    let connector = open(&server, &secrets);
    for result in [
        connector.lookup(&by_email(ANNA)).map(|_| ()),
        connector.erase(&by_email(ANNA)).map(|_| ()),
    ] {
        let error = result.unwrap_err();
        assert!(
            matches!(error, ConnectorError::Permanent { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("10000"), "{error}");
        assert_no_pii(&error, &[ANNA, "anna.svensson"]);
    }
    assert!(
        !server.requests().iter().any(|r| r.starts_with("DELETE")),
        "nothing is deleted on an incomplete search"
    );
}

#[test]
fn status_reports_the_last_login_only_when_activity_is_on() {
    let server = Zendesk::start();
    server.add_user(NewUser {
        last_login_at: Some("2024-03-05T07:08:09Z".to_owned()),
        ..NewUser::new("Anna Svensson", ANNA)
    });
    let secrets = Secrets::new();
    let plain = open(&server, &secrets);
    assert!(!plain
        .describe()
        .capabilities
        .contains(&gallra_plugin_api::Capability::Status));

    let mut with_activity = settings(&server, &secrets);
    with_activity["activity"] = true.into();
    let connector = open_settings(&with_activity).unwrap();
    assert!(connector.describe().activity_bearing);
    let facts = connector.status(&by_email(ANNA)).unwrap();
    assert_eq!(
        facts.last_activity.map(|t| t.to_string()).as_deref(),
        Some("2024-03-05T07:08:09Z")
    );
    let nobody = connector.status(&by_email("nobody@example.se")).unwrap();
    assert_eq!(nobody.last_activity, None, "unknown, not inactive");
}

#[test]
fn an_erase_cut_short_after_the_soft_delete_is_finished_by_a_new_instance() {
    let (server, anna, tickets) = seeded();
    let secrets = Secrets::new();
    let subject = by_email(ANNA);
    // One permanent deletion per ten minutes, and someone else has just used it.
    server.set_permanent_deletion_limit(1, std::time::Duration::from_secs(600));
    let bo = server.add_user(NewUser::new("Bo Ek", "bo.ek@example.se"));
    let first = open(&server, &secrets);
    first.erase(&by_email("bo.ek@example.se")).unwrap();
    assert_eq!(server.user_deletion(bo), Some(Deletion::Permanent));

    let error = first.erase(&subject).unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert_no_pii(&error, &[ANNA, "anna.svensson", "Anna Svensson"]);
    assert_eq!(
        server.user_deletion(anna),
        Some(Deletion::SoftDeleted),
        "step 1 done, the permanent step refused"
    );
    assert!(
        server.holds_email(ANNA),
        "a soft-deleted user still holds the data"
    );
    drop(first);

    // gallra restarts; the deletion window has passed.
    server.set_permanent_deletion_limit(700, std::time::Duration::from_secs(600));
    let second = open(&server, &secrets);
    let found = second.lookup(&subject).unwrap();
    assert_eq!(found.records.len(), 1, "found among the deleted users");
    assert_eq!(found.records[0].collection, "deleted_users");
    assert_eq!(found.records[0].key, anna.to_string());
    assert!(matches!(
        second.erase(&subject).unwrap(),
        EraseOutcome::InProgress { .. }
    ));
    assert_eq!(server.user_deletion(anna), Some(Deletion::Permanent));
    assert!(!server.holds_email(ANNA));
    for ticket in &tickets {
        assert_eq!(
            server.ticket_deletion(*ticket),
            None,
            "tickets purged before"
        );
    }
    server.finish_compliance_deletions();
    assert!(matches!(
        second.erase(&subject).unwrap(),
        EraseOutcome::Erased { .. }
    ));
    assert!(second.lookup(&subject).unwrap().records.is_empty());
}
