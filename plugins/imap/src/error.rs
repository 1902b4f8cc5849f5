//! What can go wrong talking to an IMAP server, classified for gallra.
//!
//! The server's own words are kept only for commands that carry no personal data (LOGIN's
//! answer is summarized, SELECT's names a configured mailbox). Answers to SEARCH, FETCH,
//! STORE and EXPUNGE are never quoted: a server may echo the search string back.

use gallra_plugin_api::ConnectorError;

use crate::query::Unsafe;

/// An IMAP failure. Its message never holds an identifier or message content.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The server could not be reached.
    #[error("cannot connect to {address}: {reason} (is the IMAP server running and reachable?)")]
    Connect {
        /// `host:port`.
        address: String,
        /// The system's words.
        reason: String,
    },
    /// TLS could not be set up, or the server's certificate is not trusted.
    #[error("TLS with {address} failed: {reason} (check host, tls and ca_file)")]
    Tls {
        /// `host:port`.
        address: String,
        /// What failed.
        reason: String,
    },
    /// The server refused the username and password.
    #[error("the server refused the login: check username and password_file")]
    Auth,
    /// The connection broke or timed out in the middle of a command.
    #[error("the connection broke during {command}: {reason}")]
    Broken {
        /// The IMAP command.
        command: &'static str,
        /// The system's words.
        reason: String,
    },
    /// A configured mailbox cannot be opened.
    #[error("mailbox {mailbox:?} cannot be opened: {detail} (check mailboxes in the settings)")]
    Mailbox {
        /// The configured name.
        mailbox: String,
        /// The server's answer.
        detail: String,
        /// Whether the server said to try again later.
        transient: bool,
    },
    /// The server answered NO or BAD.
    #[error("the server refused {command}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        /// The IMAP command.
        command: &'static str,
        /// The server's answer, for commands whose answer holds no personal data.
        detail: Option<String>,
        /// Whether the server said to try again later.
        transient: bool,
    },
    /// The server's answer did not follow the protocol as the client library reads it.
    #[error("the server's answer to {0} could not be understood")]
    Protocol(&'static str),
    /// Removing single messages needs UIDPLUS; a plain EXPUNGE would also remove messages
    /// others marked deleted.
    #[error(
        "the server does not support UIDPLUS (RFC 4315), so it cannot remove single \
         messages: gallra refuses to use a plain EXPUNGE, which would also remove every \
         message others marked \\Deleted in the mailbox"
    )]
    NoUidPlus,
    /// A value cannot be sent safely.
    #[error(transparent)]
    Unsafe(#[from] Unsafe),
    /// UID EXPUNGE answered OK, yet messages are still there.
    #[error("{count} message(s) in mailbox {mailbox:?} were still there after UID EXPUNGE")]
    NotRemoved {
        /// The configured mailbox name.
        mailbox: String,
        /// How many.
        count: usize,
    },
}

/// Response codes (RFC 5530) that mean "try again later".
const TRANSIENT_CODES: [&str; 3] = ["[UNAVAILABLE]", "[INUSE]", "[LIMIT]"];

fn transient_text(information: &str) -> bool {
    let upper = information.trim_start().to_ascii_uppercase();
    TRANSIENT_CODES.iter().any(|code| upper.starts_with(code))
}

impl ImapError {
    /// Classifies a client-library error for `command`. `quote_server` says whether the
    /// server's words may appear in the message.
    pub fn from_imap(command: &'static str, quote_server: bool, error: imap::Error) -> Self {
        let refused = |information: String, bad: bool| ImapError::Refused {
            command,
            transient: !bad && transient_text(&information),
            detail: quote_server.then_some(information),
        };
        match error {
            imap::Error::Io(e) => ImapError::Broken {
                command,
                reason: e.to_string(),
            },
            imap::Error::ConnectionLost => ImapError::Broken {
                command,
                reason: "the server closed the connection".to_owned(),
            },
            imap::Error::Bye(bye) => ImapError::Broken {
                command,
                reason: if quote_server {
                    format!("the server said goodbye: {}", bye.information)
                } else {
                    "the server said goodbye".to_owned()
                },
            },
            imap::Error::No(no) => refused(no.information, false),
            imap::Error::Bad(bad) => refused(bad.information, true),
            _ => ImapError::Protocol(command),
        }
    }

    /// Whether the connection it happened on is unusable.
    pub fn is_broken(&self) -> bool {
        matches!(self, ImapError::Broken { .. } | ImapError::Protocol(_))
    }

    /// Whether gallra should try again later.
    pub fn is_transient(&self) -> bool {
        match self {
            ImapError::Connect { .. } | ImapError::Broken { .. } | ImapError::NotRemoved { .. } => {
                true
            }
            ImapError::Mailbox { transient, .. } | ImapError::Refused { transient, .. } => {
                *transient
            }
            ImapError::Tls { .. }
            | ImapError::Auth
            | ImapError::Protocol(_)
            | ImapError::NoUidPlus
            | ImapError::Unsafe(_) => false,
        }
    }

    /// The error for gallra, prefixed with the operation (gallra adds the system's name).
    pub fn into_connector_error(self, operation: &str) -> ConnectorError {
        let message = format!("{operation} failed: {self}");
        if self.is_transient() {
            ConnectorError::transient(message)
        } else {
            ConnectorError::permanent(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_again_codes_are_transient() {
        for text in [
            "[UNAVAILABLE] Temporary failure",
            " [inuse] locked",
            "[LIMIT] too many",
        ] {
            assert!(transient_text(text), "{text}");
        }
        for text in ["[NONEXISTENT] no such mailbox", "Error in IMAP command", ""] {
            assert!(!transient_text(text), "{text}");
        }
    }

    #[test]
    fn search_answers_are_never_quoted() {
        let no = imap::Error::Io(std::io::Error::other("x"));
        let e = ImapError::from_imap("UID SEARCH", false, no);
        assert!(e.is_transient());
        let e = ImapError::Refused {
            command: "UID SEARCH",
            detail: None,
            transient: false,
        };
        assert_eq!(e.to_string(), "the server refused UID SEARCH");
    }
}
