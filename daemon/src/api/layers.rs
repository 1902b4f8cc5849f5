//! What wraps every route: one log line per request, and every error as JSON.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::HttpError;

/// Logs method, route template, status and duration — never the raw path, the query or a
/// body: any of them can hold personal data (`/v1/requests/anna@example.se`).
pub(super) async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_name(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(no route)".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let duration_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    if response.status().is_server_error() {
        tracing::warn!(target: "gallra::api", method, route, status, duration_ms, "api request");
    } else {
        tracing::info!(target: "gallra::api", method, route, status, duration_ms, "api request");
    }
    response
}

/// A method as logged: an unknown method token is client input, so it is not repeated.
fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Replaces any error the framework answered in plain text (a 405 from the method router, a
/// 413 from the body limit) with the JSON error form, keeping `Allow`; and marks every
/// response as not to be cached, since it may describe a person's request.
pub(super) async fn finish_response(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let allow = response.headers().get(header::ALLOW).cloned();
        response = HttpError::for_status(status).into_response();
        *response.status_mut() = status;
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
