//! Test support: a fresh user on the test Dovecot (see `gallra_testkit::imap`), the
//! connector's settings for it, and subjects.
//!
//! Dovecot unreachable: the test prints `SKIPPED: …` and passes, unless
//! `GALLRA_REQUIRE_SERVERS=1` (CI), which makes it fail. Start it with `scripts/dovecot.sh`.

use std::path::{Path, PathBuf};

use gallra_plugin_api::{testing, ConnectorError, OpenContext};
use gallra_plugin_imap::ImapConnector;
pub use gallra_testkit::connector::{assert_no_pii, by_email};
use gallra_testkit::imap::{Dovecot, Message, HOST, PASSWORD, PORT};
use serde_json::{json, Value};

#[allow(unused_imports)] // not every test file seeds directly
pub use gallra_testkit::imap;

pub const SYSTEM: &str = "mail";
pub const SUBJECT: &str = "anna@example.se";
pub const BYSTANDER: &str = "bo@example.se";

/// A test's own mail account and a directory for its password file.
pub struct Account {
    pub dovecot: Dovecot,
    pub dir: tempfile::TempDir,
}

impl Account {
    /// A fresh account, or `None` when Dovecot is unreachable (SKIPPED).
    pub fn new() -> Option<Self> {
        let dovecot = Dovecot::connect()?;
        Some(Self {
            dovecot,
            dir: tempfile::tempdir().expect("tempdir"),
        })
    }

    /// Settings for this account over plain IMAP with `mailboxes`, plus `rest`.
    pub fn settings(&self, mailboxes: &[&str], rest: Value) -> Value {
        let mut settings = json!({
            "host": HOST,
            "port": PORT,
            "tls": "none",
            "username": self.dovecot.username(),
            "password_file": write_secret(self.dir.path(), PASSWORD),
            "mailboxes": mailboxes,
            "timeout_secs": 10,
        });
        let map = settings.as_object_mut().expect("object");
        for (k, v) in rest.as_object().expect("settings object") {
            map.insert(k.clone(), v.clone());
        }
        settings
    }

    /// The connector for `mailboxes`; panics if it does not open.
    pub fn connector(&self, mailboxes: &[&str]) -> ImapConnector {
        open(&self.settings(mailboxes, json!({}))).expect("open connector")
    }

    pub fn append(&self, mailbox: &str, message: &Message) -> u32 {
        self.dovecot.append(mailbox, message)
    }

    /// Seeds the standard mail: the subject's messages in INBOX and Sent, a bystander's,
    /// and near misses that only a substring search would take for the subject's.
    pub fn seed(&self) -> Seeded {
        let d = "2024-03-01T10:00:00Z";
        let from_subject = self.append(
            "INBOX",
            &Message::new(
                "Anna Svensson <Anna@Example.SE>",
                "support@shop.se",
                "Order 1",
                d,
            ),
        );
        let cc_subject = self.append(
            "INBOX",
            &Message::new("support@shop.se", "team@shop.se", "About Anna", d).cc(SUBJECT),
        );
        let bystander = self.append(
            "INBOX",
            &Message::new(BYSTANDER, "support@shop.se", "Bo's order", d),
        );
        let near_miss = self.append(
            "INBOX",
            &Message::new(
                "joanna@example.se",
                "anna@example.se.other.test",
                "Not Anna",
                d,
            ),
        );
        let to_subject = self.append(
            "Sent",
            &Message::new("support@shop.se", SUBJECT, "Re: Order 1", d),
        );
        let sent_bystander = self.append(
            "Sent",
            &Message::new("support@shop.se", BYSTANDER, "Re: Bo's order", d),
        );
        Seeded {
            inbox_subject: vec![from_subject, cc_subject],
            inbox_others: vec![bystander, near_miss],
            sent_subject: vec![to_subject],
            sent_others: vec![sent_bystander],
        }
    }
}

/// The UIDs of the standard mail.
pub struct Seeded {
    pub inbox_subject: Vec<u32>,
    pub inbox_others: Vec<u32>,
    pub sent_subject: Vec<u32>,
    pub sent_others: Vec<u32>,
}

/// Writes a secret file readable only by its owner.
pub fn write_secret(dir: &Path, contents: &str) -> PathBuf {
    let path = dir.join("password");
    gallra_testkit::secrets::write_private(&path, contents);
    path
}

/// Parses settings JSON as the host hands it over, validates, and opens.
pub fn open(settings: &Value) -> Result<ImapConnector, ConnectorError> {
    testing::open_settings(SYSTEM, settings)
}

pub fn context() -> OpenContext {
    testing::context(SYSTEM)
}

/// A local port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// Whether header text names one of `emails` as a whole address (not as part of
/// `joanna@…` or `…@example.se.other.test`).
pub fn mentions(headers: &str, emails: &[String]) -> bool {
    headers
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '<' | '>' | ':' | ';'))
        .any(|token| emails.iter().any(|e| token.eq_ignore_ascii_case(e)))
}
