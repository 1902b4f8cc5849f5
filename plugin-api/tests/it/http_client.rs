//! The HTTP kit against local test servers: retries, Retry-After, the token bucket, the
//! status → error mapping, and errors that never carry the URL's personal data.

#![cfg(feature = "http")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::http::{header, StatusCode as Status};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use gallra_plugin_api::http::{HttpClient, HttpSettings, StatusCode};
use gallra_plugin_api::ConnectorError;
use gallra_testkit::rate_limit::RateLimit;
use gallra_testkit::server::{unreachable_url, TestServer};

const EMAIL: &str = "anna.andersson@example.se";

/// Fast retries, so the tests take seconds rather than minutes.
fn settings() -> HttpSettings {
    HttpSettings {
        timeout_secs: 5,
        max_retries: 4,
        backoff_initial_ms: 20,
        backoff_max_secs: 1,
        ..HttpSettings::default()
    }
}

fn client(settings: &HttpSettings) -> HttpClient {
    HttpClient::new("helpdesk", settings).expect("client")
}

/// A GET of `/users/search?query=EMAIL` (and the email in the path, as some APIs have it).
fn search(
    client: &HttpClient,
    base: &str,
) -> Result<gallra_plugin_api::http::Response, ConnectorError> {
    client
        .get(&format!("{base}/users/{EMAIL}/search"))
        .query(&[("query", EMAIL)])
        .endpoint("GET /users/{email}/search")
        .send()
}

/// A server whose one route answers with the statuses in `script`, then 200 `{"ok":true}`;
/// also returns its request counter.
fn scripted(script: Vec<u16>) -> (TestServer, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let script = Arc::new(script);
    let handler = move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let status = script.get(n).copied().unwrap_or(200);
        async move {
            let status = Status::from_u16(status).unwrap();
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"ok":true}"#,
            )
        }
    };
    let router = Router::new().route("/users/{email}/search", get(handler));
    (TestServer::start(router), calls)
}

fn assert_no_personal_data(error: &ConnectorError) {
    let text = format!("{error} {error:?}");
    for leak in ["anna", "andersson", "example.se", "%40"] {
        assert!(
            !text.to_lowercase().contains(leak),
            "{leak} leaked into: {text}"
        );
    }
}

#[test]
fn a_500_is_retried_until_it_succeeds() {
    let (server, calls) = scripted(vec![500, 502, 500]);
    let response =
        search(&client(&settings()), &server.base_url()).expect("succeeds after retries");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["ok"], true);
}

#[test]
fn exhausted_retries_are_transient_and_name_endpoint_and_status() {
    let (server, calls) = scripted(vec![503; 10]);
    let error = search(&client(&settings()), &server.base_url()).unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 5, "1 try + max_retries 4");
    assert!(error.is_transient(), "{error:?}");
    let message = error.to_string();
    assert!(
        !message.contains("helpdesk"),
        "gallra names the system: {message}"
    );
    assert!(message.contains("GET /users/{email}/search"), "{message}");
    assert!(message.contains("503"), "{message}");
    assert_no_personal_data(&error);
}

#[test]
fn a_429_with_retry_after_seconds_is_waited_out() {
    let limit = RateLimit::per_second(1).retry_after(Some(2));
    let router = limit.apply(Router::new().route("/users/{email}/search", get(|| async { "{}" })));
    let server = TestServer::start(router);
    let client = client(&settings());
    search(&client, &server.base_url()).expect("first is admitted");
    search(&client, &server.base_url()).expect("second succeeds after waiting");
    assert!(limit.rejected() >= 1, "{:?}", limit.log());
    let gap = limit
        .shortest_wait_after_rejection()
        .expect("a retry was admitted");
    assert!(
        gap >= Duration::from_secs(2),
        "came back after {gap:?}, Retry-After was 2 s"
    );
}

#[test]
fn a_429_with_retry_after_as_http_date_is_waited_out() {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let log = arrivals.clone();
    let handler = move || {
        let mut log = log.lock().unwrap();
        log.push(Instant::now());
        let first = log.len() == 1;
        async move {
            if first {
                // HTTP dates have whole seconds: 3 s ahead is at least 2 s of waiting.
                let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
                (Status::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, at)]).into_response()
            } else {
                "{}".into_response()
            }
        }
    };
    let server = TestServer::start(Router::new().route("/users/{email}/search", get(handler)));
    search(&client(&settings()), &server.base_url()).expect("succeeds after the date");
    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 2);
    let gap = arrivals[1] - arrivals[0];
    assert!(gap >= Duration::from_secs(2), "came back after {gap:?}");
}

#[test]
fn a_retry_after_longer_than_the_call_may_wait_is_transient_at_once() {
    let limit = RateLimit::new(0, Duration::from_secs(60)).retry_after(Some(3600));
    let router = limit.apply(Router::new().route("/users/{email}/search", get(|| async { "{}" })));
    let server = TestServer::start(router);
    let error = search(&client(&settings()), &server.base_url()).unwrap_err();
    assert_eq!(limit.log().len(), 1, "no retry inside the call");
    match &error {
        ConnectorError::Transient {
            retry_after_secs, ..
        } => assert_eq!(*retry_after_secs, Some(3600)),
        other => panic!("expected transient, got {other:?}"),
    }
    assert_no_personal_data(&error);
}

#[test]
fn a_429_storm_without_retry_after_slows_down_and_gets_through() {
    let limit = RateLimit::new(1, Duration::from_millis(400));
    let router = limit.apply(Router::new().route("/users/{email}/search", get(|| async { "{}" })));
    let server = TestServer::start(router);
    let client = client(&HttpSettings {
        max_retries: 10,
        ..settings()
    });
    for _ in 0..4 {
        search(&client, &server.base_url()).expect("gets through eventually");
    }
    assert_eq!(limit.admitted().len(), 4);
    assert!(limit.rejected() > 0, "the storm never happened");
    assert!(limit.max_admitted_in(Duration::from_millis(400)) <= 1);
}

#[test]
fn the_token_bucket_keeps_four_threads_within_the_rate() {
    const RATE: usize = 5;
    // The server admits everything; it is only here to log arrival times.
    let limit = RateLimit::per_second(10_000);
    let router = limit.apply(Router::new().route("/users/{email}/search", get(|| async { "{}" })));
    let server = TestServer::start(router);
    let client = client(&HttpSettings {
        rate_per_sec: Some(RATE as f64),
        ..settings()
    });
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let client = client.clone();
            let base = server.base_url();
            scope.spawn(move || {
                for _ in 0..5 {
                    search(&client, &base).expect("request");
                }
            });
        }
    });
    assert_eq!(limit.admitted().len(), 20);
    let most = limit.max_admitted_in_any_second();
    assert!(
        most <= RATE,
        "{most} requests in one second at rate_per_sec = {RATE}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "20 requests at 5/s take ~4 s"
    );
}

#[test]
fn unauthorized_and_forbidden_are_permanent_and_say_check_the_credentials() {
    for status in [401, 403] {
        let (server, calls) = scripted(vec![status; 5]);
        let error = search(&client(&settings()), &server.base_url()).unwrap_err();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "{status} must not be retried"
        );
        assert!(
            matches!(error, ConnectorError::Permanent { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("GET /users/{email}/search"), "{message}");
        assert!(message.contains("credentials"), "{message}");
        assert!(message.contains(&status.to_string()), "{message}");
        assert_no_personal_data(&error);
    }
}

#[test]
fn other_client_errors_are_permanent_and_not_found_is_an_answer() {
    let (server, calls) = scripted(vec![422]);
    let error = search(&client(&settings()), &server.base_url()).unwrap_err();
    assert!(
        matches!(error, ConnectorError::Permanent { .. }),
        "{error:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_no_personal_data(&error);

    let (server, _) = scripted(vec![404]);
    let response = search(&client(&settings()), &server.base_url()).expect("404 is Ok");
    assert!(response.is_not_found());
    assert!(response.found().is_none());
}

#[test]
fn an_unreachable_system_is_transient() {
    let error = search(&client(&settings()), &unreachable_url()).unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("cannot connect"), "{message}");
    assert!(message.contains("GET /users/{email}/search"), "{message}");
    assert_no_personal_data(&error);
}

#[test]
fn a_timeout_is_transient() {
    let slow = || async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        "{}"
    };
    let server = TestServer::start(Router::new().route("/users/{email}/search", get(slow)));
    let client = client(&HttpSettings {
        timeout_secs: 1,
        max_retries: 0,
        ..settings()
    });
    let error = search(&client, &server.base_url()).unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(
        error.to_string().contains("no answer within 1 s"),
        "{error}"
    );
    assert_no_personal_data(&error);
}

#[test]
fn without_an_endpoint_label_errors_name_only_method_and_host() {
    let (server, _) = scripted(vec![401]);
    let error = client(&settings())
        .get(&format!(
            "{}/users/{EMAIL}/search?query={EMAIL}",
            server.base_url()
        ))
        .send()
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!("GET {}", server.base_url())),
        "{message}"
    );
    assert_no_personal_data(&error);
}

#[test]
fn a_body_that_does_not_decode_is_permanent_and_quotes_nothing() {
    let router = Router::new().route(
        "/users/{email}/search",
        get(|| async { format!(r#"{{"users": [{{"id": "{EMAIL}"}}]}}"#) }),
    );
    let server = TestServer::start(router);
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Users {
        users: Vec<User>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct User {
        id: u64,
    }
    let response = search(&client(&settings()), &server.base_url()).unwrap();
    let error = response.json::<Users>().unwrap_err();
    assert!(
        matches!(error, ConnectorError::Permanent { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("users[0].id"), "{error}");
    assert_no_personal_data(&error);
}
