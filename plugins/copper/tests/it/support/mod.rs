//! Shared by the copper connector's tests: a token file, settings pointing at the testkit's
//! Copper, opening the connector as gallra does, and subjects.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use gallra_plugin_api::{
    parse_settings, Connector, ConnectorError, Identifier, IdentifierKind, OpenContext, Subject,
};
use gallra_plugin_copper::config::Settings;
use gallra_plugin_copper::CopperConnector;
use gallra_testkit::copper::{Copper, TOKEN, USER_EMAIL};
use serde_json::{json, Value};
use tempfile::TempDir;

/// A token file (mode 600) in a temporary directory that lives as long as this value.
pub struct TokenFile {
    _dir: TempDir,
    pub path: PathBuf,
}

impl TokenFile {
    pub fn new(token: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copper-token");
        std::fs::write(&path, format!("{token}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        Self { _dir: dir, path }
    }

    pub fn valid() -> Self {
        Self::new(TOKEN)
    }
}

/// Settings for `base_url` with fast retries, as a test wants them.
pub fn settings(base_url: &str, token: &TokenFile) -> Value {
    json!({
        "base_url": base_url,
        "user_email": USER_EMAIL,
        "token_file": token.path,
        "http": { "timeout_secs": 5, "max_retries": 3, "backoff_initial_ms": 20, "rate_per_sec": 1000 },
    })
}

/// Opens the connector from JSON settings, as gallra does (parse, validate, open).
pub fn open_settings(settings: &Value) -> Result<CopperConnector, ConnectorError> {
    let parsed: Settings = parse_settings(settings.to_string().as_bytes())?;
    CopperConnector::validate(&parsed)?;
    CopperConnector::open(
        parsed,
        OpenContext {
            system: "crm".to_owned(),
            time_zone: "Europe/Stockholm".to_owned(),
        },
    )
}

pub fn open(copper: &Copper, token: &TokenFile) -> CopperConnector {
    open_settings(&settings(&copper.base_url(), token)).expect("open the connector")
}

pub fn email(value: &str) -> Subject {
    Subject::new(vec![
        Identifier::parse(IdentifierKind::Email, value).unwrap()
    ])
}

pub fn phone(value: &str) -> Subject {
    Subject::new(vec![
        Identifier::parse(IdentifierKind::Phone, value).unwrap()
    ])
}
