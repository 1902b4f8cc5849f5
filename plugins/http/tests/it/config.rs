//! Settings fixtures, one file per case: `config/valid/*.toml` parse and validate;
//! `config/invalid/*.toml` are refused at the key their `# key:` line names, with a message
//! holding their `# says:` line.

use std::path::{Path, PathBuf};

use gallra_plugin_api::{parse_settings, Connector, ConnectorError};
use gallra_plugin_http::config::Settings;
use gallra_plugin_http::HttpConnector;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/config")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// Parses and validates a settings file as gallra does: TOML → JSON → settings → validate.
fn load(path: &Path) -> (String, Result<Settings, ConnectorError>) {
    let text = std::fs::read_to_string(path).unwrap();
    let table: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()));
    let json = serde_json::to_vec(&table).unwrap();
    let result = parse_settings::<Settings>(&json)
        .and_then(|settings| HttpConnector::validate(&settings).map(|()| settings));
    (text, result)
}

fn directive<'t>(text: &'t str, name: &str) -> &'t str {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("# {name}: ")))
        .unwrap_or_else(|| panic!("fixture lacks a `# {name}:` line"))
}

#[test]
fn every_valid_fixture_is_accepted() {
    for path in fixtures("valid") {
        let (_, result) = load(&path);
        if let Err(e) = result {
            panic!("{}: {e:?}", path.display());
        }
    }
}

#[test]
fn every_invalid_fixture_is_refused_at_its_key() {
    for path in fixtures("invalid") {
        let (text, result) = load(&path);
        let name = path.file_name().unwrap().to_string_lossy();
        match result {
            Ok(_) => panic!("{name}: accepted"),
            Err(ConnectorError::Config { key, message }) => {
                assert_eq!(key, directive(&text, "key"), "{name}: {message}");
                let says = directive(&text, "says");
                assert!(message.contains(says), "{name}: {message:?} lacks {says:?}");
            }
            Err(other) => panic!("{name}: not a settings error: {other:?}"),
        }
    }
}

#[test]
fn the_testkit_example_claims_email_and_phone() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/valid/testkit_rest.toml");
    let settings = load(&path).1.unwrap();
    let kinds: Vec<String> = settings
        .identifier_kinds()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(kinds, ["email", "phone"]);
}

/// `gallra check` shows every mistake at once, not one per edit.
#[test]
fn every_settings_problem_is_reported_at_once() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/valid/minimal.toml");
    let mut settings: serde_json::Value =
        toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    settings["collection"] = " ".into();
    settings["http"] = serde_json::json!({ "timeout_secs": 0 });
    let keys = gallra_plugin_api::testing::settings_problems::<HttpConnector>(&settings);
    assert_eq!(keys, ["collection", "http.timeout_secs"]);
}

/// A request whose templates do not parse still has its other keys checked, and a
/// pagination table reports each of its mistakes.
#[test]
fn a_request_that_does_not_parse_leaves_the_rest_checked() {
    let settings = serde_json::json!({
        "base_url": "https://api.example.se",
        "auth": { "type": "none" },
        "lookup": [{
            "method": "POST",
            "path": "search",
            "body": { "q": "{e_mail}" },
            "results": "users",
            "pagination": { "type": "offset", "offset_param": "", "limit": 0, "total": "/total" },
        }],
        "export": { "path": "/u/{record.id", "record": "user" },
        "erase": { "method": "DELETE", "path": "/u/{record.id}" },
    });
    let keys = gallra_plugin_api::testing::settings_problems::<HttpConnector>(&settings);
    assert_eq!(
        keys,
        [
            "lookup[0].path",
            "lookup[0].body",
            "lookup[0].results",
            "lookup[0].pagination.offset_param",
            "lookup[0].pagination.limit",
            "export.path",
            "export.record",
        ]
    );
}
