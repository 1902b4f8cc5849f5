//! Rate limits, wrong credentials, an unreachable Copper and the search cap: never "not
//! found", never an identifier in the error.

use std::time::{Duration, Instant};

use gallra_plugin_api::{Connector, ConnectorError};
use gallra_testkit::copper::{Copper, NewPerson, Options};
use gallra_testkit::rate_limit::RateLimit;
use gallra_testkit::server::unreachable_url;

use crate::support::{email, open_settings, settings, token_file, valid_token};

const ANNA: &str = "anna.lindqvist@example.se";

fn copper_with(limit: RateLimit) -> Copper {
    let copper = Copper::start_with(Options {
        rate_limit: Some(limit),
        ..Options::default()
    });
    copper.add_person(NewPerson::named("Anna Lindqvist", ANNA));
    copper
}

fn assert_no_identifier(error: &ConnectorError) {
    let text = format!("{error} {error:?}");
    assert!(!text.contains("anna"), "{text}");
}

#[test]
fn the_default_rate_keeps_every_second_within_copper_limit() {
    // Copper allows 180 a minute; the connector's default is 3 a second.
    let limit = RateLimit::per_second(3);
    let copper = copper_with(limit.clone());
    let token = valid_token();
    let mut s = settings(&copper.base_url(), &token);
    s["http"] = serde_json::json!({ "timeout_secs": 5 });
    let crm = open_settings(&s).unwrap();
    let start = Instant::now();
    for _ in 0..10 {
        assert_eq!(crm.lookup(&email(ANNA)).unwrap().records.len(), 1);
    }
    assert_eq!(limit.rejected(), 0, "no 429 at the default rate");
    assert!(limit.max_admitted_in_any_second() <= 3);
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "10 requests at 3/s take 3 s"
    );
}

#[test]
fn a_429_with_retry_after_is_waited_out() {
    let limit = RateLimit::per_second(3).retry_after(Some(1));
    let copper = copper_with(limit.clone());
    let token = valid_token();
    let crm = open_settings(&settings(&copper.base_url(), &token)).unwrap();
    for _ in 0..8 {
        assert_eq!(crm.lookup(&email(ANNA)).unwrap().records.len(), 1);
    }
    assert!(limit.rejected() > 0, "the test must provoke 429s");
    let waited = limit.shortest_wait_after_rejection().unwrap();
    assert!(
        waited >= Duration::from_secs(1),
        "came back after {waited:?}"
    );
}

#[test]
fn a_429_storm_without_retry_after_slows_down_but_succeeds() {
    let limit = RateLimit::per_second(2);
    let copper = copper_with(limit.clone());
    let token = valid_token();
    let mut s = settings(&copper.base_url(), &token);
    s["http"]["max_retries"] = 8.into();
    s["http"]["backoff_initial_ms"] = 100.into();
    let crm = open_settings(&s).unwrap();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let crm = open_settings(&s).unwrap();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    assert_eq!(crm.lookup(&email(ANNA)).unwrap().records.len(), 1);
                }
            })
        })
        .collect();
    for _ in 0..3 {
        assert_eq!(crm.lookup(&email(ANNA)).unwrap().records.len(), 1);
    }
    for t in threads {
        t.join().unwrap();
    }
    assert!(limit.rejected() > 0, "the test must provoke 429s");
}

#[test]
fn wrong_credentials_are_permanent_and_name_the_fix() {
    let copper = Copper::start();
    copper.add_person(NewPerson::named("Anna Lindqvist", ANNA));
    let token = token_file("not-the-token");
    let crm = open_settings(&settings(&copper.base_url(), &token)).unwrap();
    for error in [
        crm.lookup(&email(ANNA)).unwrap_err(),
        crm.erase(&email(ANNA)).unwrap_err(),
        crm.health().unwrap_err(),
    ] {
        match &error {
            ConnectorError::Permanent { message } => {
                assert!(message.contains("credentials"), "{message}");
                assert!(
                    !message.contains("crm"),
                    "gallra names the system: {message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_no_identifier(&error);
    }
}

#[test]
fn an_unreachable_copper_is_transient_never_not_found() {
    let token = valid_token();
    let mut s = settings(&format!("{}/developer_api/v1", unreachable_url()), &token);
    s["http"]["max_retries"] = 1.into();
    let crm = open_settings(&s).unwrap();
    let error = crm.lookup(&email(ANNA)).unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert_no_identifier(&error);
    assert!(crm.erase(&email(ANNA)).unwrap_err().is_transient());
    assert!(crm.health().unwrap_err().is_transient());
}

#[test]
fn a_missing_token_file_is_named_without_its_content() {
    let copper = Copper::start();
    let token = valid_token();
    let mut s = settings(&copper.base_url(), &token);
    s["token_file"] = "/nonexistent/copper-token".into();
    let Err(error) = open_settings(&s) else {
        panic!("opened without a token");
    };
    assert!(
        error.to_string().contains("/nonexistent/copper-token"),
        "{error}"
    );
}

#[test]
fn a_search_beyond_copper_100000_cap_is_an_error_not_a_complete_answer() {
    let copper = Copper::start();
    for n in 0..100_001 {
        copper.add_person(NewPerson::named(&format!("P {n}"), "everyone@example.se"));
    }
    let token = valid_token();
    let crm = open_settings(&settings(&copper.base_url(), &token)).unwrap();
    let error = crm.lookup(&email("everyone@example.se")).unwrap_err();
    match &error {
        ConnectorError::Permanent { message } => assert!(message.contains("100000"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(!error.to_string().contains("everyone"));
    assert!(crm.erase(&email("everyone@example.se")).is_err());
    assert_eq!(
        copper.people_count(),
        100_001,
        "nothing erased from a partial read"
    );
}
