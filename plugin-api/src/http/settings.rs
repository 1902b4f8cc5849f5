//! [`HttpSettings`]: the `http` table a connector embeds in its settings.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;
use crate::problems::SettingsProblems;

/// How a connector talks HTTP to its system: timeouts, retries and the request rate.
///
/// Embed it in your settings as a nested table, so every HTTP connector is tuned the same way:
///
/// ```
/// use gallra_plugin_api::http::HttpSettings;
///
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Settings {
///     /// The API's base URL.
///     base_url: String,
///     /// Timeouts, retries and rate limit (`[systems.X.settings.http]`).
///     #[serde(default)]
///     http: HttpSettings,
/// }
/// # let s: Settings = serde_json::from_str(r#"{"base_url":"https://x","http":{"rate_per_sec":5}}"#).unwrap();
/// # assert_eq!(s.http.rate_per_sec, Some(5.0));
/// # assert_eq!(s.http.max_retries, 5);
/// ```
///
/// Every field has a default, so `http` can be left out entirely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Seconds one HTTP request may take, connecting included, before it counts as a
    /// transient failure. Default 30.
    pub timeout_secs: u64,
    /// How many times a transiently failed request (network error, timeout, 5xx, 429) is
    /// retried before the call fails with a transient error. Default 5.
    pub max_retries: u32,
    /// The most requests per second this system may receive from this connector instance,
    /// shared by all its threads (a token bucket). Leave out for no limit. Set it a little
    /// under the vendor's documented limit.
    pub rate_per_sec: Option<f64>,
    /// How many requests may go out at once after a quiet spell (the bucket's size).
    /// Default 1, which keeps every one-second window at or under `rate_per_sec`.
    pub burst: Option<u32>,
    /// The first retry's delay in milliseconds; it doubles per retry, with jitter.
    /// Default 500.
    pub backoff_initial_ms: u64,
    /// The longest delay between two retries, in seconds. Default 30.
    pub backoff_max_secs: u64,
    /// The longest `Retry-After` waited out inside one call, in seconds. A system that asks
    /// for a longer pause gets a transient error carrying its `Retry-After`, and gallra
    /// retries the whole call later. Default 60.
    pub max_retry_wait_secs: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout_secs: 30,
            max_retries: 5,
            rate_per_sec: None,
            burst: None,
            backoff_initial_ms: 500,
            backoff_max_secs: 30,
            max_retry_wait_secs: 60,
        }
    }
}

impl HttpSettings {
    /// Checks ranges serde cannot. `key` is where the table sits in the connector's settings
    /// (usually `http`), so errors point at e.g. `http.rate_per_sec`. Call it from your
    /// connector's [`validate`](crate::Connector::validate); [`HttpClient::new`] calls it too.
    ///
    /// [`HttpClient::new`]: super::HttpClient::new
    pub fn validate(&self, key: &str) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        let at = |field: &str| {
            if key.is_empty() {
                field.to_owned()
            } else {
                format!("{key}.{field}")
            }
        };
        if self.timeout_secs == 0 {
            problems.add(at("timeout_secs"), "timeout_secs must be at least 1");
        }
        if let Some(rate) = self.rate_per_sec {
            if !(rate.is_finite() && rate > 0.0) {
                problems.add(
                    at("rate_per_sec"),
                    "rate_per_sec must be a positive number of requests per second",
                );
            }
        }
        if self.burst == Some(0) {
            problems.add(at("burst"), "burst must be at least 1");
        }
        if self.burst.is_some() && self.rate_per_sec.is_none() {
            problems.add(
                at("burst"),
                "burst only means something with rate_per_sec; set both or neither",
            );
        }
        if self.backoff_initial_ms == 0 {
            problems.add(
                at("backoff_initial_ms"),
                "backoff_initial_ms must be at least 1",
            );
        }
        problems.into_result()
    }

    /// [`timeout_secs`](Self::timeout_secs) as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}
