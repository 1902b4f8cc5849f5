//! When things go wrong the connector says so, classified for gallra, and never guesses:
//! unreachable is temporary, bad credentials and missing mailboxes are permanent, a server
//! without UIDPLUS is refused rather than sent a plain EXPUNGE, and TLS is verified.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::{assert_no_pii, by_email, open, Account, SUBJECT};
use gallra_plugin_api::{Connector, ConnectorError, ExpireRequest};
use serde_json::json;

use crate::support::imap::{Dovecot, Message, TLS_PORT};

fn permanent_message(error: ConnectorError) -> String {
    match error {
        ConnectorError::Permanent { message } => message,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

#[test]
fn an_unreachable_server_is_transient_for_every_operation() {
    let Some(account) = Account::new() else {
        return;
    };
    let port = crate::support::closed_port();
    let connector = open(&account.settings(
        &["INBOX"],
        json!({"port": port, "record_kinds": {"old": {}}}),
    ))
    .expect("open does not connect");
    let subject = by_email(SUBJECT);
    let request = ExpireRequest {
        kind: "old".into(),
        cutoff: "2024-01-01T00:00:00Z".parse().unwrap(),
        dry_run: true,
    };
    let errors = [
        connector.lookup(&subject).map(drop),
        connector.export(&subject).map(drop),
        connector.erase(&subject).map(drop),
        connector.expire(&request).map(drop),
        connector.health(),
    ];
    for error in errors {
        let error = error.expect_err("unreachable");
        assert!(error.is_transient(), "{error:?}");
        let text = error.to_string();
        assert!(
            !text.contains("\"mail\""),
            "gallra names the system: {text}"
        );
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert_no_pii(&error, &[SUBJECT]);
    }
}

#[test]
fn a_wrong_password_is_permanent_and_names_the_remedy() {
    let Some(account) = Account::new() else {
        return;
    };
    let mut settings = account.settings(&["INBOX"], json!({}));
    settings["password_file"] = json!(crate::support::write_secret(account.dir.path(), "wrong"));
    let connector = open(&settings).expect("open");
    let message = permanent_message(connector.lookup(&by_email(SUBJECT)).unwrap_err());
    assert!(
        message.contains("check username and password_file"),
        "{message}"
    );
    assert!(!message.contains("wrong"), "{message}");
    assert!(connector.health().is_err());
}

#[test]
fn a_missing_mailbox_is_permanent_never_nothing_found() {
    let Some(account) = Account::new() else {
        return;
    };
    account.seed();
    let connector = account.connector(&["INBOX", "Sent Items"]);
    for error in [
        connector.lookup(&by_email(SUBJECT)).map(drop).unwrap_err(),
        connector.erase(&by_email(SUBJECT)).map(drop).unwrap_err(),
    ] {
        assert_no_pii(&error, &[SUBJECT]);
        let message = permanent_message(error);
        assert!(message.contains("mailbox \"Sent Items\""), "{message}");
        assert!(message.contains("check mailboxes"), "{message}");
    }
}

#[test]
fn health_checks_the_login() {
    let Some(account) = Account::new() else {
        return;
    };
    account.connector(&["INBOX"]).health().expect("healthy");
}

#[test]
fn starttls_and_implicit_tls_verify_the_server_against_ca_file() {
    let Some(account) = Account::new() else {
        return;
    };
    let Some(ca_file) = Dovecot::ca_file() else {
        eprintln!("SKIPPED: the test Dovecot has no TLS (no openssl when scripts/dovecot.sh ran)");
        return;
    };
    account.seed();
    for (tls, port) in [
        ("starttls", crate::support::imap::PORT),
        ("implicit", TLS_PORT),
    ] {
        for host in ["localhost", "127.0.0.1"] {
            let connector = open(&account.settings(
                &["INBOX", "Sent"],
                json!({"tls": tls, "port": port, "host": host, "ca_file": ca_file}),
            ))
            .expect("open");
            let found = connector.lookup(&by_email(SUBJECT)).expect(tls);
            assert_eq!(found.records.len(), 3, "{tls} {host}");
        }
    }
}

#[test]
fn an_untrusted_certificate_is_permanent() {
    let Some(account) = Account::new() else {
        return;
    };
    if Dovecot::ca_file().is_none() {
        eprintln!("SKIPPED: the test Dovecot has no TLS");
        return;
    }
    // The system's CA store does not know the test CA.
    let connector = open(&account.settings(
        &["INBOX"],
        json!({"tls": "implicit", "port": TLS_PORT, "host": "localhost"}),
    ))
    .expect("open");
    let message = permanent_message(connector.lookup(&by_email(SUBJECT)).unwrap_err());
    assert!(message.contains("TLS with localhost"), "{message}");
    assert!(message.contains("ca_file"), "{message}");
}

#[test]
fn an_expired_record_kind_that_is_not_configured_is_permanent() {
    let Some(account) = Account::new() else {
        return;
    };
    let connector = account.connector(&["INBOX"]);
    let error = connector
        .expire(&ExpireRequest {
            kind: "nope".into(),
            cutoff: "2024-01-01T00:00:00Z".parse().unwrap(),
            dry_run: true,
        })
        .unwrap_err();
    assert!(!error.is_transient());
}

/// A scripted IMAP server for what Dovecot will not do: one that lacks UIDPLUS or
/// STARTTLS. It records every command it receives.
struct FakeServer {
    port: u16,
    commands: Arc<Mutex<Vec<String>>>,
}

impl FakeServer {
    /// Serves connections until the test ends, answering with `capabilities` and, for
    /// `UID SEARCH`/`UID FETCH`, one message from the subject.
    fn start(capabilities: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&commands);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let _ = stream.write_all(b"* OK fake IMAP ready\r\n");
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    let command = line.trim_end().to_owned();
                    line.clear();
                    log.lock().unwrap().push(command.clone());
                    let (tag, rest) = command.split_once(' ').unwrap_or((&command, ""));
                    let verb = rest.to_ascii_uppercase();
                    let reply = if verb.starts_with("STARTTLS") {
                        format!("{tag} BAD STARTTLS is not supported\r\n")
                    } else if verb.starts_with("CAPABILITY") {
                        format!("* CAPABILITY {capabilities}\r\n{tag} OK done\r\n")
                    } else if verb.starts_with("SELECT") || verb.starts_with("EXAMINE") {
                        format!("* 1 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n")
                    } else if verb.starts_with("UID SEARCH") {
                        format!("* SEARCH 7\r\n{tag} OK done\r\n")
                    } else if verb.starts_with("UID FETCH") {
                        format!(
                            "* 1 FETCH (UID 7 ENVELOPE (NIL \"hi\" ((NIL NIL \"anna\" \
                             \"example.se\")) NIL NIL NIL NIL NIL NIL NIL))\r\n{tag} OK done\r\n"
                        )
                    } else if verb.starts_with("LOGOUT") {
                        format!("* BYE\r\n{tag} OK bye\r\n")
                    } else {
                        format!("{tag} OK done\r\n")
                    };
                    if stream.write_all(reply.as_bytes()).is_err() {
                        break;
                    }
                }
            }
        });
        Self { port, commands }
    }

    fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }
}

fn fake_settings(dir: &tempfile::TempDir, port: u16, tls: &str) -> serde_json::Value {
    json!({
        "host": "127.0.0.1",
        "port": port,
        "tls": tls,
        "username": "gallra",
        "password_file": crate::support::write_secret(dir.path(), "secret"),
        "mailboxes": ["INBOX"],
        "record_kinds": {"old": {}},
    })
}

#[test]
fn without_uidplus_erase_is_refused_and_no_expunge_is_ever_sent() {
    let server = FakeServer::start("IMAP4rev1 LITERAL+");
    let dir = tempfile::tempdir().unwrap();
    let connector = open(&fake_settings(&dir, server.port, "none")).expect("open");
    let subject = by_email(SUBJECT);

    // Reading needs no UIDPLUS.
    let found = connector.lookup(&subject).expect("lookup");
    assert_eq!(found.records.len(), 1);

    let error = connector.erase(&subject).unwrap_err();
    assert_no_pii(&error, &[SUBJECT]);
    let message = permanent_message(error);
    assert!(message.contains("UIDPLUS"), "{message}");
    let expire = connector.expire(&ExpireRequest {
        kind: "old".into(),
        cutoff: "2024-01-01T00:00:00Z".parse().unwrap(),
        dry_run: false,
    });
    assert!(permanent_message(expire.unwrap_err()).contains("UIDPLUS"));

    let commands = server.commands();
    assert!(
        commands
            .iter()
            .all(|c| !c.contains("EXPUNGE") && !c.contains("STORE")),
        "{commands:#?}"
    );
}

#[test]
fn starttls_refused_by_the_server_is_permanent_and_sends_no_password() {
    let server = FakeServer::start("IMAP4rev1");
    let dir = tempfile::tempdir().unwrap();
    let connector = open(&fake_settings(&dir, server.port, "starttls")).expect("open");
    let message = permanent_message(connector.lookup(&by_email(SUBJECT)).unwrap_err());
    assert!(message.contains("does not offer STARTTLS"), "{message}");
    let commands = server.commands();
    assert!(
        commands.iter().all(|c| !c.contains("LOGIN")),
        "{commands:#?}"
    );
}

#[test]
fn a_dropped_session_is_replaced_without_failing_the_call() {
    let Some(account) = Account::new() else {
        return;
    };
    account.seed();
    let connector = account.connector(&["INBOX", "Sent"]);
    assert_eq!(
        connector.lookup(&by_email(SUBJECT)).unwrap().records.len(),
        3
    );
    // The server ends every session of the user (as it does to idle ones after a while).
    let kicked = std::process::Command::new("doveadm")
        .args(["-c", &dovecot_config(), "kick", account.dovecot.username()])
        .output();
    match kicked {
        Ok(out) if out.status.success() => {}
        other => {
            eprintln!("SKIPPED: doveadm kick did not work: {other:?}");
            return;
        }
    }
    account.append(
        "INBOX",
        &Message::new(SUBJECT, "x@shop.se", "Again", "2024-03-05T10:00:00Z"),
    );
    assert_eq!(
        connector.lookup(&by_email(SUBJECT)).unwrap().records.len(),
        4
    );
}

fn dovecot_config() -> String {
    let dir = std::env::var("GALLRA_DOVECOT_DIR").unwrap_or("/tmp/gallra-dovecot".into());
    format!("{dir}/dovecot.conf")
}
