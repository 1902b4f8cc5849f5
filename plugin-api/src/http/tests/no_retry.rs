//! `no_retry`: a request that may have been acted on is not sent again.

use super::*;

fn post(base: &str, resend: bool) -> Result<crate::http::Response, ConnectorError> {
    let request = client()
        .post(&format!("{base}/items"))
        .endpoint("POST /items")
        .json(&serde_json::json!({ "email": EMAIL }));
    let request = if resend { request } else { request.no_retry() };
    request.send()
}

#[test]
fn a_server_error_after_no_retry_is_transient_at_once() {
    let (server, calls) = scripted(vec![502, 502]);
    let error = post(&server.base_url(), false).unwrap_err();
    assert_eq!(count(&calls), 1, "sent once only");
    assert!(error.is_transient(), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("POST /items"), "{message}");
    assert!(message.contains("502"), "{message}");
    assert!(message.contains("not sent again"), "{message}");
    assert_no_personal_data(&error);
}

#[test]
fn the_same_request_without_the_switch_is_retried() {
    let (server, calls) = scripted(vec![502, 502]);
    let response = post(&server.base_url(), true).expect("succeeds on the third try");
    assert_eq!(response.status(), crate::http::StatusCode::OK);
    assert_eq!(count(&calls), 3);
}

#[test]
fn a_429_proves_nothing_was_done_so_it_is_still_retried() {
    let (server, calls) = scripted(vec![429, 429]);
    post(&server.base_url(), false).expect("succeeds after the 429s");
    assert_eq!(count(&calls), 3);
}

#[test]
fn a_timeout_after_no_retry_is_not_sent_again() {
    let (server, calls) = slow(Duration::from_secs(3));
    let client = client_with(HttpSettings {
        timeout_secs: 1,
        max_retries: 3,
        backoff_initial_ms: 10,
        ..HttpSettings::default()
    });
    let error = client
        .post(&format!("{}/items", server.base_url()))
        .endpoint("POST /items")
        .no_retry()
        .send()
        .unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(
        error.to_string().contains("no answer within 1 s"),
        "{error}"
    );
    assert_eq!(count(&calls), 1);
}

#[test]
fn a_connection_that_never_opened_carried_nothing_so_it_is_still_retried() {
    let base = gallra_testkit::server::unreachable_url();
    let error = post(&base, false).unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("cannot connect"), "{message}");
    assert!(message.contains("gave up after 5 attempts"), "{message}");
}
