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
    /// Statuses the connector handles itself (see [`accept`](Self::accept)).
    accepted: Vec<StatusCode>,
    /// Whether the request may be sent again after a failure that may have reached the
    /// system (see [`no_retry`](Self::no_retry)).
    resend: bool,
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
            accepted: Vec::new(),
            resend: true,
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

    /// Hands an answer with `status` back as `Ok(Response)` instead of turning it into an
    /// error, for a connector that gives that status a meaning of its own: Fortnox's 400
    /// "the customer has invoices", a 401 that means "renew the token", a 409 "already
    /// done". Call it once per status.
    ///
    /// An accepted status is never retried either: accept a 429 or a 5xx only to handle it
    /// yourself. Check [`Response::status`] on every answer.
    ///
    /// ```no_run
    /// # use gallra_plugin_api::http::{HttpClient, StatusCode};
    /// # fn f(client: &HttpClient, url: &str) -> Result<bool, gallra_plugin_api::ConnectorError> {
    /// let response = client
    ///     .delete(url)
    ///     .endpoint("DELETE /customers/{CustomerNumber}")
    ///     .accept(StatusCode::BAD_REQUEST)
    ///     .send()?;
    /// let refused = response.status() == StatusCode::BAD_REQUEST;
    /// # Ok(refused) }
    /// ```
    pub fn accept(mut self, status: StatusCode) -> Self {
        self.accepted.push(status);
        self
    }

    /// Sends the request at most once where a resend could act twice: for a POST (or
    /// PATCH) that is not idempotent — one that creates something, sends something, or
    /// appends — so a 5xx, a timeout or a broken connection, after which the system may
    /// have acted, ends [`send`](Self::send) at once with [`ConnectorError::Transient`]
    /// instead of sending it again. gallra then retries the whole operation later, which
    /// looks the subject up afresh and so sees whether the first attempt took effect.
    ///
    /// Failures that prove the request was not acted on are still retried as usual: a 429
    /// (the system refused to process it) and a connection that could not be opened.
    pub fn no_retry(mut self) -> Self {
        self.resend = false;
        self
    }

    /// Sends the request, retrying what is worth retrying, and classifies the answer:
    ///
    /// | answer | result |
    /// |---|---|
    /// | 2xx, 404, a status given to [`accept`](Self::accept) | `Ok(Response)` (check [`Response::is_not_found`], [`Response::status`]) |
    /// | 429, 5xx, network error, timeout | retried up to `max_retries` times with exponential backoff and jitter, or after `Retry-After` (429/503; seconds or an HTTP date; a 429 pauses every thread of this client); then [`ConnectorError::Transient`] with `retry_after_secs` |
    /// | the same, after [`no_retry`](Self::no_retry), where the system may have acted (5xx, timeout, broken connection) | [`ConnectorError::Transient`] at once, not sent again |
    /// | `Retry-After` longer than `max_retry_wait_secs` | [`ConnectorError::Transient`] at once, with `retry_after_secs` |
    /// | 401, 403 | [`ConnectorError::Permanent`]: "check the credentials" |
    /// | other 4xx, 1xx, 3xx left over | [`ConnectorError::Permanent`] |
    ///
    /// Every request first takes a token from the client's bucket (`rate_per_sec`), retries
    /// included. Tracing events carry the system name, the endpoint label, the status and the
    /// attempt; errors the same but the system name, which gallra adds to every error it
    /// reports — never the URL, a header or the body.
    pub fn send(self) -> Result<Response, ConnectorError> {
        let label = self.endpoint.unwrap_or(self.fallback_label);
        let attempts = Attempts {
            client: &self.client,
            method: &self.method,
            label: &label,
            accepted: &self.accepted,
        };
        let request = self.builder.build().map_err(|e| {
            ConnectorError::permanent(format!(
                "{label}: cannot build the request: {} (a bug in the \
                 connector or a bad base URL setting)",
                describe_reqwest_error(&e)
            ))
        })?;
        let mut attempt: u32 = 0;
        loop {
            let failure = match attempts.once(&request, attempt)? {
                Attempt::Answered(response) => return Ok(response),
                Attempt::Failed(failure) => failure,
            };
            let wait = attempts.give_up_or_wait(&failure, attempt, self.resend)?;
            attempts.wait(&failure, attempt, wait);
            attempt += 1;
        }
    }
}

/// What one request's attempts share.
struct Attempts<'a> {
    client: &'a HttpClient,
    method: &'a Method,
    label: &'a str,
    accepted: &'a [StatusCode],
}

/// How one attempt ended, when it did not end the whole send with an error.
enum Attempt {
    /// An answer for the connector.
    Answered(Response),
    /// A failure worth another try (if the rules allow).
    Failed(Failure),
}

impl Attempts<'_> {
    fn system(&self) -> &str {
        &self.client.inner.system
    }

    /// Takes a token and sends the request once.
    fn once(
        &self,
        request: &reqwest::blocking::Request,
        attempt: u32,
    ) -> Result<Attempt, ConnectorError> {
        let inner = &self.client.inner;
        let (system, label) = (self.system(), self.label);
        inner.limiter.acquire();
        let Some(this_try) = request.try_clone() else {
            return Err(ConnectorError::permanent(format!(
                "{label}: the request body cannot be sent twice \
                 (a bug in the connector)"
            )));
        };
        let started = Instant::now();
        match inner.client.execute(this_try) {
            Ok(response) => {
                tracing::debug!(
                    system = %system,
                    endpoint = %label,
                    method = %self.method,
                    status = response.status().as_u16(),
                    attempt,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "HTTP request answered"
                );
                self.answered(response)
            }
            Err(e) if e.is_builder() => Err(ConnectorError::permanent(format!(
                "{label}: cannot build the request: {}",
                describe_reqwest_error(&e)
            ))),
            Err(e) => {
                tracing::debug!(
                    system = %system,
                    endpoint = %label,
                    attempt,
                    "HTTP request failed before an answer"
                );
                Ok(Attempt::Failed(Failure::network(&e, inner.timeout_secs)))
            }
        }
    }

    /// Classifies an answer: the connector's, worth a retry, or an error.
    fn answered(&self, response: reqwest::blocking::Response) -> Result<Attempt, ConnectorError> {
        let status = response.status();
        if self.accepted.contains(&status) || status.is_success() || status == StatusCode::NOT_FOUND
        {
            let headers = response.headers().clone();
            return Ok(match response.bytes() {
                Ok(body) => Attempt::Answered(Response {
                    status,
                    headers,
                    body: body.to_vec(),
                    endpoint: self.label.to_owned(),
                }),
                Err(e) => Attempt::Failed(Failure::network(&e, self.client.inner.timeout_secs)),
            });
        }
        if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
            return Err(status_error(self.label, status));
        }
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
        Ok(Attempt::Failed(Failure {
            what: describe_status(status),
            status: Some(status),
            retry_after,
            // A 429 is a refusal to process; a 5xx may come after the work was done.
            may_have_acted: status != StatusCode::TOO_MANY_REQUESTS,
        }))
    }

    /// The error that ends the send after `failure`, or how long to wait before the next
    /// attempt.
    fn give_up_or_wait(
        &self,
        failure: &Failure,
        attempt: u32,
        resend: bool,
    ) -> Result<Duration, ConnectorError> {
        let inner = &self.client.inner;
        let (label, what) = (self.label, &failure.what);
        if !resend && failure.may_have_acted {
            return Err(ConnectorError::Transient {
                message: format!(
                    "{label}: {what}; not sent again, because the \
                     system may have acted on it and this request is not safe to repeat"
                ),
                retry_after_secs: failure.retry_after.map(ceil_secs),
            });
        }
        if let Some(wait) = failure.retry_after {
            if wait > inner.max_retry_wait {
                return Err(ConnectorError::Transient {
                    message: format!(
                        "{label}: {what}; the system asks to wait {} s, \
                         longer than max_retry_wait_secs",
                        ceil_secs(wait)
                    ),
                    retry_after_secs: Some(ceil_secs(wait)),
                });
            }
        }
        if attempt >= inner.max_retries {
            return Err(ConnectorError::Transient {
                message: format!(
                    "{label}: {what} (gave up after {} attempts; is the \
                     system up and the rate limit right?)",
                    attempt + 1
                ),
                retry_after_secs: failure.retry_after.map(ceil_secs),
            });
        }
        Ok(match failure.retry_after {
            Some(wait) => with_jitter(wait),
            None => inner.backoff.delay(attempt),
        })
    }

    /// Waits before the next attempt: this thread only, or every thread of the client when
    /// the system is throttling it.
    fn wait(&self, failure: &Failure, attempt: u32, wait: Duration) {
        tracing::info!(
            system = %self.system(),
            endpoint = %self.label,
            status = failure.status.map(|s| s.as_u16()),
            attempt,
            wait_ms = wait.as_millis() as u64,
            "HTTP request failed transiently; retrying"
        );
        if failure.retry_after.is_some() || failure.status == Some(StatusCode::TOO_MANY_REQUESTS) {
            self.client.inner.limiter.pause_until(Instant::now() + wait);
        } else {
            std::thread::sleep(wait);
        }
    }
}

/// A transient failure of one attempt.
struct Failure {
    /// What happened, PII-free.
    what: String,
    status: Option<StatusCode>,
    retry_after: Option<Duration>,
    /// Whether the system may have received and acted on the request.
    may_have_acted: bool,
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
            // A connection that never opened carried nothing.
            may_have_acted: !error.is_connect(),
        }
    }
}

fn describe_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("answered {} {reason}", status.as_u16()),
        None => format!("answered {}", status.as_u16()),
    }
}

fn status_error(label: &str, status: StatusCode) -> ConnectorError {
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
    ConnectorError::permanent(format!("{label} {what}: {hint}"))
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
