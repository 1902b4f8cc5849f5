//! Rate limits, wrong credentials and an unreachable API: never "not found", never an
//! identifier in the error.

use std::sync::Arc;
use std::time::Duration;

use gallra_plugin_api::{Connector, ConnectorError};
use gallra_testkit::rate_limit::RateLimit;
use gallra_testkit::rest::{NewUser, Options, RestApi};
use gallra_testkit::server::unreachable_url;

use crate::support::{email, keys, open_settings, settings, settings_for, token_file, valid_token};

const ANNA: &str = "anna.lindqvist@example.se";

fn api_with(limit: RateLimit) -> RestApi {
    let api = RestApi::start_with(Options {
        rate_limit: Some(limit),
        ..Options::default()
    });
    api.add_user(NewUser {
        email: ANNA.to_owned(),
        name: "Anna Lindqvist".to_owned(),
        ..NewUser::default()
    });
    api
}

fn assert_no_identifier(error: &ConnectorError) {
    let text = format!("{error} {error:?}");
    assert!(!text.contains("anna"), "{text}");
}

#[test]
fn rate_per_sec_is_never_exceeded_in_any_second_by_all_threads_together() {
    let limit = RateLimit::per_second(5);
    let api = api_with(limit.clone());
    let token = valid_token();
    let mut s = settings(&api, &token);
    s["http"]["rate_per_sec"] = 5.into();
    // gallra shares one connector instance between its threads, as here.
    let shop = Arc::new(open_settings(&s).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let shop = Arc::clone(&shop);
            std::thread::spawn(move || {
                for _ in 0..4 {
                    assert_eq!(keys(&shop, &email(ANNA)).len(), 1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(limit.log().len(), 16);
    assert_eq!(limit.rejected(), 0);
    assert!(limit.max_admitted_in_any_second() <= 5);
}

#[test]
fn a_429_with_retry_after_is_waited_out() {
    let limit = RateLimit::per_second(3).retry_after(Some(1));
    let api = api_with(limit.clone());
    let token = valid_token();
    let shop = open_settings(&settings(&api, &token)).unwrap();
    for _ in 0..8 {
        assert_eq!(keys(&shop, &email(ANNA)).len(), 1);
    }
    assert!(limit.rejected() > 0, "the test must provoke 429s");
    assert!(limit.shortest_wait_after_rejection().unwrap() >= Duration::from_secs(1));
}

#[test]
fn a_429_storm_without_retry_after_slows_down_but_succeeds() {
    let limit = RateLimit::per_second(2);
    let api = api_with(limit.clone());
    let token = valid_token();
    let mut s = settings(&api, &token);
    s["http"]["max_retries"] = 8.into();
    s["http"]["backoff_initial_ms"] = 100.into();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let shop = open_settings(&s).unwrap();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    assert_eq!(keys(&shop, &email(ANNA)).len(), 1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(limit.rejected() > 0, "the test must provoke 429s");
}

#[test]
fn a_wrong_token_is_permanent_and_names_the_fix() {
    let api = api_with(RateLimit::per_second(1000));
    let token = token_file("wrong");
    let shop = open_settings(&settings(&api, &token)).unwrap();
    for error in [
        shop.lookup(&email(ANNA)).unwrap_err(),
        shop.export(&email(ANNA)).unwrap_err(),
        shop.erase(&email(ANNA)).unwrap_err(),
        shop.health().unwrap_err(),
    ] {
        match &error {
            ConnectorError::Permanent { message } => {
                assert!(message.contains("credentials"), "{message}");
                assert!(
                    !message.contains("shop"),
                    "gallra names the system: {message}"
                );
                assert!(
                    message.contains("{email}") || message.contains("GET /v1/users?per_page=1"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_no_identifier(&error);
    }
}

#[test]
fn an_unreachable_api_is_transient_never_not_found() {
    let token = valid_token();
    let mut s = settings_for(&unreachable_url(), &token);
    s["http"]["max_retries"] = 1.into();
    let shop = open_settings(&s).unwrap();
    for error in [
        shop.lookup(&email(ANNA)).unwrap_err(),
        shop.erase(&email(ANNA)).unwrap_err(),
        shop.status(&email(ANNA)).unwrap_err(),
        shop.health().unwrap_err(),
    ] {
        assert!(error.is_transient(), "{error:?}");
        assert_no_identifier(&error);
    }
}

#[test]
fn a_wrong_lookup_path_is_an_error_not_an_empty_lookup() {
    let api = api_with(RateLimit::per_second(1000));
    let token = valid_token();
    let mut s = settings(&api, &token);
    s["lookup"][0]["path"] = "/v2/users?email={email}".into();
    let shop = open_settings(&s).unwrap();
    let error = shop.lookup(&email(ANNA)).unwrap_err();
    assert!(
        matches!(error, ConnectorError::Permanent { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("/v2/users?email={email}"),
        "{error}"
    );
    assert_no_identifier(&error);
}

#[test]
fn a_missing_secret_file_is_named() {
    let api = RestApi::start();
    let token = valid_token();
    let mut s = settings(&api, &token);
    s["auth"]["token_file"] = "/nonexistent/rest-token".into();
    let Err(error) = open_settings(&s) else {
        panic!("opened without a token");
    };
    assert!(error.to_string().contains("auth.token_file"), "{error}");
    assert!(
        error.to_string().contains("/nonexistent/rest-token"),
        "{error}"
    );
}

#[test]
fn an_erase_path_answering_404_for_existing_records_is_an_error_not_erased() {
    let api = api_with(RateLimit::per_second(1000));
    let token = valid_token();
    let mut s = settings(&api, &token);
    s["erase"]["path"] = "/v1/user/{record.id}".into();
    let shop = open_settings(&s).unwrap();
    let error = shop.erase(&email(ANNA)).unwrap_err();
    assert!(
        matches!(error, ConnectorError::Permanent { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("erase.path"), "{error}");
    assert_no_identifier(&error);
    assert_eq!(api.user_count(), 1);
}
