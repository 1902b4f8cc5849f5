//! Test support: the testkit's Zendesk, settings that point the connector at it (token files
//! in a private temporary directory), and subjects.

#![allow(dead_code, unused_imports)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use gallra_plugin_api::{
    parse_settings, Connector, ConnectorError, Identifier, IdentifierKind, OpenContext, Subject,
};
use gallra_plugin_zendesk::config::Settings;
use gallra_plugin_zendesk::ZendeskConnector;
pub use gallra_testkit::zendesk::{
    Deletion, NewUser, Zendesk, AGENT_EMAIL, API_TOKEN, OAUTH_TOKEN,
};
use serde_json::{json, Value};
use tempfile::TempDir;

pub const SYSTEM: &str = "helpdesk";

/// Secret files that live as long as the test needs them.
pub struct Secrets {
    dir: TempDir,
}

impl Secrets {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// A file holding `value`, readable by its owner only.
    pub fn file(&self, name: &str, value: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("{value}\n")).expect("write the secret");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        path
    }
}

/// Settings for the test server with the API token, quick retries.
pub fn settings(server: &Zendesk, secrets: &Secrets) -> Value {
    json!({
        "base_url": server.base_url(),
        "email": AGENT_EMAIL,
        "api_token_file": secrets.file("token", API_TOKEN),
        "check_after_secs": 900,
        "http": {"timeout_secs": 5, "max_retries": 5, "backoff_initial_ms": 20, "backoff_max_secs": 1},
    })
}

/// Settings for a port nobody listens on.
pub fn unreachable_settings(secrets: &Secrets) -> Value {
    json!({
        "base_url": format!("{}/api/v2", gallra_testkit::server::unreachable_url()),
        "email": AGENT_EMAIL,
        "api_token_file": secrets.file("token", API_TOKEN),
        "http": {"timeout_secs": 2, "max_retries": 1, "backoff_initial_ms": 10},
    })
}

/// Opens the connector the way the daemon does: JSON settings, validate, open.
pub fn open_settings(settings: &Value) -> Result<ZendeskConnector, ConnectorError> {
    let parsed: Settings = parse_settings(settings.to_string().as_bytes())?;
    ZendeskConnector::validate(&parsed)?;
    ZendeskConnector::open(
        parsed,
        OpenContext {
            system: SYSTEM.to_owned(),
            time_zone: "Europe/Stockholm".to_owned(),
        },
    )
}

pub fn open(server: &Zendesk, secrets: &Secrets) -> ZendeskConnector {
    open_settings(&settings(server, secrets)).expect("connector opens")
}

/// A subject known by one email.
pub fn by_email(email: &str) -> Subject {
    Subject::new(vec![
        Identifier::parse(IdentifierKind::Email, email).expect("email")
    ])
}

/// Panics if an error's text holds any of `values`.
pub fn assert_no_pii(error: &ConnectorError, values: &[&str]) {
    let text = format!("{error} {error:?}").to_lowercase();
    for value in values {
        assert!(
            !text.contains(&value.to_lowercase()),
            "the error holds personal data: {text}"
        );
    }
}
