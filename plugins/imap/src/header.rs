//! What a message's envelope says, in the form gallra needs: addresses to compare with the
//! subject's email exactly, and header values a privacy officer can read (RFC 2047 encoded
//! words decoded).

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use gallra_plugin_api::jiff::Timestamp;
use imap::types::Fetch;

/// One address from an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The display name, decoded.
    pub name: Option<String>,
    /// `mailbox@host`.
    pub email: String,
}

impl Address {
    /// `Name <email>` or just `email`.
    pub fn display(&self) -> String {
        match &self.name {
            Some(name) if !name.is_empty() => format!("{name} <{}>", self.email),
            _ => self.email.clone(),
        }
    }
}

/// The parts of one message gallra reads: its envelope, INTERNALDATE and size.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The message's UID in its mailbox.
    pub uid: u32,
    /// The `From:` addresses.
    pub from: Vec<Address>,
    /// The `To:` addresses.
    pub to: Vec<Address>,
    /// The `Cc:` addresses.
    pub cc: Vec<Address>,
    /// The `Bcc:` addresses (present in a sender's own copy).
    pub bcc: Vec<Address>,
    /// The `Subject:`, decoded.
    pub subject: Option<String>,
    /// The `Date:` header as written.
    pub date: Option<String>,
    /// When the server received or stored the message.
    pub internal_date: Option<Timestamp>,
    /// The size in bytes (RFC822.SIZE).
    pub size: Option<u32>,
}

impl Message {
    /// Reads a FETCH response holding `UID ENVELOPE INTERNALDATE RFC822.SIZE` (any of them
    /// may be missing). `None` without a UID.
    pub fn from_fetch(fetch: &Fetch<'_>) -> Option<Self> {
        let uid = fetch.uid?;
        let mut message = Message {
            uid,
            internal_date: fetch
                .internal_date()
                .and_then(|d| Timestamp::from_second(d.timestamp()).ok()),
            size: fetch.size,
            ..Message::default()
        };
        if let Some(envelope) = fetch.envelope() {
            let list = |l: &Option<Vec<imap_proto::types::Address<'_>>>| {
                l.as_deref().map(addresses).unwrap_or_default()
            };
            message.from = list(&envelope.from);
            message.to = list(&envelope.to);
            message.cc = list(&envelope.cc);
            message.bcc = list(&envelope.bcc);
            message.subject = envelope.subject.as_deref().map(|s| decode_words(&text(s)));
            message.date = envelope.date.as_deref().map(|d| text(d).into_owned());
        }
        Some(message)
    }

    /// Whether any From, To, Cc or Bcc address is one of `emails` (lower-cased), exactly.
    pub fn involves(&self, emails: &[String]) -> bool {
        [&self.from, &self.to, &self.cc, &self.bcc]
            .into_iter()
            .flatten()
            .any(|a| {
                let email = a.email.to_lowercase();
                emails.contains(&email)
            })
    }

    /// When the `Date:` header says the message was written; `None` if it is missing or
    /// cannot be read.
    pub fn sent(&self) -> Option<Timestamp> {
        let date = self.date.as_deref()?.trim();
        // A trailing comment such as `(CET)` is common and not part of the grammar jiff reads.
        let date = match date.rfind('(') {
            Some(i) if date.ends_with(')') => date[..i].trim_end(),
            _ => date,
        };
        gallra_plugin_api::jiff::fmt::rfc2822::parse(date)
            .ok()
            .map(|z| z.timestamp())
    }
}

/// The real addresses of an envelope address list, skipping RFC 2822 group markers (which
/// have no host or no mailbox).
fn addresses(list: &[imap_proto::types::Address<'_>]) -> Vec<Address> {
    list.iter()
        .filter_map(|a| {
            let mailbox = a.mailbox.as_deref()?;
            let host = a.host.as_deref()?;
            Some(Address {
                name: a.name.as_deref().map(|n| decode_words(&text(n))),
                email: format!("{}@{}", text(mailbox), text(host)),
            })
        })
        .collect()
}

fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?Q?=C3=84rende?=`) in UTF-8, US-ASCII and
/// ISO-8859-1; words in other charsets stay as they are. Whitespace between two encoded
/// words is dropped, as the RFC says.
pub fn decode_words(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        match encoded_word(candidate) {
            Some((decoded, len)) => {
                if !(after_word && before.chars().all(char::is_whitespace)) {
                    out.push_str(before);
                }
                out.push_str(&decoded);
                rest = &candidate[len..];
                after_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &candidate[2..];
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes one `=?charset?enc?text?=` at the start of `s`: the text and the word's length.
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let payload = &inner[..end];
    if payload.contains(char::is_whitespace) {
        return None;
    }
    let len = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    // RFC 2231 allows a language after `*`: `UTF-8*sv`.
    let charset = charset.split('*').next().unwrap_or(charset);
    let bytes = match encoding {
        "B" | "b" => STANDARD_NO_PAD.decode(payload.trim_end_matches('=')).ok()?,
        "Q" | "q" => quoted_printable(payload)?,
        _ => return None,
    };
    let decoded = match charset.to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" | "us-ascii" => String::from_utf8(bytes).ok()?,
        "iso-8859-1" | "latin1" => bytes.into_iter().map(char::from).collect(),
        _ => return None,
    };
    Some((decoded, len))
}

fn quoted_printable(payload: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(payload.len());
    let mut iter = payload.bytes();
    while let Some(b) = iter.next() {
        match b {
            b'_' => bytes.push(b' '),
            b'=' => {
                let hex = [iter.next()?, iter.next()?];
                let hex = std::str::from_utf8(&hex).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
            }
            other => bytes.push(other),
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_are_decoded() {
        let cases = [
            ("plain subject", "plain subject"),
            ("=?UTF-8?Q?=C3=84rende_12?=", "Ärende 12"),
            ("=?utf-8?B?w4RyZW5kZQ==?=", "Ärende"),
            ("=?ISO-8859-1?Q?Gr=F6n?= tr\u{e4}d", "Grön träd"),
            ("=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab"),
            ("Re: =?UTF-8?Q?=C3=A5?= ok", "Re: å ok"),
            ("=?KOI8-R?Q?=F0?=", "=?KOI8-R?Q?=F0?="),
            ("=?broken", "=?broken"),
            ("a =? b ?= c", "a =? b ?= c"),
        ];
        for (raw, want) in cases {
            assert_eq!(decode_words(raw), want, "{raw}");
        }
    }

    fn address(email: &str) -> Address {
        Address {
            name: None,
            email: email.to_owned(),
        }
    }

    #[test]
    fn involvement_is_exact_not_a_substring() {
        let message = Message {
            from: vec![address("JoAnna@Example.SE")],
            to: vec![address("anna@example.se.evil.test")],
            cc: vec![address("list@example.se")],
            ..Message::default()
        };
        assert!(!message.involves(&["anna@example.se".into()]));
        assert!(message.involves(&["joanna@example.se".into()]));
        assert!(message.involves(&["list@example.se".into()]));
        let bcc = Message {
            bcc: vec![address("anna@example.se")],
            ..Message::default()
        };
        assert!(bcc.involves(&["anna@example.se".into()]));
    }

    #[test]
    fn sent_date_is_read_with_or_without_a_comment() {
        let at = |date: &str| {
            Message {
                date: Some(date.to_owned()),
                ..Message::default()
            }
            .sent()
            .map(|t| t.to_string())
        };
        assert_eq!(
            at("Mon, 15 Jan 2024 10:00:00 +0100").as_deref(),
            Some("2024-01-15T09:00:00Z")
        );
        assert_eq!(
            at("15 Jan 2024 10:00:00 +0000 (UTC)").as_deref(),
            Some("2024-01-15T10:00:00Z")
        );
        assert_eq!(at("yesterday"), None);
    }

    #[test]
    fn display_name_goes_before_the_address() {
        let a = Address {
            name: Some("Anna S".into()),
            email: "anna@example.se".into(),
        };
        assert_eq!(a.display(), "Anna S <anna@example.se>");
        assert_eq!(address("b@c.se").display(), "b@c.se");
    }
}
