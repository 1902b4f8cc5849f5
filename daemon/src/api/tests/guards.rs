//! What guards every route: the body limit, the token, JSON errors for unknown routes and
//! methods, and log lines without values.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use hyper::body::Frame;

use super::{app, bearer, call, get, post, send, ERASE_ANNA, TOKEN};
use crate::api::{Auth, MAX_BODY_BYTES};

#[tokio::test]
async fn body_of_100_kib_is_413_with_or_without_content_length() {
    let (app, fake) = app(bearer());
    let padding = "x".repeat(100 * 1024);
    let body = format!(r#"{{"kind":"erase","identifiers":{{"customer_id":"{padding}"}}}}"#);
    assert!(body.len() > MAX_BODY_BYTES);
    let request = Request::post("/v1/requests")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(Body::from(body.clone()))
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.code(), "payload_too_large");

    // Streamed, without Content-Length: the limit applies while reading.
    let chunks = body
        .as_bytes()
        .chunks(8192)
        .map(Bytes::copy_from_slice)
        .collect();
    let request = Request::post("/v1/requests")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Body::new(Chunked(chunks)))
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.text
    );
    assert_eq!(answer.code(), "payload_too_large");
    assert!(fake.submitted().is_empty());
}

/// A body of unknown length, sent chunk by chunk.
pub(super) struct Chunked(pub VecDeque<Bytes>);

impl hyper::body::Body for Chunked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }
}

#[tokio::test]
async fn missing_or_wrong_token_is_401_with_www_authenticate() {
    let (app, fake) = app(bearer());
    let wrong = [
        None,
        Some("Bearer wrong-token".to_owned()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Basic {TOKEN}")),
        Some(TOKEN.to_owned()),
    ];
    for (method, uri) in [
        ("GET", "/v1/requests"),
        ("POST", "/v1/requests"),
        ("GET", "/v1/requests/1"),
        ("POST", "/v1/requests/1/cancel"),
        ("GET", "/v1/tasks"),
        ("POST", "/v1/tasks/1/done"),
    ] {
        for authorization in &wrong {
            let mut builder = Request::builder().method(method).uri(uri);
            if let Some(value) = authorization {
                builder = builder.header("authorization", value);
            }
            let answer = send(&app, builder.body(Body::from(ERASE_ANNA)).unwrap()).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} {authorization:?}"
            );
            assert_eq!(answer.code(), "unauthorized");
            assert_eq!(answer.headers["www-authenticate"], "Bearer");
        }
    }
    assert!(fake.submitted().is_empty());
    // Any listed token passes.
    let request = Request::get("/v1/tasks")
        .header("authorization", "Bearer another-token")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unix_socket_auth_needs_no_token() {
    let (app, _) = app(Auth::None);
    let answer = send(&app, Request::get("/v1/tasks").body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn service_unavailable_is_503_json() {
    let (app, fake) = app(bearer());
    fake.set_unavailable(true);
    let answer = get(&app, "/v1/requests").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.code(), "unavailable");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_404_and_405() {
    let (app, _) = app(bearer());
    let answer = get(&app, "/v1/nothing").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.code(), "not_found");

    for (method, uri) in [
        ("DELETE", "/v1/requests"),
        ("PUT", "/v1/health"),
        ("GET", "/v1/tasks/1/done"),
    ] {
        let answer = call(&app, method, uri, None).await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        assert_eq!(answer.code(), "method_not_allowed");
        assert!(answer.headers.contains_key("allow"), "{method} {uri}");
    }
}

#[test]
fn log_lines_name_the_route_template_never_values() {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Other tests hit the same callsites on other threads. With a single dispatcher alive,
    // tracing registers a callsite using the registering thread's subscriber (none there), and
    // caches "never". A second, silent dispatcher makes it ask each thread per event instead.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let (app, _) = app(bearer());
            post(&app, "/v1/requests", ERASE_ANNA).await;
            get(&app, "/v1/requests/anna%40example.se").await;
            get(&app, "/v1/requests?limit=annas").await;
            post(&app, "/v1/requests/1/cancel", r#"{"reason":"anna asked"}"#).await;
            get(&app, "/v1/anna/svensson").await;
        });
    });
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains("api request")).collect();
    assert_eq!(lines.len(), 5, "{logs}");
    assert!(
        lines[0].contains("route=\"/v1/requests\"") || lines[0].contains("route=/v1/requests"),
        "{logs}"
    );
    assert!(lines[0].contains("status=201"), "{logs}");
    assert!(lines[1].contains("/v1/requests/{id}"), "{logs}");
    assert!(lines[3].contains("/v1/requests/{id}/cancel"), "{logs}");
    assert!(lines.iter().all(|l| l.contains("duration_ms=")), "{logs}");
    for secret in ["anna", "Anna", "9876", "svensson"] {
        assert!(!logs.contains(secret), "log holds {secret}: {logs}");
    }
}
