//! Tokens, wrong credentials, an unreachable Fortnox, 429 answers and the request rate.

use std::time::{Duration, Instant};

use gallra_plugin_api::{Connector, ConnectorError};

use crate::support::{
    anna_card, assert_no_personal_data, busiest, customer, email, open, open_settings,
    personnummer, settings, unreachable_settings, Fortnox,
};

#[test]
fn one_token_serves_many_calls_and_a_refused_one_is_replaced_once() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    let connector = open(&server);
    for _ in 0..5 {
        assert_eq!(connector.lookup(&customer("7")).unwrap().records.len(), 1);
    }
    assert_eq!(server.token_requests(), 1);
    server.expire_tokens();
    assert_eq!(connector.lookup(&customer("7")).unwrap().records.len(), 1);
    assert_eq!(server.token_requests(), 2);
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(&statuses[5..], [401, 200]);
}

#[test]
fn a_token_is_renewed_a_minute_before_it_expires() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    server.set_token_lifetime(Duration::from_secs(61));
    let connector = open(&server);
    connector.lookup(&customer("7")).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    connector.lookup(&customer("7")).unwrap();
    assert_eq!(server.token_requests(), 2);
    assert!(
        server.requests().iter().all(|r| r.status == 200),
        "never sent a stale token"
    );
}

#[test]
fn a_wrong_secret_is_permanent_and_names_the_settings() {
    let server = crate::support::fortnox();
    server.add_customer("7", anna_card());
    let mut s = settings(&server);
    s["client_secret_file"] = server
        .wrong_secret_file()
        .to_string_lossy()
        .into_owned()
        .into();
    let connector = open_settings(&s).unwrap();
    let subject = email("annika.lindqvist@example.se");
    for err in [
        connector.lookup(&subject).unwrap_err(),
        connector.erase(&subject).unwrap_err(),
        connector.health().unwrap_err(),
    ] {
        let ConnectorError::Permanent { message } = &err else {
            panic!("{err:?}");
        };
        assert!(
            message.contains("client_secret_file") && message.contains("tenant_id"),
            "{message}"
        );
        assert_no_personal_data(&err);
    }
    assert!(server.customer("7").is_some());
}

#[test]
fn a_missing_secret_file_fails_at_open_naming_the_path() {
    let server = crate::support::fortnox();
    let mut s = settings(&server);
    s["client_secret_file"] = "/nonexistent/fortnox-secret".into();
    let err = open_settings(&s).err().expect("open fails");
    assert!(
        err.to_string().contains("/nonexistent/fortnox-secret"),
        "{err}"
    );
}

#[test]
fn an_unreachable_fortnox_is_transient_for_every_operation() {
    let server = Fortnox::start();
    let connector = open_settings(&unreachable_settings(&server)).unwrap();
    let subject = personnummer("19811218-9876");
    for err in [
        connector.lookup(&subject).unwrap_err(),
        connector.erase(&subject).unwrap_err(),
        connector.status(&subject).unwrap_err(),
        connector.anonymize(&subject).unwrap_err(),
        connector.health().unwrap_err(),
    ] {
        assert!(err.is_transient(), "{err:?}");
        assert_no_personal_data(&err);
    }
}

#[test]
fn a_429_with_retry_after_is_waited_out() {
    let server = Fortnox::start();
    server.add_customer("7", anna_card());
    server.set_rate_limit(2, Duration::from_secs(2));
    server.set_retry_after(Some("2"));
    let connector = open(&server);
    let started = Instant::now();
    for _ in 0..3 {
        connector.lookup(&customer("7")).unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 429, 200]);
}

#[test]
fn a_storm_of_429s_without_retry_after_slows_down_but_succeeds() {
    let server = Fortnox::start();
    server.add_customer("7", anna_card());
    server.set_rate_limit(4, Duration::from_millis(500));
    let mut s = settings(&server);
    s["http"]["max_retries"] = 10.into();
    let connector = open_settings(&s).unwrap();
    for _ in 0..12 {
        assert_eq!(connector.lookup(&customer("7")).unwrap().records.len(), 1);
    }
    let log = server.requests();
    assert!(log.iter().any(|r| r.status == 429), "the storm happened");
    assert_eq!(log.iter().filter(|r| r.status == 200).count(), 12);
}

#[test]
fn the_default_rate_stays_under_25_requests_in_any_5_seconds() {
    let server = Fortnox::start();
    server.add_customer("7", anna_card());
    let mut s = settings(&server);
    s["http"] = serde_json::json!({ "timeout_secs": 5 });
    let connector = open_settings(&s).unwrap();
    for _ in 0..27 {
        connector.lookup(&customer("7")).unwrap();
    }
    let log = server.requests();
    assert!(
        log.iter().all(|r| r.status == 200),
        "no 429 at the default rate"
    );
    let arrivals: Vec<Instant> = log.iter().map(|r| r.at).collect();
    assert!(busiest(&arrivals, Duration::from_millis(4950)) <= 20);
    assert!(busiest(&arrivals, Duration::from_millis(950)) <= 4);
}

/// A Fortnox whose token endpoint hands out tokens that its API refuses (an integration
/// whose access was revoked): the connector renews the token once, then gives up.
#[test]
fn an_api_that_refuses_every_token_is_permanent_after_one_renewal() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::http::StatusCode;
    use axum::routing::{get, post};
    use axum::{Json, Router};

    let tokens = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let (t, c) = (tokens.clone(), calls.clone());
    let router = Router::new()
        .route(
            "/oauth-v1/token",
            post(move || async move {
                t.fetch_add(1, Ordering::SeqCst);
                Json(serde_json::json!({"access_token": "t", "expires_in": 3600}))
            }),
        )
        .route(
            "/3/customers",
            get(move || async move {
                c.fetch_add(1, Ordering::SeqCst);
                StatusCode::UNAUTHORIZED
            }),
        );
    let server = gallra_testkit::server::TestServer::start(router);
    let real = crate::support::fortnox();
    let mut s = settings(&real);
    s["base_url"] = format!("{}/3", server.base_url()).into();
    s["token_url"] = format!("{}/oauth-v1/token", server.base_url()).into();
    let connector = open_settings(&s).unwrap();

    let error = connector
        .lookup(&email("annika.lindqvist@example.se"))
        .unwrap_err();
    assert!(
        matches!(error, ConnectorError::Permanent { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("401"), "{error}");
    assert!(error.to_string().contains("credentials"), "{error}");
    assert_no_personal_data(&error);
    assert_eq!(tokens.load(Ordering::SeqCst), 2, "one renewal");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the API asked twice, no more"
    );
}
