//! Credentials, reachability and Zendesk's rate limits: what the connector answers, how
//! long it waits, and that no error names the person.

use std::time::{Duration, Instant};

use gallra_plugin_api::{Connector, ConnectorError, EraseOutcome};
use gallra_testkit::rate_limit::RateLimit;

use crate::support::*;

const ANNA: &str = "anna.svensson@example.se";

fn with_anna() -> (Zendesk, u64) {
    let server = Zendesk::start();
    let anna = server.add_user(NewUser::new("Anna Svensson", ANNA));
    (server, anna)
}

#[test]
fn a_wrong_api_token_is_permanent_and_says_to_check_the_credentials() {
    let (server, _) = with_anna();
    let secrets = Secrets::new();
    let mut s = settings(&server, &secrets);
    s["api_token_file"] = secrets
        .file("wrong", "not-the-token")
        .to_str()
        .unwrap()
        .into();
    let connector = open_settings(&s).unwrap();
    for error in [
        connector.health().unwrap_err(),
        connector.lookup(&by_email(ANNA)).unwrap_err(),
    ] {
        assert_bad_credentials(&error, &[ANNA, "anna.svensson", "not-the-token"]);
        assert!(
            !error.to_string().contains("helpdesk"),
            "gallra names the system: {error}"
        );
    }
}

#[test]
fn an_oauth_token_works_instead_of_an_api_token() {
    let (server, _) = with_anna();
    let secrets = Secrets::new();
    let s = serde_json::json!({
        "base_url": server.base_url(),
        "oauth_token_file": secrets.file("oauth", OAUTH_TOKEN),
    });
    let connector = open_settings(&s).unwrap();
    connector.health().unwrap();
    assert_eq!(connector.lookup(&by_email(ANNA)).unwrap().records.len(), 1);
}

#[test]
fn a_missing_token_file_is_named_without_its_content() {
    let (server, _) = with_anna();
    let secrets = Secrets::new();
    let mut s = settings(&server, &secrets);
    s["api_token_file"] = "/nonexistent/zendesk-token".into();
    let error = open_settings(&s).err().expect("open fails");
    assert!(
        error.to_string().contains("/nonexistent/zendesk-token"),
        "{error}"
    );
}

#[test]
fn an_unreachable_zendesk_is_transient_never_empty() {
    let secrets = Secrets::new();
    let connector = open_settings(&unreachable_settings(&secrets)).unwrap();
    for result in [
        connector.lookup(&by_email(ANNA)).map(|_| ()),
        connector.erase(&by_email(ANNA)).map(|_| ()),
        connector.health(),
    ] {
        assert_transient(&result.unwrap_err(), &[ANNA, "anna.svensson"]);
    }
}

#[test]
fn a_429_with_retry_after_is_waited_out() {
    let (server, _) = with_anna();
    server.push_429(Some(1));
    let secrets = Secrets::new();
    let connector = open(&server, &secrets);
    let started = Instant::now();
    assert_eq!(connector.lookup(&by_email(ANNA)).unwrap().records.len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
}

#[test]
fn a_storm_of_429s_without_retry_after_slows_down_but_succeeds() {
    let (server, anna) = with_anna();
    for _ in 0..4 {
        server.push_429(None);
    }
    let secrets = Secrets::new();
    let connector = open(&server, &secrets);
    let outcome = connector.erase(&by_email(ANNA)).unwrap();
    assert!(
        matches!(outcome, EraseOutcome::InProgress { .. }),
        "{outcome:?}"
    );
    assert_eq!(server.user_deletion(anna), Some(Deletion::Permanent));
}

#[test]
fn too_many_retries_is_transient_with_no_personal_data() {
    let (server, _) = with_anna();
    for _ in 0..10 {
        server.push_429(None);
    }
    let secrets = Secrets::new();
    let mut s = settings(&server, &secrets);
    s["http"]["max_retries"] = 2.into();
    let error = open_settings(&s)
        .unwrap()
        .lookup(&by_email(ANNA))
        .unwrap_err();
    assert_transient(&error, &[ANNA, "anna.svensson"]);
    assert!(error.to_string().contains("GET /users/search"), "{error}");
}

#[test]
fn the_permanent_deletion_limit_is_waited_out_when_short() {
    let server = Zendesk::start();
    server.set_permanent_deletion_limit(1, Duration::from_secs(2));
    let emails = ["a.one@example.se", "b.two@example.se"];
    let ids: Vec<u64> = emails
        .iter()
        .map(|e| server.add_user(NewUser::new("Someone", e)))
        .collect();
    let secrets = Secrets::new();
    let connector = open(&server, &secrets);
    let started = Instant::now();
    for email in emails {
        connector.erase(&by_email(email)).unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(1500));
    for id in ids {
        assert_eq!(server.user_deletion(id), Some(Deletion::Permanent));
    }
}

#[test]
fn a_long_permanent_deletion_limit_hands_retry_after_to_gallra_and_a_retry_finishes() {
    let server = Zendesk::start();
    server.set_permanent_deletion_limit(1, Duration::from_secs(600));
    let first = server.add_user(NewUser::new("First", "first.person@example.se"));
    let anna = server.add_user(NewUser::new("Anna Svensson", ANNA));
    let secrets = Secrets::new();
    let connector = open(&server, &secrets);
    connector
        .erase(&by_email("first.person@example.se"))
        .unwrap();
    assert_eq!(server.user_deletion(first), Some(Deletion::Permanent));

    let error = connector.erase(&by_email(ANNA)).unwrap_err();
    match &error {
        ConnectorError::Transient {
            retry_after_secs: Some(secs),
            ..
        } => assert!(*secs > 500, "{secs}"),
        other => panic!("expected a transient error with Retry-After, got {other:?}"),
    }
    assert_no_pii(&error, &[ANNA, "anna.svensson"]);
    assert_eq!(server.user_deletion(anna), Some(Deletion::SoftDeleted));

    // gallra retries later; the soft-deleted user is found and deleted permanently.
    server.set_permanent_deletion_limit(700, Duration::from_secs(600));
    assert!(matches!(
        connector.erase(&by_email(ANNA)).unwrap(),
        EraseOutcome::InProgress { .. }
    ));
    assert_eq!(server.user_deletion(anna), Some(Deletion::Permanent));
}

#[test]
fn rate_per_sec_is_never_exceeded_in_any_second() {
    // A plan limit of 4 a second, answered like Zendesk: 429 with Retry-After.
    let limit = RateLimit::per_second(4).retry_after(Some(1));
    let server = Zendesk::start_rate_limited(limit.clone());
    server.set_page_size(1);
    for n in 0..8 {
        server.add_user(NewUser::new("Someone", &format!("p{n}.{ANNA}")));
    }
    let secrets = Secrets::new();
    let mut s = settings(&server, &secrets);
    s["http"]["rate_per_sec"] = 4.into();
    let connector = open_settings(&s).unwrap();
    // Two threads share the bucket: 2 × (8 search pages + 1 deleted_users page).
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| connector.lookup(&by_email(ANNA)).unwrap());
        }
    });
    assert_eq!(limit.log().len(), 18);
    assert_eq!(limit.rejected(), 0, "never throttled");
    assert!(limit.max_admitted_in_any_second() <= 4);
}
