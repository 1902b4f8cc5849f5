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
                    "cannot set up the HTTP client: {}",
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
/// Fails (permanent) if `base` is not an absolute http(s) URL, or if a segment is `.` or
/// `..` (see [`path_segment`]); the errors quote neither.
pub fn join_url(base: &str, segments: &[&str]) -> Result<String, ConnectorError> {
    for segment in segments {
        reject_dot_segment(segment)?;
    }
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

/// The bytes [`path_segment`] leaves as they are: RFC 3986's unreserved characters.
const UNRESERVED_ONLY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes `value` for one path segment (or one query value) of a URL built from a
/// template: every byte but RFC 3986's unreserved `A–Z a–z 0–9 - . _ ~` is encoded, so an
/// identifier cannot add a segment (`/`), start a query (`?`) or a fragment (`#`), or
/// smuggle an encoded byte (`%`).
///
/// ```
/// use gallra_plugin_api::http::path_segment;
/// assert_eq!(path_segment("anna+1@example.se").unwrap(), "anna%2B1%40example.se");
/// assert_eq!(path_segment("a/b?c#d").unwrap(), "a%2Fb%3Fc%23d");
/// assert_eq!(
///     format!("https://x.example/v1/users/{}/tickets", path_segment("42 ").unwrap()),
///     "https://x.example/v1/users/42%20/tickets"
/// );
/// assert!(path_segment("..").is_err());
/// ```
///
/// Fails (permanent) for `.` and `..`: URL parsers resolve those segments however they are
/// encoded, so `users/{id}` with the id `..` would address the collection above. The error
/// quotes nothing.
///
/// Prefer [`join_url`] when the URL is the base plus whole segments; use this for a path
/// the connector (or its settings) writes as a template.
pub fn path_segment(value: &str) -> Result<String, ConnectorError> {
    reject_dot_segment(value)?;
    Ok(percent_encoding::utf8_percent_encode(value, UNRESERVED_ONLY).to_string())
}

/// `.` and `..` change a path's shape whatever their encoding.
fn reject_dot_segment(value: &str) -> Result<(), ConnectorError> {
    if matches!(value, "." | "..") {
        return Err(ConnectorError::permanent(
            "a value to put in a URL path is a dot segment (\".\" or \"..\"), which would \
             address a different path; no record can be reached by it",
        ));
    }
    Ok(())
}
