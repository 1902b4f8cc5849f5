//! Test support: the testkit's Mailchimp, settings that point the connector at it (the key
//! in a private temporary file), and subjects.

#![allow(dead_code, unused_imports)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use gallra_plugin_api::{
    parse_settings, Connector, ConnectorError, Identifier, IdentifierKind, OpenContext, Subject,
};
use gallra_plugin_mailchimp::config::Settings;
use gallra_plugin_mailchimp::MailchimpConnector;
pub use gallra_testkit::mailchimp::{Mailchimp, NewMember, API_KEY};
use serde_json::{json, Value};
use tempfile::TempDir;

pub const SYSTEM: &str = "newsletter";

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

/// Settings for the test server: small audience pages, quick retries.
pub fn settings(server: &Mailchimp, secrets: &Secrets) -> Value {
    json!({
        "api_key_file": secrets.file("key", API_KEY),
        "base_url": server.base_url(),
        "page_size": 2,
        "http": {"timeout_secs": 5, "max_retries": 8, "backoff_initial_ms": 20, "backoff_max_secs": 1},
    })
}

/// Settings for a port nobody listens on.
pub fn unreachable_settings(secrets: &Secrets) -> Value {
    json!({
        "api_key_file": secrets.file("key", API_KEY),
        "base_url": format!("{}/3.0", gallra_testkit::server::unreachable_url()),
        "http": {"timeout_secs": 2, "max_retries": 1, "backoff_initial_ms": 10},
    })
}

/// Opens the connector the way the daemon does: JSON settings, validate, open.
pub fn open_settings(settings: &Value) -> Result<MailchimpConnector, ConnectorError> {
    let parsed: Settings = parse_settings(settings.to_string().as_bytes())?;
    MailchimpConnector::validate(&parsed)?;
    MailchimpConnector::open(
        parsed,
        OpenContext {
            system: SYSTEM.to_owned(),
            time_zone: "Europe/Stockholm".to_owned(),
        },
    )
}

pub fn open(server: &Mailchimp, secrets: &Secrets) -> MailchimpConnector {
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

/// Seven audiences (four pages of two), `list0` … `list6`.
pub fn with_audiences(server: &Mailchimp) {
    for n in 0..7 {
        server.add_list(&format!("list{n}"), &format!("Audience {n}"));
    }
}
