//! Test support: the testkit's Zendesk, settings that point the connector at it (token files
//! in a private temporary directory), and subjects.

use gallra_plugin_api::{testing, ConnectorError};
use gallra_plugin_zendesk::ZendeskConnector;
pub use gallra_testkit::connector::{
    assert_bad_credentials, assert_no_pii, assert_transient, by_email, owned,
};
pub use gallra_testkit::secrets::Secrets;
pub use gallra_testkit::zendesk::{
    Deletion, NewUser, Zendesk, AGENT_EMAIL, API_TOKEN, OAUTH_TOKEN,
};
use serde_json::{json, Value};

pub const SYSTEM: &str = "helpdesk";

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
    testing::open_settings(SYSTEM, settings)
}

pub fn open(server: &Zendesk, secrets: &Secrets) -> ZendeskConnector {
    open_settings(&settings(server, secrets)).expect("connector opens")
}
