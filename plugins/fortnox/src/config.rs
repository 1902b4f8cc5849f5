//! The settings a sysadmin writes for a Fortnox system (`[systems.X.settings]`).

use std::path::PathBuf;

use gallra_plugin_api::http::HttpSettings;
use gallra_plugin_api::{ConnectorError, SettingsProblems};
use serde::{Deserialize, Deserializer};

pub use crate::retention::FinancialYearEnd;

/// The request rate used when `http.rate_per_sec` is not set: Fortnox allows 25 requests
/// per 5 seconds (a sliding window), and 4 per second with a bucket of one stays under it
/// in every window.
pub const DEFAULT_RATE_PER_SEC: f64 = 4.0;

/// How to reach one Fortnox company, and how its financial year runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The API's base URL. Default `https://api.fortnox.se/3`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The OAuth2 token endpoint. Default `https://apps.fortnox.se/oauth-v1/token`.
    #[serde(default = "default_token_url")]
    pub token_url: String,
    /// The integration's client id (Fortnox Developer Portal).
    pub client_id: String,
    /// A file holding the integration's client secret.
    pub client_secret_file: PathBuf,
    /// The company's TenantId (its `DatabaseNumber`), which the client-credentials flow
    /// needs. The company must have activated the integration as a service account.
    #[serde(deserialize_with = "text_or_number")]
    pub tenant_id: String,
    /// The last day of the company's financial year as `MM-DD`: `12-31` (default) for a
    /// calendar year, e.g. `06-30` for July–June. Decides how long invoices are kept.
    #[serde(default)]
    pub financial_year_end: FinancialYearEnd,
    /// How many customers or invoices one request asks for (Fortnox allows up to 500).
    /// Default 100.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Timeouts, retries and request rate (`[systems.X.settings.http]`). When
    /// `rate_per_sec` is left out, the connector uses 4, under Fortnox's limit of 25
    /// requests per 5 seconds.
    #[serde(default)]
    pub http: HttpSettings,
}

fn default_base_url() -> String {
    "https://api.fortnox.se/3".to_owned()
}

fn default_token_url() -> String {
    "https://apps.fortnox.se/oauth-v1/token".to_owned()
}

fn default_page_size() -> u32 {
    100
}

fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(u64),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::Text(s) => s,
        Raw::Number(n) => n.to_string(),
    })
}

impl Settings {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        for (key, url) in [("base_url", &self.base_url), ("token_url", &self.token_url)] {
            let url = url.trim();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                problems.add(key, format!("{key} must be an http(s) URL"));
            }
        }
        for (key, value) in [
            ("client_id", &self.client_id),
            ("tenant_id", &self.tenant_id),
        ] {
            if value.trim().is_empty() {
                problems.add(key, format!("{key} must not be empty"));
            }
        }
        if !(1..=500).contains(&self.page_size) {
            problems.add(
                "page_size",
                "page_size must be between 1 and 500 (Fortnox's largest page)",
            );
        }
        problems.check(self.http.validate("http"));
        problems.into_result()
    }

    /// The HTTP settings with Fortnox's rate as the default.
    pub fn http(&self) -> HttpSettings {
        let mut http = self.http.clone();
        if http.rate_per_sec.is_none() {
            http.rate_per_sec = Some(DEFAULT_RATE_PER_SEC);
            http.burst = None;
        }
        http
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gallra_plugin_api::parse_settings;

    fn parse(json: &str) -> Result<Settings, ConnectorError> {
        parse_settings::<Settings>(json.as_bytes()).and_then(|s| s.validate().map(|()| s))
    }

    #[test]
    fn defaults_point_at_fortnox() {
        let s = parse(r#"{"client_id":"c","client_secret_file":"/s","tenant_id":1234}"#).unwrap();
        assert_eq!(s.base_url, "https://api.fortnox.se/3");
        assert_eq!(s.token_url, "https://apps.fortnox.se/oauth-v1/token");
        assert_eq!(s.tenant_id, "1234");
        assert_eq!(s.financial_year_end, FinancialYearEnd::CALENDAR_YEAR);
        assert_eq!(s.http().rate_per_sec, Some(DEFAULT_RATE_PER_SEC));
    }

    #[test]
    fn mistakes_name_their_key() {
        let cases = [
            (
                r#"{"client_id":"c","client_secret_file":"/s","tenant_id":"1","financial_year_end":"06-31"}"#,
                "financial_year_end",
            ),
            (
                r#"{"client_id":"c","client_secret_file":"/s","tenant_id":"1","page_size":501}"#,
                "page_size",
            ),
            (
                r#"{"client_id":"c","client_secret_file":"/s","tenant_id":" "}"#,
                "tenant_id",
            ),
            (
                r#"{"client_id":"c","client_secret_file":"/s","tenant_id":"1","client_secret":"x"}"#,
                "client_secret",
            ),
        ];
        for (json, key) in cases {
            match parse(json) {
                Err(ConnectorError::Config { key: k, .. }) => assert_eq!(k, key, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    /// `gallra check` shows every mistake at once, not one per edit.
    #[test]
    fn every_settings_problem_is_reported_at_once() {
        let settings = serde_json::json!({ "client_id": " ", "client_secret_file": "/s", "tenant_id": "1", "page_size": 501 });
        let keys =
            gallra_plugin_api::testing::settings_problems::<crate::FortnoxConnector>(&settings);
        assert_eq!(keys, ["client_id", "page_size"]);
    }
}
