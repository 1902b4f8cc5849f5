//! [`RequestBuilder`] and the send loop: token, attempt, classify, wait, retry.

use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, StatusCode};
use serde::Serialize;

use super::client::HttpClient;
use super::response::Response;
use super::retry::{ceil_secs, parse_retry_after, with_jitter};
use crate::error::ConnectorError;

/// A request being built; finish it with [`send`](Self::send).
///
/// Wraps reqwest's blocking builder. Always set an [`endpoint`](Self::endpoint) label.
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    client: HttpClient,
    method: Method,
    endpoint: Option<String>,
    /// `METHOD scheme://host`: the label when the connector gave none (never the path).
    fallback_label: String,
    builder: reqwest::blocking::RequestBuilder,
}

impl RequestBuilder {
    pub(crate) fn new(client: HttpClient, method: Method, url: &str) -> Self {
        let origin = reqwest::Url::parse(url)
            .ok()
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|| "(invalid URL)".to_owned());
        let builder = client.inner.client.request(method.clone(), url);
        Self {
            fallback_label: format!("{method} {origin}"),
            client,
            method,
            endpoint: None,
            builder,
        }
    }

    /// The label errors and logs use for this request instead of its URL: the method and
    /// the path template, e.g. `GET /users/{id}`. It must hold no personal data.
    pub fn endpoint(mut self, label: impl Into<String>) -> Self {
        self.endpoint = Some(label.into());
        self
    }

    /// Adds a header. An invalid name or value fails the request at `send`.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Adds a header whose value is a credential: it is marked sensitive, so it is left out
    /// of `Debug` output as well.
    pub fn secret_header(mut self, name: &str, value: &str) -> Self {
        match reqwest::header::HeaderValue::from_str(value) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.builder = self.builder.header(name, value);
            }
            // Let reqwest carry the error to `send`, without the value in it.
            Err(_) => self.builder = self.builder.header(name, "\u{7f}"),
        }
        self
    }

    /// HTTP Basic authentication.
    pub fn basic_auth(mut self, username: &str, password: Option<&str>) -> Self {
        self.builder = self.builder.basic_auth(username, password);
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: &str) -> Self {
        self.builder = self.builder.bearer_auth(token);
        self
    }

    /// Query parameters, e.g. `&[("query", email)]`; values are percent-encoded.
    pub fn query<T: Serialize + ?Sized>(mut self, query: &T) -> Self {
        self.builder = self.builder.query(query);
        self
    }

    /// A JSON body (and `Content-Type: application/json`).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.builder = self.builder.json(body);
        self
    }

    /// A form-encoded body (and `Content-Type: application/x-www-form-urlencoded`).
    pub fn form<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.builder = self.builder.form(body);
        self
    }

    /// A raw body; set `Content-Type` with [`header`](Self::header).
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.builder = self.builder.body(body.into());
        self
    }

    /// Sends the request, retrying what is worth retrying, and classifies the answer:
    ///
    /// | answer | result |
    /// |---|---|
    /// | 2xx, 404 | `Ok(Response)` (check [`Response::is_not_found`]) |
    /// | 429, 5xx, network error, timeout | retried up to `max_retries` times with exponential backoff and jitter, or after `Retry-After` (429/503; seconds or an HTTP date; a 429 pauses every thread of this client); then [`ConnectorError::Transient`] with `retry_after_secs` |
    /// | `Retry-After` longer than `max_retry_wait_secs` | [`ConnectorError::Transient`] at once, with `retry_after_secs` |
    /// | 401, 403 | [`ConnectorError::Permanent`]: "check the credentials" |
    /// | other 4xx, 1xx, 3xx left over | [`ConnectorError::Permanent`] |
    ///
    /// Every request first takes a token from the client's bucket (`rate_per_sec`), retries
    /// included. Errors and tracing events carry the system name, the endpoint label, the
    /// status and the attempt — never the URL, a header or the body.
    pub fn send(self) -> Result<Response, ConnectorError> {
        let label = self.endpoint.unwrap_or(self.fallback_label);
        let inner = &self.client.inner;
        let system = &inner.system;
        let request = self.builder.build().map_err(|e| {
            ConnectorError::permanent(format!(
                "system \"{system}\": {label}: cannot build the request: {} (a bug in the \
                 connector or a bad base URL setting)",
                describe_reqwest_error(&e)
            ))
        })?;
        let mut attempt: u32 = 0;
        loop {
            inner.limiter.acquire();
            let Some(this_try) = request.try_clone() else {
                return Err(ConnectorError::permanent(format!(
                    "system \"{system}\": {label}: the request body cannot be sent twice \
                     (a bug in the connector)"
                )));
            };
            let started = Instant::now();
            let failure = match inner.client.execute(this_try) {
                Ok(response) => {
                    let status = response.status();
                    tracing::debug!(
                        system = %system,
                        endpoint = %label,
                        method = %self.method,
                        status = status.as_u16(),
                        attempt,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "HTTP request answered"
                    );
                    if status.is_success() || status == StatusCode::NOT_FOUND {
                        let headers = response.headers().clone();
                        match response.bytes() {
                            Ok(body) => {
                                return Ok(Response {
                                    status,
                                    headers,
                                    body: body.to_vec(),
                                    system: system.clone(),
                                    endpoint: label,
                                });
                            }
                            Err(e) => Failure::network(&e, inner.timeout_secs),
                        }
                    } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                        let retry_after = if status == StatusCode::TOO_MANY_REQUESTS
                            || status == StatusCode::SERVICE_UNAVAILABLE
                        {
                            response
                                .headers()
                                .get(reqwest::header::RETRY_AFTER)
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| parse_retry_after(v, SystemTime::now()))
                        } else {
                            None
                        };
                        Failure {
                            what: describe_status(status),
                            status: Some(status),
                            retry_after,
                        }
                    } else {
                        return Err(status_error(system, &label, status));
                    }
                }
                Err(e) if e.is_builder() => {
                    return Err(ConnectorError::permanent(format!(
                        "system \"{system}\": {label}: cannot build the request: {}",
                        describe_reqwest_error(&e)
                    )));
                }
                Err(e) => {
                    tracing::debug!(
                        system = %system,
                        endpoint = %label,
                        attempt,
                        "HTTP request failed before an answer"
                    );
                    Failure::network(&e, inner.timeout_secs)
                }
            };

            if let Some(wait) = failure.retry_after {
                if wait > inner.max_retry_wait {
                    return Err(ConnectorError::Transient {
                        message: format!(
                            "system \"{system}\": {label}: {}; the system asks to wait {} s, \
                             longer than max_retry_wait_secs",
                            failure.what,
                            ceil_secs(wait)
                        ),
                        retry_after_secs: Some(ceil_secs(wait)),
                    });
                }
            }
            if attempt >= inner.max_retries {
                return Err(ConnectorError::Transient {
                    message: format!(
                        "system \"{system}\": {label}: {} (gave up after {} attempts; is the \
                         system up and the rate limit right?)",
                        failure.what,
                        attempt + 1
                    ),
                    retry_after_secs: failure.retry_after.map(ceil_secs),
                });
            }
            let wait = match failure.retry_after {
                Some(wait) => with_jitter(wait),
                None => inner.backoff.delay(attempt),
            };
            tracing::info!(
                system = %system,
                endpoint = %label,
                status = failure.status.map(|s| s.as_u16()),
                attempt,
                wait_ms = wait.as_millis() as u64,
                "HTTP request failed transiently; retrying"
            );
            if failure.retry_after.is_some()
                || failure.status == Some(StatusCode::TOO_MANY_REQUESTS)
            {
                // The system is throttling this client as a whole: hold every thread back.
                inner.limiter.pause_until(Instant::now() + wait);
            } else {
                std::thread::sleep(wait);
            }
            attempt += 1;
        }
    }
}

/// A transient failure of one attempt.
struct Failure {
    /// What happened, PII-free.
    what: String,
    status: Option<StatusCode>,
    retry_after: Option<Duration>,
}

impl Failure {
    fn network(error: &reqwest::Error, timeout_secs: u64) -> Self {
        let what = if error.is_timeout() {
            format!("no answer within {timeout_secs} s (timeout_secs)")
        } else if error.is_connect() {
            format!("cannot connect: {}", describe_reqwest_error(error))
        } else {
            describe_reqwest_error(error)
        };
        Self {
            what,
            status: None,
            retry_after: None,
        }
    }
}

fn describe_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("answered {} {reason}", status.as_u16()),
        None => format!("answered {}", status.as_u16()),
    }
}

fn status_error(system: &str, label: &str, status: StatusCode) -> ConnectorError {
    let what = describe_status(status);
    let hint = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            "check the credentials (the key or token file) and the account's permissions"
        }
        s if s.is_client_error() => {
            "the system refused the request as sent: a bug in the connector or a wrong setting"
        }
        _ => "an answer the connector does not expect",
    };
    ConnectorError::permanent(format!("system \"{system}\": {label} {what}: {hint}"))
}

/// reqwest's error and its causes, without the URL reqwest would put first.
pub(crate) fn describe_reqwest_error(error: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = None;
    // `without_url` needs ownership; rebuild the top message from the kind instead.
    let top = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_redirect() {
        "too many or bad redirects"
    } else if error.is_body() || error.is_decode() {
        "the answer's body could not be read"
    } else if error.is_builder() {
        "invalid request"
    } else {
        "request failed"
    };
    text.push_str(top);
    if let Some(first) = std::error::Error::source(error) {
        source = Some(first);
    }
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Whatever cause repeats the URL (none should) is cut at that point.
        if cause_text.contains("://") {
            break;
        }
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
