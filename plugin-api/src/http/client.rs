//! [`HttpClient`]: one per configured system, shared by all its threads.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;

use super::limiter::Limiter;
use super::request::RequestBuilder;
use super::retry::Backoff;
use super::settings::HttpSettings;
use crate::error::ConnectorError;

/// A blocking HTTP client for one system, with the kit's retry, rate-limit and error rules.
///
/// Cloning is cheap and clones share the token bucket, so one `HttpClient` per connector
/// instance keeps all of gallra's threads for that system within `rate_per_sec`.
///
/// ```no_run
/// use gallra_plugin_api::http::{HttpClient, HttpSettings, Method, Secret};
/// # fn main() -> Result<(), gallra_plugin_api::ConnectorError> {
/// let client = HttpClient::new("helpdesk", &HttpSettings::default())?;
/// let token = Secret::new("t0ken");
/// let response = client
///     .request(Method::GET, "https://helpdesk.example/api/v2/users/search")
///     .endpoint("GET /users/search")
///     .query(&[("query", "anna@example.se")])
///     .bearer(token.expose())
///     .send()?;
/// let users: serde_json::Value = response.json()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct HttpClient {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) system: Arc<str>,
    pub(crate) client: reqwest::blocking::Client,
    pub(crate) limiter: Limiter,
    pub(crate) backoff: Backoff,
    pub(crate) max_retries: u32,
    pub(crate) max_retry_wait: Duration,
    pub(crate) timeout_secs: u64,
}

impl HttpClient {
    /// A client for the system named `system` (the configured name, used in errors and logs).
    ///
    /// Fails with [`ConnectorError::Config`] at `http.…` when the settings are out of range.
    pub fn new(system: &str, settings: &HttpSettings) -> Result<Self, ConnectorError> {
        settings.validate("http")?;
        let timeout = settings.timeout();
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("gallra/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConnectorError::permanent(format!(
                    "system \"{system}\": cannot set up the HTTP client: {}",
                    super::request::describe_reqwest_error(&e)
                ))
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                system: Arc::from(system),
                client,
                limiter: Limiter::new(settings.rate_per_sec, settings.burst),
                backoff: Backoff {
                    initial: Duration::from_millis(settings.backoff_initial_ms),
                    max: Duration::from_secs(settings.backoff_max_secs.max(1)),
                },
                max_retries: settings.max_retries,
                max_retry_wait: Duration::from_secs(settings.max_retry_wait_secs),
                timeout_secs: settings.timeout_secs,
            }),
        })
    }

    /// The system's name, as given to [`new`](Self::new).
    pub fn system(&self) -> &str {
        &self.inner.system
    }

    /// Starts a request. Give it an [`endpoint`](RequestBuilder::endpoint) label before
    /// sending: errors and logs name that label, never the URL, whose path and query may
    /// hold an email or a customer number.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url)
    }

    /// `request(Method::GET, url)`.
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// `request(Method::POST, url)`.
    pub fn post(&self, url: &str) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// `request(Method::PUT, url)`.
    pub fn put(&self, url: &str) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// `request(Method::PATCH, url)`.
    pub fn patch(&self, url: &str) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// `request(Method::DELETE, url)`.
    pub fn delete(&self, url: &str) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }
}

/// Appends path segments to a base URL, percent-encoding each one, so that an id or an
/// email taken from a subject can never change the path's shape (`../`, `?`, `#`).
///
/// ```
/// let url = gallra_plugin_api::http::join_url("https://x.example/api/v2/", &["users", "a b/c"]).unwrap();
/// assert_eq!(url, "https://x.example/api/v2/users/a%20b%2Fc");
/// ```
///
/// Fails (permanent) if `base` is not an absolute http(s) URL; the error does not quote it.
pub fn join_url(base: &str, segments: &[&str]) -> Result<String, ConnectorError> {
    let mut url = reqwest::Url::parse(base)
        .map_err(|e| ConnectorError::permanent(format!("the base URL is not valid: {e}")))?;
    {
        let mut path = url.path_segments_mut().map_err(|()| {
            ConnectorError::permanent("the base URL cannot have a path (is it http(s)://…?)")
        })?;
        path.pop_if_empty();
        path.extend(segments);
    }
    Ok(url.into())
}
