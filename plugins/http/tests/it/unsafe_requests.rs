//! Requests that must not be sent as they would be by default: an erase by POST is sent
//! once, never again after a 5xx (the API may have acted), and a record id that is a dot
//! segment never reaches the API as a path that resolves elsewhere.

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::{Json, Router};
use gallra_plugin_api::{Connector, ConnectorError};
use gallra_testkit::server::TestServer;
use serde_json::{json, Value};

use crate::support::{email, open_settings, valid_token, SecretFile};

const ANNA: &str = "anna.lindqvist@example.se";

/// A tiny API: `GET /v1/users` lists one user with id `id`; every other request answers
/// with the next status of `script` (then 204). Every request is logged as `METHOD path`.
fn api(id: Value, script: Vec<u16>) -> (TestServer, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(script));
    let seen = log.clone();
    let handler = move |request: Request| {
        let (log, script, id) = (seen.clone(), script.clone(), id.clone());
        async move {
            let line = format!("{} {}", request.method(), request.uri().path());
            log.lock().unwrap().push(line);
            if request.method() == Method::GET && request.uri().path() == "/v1/users" {
                return Json(json!({"data": [{"id": id, "email": ANNA}]})).into_response();
            }
            let mut script = script.lock().unwrap();
            let status = if script.is_empty() {
                204
            } else {
                script.remove(0)
            };
            StatusCode::from_u16(status).unwrap().into_response()
        }
    };
    let router: Router = Router::new().fallback(handler);
    (TestServer::start(router), log)
}

fn settings(base_url: &str, token: &SecretFile, method: &str, path: &str) -> Value {
    json!({
        "base_url": base_url,
        "auth": {"type": "bearer", "token_file": token.path},
        "lookup": [{"path": "/v1/users?email={email}", "results": "/data", "key": "/id", "match": "/email"}],
        "erase": {"method": method, "path": path},
        "http": {"timeout_secs": 5, "max_retries": 3, "backoff_initial_ms": 10},
    })
}

fn sent(log: &Mutex<Vec<String>>, method: &str) -> Vec<String> {
    let log = log.lock().unwrap();
    log.iter()
        .filter(|l| l.starts_with(method))
        .cloned()
        .collect()
}

fn erase(server: &TestServer, method: &str, path: &str) -> Result<(), ConnectorError> {
    let token = valid_token();
    let connector = open_settings(&settings(&server.base_url(), &token, method, path))?;
    connector.erase(&email(ANNA)).map(drop)
}

#[test]
fn an_erase_by_post_is_not_sent_again_after_a_server_error() {
    let (server, log) = api(json!(7), vec![502, 502]);
    let error = erase(&server, "POST", "/v1/users/{record.id}/erase").unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(error.to_string().contains("not sent again"), "{error}");
    assert!(!error.to_string().contains("anna"), "{error}");
    assert_eq!(sent(&log, "POST"), ["POST /v1/users/7/erase"], "sent once");

    // gallra's later retry looks the subject up again, then sends it again.
    erase(&server, "POST", "/v1/users/{record.id}/erase").unwrap_err();
    erase(&server, "POST", "/v1/users/{record.id}/erase").expect("the API recovered");
    assert_eq!(sent(&log, "POST").len(), 3);
    assert_eq!(sent(&log, "GET").len(), 3, "a lookup before each attempt");
}

#[test]
fn an_erase_by_delete_is_idempotent_so_it_is_retried_within_the_call() {
    let (server, log) = api(json!(7), vec![502, 502]);
    erase(&server, "DELETE", "/v1/users/{record.id}").expect("succeeds on the third try");
    assert_eq!(sent(&log, "DELETE").len(), 3);
}

#[test]
fn a_record_id_that_is_a_dot_segment_is_never_sent_as_a_path() {
    for dots in [".", ".."] {
        let (server, log) = api(json!(dots), Vec::new());
        let error = erase(&server, "DELETE", "/v1/users/{record.id}").unwrap_err();
        assert!(
            matches!(error, ConnectorError::Permanent { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("dot segment"), "{error}");
        assert!(
            sent(&log, "DELETE").is_empty(),
            "nothing deleted: {:?}",
            log.lock().unwrap()
        );
    }
}
