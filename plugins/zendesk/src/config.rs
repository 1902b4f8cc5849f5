//! The settings a sysadmin writes under `[systems.NAME.settings]` for `plugin = "zendesk"`.
//!
//! ```toml
//! [systems.helpdesk]
//! plugin = "zendesk"
//! [systems.helpdesk.settings]
//! subdomain = "acme"                      # https://acme.zendesk.com/api/v2
//! email = "gallra@acme.se"                # the agent or admin the API token belongs to
//! api_token_file = "/run/credentials/gallra/zendesk-token"
//! check_after_secs = 3600                 # how soon to ask again while Zendesk deletes
//! activity = true                         # last_login_at counts as activity
//! [systems.helpdesk.settings.http]
//! rate_per_sec = 6                        # Team plan: 400 requests a minute
//! ```
//!
//! With OAuth instead of an API token: leave out `email` and `api_token_file` and set
//! `oauth_token_file`.

use std::path::PathBuf;

use gallra_plugin_api::http::HttpSettings;
use gallra_plugin_api::{ConnectorError, SettingsProblems};
use serde::Deserialize;

/// The connector's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The Zendesk subdomain: `acme` for `https://acme.zendesk.com`. Set this or `base_url`.
    pub subdomain: Option<String>,
    /// The API's base URL, including `/api/v2`, instead of `subdomain` (a host-mapped
    /// account, or a test server). Set this or `subdomain`.
    pub base_url: Option<String>,
    /// The email of the agent or admin who owns the API token (Basic
    /// `{email}/token:{token}`). Set together with `api_token_file`.
    pub email: Option<String>,
    /// A file holding a Zendesk API token (Admin Center → Apps and integrations → Zendesk
    /// API). It must not be readable by others. Set this or `oauth_token_file`.
    pub api_token_file: Option<PathBuf>,
    /// A file holding an OAuth access token with the `read` and `write` scopes (sent as a
    /// bearer token). It must not be readable by others. Set this or `api_token_file`.
    pub oauth_token_file: Option<PathBuf>,
    /// Seconds gallra waits before asking again while Zendesk's compliance deletion of a
    /// permanently deleted user is still running in some product. Default 3600.
    #[serde(default = "default_check_after")]
    pub check_after_secs: u64,
    /// Whether the users' `last_login_at` is reported as their last activity (`status`),
    /// so that an inactivity policy can count it. Default false: end users rarely log in to
    /// a help centre, so their last login says little.
    #[serde(default)]
    pub activity: bool,
    /// Timeouts, retries and the request rate (`[systems.NAME.settings.http]`). Set
    /// `rate_per_sec` a little under the plan's limit (Team 200/min, Growth and
    /// Professional 400/min, Enterprise 700/min, High Volume add-on 2,500/min).
    #[serde(default)]
    pub http: HttpSettings,
}

fn default_check_after() -> u64 {
    3600
}

/// How the connector authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSetting {
    /// Basic `{email}/token:{token}`, the token read from the file.
    ApiToken {
        /// The token owner's email.
        email: String,
        /// The token file.
        token_file: PathBuf,
    },
    /// `Authorization: Bearer {token}`, the token read from the file.
    OAuth {
        /// The token file.
        token_file: PathBuf,
    },
}

impl Settings {
    /// Checks what serde cannot, without touching files or the network.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        problems.check(self.base());
        problems.check(self.auth());
        if self.check_after_secs == 0 {
            problems.add("check_after_secs", "check_after_secs must be at least 1");
        }
        problems.check(self.http.validate("http"));
        problems.into_result()
    }

    /// The API's base URL without a trailing slash, e.g. `https://acme.zendesk.com/api/v2`.
    pub fn base(&self) -> Result<String, ConnectorError> {
        match (&self.subdomain, &self.base_url) {
            (Some(sub), None) => {
                let valid = !sub.is_empty()
                    && sub.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !sub.starts_with('-');
                if valid {
                    Ok(format!("https://{sub}.zendesk.com/api/v2"))
                } else {
                    Err(ConnectorError::config(
                        "subdomain",
                        "expected the subdomain alone, e.g. \"acme\" for https://acme.zendesk.com",
                    ))
                }
            }
            (None, Some(url)) => {
                let url = url.trim_end_matches('/');
                let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
                if scheme_ok && url.len() > "https://".len() && !url.contains(['?', '#']) {
                    Ok(url.to_owned())
                } else {
                    Err(ConnectorError::config(
                        "base_url",
                        "expected an http(s) URL ending in /api/v2, e.g. \
                         https://support.acme.se/api/v2",
                    ))
                }
            }
            (Some(_), Some(_)) => Err(ConnectorError::config(
                "base_url",
                "set subdomain or base_url, not both",
            )),
            (None, None) => Err(ConnectorError::config(
                "subdomain",
                "set subdomain (e.g. \"acme\" for https://acme.zendesk.com) or base_url",
            )),
        }
    }

    /// The authentication these settings describe.
    pub fn auth(&self) -> Result<AuthSetting, ConnectorError> {
        match (&self.email, &self.api_token_file, &self.oauth_token_file) {
            (Some(email), Some(file), None) => {
                if email.contains('@') && !email.contains(char::is_whitespace) {
                    Ok(AuthSetting::ApiToken {
                        email: email.clone(),
                        token_file: file.clone(),
                    })
                } else {
                    Err(ConnectorError::config(
                        "email",
                        "expected the email of the agent who owns the API token",
                    ))
                }
            }
            (None, None, Some(file)) => Ok(AuthSetting::OAuth {
                token_file: file.clone(),
            }),
            (_, Some(_), Some(_)) => Err(ConnectorError::config(
                "oauth_token_file",
                "set api_token_file (with email) or oauth_token_file, not both",
            )),
            (None, Some(_), None) => Err(ConnectorError::config(
                "email",
                "api_token_file is set, so the email of the token's owner is needed too",
            )),
            (Some(_), None, None) => Err(ConnectorError::config(
                "api_token_file",
                "email is set, so the API token file is needed too",
            )),
            (Some(_), None, Some(_)) => Err(ConnectorError::config(
                "email",
                "email goes with api_token_file; an OAuth token needs no email",
            )),
            (None, None, None) => Err(ConnectorError::config(
                "api_token_file",
                "set email and api_token_file, or oauth_token_file",
            )),
        }
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

    fn key_of(result: Result<Settings, ConnectorError>) -> String {
        match result {
            Err(ConnectorError::Config { key, .. }) => key,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn subdomain_and_api_token_make_the_zendesk_url() {
        let s = parse(r#"{"subdomain":"acme","email":"a@acme.se","api_token_file":"/t"}"#).unwrap();
        assert_eq!(s.base().unwrap(), "https://acme.zendesk.com/api/v2");
        assert_eq!(s.check_after_secs, 3600);
        assert!(!s.activity);
        assert!(matches!(s.auth().unwrap(), AuthSetting::ApiToken { .. }));
    }

    #[test]
    fn base_url_and_oauth_token() {
        let s =
            parse(r#"{"base_url":"http://127.0.0.1:9/api/v2/","oauth_token_file":"/t"}"#).unwrap();
        assert_eq!(s.base().unwrap(), "http://127.0.0.1:9/api/v2");
        assert!(matches!(s.auth().unwrap(), AuthSetting::OAuth { .. }));
    }

    #[test]
    fn each_mistake_names_its_key() {
        let cases = [
            (r#"{"email":"a@b.se","api_token_file":"/t"}"#, "subdomain"),
            (
                r#"{"subdomain":"acme.zendesk.com","email":"a@b.se","api_token_file":"/t"}"#,
                "subdomain",
            ),
            (
                r#"{"subdomain":"a","base_url":"https://x/api/v2","oauth_token_file":"/t"}"#,
                "base_url",
            ),
            (
                r#"{"base_url":"ftp://x","oauth_token_file":"/t"}"#,
                "base_url",
            ),
            (r#"{"subdomain":"a"}"#, "api_token_file"),
            (r#"{"subdomain":"a","api_token_file":"/t"}"#, "email"),
            (r#"{"subdomain":"a","email":"a@b.se"}"#, "api_token_file"),
            (
                r#"{"subdomain":"a","email":"a@b.se","api_token_file":"/t","oauth_token_file":"/o"}"#,
                "oauth_token_file",
            ),
            (
                r#"{"subdomain":"a","oauth_token_file":"/o","check_after_secs":0}"#,
                "check_after_secs",
            ),
            (
                r#"{"subdomain":"a","oauth_token_file":"/o","http":{"timeout_secs":0}}"#,
                "http.timeout_secs",
            ),
            (
                r#"{"subdomain":"a","oauth_token_file":"/o","token":"x"}"#,
                "token",
            ),
        ];
        for (json, key) in cases {
            assert_eq!(key_of(parse(json)), key, "{json}");
        }
    }

    /// `gallra check` shows every mistake at once, not one per edit.
    #[test]
    fn every_settings_problem_is_reported_at_once() {
        let settings = serde_json::json!({ "subdomain": "acme", "email": "a@acme.se", "api_token_file": "/t", "check_after_secs": 0, "http": { "timeout_secs": 0 } });
        let keys =
            gallra_plugin_api::testing::settings_problems::<crate::ZendeskConnector>(&settings);
        assert_eq!(keys, ["check_after_secs", "http.timeout_secs"]);
    }
}
