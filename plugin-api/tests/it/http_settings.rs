//! `HttpSettings` as a sysadmin writes them, and `Secret` files.

#![cfg(feature = "http")]

use gallra_plugin_api::http::{HttpClient, HttpSettings, Secret};
use gallra_plugin_api::{parse_settings, ConnectorError};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    http: HttpSettings,
}

#[test]
fn every_field_has_a_default() {
    let s: Settings = parse_settings(b"{}").unwrap();
    assert_eq!(s.http, HttpSettings::default());
    assert_eq!(s.http.timeout_secs, 30);
    assert_eq!(s.http.max_retries, 5);
    assert_eq!(s.http.rate_per_sec, None);
}

#[test]
fn a_typo_is_refused_with_its_key() {
    let error = parse_settings::<Settings>(br#"{"http": {"rate_per_second": 4}}"#).unwrap_err();
    match error {
        ConnectorError::Config { key, message } => {
            assert_eq!(key, "http.rate_per_second");
            assert!(message.contains("rate_per_second"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn out_of_range_values_name_their_key() {
    for (json, key) in [
        (r#"{"rate_per_sec": 0}"#, "http.rate_per_sec"),
        (r#"{"rate_per_sec": -1.5}"#, "http.rate_per_sec"),
        (r#"{"rate_per_sec": 2, "burst": 0}"#, "http.burst"),
        (r#"{"burst": 3}"#, "http.burst"),
        (r#"{"timeout_secs": 0}"#, "http.timeout_secs"),
    ] {
        let settings: HttpSettings = serde_json::from_str(json).unwrap();
        match HttpClient::new("crm", &settings).unwrap_err() {
            ConnectorError::Config { key: got, .. } => assert_eq!(got, key, "{json}"),
            other => panic!("{json}: {other:?}"),
        }
    }
}

#[test]
fn every_out_of_range_value_is_named_at_once() {
    let settings: HttpSettings =
        serde_json::from_str(r#"{"timeout_secs": 0, "backoff_initial_ms": 0}"#).unwrap();
    let error = settings.validate("http").unwrap_err();
    let keys: Vec<String> = error
        .settings_problems()
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(keys, ["http.timeout_secs", "http.backoff_initial_ms"]);
}

#[test]
fn a_secret_file_is_read_without_its_newline_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "tok-123\n").unwrap();
    let secret = Secret::from_file(&path).unwrap();
    assert_eq!(secret.expose(), "tok-123");
    assert_eq!(format!("{secret}"), "***");
    assert_eq!(format!("{secret:?}"), "***");
}

#[test]
fn a_missing_or_empty_secret_file_names_the_path_not_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let error = Secret::from_file(&missing).unwrap_err().to_string();
    assert!(error.contains(&missing.display().to_string()), "{error}");

    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let error = Secret::from_file(&empty).unwrap_err().to_string();
    assert!(error.contains("empty"), "{error}");
}
