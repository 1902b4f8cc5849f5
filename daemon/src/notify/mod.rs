//! Telling people and processors: deletion notices to processors without an API, and
//! warnings to subjects before their account is deleted. By email ([`smtp`]) or by webhook
//! ([`webhook`]), with the text from a configured [`template`].
//!
//! A recipient's address and a notice's text are personal data, so [`NotifyError`] never
//! holds them, nor any text an SMTP or HTTP server sent back (servers echo addresses): only
//! the relay's or endpoint's host and port, a status code, and what to do.

pub mod relay;
pub mod smtp;
pub use gallra_core::template;
pub mod webhook;

pub use relay::smtp_settings;
pub use smtp::{send_email, SmtpSettings};
pub use template::{placeholders, render, TemplateError};
pub use webhook::post_webhook;

/// Why a notice was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// Worth trying again later: a timeout, a refused connection, an SMTP 4xx reply, an
    /// HTTP 408, 429 or 5xx.
    #[error("{target}: {reason} (temporary; will be tried again)")]
    Transient {
        /// Where it was sent, e.g. `SMTP relay mail.example.se:587`.
        target: String,
        /// What went wrong, without personal data.
        reason: String,
    },
    /// Trying again will not help until someone changes something: an SMTP 5xx reply, an
    /// HTTP 4xx, a TLS failure, an invalid address.
    #[error("{target}: {reason}")]
    Permanent {
        /// Where it was sent.
        target: String,
        /// What went wrong and what to do, without personal data.
        reason: String,
    },
}

impl NotifyError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, NotifyError::Transient { .. })
    }

    pub(crate) fn transient(target: &str, reason: impl Into<String>) -> Self {
        NotifyError::Transient {
            target: target.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn permanent(target: &str, reason: impl Into<String>) -> Self {
        NotifyError::Permanent {
            target: target.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The first I/O error in an error's cause chain, as text. I/O errors come from the
/// connection ("Connection refused (os error 111)", a DNS or TLS failure) and hold no
/// personal data, unlike a server's reply, which lettre and reqwest never wrap in one.
pub(crate) fn io_cause(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.to_string());
        }
        next = e.source();
    }
    None
}

/// Whether a host name or address is this machine (plain connections are allowed there).
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests;
