//! `accept`: a status the connector gives its own meaning comes back as an answer.

use super::*;
use crate::http::StatusCode;

#[test]
fn an_accepted_client_error_is_an_answer_with_its_status_and_body() {
    let (server, calls) = scripted(vec![400]);
    let response = client()
        .delete(&format!("{}/items", server.base_url()))
        .endpoint("DELETE /items")
        .accept(StatusCode::BAD_REQUEST)
        .send()
        .expect("400 was accepted");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!response.is_not_found());
    let body: serde_json::Value = response.json().expect("the body is read");
    assert_eq!(body["status"], 400);
    assert_eq!(count(&calls), 1);
}

#[test]
fn without_accept_the_same_answer_is_a_permanent_error() {
    let (server, _) = scripted(vec![400]);
    let error = client()
        .delete(&format!("{}/items", server.base_url()))
        .endpoint("DELETE /items")
        .send()
        .unwrap_err();
    assert!(
        matches!(error, ConnectorError::Permanent { .. }),
        "{error:?}"
    );
}

#[test]
fn only_the_accepted_statuses_are_answers() {
    let (server, _) = scripted(vec![401, 403]);
    let url = format!("{}/items", server.base_url());
    let send = || {
        client()
            .get(&url)
            .endpoint("GET /items")
            .accept(StatusCode::UNAUTHORIZED)
            .accept(StatusCode::CONFLICT)
            .send()
    };
    assert_eq!(send().unwrap().status(), StatusCode::UNAUTHORIZED);
    let error = send().unwrap_err();
    assert!(error.to_string().contains("403"), "{error}");
    assert_eq!(send().unwrap().status(), StatusCode::OK);
}

#[test]
fn an_accepted_server_error_is_not_retried() {
    let (server, calls) = scripted(vec![503, 503]);
    let response = client()
        .get(&format!("{}/items", server.base_url()))
        .endpoint("GET /items")
        .accept(StatusCode::SERVICE_UNAVAILABLE)
        .send()
        .expect("503 was accepted");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(count(&calls), 1, "handed back at once");
}
