//! The settings a sysadmin writes under `[systems.NAME.settings]` for `plugin = "copper"`.
//!
//! ```toml
//! [systems.crm]
//! plugin = "copper"
//! [systems.crm.settings]
//! user_email = "gallra-bot@example.se"
//! token_file = "/run/credentials/gallra/copper-token"
//! # Optional: report the latest contact or change as activity (status).
//! activity = true
//! [systems.crm.settings.http]
//! timeout_secs = 30
//! ```

use std::path::PathBuf;

use gallra_plugin_api::http::HttpSettings;
use gallra_plugin_api::{ConnectorError, SettingsProblems};
use serde::Deserialize;

/// Copper's API, fixed for every account.
pub const DEFAULT_BASE_URL: &str = "https://api.copper.com/developer_api/v1";

/// Copper answers 429 above 180 requests a minute, on a rolling window: 3 a second, one
/// at a time, keeps every window under it.
pub const DEFAULT_RATE_PER_SEC: f64 = 3.0;

/// The most records a search returns per page (Copper's maximum).
pub const MAX_PAGE_SIZE: u32 = 200;

/// The connector's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The Copper API's base URL. Default: `https://api.copper.com/developer_api/v1`; change
    /// it only for a test server.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The email of the Copper user the API key belongs to (`X-PW-UserEmail`). gallra sees
    /// and deletes what this user may; use an admin.
    pub user_email: String,
    /// A file holding the API key (`X-PW-AccessToken`), generated under Settings → API Keys.
    /// It must not be readable by others (`chmod 600`).
    pub token_file: PathBuf,
    /// Whether a person is also looked up by phone number (Copper's `phone_number` search),
    /// besides email. Only people whose stored number is the subject's number, once both are
    /// normalized, count as found. Default: `true`.
    #[serde(default = "yes")]
    pub lookup_by_phone: bool,
    /// Whether `status` reports the latest of a person's `date_last_contacted` and
    /// `date_modified` as activity, so that recent CRM work counts against inactivity.
    /// Default: `false` (the CRM says nothing about activity).
    #[serde(default)]
    pub activity: bool,
    /// Records per search page, 1 to 200. Default: 200 (fewest requests).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Timeouts, retries and the request rate. `rate_per_sec` defaults to 3 (Copper allows
    /// 180 requests a minute); set it lower if other integrations share the account's limit.
    #[serde(default)]
    pub http: HttpSettings,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn yes() -> bool {
    true
}

fn default_page_size() -> u32 {
    MAX_PAGE_SIZE
}

impl Settings {
    /// Checks what serde cannot, without touching files or the network.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            problems.add(
                "base_url",
                "expected an http(s) URL, e.g. https://api.copper.com/developer_api/v1",
            );
        }
        let email = self.user_email.trim();
        if email.is_empty() || !email.contains('@') || email.contains(char::is_whitespace) {
            problems.add(
                "user_email",
                "expected the email address of the Copper user who owns the API key",
            );
        }
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            problems.add(
                "page_size",
                format!("Copper pages hold 1 to {MAX_PAGE_SIZE} records"),
            );
        }
        problems.check(self.http_settings().validate("http"));
        problems.into_result()
    }

    /// The `http` table with Copper's rate limit filled in when none is set.
    pub fn http_settings(&self) -> HttpSettings {
        let mut http = self.http.clone();
        http.rate_per_sec.get_or_insert(DEFAULT_RATE_PER_SEC);
        http
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<Settings, ConnectorError> {
        gallra_plugin_api::parse_settings(json.to_string().as_bytes())
    }

    fn minimal() -> serde_json::Value {
        serde_json::json!({ "user_email": "bot@example.se", "token_file": "/run/copper" })
    }

    #[test]
    fn defaults_are_copper_and_three_requests_a_second() {
        let s = parse(minimal()).unwrap();
        s.validate().unwrap();
        assert_eq!(s.base_url, DEFAULT_BASE_URL);
        assert!(s.lookup_by_phone);
        assert!(!s.activity);
        assert_eq!(s.page_size, 200);
        assert_eq!(s.http_settings().rate_per_sec, Some(3.0));
    }

    #[test]
    fn an_explicit_rate_is_kept() {
        let mut json = minimal();
        json["http"] = serde_json::json!({ "rate_per_sec": 1.5, "timeout_secs": 5 });
        let s = parse(json).unwrap();
        assert_eq!(s.http_settings().rate_per_sec, Some(1.5));
    }

    #[test]
    fn unknown_keys_are_named() {
        let mut json = minimal();
        json["tokenfile"] = "x".into();
        match parse(json).unwrap_err() {
            ConnectorError::Config { message, .. } => assert!(message.contains("tokenfile")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn page_size_above_copper_maximum_is_refused() {
        let mut json = minimal();
        json["page_size"] = 500.into();
        let err = parse(json).unwrap().validate().unwrap_err();
        assert!(matches!(err, ConnectorError::Config { ref key, .. } if key == "page_size"));
    }

    #[test]
    fn user_email_must_be_an_address() {
        let mut json = minimal();
        json["user_email"] = "admin".into();
        let err = parse(json).unwrap().validate().unwrap_err();
        assert!(matches!(err, ConnectorError::Config { ref key, .. } if key == "user_email"));
    }

    /// `gallra check` shows every mistake at once, not one per edit.
    #[test]
    fn every_settings_problem_is_reported_at_once() {
        let settings = serde_json::json!({ "user_email": "not-an-email", "token_file": "/run/copper", "page_size": 0 });
        let keys =
            gallra_plugin_api::testing::settings_problems::<crate::CopperConnector>(&settings);
        assert_eq!(keys, ["user_email", "page_size"]);
    }
}
