//! The `/metrics` listener: its own TCP port (default 127.0.0.1:9464), apart from the admin
//! API, so that a scraper needs no token and can reach nothing else.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use super::Metrics;

/// The OpenMetrics text format's media type, as `/metrics` answers with it.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why the metrics listener could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The address could not be bound.
    #[error("metrics: cannot listen on {addr}: {source} (is another process using the port? choose another metrics address)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The listener failed while serving.
    #[error("metrics: serving failed: {0}")]
    Serve(#[source] io::Error),
    /// The metrics could not be written out (a bug: encoding into a string does not fail).
    #[error("metrics: could not encode the metrics")]
    Encode,
}

/// The router: `GET /metrics` (and `HEAD`), 404 for any other path.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(not_found)
        .with_state(metrics)
}

/// Binds `addr` and serves `/metrics` until `shutdown` completes.
pub async fn serve_metrics(
    addr: SocketAddr,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), MetricsError> {
    serve_metrics_on(bind_metrics(addr).await?, metrics, shutdown).await
}

/// Binds the metrics address, or says which address could not be bound and why.
pub async fn bind_metrics(addr: SocketAddr) -> Result<TcpListener, MetricsError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })
}

/// Serves `/metrics` on an already bound listener until `shutdown` completes. Bind
/// `127.0.0.1:0` and read `local_addr()` to get a free port (tests do).
pub async fn serve_metrics_on(
    listener: TcpListener,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), MetricsError> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(target: "gallra::metrics", %addr, "metrics listening at /metrics");
    }
    axum::serve(listener, metrics_router(metrics))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(MetricsError::Serve)
}

async fn scrape(State(metrics): State<Metrics>) -> Response {
    match metrics.encode() {
        Ok(body) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(e) => {
            tracing::error!(target: "gallra::metrics", error = %e, "scrape failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not encode the metrics\n",
            )
                .into_response()
        }
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "not found: metrics are at /metrics\n",
    )
        .into_response()
}
