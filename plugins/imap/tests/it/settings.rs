//! Settings mistakes are caught before anything touches the server, and name their key;
//! the password file is read at open and never shown.

use gallra_plugin_api::ConnectorError;
use serde_json::{json, Value};

use crate::support::{open, write_secret};

/// Valid settings (for a server that need not exist: nothing here connects).
fn valid(dir: &tempfile::TempDir) -> Value {
    json!({
        "host": "imap.example.se",
        "tls": "implicit",
        "username": "gallra@example.se",
        "password_file": write_secret(dir.path(), "s3cret-pw"),
        "mailboxes": ["INBOX", "Sent"],
        "record_kinds": {"old_mail": {"clock": "internal"}},
    })
}

type Change = Box<dyn FnOnce(&mut Value)>;

fn error_of(settings: Value) -> ConnectorError {
    match open(&settings) {
        Err(e) => e,
        Ok(_) => panic!("settings were accepted: {settings}"),
    }
}

/// The key of every problem `validate` finds in `settings`, in order.
fn problem_keys(settings: &Value) -> Vec<String> {
    gallra_plugin_api::testing::settings_problems::<gallra_plugin_imap::ImapConnector>(settings)
}

#[test]
fn valid_settings_open_without_connecting() {
    let dir = tempfile::tempdir().unwrap();
    open(&valid(&dir)).expect("valid settings open");
    let mut minimal = valid(&dir);
    minimal.as_object_mut().unwrap().remove("record_kinds");
    minimal.as_object_mut().unwrap().remove("tls");
    open(&minimal).expect("tls and record_kinds are optional");
}

#[test]
fn settings_errors_carry_the_key_path() {
    let cases: Vec<(&str, Change)> = vec![
        ("tls", Box::new(|s| s["tls"] = json!("none"))),
        ("tls", Box::new(|s| s["tls"] = json!("ssl"))),
        (
            "ca_file",
            Box::new(|s| {
                s["host"] = json!("127.0.0.1");
                s["tls"] = json!("none");
                s["ca_file"] = json!("/etc/ssl/ca.pem");
            }),
        ),
        ("ca_file", Box::new(|s| s["ca_file"] = json!("ca.pem"))),
        (
            "host",
            Box::new(|s| s["host"] = json!("imaps://imap.example.se")),
        ),
        ("host", Box::new(|s| s["host"] = json!(""))),
        ("port", Box::new(|s| s["port"] = json!(0))),
        ("port", Box::new(|s| s["port"] = json!(70000))),
        ("username", Box::new(|s| s["username"] = json!("a\r\nb"))),
        (
            "password_file",
            Box::new(|s| s["password_file"] = json!("relative/pw")),
        ),
        ("mailboxes", Box::new(|s| s["mailboxes"] = json!([]))),
        (
            "mailboxes[1]",
            Box::new(|s| s["mailboxes"] = json!(["INBOX", ""])),
        ),
        (
            "mailboxes[1]",
            Box::new(|s| s["mailboxes"] = json!(["INBOX", "inbox"])),
        ),
        (
            "mailboxes[0]",
            Box::new(|s| s["mailboxes"] = json!(["Archive/*"])),
        ),
        ("timeout_secs", Box::new(|s| s["timeout_secs"] = json!(0))),
        (
            "record_kinds.old mail",
            Box::new(|s| s["record_kinds"] = json!({"old mail": {}})),
        ),
        (
            "record_kinds.old.mailboxes",
            Box::new(|s| s["record_kinds"] = json!({"old": {"mailboxes": []}})),
        ),
        (
            "record_kinds.old.clock",
            Box::new(|s| s["record_kinds"] = json!({"old": {"clock": "received"}})),
        ),
        (
            "record_kinds.old.older_than",
            Box::new(|s| s["record_kinds"] = json!({"old": {"older_than": "1y"}})),
        ),
        ("mailbox", Box::new(|s| s["mailbox"] = json!(["INBOX"]))),
        (
            "",
            Box::new(|s| s.as_object_mut().unwrap().remove("host").map(drop).unwrap()),
        ),
    ];
    for (want, change) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = valid(&dir);
        change(&mut settings);
        match error_of(settings.clone()) {
            ConnectorError::Config { key, message } => {
                assert_eq!(key, want, "{settings} gave {message}");
            }
            other => panic!("expected a settings error for {settings}, got {other:?}"),
        }
    }
}

#[test]
fn no_encryption_is_fine_on_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    for host in ["127.0.0.1", "localhost", "::1"] {
        let mut settings = valid(&dir);
        settings["host"] = json!(host);
        settings["tls"] = json!("none");
        open(&settings).unwrap_or_else(|e| panic!("{host}: {e}"));
    }
}

#[test]
fn the_password_file_must_exist_be_private_and_hold_one_line() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pw");
    let settings = |path: &std::path::Path| {
        let mut s = valid(&dir);
        s["password_file"] = json!(path);
        s
    };
    let message = |e: ConnectorError| match e {
        ConnectorError::Config { key, message } => {
            assert_eq!(key, "password_file");
            message
        }
        other => panic!("{other:?}"),
    };

    assert!(message(error_of(settings(&path))).contains("cannot read"));

    std::fs::write(&path, "s3cret-pw\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = message(error_of(settings(&path)));
    assert!(text.contains("others can read it"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    open(&settings(&path)).expect("private file");

    std::fs::write(&path, "\n").unwrap();
    assert!(message(error_of(settings(&path))).contains("is empty"));
    std::fs::write(&path, "one\ntwo\n").unwrap();
    let text = message(error_of(settings(&path)));
    assert!(text.contains("one line") && !text.contains("two"), "{text}");
}

#[test]
fn a_ca_file_without_certificates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let mut settings = valid(&dir);
    settings["ca_file"] = json!(ca);
    match error_of(settings) {
        ConnectorError::Config { key, message } => {
            assert_eq!(key, "ca_file");
            assert!(message.contains("no usable PEM certificate"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

/// `gallra check` shows every mistake at once, not one per edit.
#[test]
fn every_settings_problem_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = valid(&dir);
    settings["port"] = json!(0);
    settings["timeout_secs"] = json!(0);
    let keys = problem_keys(&settings);
    assert_eq!(keys, ["port", "timeout_secs"]);
}

/// Each mistaken mailbox in a list is named, not only the first.
#[test]
fn every_mistaken_mailbox_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = valid(&dir);
    settings["mailboxes"] = json!(["", "INBOX", "Sent*", "inbox"]);
    let keys = problem_keys(&settings);
    assert_eq!(keys, ["mailboxes[0]", "mailboxes[2]", "mailboxes[3]"]);
}
