//! The admin HTTP API: privacy staff and the control panel submit requests (erasure, export,
//! restriction, objection), follow them, and confirm manual tasks. JSON in and out; every
//! error is `{"error":{"code":"…","message":"…"}}`, and bad input gets a 4xx, never a 5xx.
//!
//! ```no_run
//! # async fn example(service: std::sync::Arc<dyn gallra::requests::RequestService>) -> Result<(), gallra::api::ApiError> {
//! use gallra::api::{router, serve_unix, Auth};
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! serve_unix("/run/gallra/api.sock".as_ref(), router(service, Auth::None), shutdown).await
//! # }
//! ```
//!
//! On the unix socket ([`serve_unix`], mode 0660) the file mode is the access control, so
//! [`Auth::None`] fits; on TCP ([`serve_tcp`]) use [`Auth::Bearer`] with [`load_tokens`].
//! The one thing to watch: a request may carry personal data anywhere — body, path, query —
//! so nothing here logs or echoes what a client sent (the log line holds the route template).

mod auth;
mod errors;
mod layers;
mod listen;
pub mod openapi;
mod routes;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;

pub use auth::{load_tokens, Auth};
pub use errors::{ApiError, ErrorCode, HttpError};
pub use listen::{
    bind_tcp, bind_unix, serve_tcp, serve_tcp_on, serve_unix, serve_unix_on, SOCKET_MODE,
};
pub use routes::ROUTES;

use crate::requests::RequestService;

/// The largest request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The API's routes over `service`, guarded by `auth` (except `/v1/health` and
/// `/v1/openapi.json`).
pub fn router(service: Arc<dyn RequestService>, auth: Auth) -> Router {
    let guarded = Router::new()
        .route("/v1/requests", get(routes::list).post(routes::submit))
        .route("/v1/requests/{id}", get(routes::show))
        .route("/v1/requests/{id}/cancel", post(routes::cancel))
        .route("/v1/tasks", get(routes::tasks))
        .route("/v1/tasks/{id}/done", post(routes::task_done))
        .route("/v1/tasks/{id}/retry", post(routes::task_retry))
        .route_layer(from_fn_with_state(Arc::new(auth), auth::require));
    let document = Bytes::from(openapi::document().to_string());
    let open = Router::new()
        .route("/v1/health", get(routes::health))
        .route(
            "/v1/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], document) }),
        );
    Router::new()
        .merge(guarded)
        .merge(open)
        .fallback(|| async { HttpError::for_status(axum::http::StatusCode::NOT_FOUND) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(from_fn(layers::finish_response))
        .layer(from_fn(layers::log_request))
        .with_state(service)
}
