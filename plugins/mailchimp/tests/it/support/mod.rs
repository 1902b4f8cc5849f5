//! Test support: the testkit's Mailchimp, settings that point the connector at it (the key
//! in a private temporary file), and subjects.

use gallra_plugin_api::{testing, ConnectorError};
use gallra_plugin_mailchimp::MailchimpConnector;
pub use gallra_testkit::connector::{assert_bad_credentials, assert_transient, by_email, owned};
pub use gallra_testkit::mailchimp::{Mailchimp, NewMember, API_KEY};
pub use gallra_testkit::secrets::Secrets;
use serde_json::{json, Value};

pub const SYSTEM: &str = "newsletter";

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
    testing::open_settings(SYSTEM, settings)
}

pub fn open(server: &Mailchimp, secrets: &Secrets) -> MailchimpConnector {
    open_settings(&settings(server, secrets)).expect("connector opens")
}

/// Seven audiences (four pages of two), `list0` … `list6`.
pub fn with_audiences(server: &Mailchimp) {
    for n in 0..7 {
        server.add_list(&format!("list{n}"), &format!("Audience {n}"));
    }
}
