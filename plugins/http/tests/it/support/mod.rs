//! Shared by the http connector's tests: the documented example settings
//! (`config/valid/testkit_rest.toml`) pointed at a running testkit REST API, a token file,
//! opening the connector as gallra does, and subjects.

use std::path::Path;

use gallra_plugin_api::{testing, Connector, ConnectorError, IdentifierKind, Subject};
use gallra_plugin_http::HttpConnector;
use gallra_testkit::connector;
use gallra_testkit::rest::{RestApi, TOKEN};
pub use gallra_testkit::secrets::SecretFile;
use serde_json::{json, Value};

/// A token file (mode 600) holding `token`, in a directory that lives as long as the value.
pub fn token_file(token: &str) -> SecretFile {
    SecretFile::new("rest-token", token)
}

/// A token file holding the token the test server accepts.
pub fn valid_token() -> SecretFile {
    token_file(TOKEN)
}

/// The example settings of the crate docs, as JSON.
pub fn example() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/valid/testkit_rest.toml");
    let table: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::to_value(table).unwrap()
}

/// The example pointed at `base_url`, with this token and fast retries.
pub fn settings_for(base_url: &str, token: &SecretFile) -> Value {
    let mut s = example();
    s["base_url"] = base_url.into();
    s["auth"]["token_file"] = json!(token.path);
    s["http"] = json!({ "timeout_secs": 5, "max_retries": 3, "backoff_initial_ms": 20 });
    s
}

pub fn settings(api: &RestApi, token: &SecretFile) -> Value {
    settings_for(&api.base_url(), token)
}

/// Opens the connector from JSON settings, as gallra does (parse, validate, open).
pub fn open_settings(settings: &Value) -> Result<HttpConnector, ConnectorError> {
    testing::open_settings("shop", settings)
}

/// A subject known by one email.
pub fn email(value: &str) -> Subject {
    connector::by_email(value)
}

/// A subject known by one phone number.
pub fn phone(value: &str) -> Subject {
    connector::subject(IdentifierKind::Phone, value)
}

pub fn keys(connector: &HttpConnector, subject: &Subject) -> Vec<String> {
    connector
        .lookup(subject)
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.key)
        .collect()
}
