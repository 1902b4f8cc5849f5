//! Shared by the copper connector's tests: a token file, settings pointing at the testkit's
//! Copper, opening the connector as gallra does, and subjects.

use gallra_plugin_api::{testing, ConnectorError, IdentifierKind, Subject};
use gallra_plugin_copper::CopperConnector;
use gallra_testkit::connector;
use gallra_testkit::copper::{Copper, TOKEN, USER_EMAIL};
pub use gallra_testkit::secrets::SecretFile;
use serde_json::{json, Value};

/// A token file (mode 600) holding `token`, in a directory that lives as long as the value.
pub fn token_file(token: &str) -> SecretFile {
    SecretFile::new("copper-token", token)
}

/// A token file holding the token the test server accepts.
pub fn valid_token() -> SecretFile {
    token_file(TOKEN)
}

/// Settings for `base_url` with fast retries, as a test wants them.
pub fn settings(base_url: &str, token: &SecretFile) -> Value {
    json!({
        "base_url": base_url,
        "user_email": USER_EMAIL,
        "token_file": token.path,
        "http": { "timeout_secs": 5, "max_retries": 3, "backoff_initial_ms": 20, "rate_per_sec": 1000 },
    })
}

/// Opens the connector from JSON settings, as gallra does (parse, validate, open).
pub fn open_settings(settings: &Value) -> Result<CopperConnector, ConnectorError> {
    testing::open_settings("crm", settings)
}

pub fn open(copper: &Copper, token: &SecretFile) -> CopperConnector {
    open_settings(&settings(&copper.base_url(), token)).expect("open the connector")
}

/// A subject known by one email.
pub fn email(value: &str) -> Subject {
    connector::by_email(value)
}

/// A subject known by one phone number.
pub fn phone(value: &str) -> Subject {
    connector::subject(IdentifierKind::Phone, value)
}
