//! Unit tests of the kit's per-request switches and helpers against local test servers:
//! [`accept`](super::RequestBuilder::accept), [`no_retry`](super::RequestBuilder::no_retry),
//! [`path_segment`](super::path_segment) and [`until_short_page`](super::until_short_page).

mod accept;
mod no_retry;
mod path_segment;
mod short_pages;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode as Status};
use axum::routing::any;
use axum::Router;
use gallra_testkit::server::TestServer;

use super::{HttpClient, HttpSettings};
use crate::ConnectorError;

/// An email that must never show up in an error.
const EMAIL: &str = "anna.andersson@example.se";

/// Quick retries, four of them.
fn client() -> HttpClient {
    client_with(HttpSettings {
        timeout_secs: 5,
        max_retries: 4,
        backoff_initial_ms: 10,
        backoff_max_secs: 1,
        ..HttpSettings::default()
    })
}

fn client_with(settings: HttpSettings) -> HttpClient {
    HttpClient::new("helpdesk", &settings).expect("client")
}

/// A server answering every request to `/items` with the next status of `script` (with a
/// JSON body naming it), then 200; and its request counter.
fn scripted(script: Vec<u16>) -> (TestServer, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let script = Arc::new(script);
    let handler = move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let status = script.get(n).copied().unwrap_or(200);
        async move {
            (
                Status::from_u16(status).expect("a status"),
                [(header::CONTENT_TYPE, "application/json")],
                format!(r#"{{"status":{status}}}"#),
            )
        }
    };
    let router = Router::new().route("/items", any(handler));
    (TestServer::start(router), calls)
}

/// A server whose `/items` takes `delay` to answer 200; and its request counter.
fn slow(delay: Duration) -> (TestServer, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let handler = move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(delay).await;
            "{}"
        }
    };
    (
        TestServer::start(Router::new().route("/items", any(handler))),
        calls,
    )
}

fn count(calls: &AtomicUsize) -> usize {
    calls.load(Ordering::SeqCst)
}

fn assert_no_personal_data(error: &ConnectorError) {
    let text = format!("{error} {error:?}").to_lowercase();
    for leak in ["anna", "andersson", "example.se", "%40"] {
        assert!(!text.contains(leak), "{leak} leaked into: {text}");
    }
}
