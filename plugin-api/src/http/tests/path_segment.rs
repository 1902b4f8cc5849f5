//! `path_segment` and `join_url`: subject data cannot change a URL's shape.

use axum::extract::Path;
use axum::routing::get;

use super::*;
use crate::http::{join_url, path_segment};

/// Values that would add a segment, a query, a fragment, or an encoded byte if pasted.
const AWKWARD: [&str; 8] = [
    EMAIL,
    "a/b",
    "../admin",
    "x?admin=1",
    "y#frag",
    "50%2F50",
    "Åsa Öberg+1",
    "...",
];

#[test]
fn every_reserved_byte_is_encoded_and_unreserved_ones_are_kept() {
    assert_eq!(path_segment("Az09-._~").unwrap(), "Az09-._~");
    assert_eq!(
        path_segment("a/b?c#d%e f+g@h").unwrap(),
        "a%2Fb%3Fc%23d%25e%20f%2Bg%40h"
    );
    assert_eq!(path_segment("Å").unwrap(), "%C3%85");
}

#[test]
fn the_server_receives_exactly_the_value_as_one_segment() {
    let router = Router::new()
        .route(
            "/users/{id}/tickets",
            get(|Path(id): Path<String>| async move { id }),
        )
        .fallback(|| async { (Status::IM_A_TEAPOT, "path changed shape") });
    let server = TestServer::start(router);
    let client = client();
    for value in AWKWARD {
        let url = format!(
            "{}/users/{}/tickets",
            server.base_url(),
            path_segment(value).unwrap()
        );
        let response = client
            .get(&url)
            .endpoint("GET /users/{id}/tickets")
            .send()
            .unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(response.text().unwrap(), value);
    }
}

#[test]
fn dot_segments_are_refused_however_they_would_be_built() {
    for dots in [".", ".."] {
        let error = path_segment(dots).unwrap_err();
        assert!(
            matches!(error, ConnectorError::Permanent { .. }),
            "{error:?}"
        );
        let error = join_url("https://x.example/api/users", &[dots]).unwrap_err();
        assert!(error.to_string().contains("dot segment"), "{error}");
    }
    assert_eq!(
        join_url("https://x.example/api", &["users", "..."]).unwrap(),
        "https://x.example/api/users/..."
    );
}
