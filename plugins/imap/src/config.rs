//! The settings a sysadmin writes under `[systems.NAME.settings]` for `plugin = "imap"`.
//!
//! serde catches unknown keys and wrong types; [`Settings::validate`] checks the rest
//! (a plain-text connection only to this machine, mailbox names, record kinds) without
//! touching the server, and names the offending key (`mailboxes[1]`, `record_kinds.old.clock`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use gallra_plugin_api::{ConnectorError, SettingsProblems};
use serde::Deserialize;

/// The connector's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The IMAP server's host name or IP address, e.g. `imap.example.se`. With TLS, the
    /// server's certificate must be valid for this name.
    pub host: String,
    /// The server's TCP port. Default: 993 with `tls = "implicit"`, else 143.
    pub port: Option<u16>,
    /// How the connection is encrypted: `implicit` (TLS from the first byte, usually port
    /// 993; the default), `starttls` (plain connection upgraded with STARTTLS before login,
    /// usually port 143; refused if the server does not offer it) or `none` (no encryption:
    /// only allowed when `host` is this machine, `localhost` or a loopback address).
    #[serde(default)]
    pub tls: TlsMode,
    /// Absolute path of a PEM file with the CA certificate(s) that signed the server's
    /// certificate, trusted instead of the system's CA store. For servers with a private CA.
    pub ca_file: Option<PathBuf>,
    /// The user gallra logs in as (the mailbox owner, or an admin/master user that can see
    /// the mailboxes). Sent with the IMAP `LOGIN` command.
    pub username: String,
    /// Absolute path of a file holding the password (a trailing newline is ignored). It
    /// must not be readable by others (`chmod 600` or `640`).
    pub password_file: PathBuf,
    /// The mailboxes (folders) to search, e.g. `["INBOX", "Sent", "Archive"]`, written as
    /// the mail client shows them (`"Skräppost"`; gallra encodes them for the wire) with `/`
    /// or the server's own hierarchy separator. A mailbox that does not exist is an error,
    /// never "nothing found".
    pub mailboxes: Vec<String>,
    /// Seconds a connect, read or write may take before the call fails as temporary.
    /// Default: 30.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Record kinds for record-level retention (`expire`), by name, e.g.
    /// `[systems.mail.settings.record_kinds.old_mail]` with `clock = "internal"`.
    #[serde(default)]
    pub record_kinds: BTreeMap<String, RecordKind>,
}

/// How the connection to the server is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS).
    #[default]
    Implicit,
    /// A plain connection upgraded with STARTTLS before anything else is sent.
    Starttls,
    /// No encryption (this machine only).
    None,
}

/// A kind of message with its own retention clock: `expire` removes the messages of the
/// kind's mailboxes whose clock is before the cutoff.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordKind {
    /// Which date starts a message's retention clock: `internal` (when the server received
    /// or stored it, IMAP's INTERNALDATE; the default) or `sent` (its `Date:` header; a
    /// message whose `Date:` header cannot be read is kept).
    #[serde(default)]
    pub clock: Clock,
    /// The mailboxes this kind covers. Default: all of `mailboxes`.
    pub mailboxes: Option<Vec<String>>,
}

/// The date a message's retention clock starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// IMAP's INTERNALDATE: when the server received or stored the message.
    #[default]
    Internal,
    /// The `Date:` header: when the sender says it was written.
    Sent,
}

fn default_timeout_secs() -> u64 {
    30
}

impl Settings {
    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Implicit => 993,
            TlsMode::Starttls | TlsMode::None => 143,
        })
    }

    /// The mailboxes a record kind covers.
    pub fn kind_mailboxes<'a>(&'a self, kind: &'a RecordKind) -> &'a [String] {
        kind.mailboxes.as_deref().unwrap_or(&self.mailboxes)
    }

    /// Checks what serde cannot, naming the key of every problem.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        if self.host.is_empty() || self.host.chars().any(|c| c.is_whitespace() || c == '/') {
            problems.add(
                "host",
                "must be a host name or IP address, without a scheme or path",
            );
        }
        if self.port == Some(0) {
            problems.add("port", "must be 1 to 65535");
        }
        if self.tls == TlsMode::None && !is_this_machine(&self.host) {
            problems.add(
                "tls",
                "\"none\" would send the password unencrypted: it is only allowed for \
                 localhost or 127.0.0.1; use \"implicit\" or \"starttls\"",
            );
        }
        if let Some(path) = &self.ca_file {
            if self.tls == TlsMode::None {
                problems.add("ca_file", "has no effect with tls = \"none\"");
            }
            problems.check(absolute("ca_file", path));
        }
        if self.username.is_empty() || self.username.chars().any(char::is_control) {
            problems.add("username", "must be non-empty, without control characters");
        }
        problems.check(absolute("password_file", &self.password_file));
        if self.timeout_secs == 0 {
            problems.add("timeout_secs", "must be at least 1");
        }
        if self.mailboxes.is_empty() {
            problems.add(
                "mailboxes",
                "name at least one mailbox, e.g. [\"INBOX\", \"Sent\"]",
            );
        }
        problems.check(mailbox_list("mailboxes", &self.mailboxes));
        for (name, kind) in &self.record_kinds {
            let at = format!("record_kinds.{name}");
            let name_ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !name_ok {
                problems.add(
                    &at,
                    "a record kind's name must be letters, digits, `_` or `-`",
                );
            }
            if let Some(mailboxes) = &kind.mailboxes {
                let at = format!("{at}.mailboxes");
                if mailboxes.is_empty() {
                    problems.add(
                        &at,
                        "name at least one mailbox, or leave it out to cover all of `mailboxes`",
                    );
                }
                problems.check(mailbox_list(&at, mailboxes));
            }
        }
        problems.into_result()
    }
}

/// Whether a plain-text connection to `host` stays on this machine.
fn is_this_machine(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn absolute(key: &str, path: &Path) -> Result<(), ConnectorError> {
    if path.is_absolute() {
        Ok(())
    } else {
        Err(ConnectorError::config(key, "must be an absolute path"))
    }
}

fn mailbox_list(key: &str, names: &[String]) -> Result<(), ConnectorError> {
    let mut problems = SettingsProblems::new();
    let mut seen = BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        let at = format!("{key}[{i}]");
        // INBOX is case-insensitive in IMAP; other names are not.
        let canonical = if name.eq_ignore_ascii_case("inbox") {
            "INBOX".to_owned()
        } else {
            name.clone()
        };
        if name.is_empty() || name.chars().any(char::is_control) {
            problems.add(
                at,
                "a mailbox name must be non-empty, without control characters",
            );
        } else if name.contains(['*', '%']) {
            problems.add(
                at,
                "a mailbox name cannot hold the wildcards `*` or `%`: list each mailbox",
            );
        } else if !seen.insert(canonical) {
            problems.add(at, "this mailbox is listed twice");
        }
    }
    problems.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_may_go_unencrypted() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "[::1]",
        ] {
            assert!(is_this_machine(host), "{host}");
        }
        for host in [
            "imap.example.se",
            "10.0.0.1",
            "localhost.example.se",
            "0.0.0.0",
        ] {
            assert!(!is_this_machine(host), "{host}");
        }
    }

    #[test]
    fn default_port_follows_tls_mode() {
        let settings = |tls| Settings {
            host: "h".into(),
            port: None,
            tls,
            ca_file: None,
            username: "u".into(),
            password_file: "/p".into(),
            mailboxes: vec!["INBOX".into()],
            timeout_secs: 30,
            record_kinds: BTreeMap::new(),
        };
        assert_eq!(settings(TlsMode::Implicit).port(), 993);
        assert_eq!(settings(TlsMode::Starttls).port(), 143);
        assert_eq!(settings(TlsMode::None).port(), 143);
    }
}
