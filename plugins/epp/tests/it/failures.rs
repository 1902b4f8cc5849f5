//! What goes wrong is classified so gallra does the right thing next: a registry that is
//! down or busy is Transient, a refused certificate or password is Permanent, a broken
//! frame is an error and not a panic — and no message names the contact.

use gallra_plugin_api::{Connector, ConnectorError};
use serde_json::Value;

use crate::support::{
    assert_no_personal_data, customer, open, open_settings, seeded, settings, unreachable_settings,
};

fn permanent(error: ConnectorError) -> String {
    assert_no_personal_data(&error);
    match error {
        ConnectorError::Permanent { message } => message,
        other => panic!("expected Permanent, got {other:?}"),
    }
}

fn transient(error: ConnectorError) -> String {
    assert_no_personal_data(&error);
    match error {
        ConnectorError::Transient { message, .. } => message,
        other => panic!("expected Transient, got {other:?}"),
    }
}

#[test]
fn no_client_certificate_is_refused_permanently() {
    let server = seeded();
    let mut s = settings(&server);
    let object = s.as_object_mut().unwrap();
    object.remove("client_cert_file");
    object.remove("client_key_file");
    let epp = open_settings(&s).unwrap();
    let message = permanent(epp.lookup(&customer("1001")).unwrap_err());
    assert!(
        message.contains("the registry refused the client certificate"),
        "{message}"
    );
}

#[test]
fn a_certificate_from_another_ca_is_refused_permanently() {
    let server = seeded();
    let mut s = settings(&server);
    s["client_cert_file"] = server.untrusted_client_cert_path().to_str().unwrap().into();
    s["client_key_file"] = server.untrusted_client_key_path().to_str().unwrap().into();
    let epp = open_settings(&s).unwrap();
    let message = permanent(epp.erase(&customer("1001")).unwrap_err());
    assert!(
        message.contains("refused the client certificate"),
        "{message}"
    );
    assert!(server.contact("GALLRA-1001").is_some());
}

#[test]
fn a_server_certificate_from_an_unknown_ca_is_not_trusted() {
    let server = seeded();
    let other = seeded();
    let mut s = settings(&server);
    s["ca_file"] = other.ca_pem_path().to_str().unwrap().into();
    let epp = open_settings(&s).unwrap();
    let message = permanent(epp.lookup(&customer("1001")).unwrap_err());
    assert!(message.contains("not trusted"), "{message}");
}

#[test]
fn a_wrong_password_is_permanent_and_names_the_fix() {
    let server = seeded();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pw");
    std::fs::write(&path, "wrong-password\n").unwrap();
    set_mode(&path, 0o600);
    let mut s = settings(&server);
    s["password_file"] = path.to_str().unwrap().into();
    let epp = open_settings(&s).unwrap();
    let message = permanent(epp.lookup(&customer("1001")).unwrap_err());
    assert!(message.contains("2200"), "{message}");
    assert!(message.contains("password_file"), "{message}");
    assert!(!message.contains("wrong-password"), "{message}");
}

#[test]
fn an_unreachable_registry_is_transient_not_empty() {
    let server = seeded();
    let epp = open_settings(&unreachable_settings(&server)).unwrap();
    for result in [
        epp.lookup(&customer("1001")).map(drop),
        epp.erase(&customer("1001")).map(drop),
        epp.export(&customer("1001")).map(drop),
        epp.health(),
    ] {
        let message = transient(result.unwrap_err());
        assert!(message.contains("cannot connect"), "{message}");
    }
}

#[test]
fn registry_failures_are_transient_and_2502_starts_a_new_session() {
    let server = seeded();
    let epp = open(&server);
    for code in [2400, 2500, 2502] {
        server.fail_commands_with(Some(code));
        let message = transient(epp.erase(&customer("1002")).unwrap_err());
        assert!(message.contains(&code.to_string()), "{message}");
    }
    server.fail_commands_with(None);
    assert_eq!(epp.lookup(&customer("1001")).unwrap().records.len(), 1);
}

#[test]
fn other_error_codes_are_permanent_without_the_registry_message() {
    let server = seeded();
    let epp = open(&server);
    server.fail_commands_with(Some(2201));
    let message = permanent(epp.export(&customer("1001")).unwrap_err());
    assert!(message.contains("2201 (authorization error)"), "{message}");
    assert!(!message.contains("Command failed"), "{message}");
}

#[test]
fn frame_lengths_out_of_range_are_errors_not_panics() {
    for length in [0, 3, 1024 * 1024 + 1, u32::MAX] {
        let server = seeded();
        server.set_greeting_length(Some(length));
        let epp = open(&server);
        let message = permanent(epp.lookup(&customer("1001")).unwrap_err());
        assert!(message.contains("frame length"), "{length}: {message}");
    }
}

#[test]
fn secrets_readable_by_others_are_refused_at_open() {
    let server = seeded();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pw");
    std::fs::write(&path, format!("{}\n", gallra_testkit::epp::PASSWORD)).unwrap();
    set_mode(&path, 0o644);
    let mut s = settings(&server);
    s["password_file"] = path.to_str().unwrap().into();
    assert_config_key(&s, "password_file");
    let mut s = settings(&server);
    s["client_key_file"] = Value::Null;
    assert_config_key(&s, "client_key_file");
}

fn assert_config_key(settings: &Value, key: &str) {
    match open_settings(settings) {
        Err(ConnectorError::Config { key: got, .. }) => assert_eq!(got, key),
        Err(other) => panic!("expected a settings error at {key}, got {other:?}"),
        Ok(_) => panic!("settings were accepted"),
    }
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
