//! Shared by the http connector's tests: the documented example settings
//! (`config/valid/testkit_rest.toml`) pointed at a running testkit REST API, a token file,
//! opening the connector as gallra does, and subjects.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use gallra_plugin_api::{
    parse_settings, Connector, ConnectorError, Identifier, IdentifierKind, OpenContext, Subject,
};
use gallra_plugin_http::config::Settings;
use gallra_plugin_http::HttpConnector;
use gallra_testkit::rest::{RestApi, TOKEN};
use serde_json::{json, Value};
use tempfile::TempDir;

/// A token file (mode 600) that lives as long as this value.
pub struct TokenFile {
    _dir: TempDir,
    pub path: PathBuf,
}

impl TokenFile {
    pub fn new(token: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rest-token");
        std::fs::write(&path, format!("{token}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        Self { _dir: dir, path }
    }

    pub fn valid() -> Self {
        Self::new(TOKEN)
    }
}

/// The example settings of the crate docs, as JSON.
pub fn example() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/valid/testkit_rest.toml");
    let table: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::to_value(table).unwrap()
}

/// The example pointed at `base_url`, with this token and fast retries.
pub fn settings_for(base_url: &str, token: &TokenFile) -> Value {
    let mut s = example();
    s["base_url"] = base_url.into();
    s["auth"]["token_file"] = json!(token.path);
    s["http"] = json!({ "timeout_secs": 5, "max_retries": 3, "backoff_initial_ms": 20 });
    s
}

pub fn settings(api: &RestApi, token: &TokenFile) -> Value {
    settings_for(&api.base_url(), token)
}

/// Opens the connector from JSON settings, as gallra does (parse, validate, open).
pub fn open_settings(settings: &Value) -> Result<HttpConnector, ConnectorError> {
    let parsed: Settings = parse_settings(settings.to_string().as_bytes())?;
    HttpConnector::validate(&parsed)?;
    HttpConnector::open(
        parsed,
        OpenContext {
            system: "shop".to_owned(),
            time_zone: "Europe/Stockholm".to_owned(),
        },
    )
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

pub fn keys(connector: &HttpConnector, subject: &Subject) -> Vec<String> {
    connector
        .lookup(subject)
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.key)
        .collect()
}
