//! Sending a notice by email through an SMTP relay, with lettre.
//!
//! One connection per notice (notices are few). With `starttls = true` the relay must offer
//! STARTTLS with a valid certificate, or nothing is sent; `starttls = false` speaks plain
//! SMTP and is meant for a relay on this host (e.g. a local Postfix), so credentials are
//! refused over a plain connection to any other host.

use std::fmt;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{io_cause, is_loopback, NotifyError};

/// How to reach the SMTP relay.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// The relay's host name or address.
    pub host: String,
    /// Its port: usually 587 with STARTTLS, 25 for a local relay.
    pub port: u16,
    /// The sender, e.g. `Integritet <privacy@example.se>`.
    pub from: String,
    /// Require STARTTLS (true), or speak plain SMTP to a relay on this host (false).
    pub starttls: bool,
    /// The user to log in as, if the relay requires it.
    pub username: Option<String>,
    /// The password (read from a credential file by the config; never shown by `Debug`).
    pub password: Option<String>,
    /// The longest a whole delivery (connect, every command) may take.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("starttls", &self.starttls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmtpSettings {
    fn target(&self) -> String {
        format!("SMTP relay {}:{}", self.host, self.port)
    }
}

/// Sends one plain-text UTF-8 email to `to`. Errors say whether to try again, and never
/// contain the address, the subject or the body.
pub async fn send_email(
    settings: &SmtpSettings,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), NotifyError> {
    let target = settings.target();
    let permanent = |reason: &str| NotifyError::permanent(&target, reason);

    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|_| permanent("the sender (`from`) is not a valid email address"))?;
    let to: Mailbox = to
        .parse()
        .map_err(|_| permanent("the recipient is not a valid email address"))?;
    // A subject is one line; lettre would encode a line break, but a reader expects none.
    let subject: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(None)
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_owned())
        .map_err(|_| permanent("could not build the message"))?;

    if settings.username.is_some() && !settings.starttls && !is_loopback(&settings.host) {
        return Err(permanent(
            "a username is set but starttls = false: the password would cross the network \
             unencrypted (set starttls = true, or use a relay on this host)",
        ));
    }
    let tls = if settings.starttls {
        let params = TlsParameters::new(settings.host.clone())
            .map_err(|_| permanent("could not set up TLS for this relay"))?;
        Tls::Required(params)
    } else {
        Tls::None
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
        .port(settings.port)
        .tls(tls)
        .timeout(Some(settings.timeout));
    if let Some(user) = &settings.username {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            settings.password.clone().unwrap_or_default(),
        ));
    }
    let transport = builder.build();

    match tokio::time::timeout(settings.timeout, transport.send(message)).await {
        Err(_) => Err(NotifyError::transient(
            &target,
            format!("no answer within {}s", settings.timeout.as_secs_f64()),
        )),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(classify(&target, &err)),
    }
}

/// Maps lettre's error to ours without its text: an SMTP reply may echo the recipient.
fn classify(target: &str, err: &lettre::transport::smtp::Error) -> NotifyError {
    if let Some(code) = err.status() {
        return if err.is_transient() {
            NotifyError::transient(target, format!("the relay answered {code}; try later"))
        } else {
            NotifyError::permanent(
                target,
                format!("the relay refused the message with {code}; check the sender, the recipient and the relay's rules"),
            )
        };
    }
    if err.is_tls() {
        return NotifyError::permanent(
            target,
            "TLS with the relay failed (does it offer STARTTLS with a valid certificate for \
             this host name?)",
        );
    }
    if err.is_client() {
        return NotifyError::permanent(
            target,
            "the relay does not offer what the settings require (STARTTLS or a login \
             mechanism gallra supports)",
        );
    }
    if err.is_timeout() {
        return NotifyError::transient(target, "timed out");
    }
    if err.is_response() {
        return NotifyError::transient(target, "the relay's reply could not be understood");
    }
    let reason = match io_cause(err) {
        Some(cause) => format!("could not talk to the relay: {cause}"),
        None => "could not talk to the relay".to_owned(),
    };
    NotifyError::transient(target, reason)
}
