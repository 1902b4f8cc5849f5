//! The settings a sysadmin writes under `[systems.NAME.settings]` for `plugin = "mailchimp"`.
//!
//! ```toml
//! [systems.newsletter]
//! plugin = "mailchimp"
//! [systems.newsletter.settings]
//! api_key_file = "/run/credentials/gallra/mailchimp-key"   # …-us21: https://us21.api.mailchimp.com/3.0
//! max_connections = 10
//! ```

use std::path::PathBuf;

use gallra_plugin_api::http::HttpSettings;
use gallra_plugin_api::{ConnectorError, SettingsProblems};
use serde::Deserialize;

/// Mailchimp allows this many simultaneous connections per account.
pub const MAILCHIMP_CONNECTIONS: u32 = 10;

/// The connector's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// A file holding a Mailchimp Marketing API key (Profile → Extras → API keys), e.g.
    /// `0123…cdef-us21`. Its suffix names the data centre the account lives in. It must not
    /// be readable by others.
    pub api_key_file: PathBuf,
    /// The API's base URL, including `/3.0`. Default: the key's data centre,
    /// `https://DC.api.mailchimp.com/3.0`. Set it only for a test server.
    pub base_url: Option<String>,
    /// The most requests this connector has under way at once, across all of gallra's
    /// threads. Mailchimp answers 429 above 10 simultaneous connections per account, and
    /// other integrations of the account count too: lower it if they run at the same time.
    /// Default 10.
    #[serde(default = "default_connections")]
    pub max_connections: u32,
    /// How many audiences to ask for per page of `GET /lists` (Mailchimp: at most 1,000).
    /// Default 1000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Timeouts, retries and the request rate (`[systems.NAME.settings.http]`). Mailchimp
    /// limits simultaneous connections, not a rate, so `rate_per_sec` is usually left out;
    /// its 429s carry no `Retry-After` and are retried with backoff.
    #[serde(default)]
    pub http: HttpSettings,
}

fn default_connections() -> u32 {
    MAILCHIMP_CONNECTIONS
}

fn default_page_size() -> u32 {
    1000
}

impl Settings {
    /// Checks what serde cannot, without touching files or the network.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        if let Some(url) = &self.base_url {
            let url = url.trim_end_matches('/');
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            if !scheme_ok || url.len() <= "https://".len() || url.contains(['?', '#']) {
                problems.add(
                    "base_url",
                    "expected an http(s) URL ending in /3.0, or leave it out to use the API \
                     key's data centre",
                );
            }
        }
        if self.max_connections == 0 {
            problems.add("max_connections", "max_connections must be at least 1");
        }
        if !(1..=1000).contains(&self.page_size) {
            problems.add(
                "page_size",
                "page_size must be between 1 and 1000 (Mailchimp's largest page)",
            );
        }
        problems.check(self.http.validate("http"));
        problems.into_result()
    }
}

/// The API base URL for a key: `https://DC.api.mailchimp.com/3.0` from its `-DC` suffix.
pub fn base_url_for_key(key: &str) -> Result<String, ConnectorError> {
    let dc = key.rsplit_once('-').map(|(_, dc)| dc).unwrap_or("");
    let valid = !dc.is_empty() && dc.len() <= 10 && dc.chars().all(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(format!(
            "https://{}.api.mailchimp.com/3.0",
            dc.to_lowercase()
        ))
    } else {
        Err(ConnectorError::config(
            "api_key_file",
            "the API key does not end in a data centre like -us21; check that the file holds \
             a Mailchimp Marketing API key, or set base_url",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gallra_plugin_api::parse_settings;

    fn parse(json: &str) -> Result<Settings, ConnectorError> {
        let settings: Settings = parse_settings(json.as_bytes())?;
        settings.validate()?;
        Ok(settings)
    }

    #[test]
    fn defaults_follow_mailchimp() {
        let s = parse(r#"{"api_key_file":"/k"}"#).unwrap();
        assert_eq!(s.max_connections, 10);
        assert_eq!(s.page_size, 1000);
        assert_eq!(s.base_url, None);
    }

    #[test]
    fn the_data_centre_comes_from_the_key() {
        assert_eq!(
            base_url_for_key("0123456789abcdef0123456789abcdef-us21").unwrap(),
            "https://us21.api.mailchimp.com/3.0"
        );
        for bad in [
            "0123456789abcdef",
            "abc-",
            "abc-us21/x",
            "abc-us.evil.example",
        ] {
            match base_url_for_key(bad) {
                Err(ConnectorError::Config { key, message }) => {
                    assert_eq!(key, "api_key_file");
                    assert!(!message.contains(bad), "the key must not be quoted");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn each_mistake_names_its_key() {
        let cases = [
            (r#"{}"#, ""),
            (r#"{"api_key_file":"/k","base_url":"ftp://x"}"#, "base_url"),
            (
                r#"{"api_key_file":"/k","max_connections":0}"#,
                "max_connections",
            ),
            (r#"{"api_key_file":"/k","page_size":1001}"#, "page_size"),
            (r#"{"api_key_file":"/k","api_key":"x"}"#, "api_key"),
            (r#"{"api_key_file":"/k","http":{"burst":2}}"#, "http.burst"),
        ];
        for (json, expected) in cases {
            match parse(json) {
                Err(ConnectorError::Config { key, .. }) => assert_eq!(key, expected, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    /// `gallra check` shows every mistake at once, not one per edit.
    #[test]
    fn every_settings_problem_is_reported_at_once() {
        let settings =
            serde_json::json!({ "api_key_file": "/k", "max_connections": 0, "page_size": 0 });
        let keys =
            gallra_plugin_api::testing::settings_problems::<crate::MailchimpConnector>(&settings);
        assert_eq!(keys, ["max_connections", "page_size"]);
    }
}
