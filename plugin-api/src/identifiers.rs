//! Typed identifiers of a data subject.
//!
//! Every identifier is validated and normalized when it is made, so that two spellings of one
//! email address or phone number find the same records. One normalization per kind, used on
//! both sides (what gallra is handed and what a system stores): surrounding white space
//! trimmed, Unicode NFC (`ö` and `o` + U+0308 are one letter), lower-cased where the kind is
//! case-insensitive (email, domain, IP), personnummer in twelve digits with the century
//! right. Accents are never folded: `åsa@example.se` and `asa@example.se` are two people. None of them print their value in
//! `Debug`: identifiers are personal data and must never reach a log line by accident.
//! `Display` and [`Identifier::value`] give the value, for the places that need it (a query
//! parameter, the keyed hash in the audit log).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

pub use crate::personnummer::{Personnummer, PersonnummerError};

/// The kinds of identifier gallra knows. A connector declares which it can resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// An email address, compared case-insensitively (Unicode lower case) but never
    /// accent-insensitively.
    Email,
    /// The subject's id in the system it is handed to (customer number, user id).
    CustomerId,
    /// A Swedish personnummer or samordningsnummer.
    Personnummer,
    /// A phone number in E.164 form.
    Phone,
    /// A domain name the subject holds.
    Domain,
    /// An IP address.
    Ip,
}

impl IdentifierKind {
    /// Every kind, in a stable order.
    pub const ALL: [IdentifierKind; 6] = [
        Self::Email,
        Self::CustomerId,
        Self::Personnummer,
        Self::Phone,
        Self::Domain,
        Self::Ip,
    ];

    /// The name used in configuration and on the wire (`email`, `customer_id`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::CustomerId => "customer_id",
            Self::Personnummer => "personnummer",
            Self::Phone => "phone",
            Self::Domain => "domain",
            Self::Ip => "ip",
        }
    }
}

impl fmt::Display for IdentifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IdentifierKind {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(IdentifierError::UnknownKind)
    }
}

/// Why an identifier was refused. Never contains the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// Not one of `email`, `customer_id`, `personnummer`, `phone`, `domain`, `ip`.
    #[error("unknown identifier kind (expected one of email, customer_id, personnummer, phone, domain, ip)")]
    UnknownKind,
    /// An email address needs one `@` with text on both sides and no spaces.
    #[error("not an email address (expected local@domain)")]
    Email,
    /// A customer id must be non-empty and free of control characters.
    #[error("a customer id must be non-empty printable text")]
    CustomerId,
    /// See [`PersonnummerError`].
    #[error("not a personnummer: {0}")]
    Personnummer(#[from] PersonnummerError),
    /// A phone number must be E.164 (`+46701234567`) or a Swedish national number (`070-123 45 67`).
    #[error("not a phone number (expected E.164 like +46701234567)")]
    Phone,
    /// A domain needs at least two labels of letters, digits and hyphens.
    #[error("not a domain name")]
    Domain,
    /// Not an IPv4 or IPv6 address.
    #[error("not an IP address")]
    Ip,
}

/// One identifier of a data subject, validated and normalized.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identifier {
    /// An email address in NFC, lower-cased.
    Email(String),
    /// The subject's id in the system the identifier is handed to, in NFC; case counts.
    CustomerId(String),
    /// A validated personnummer in twelve-digit form.
    Personnummer(Personnummer),
    /// A phone number in E.164 form, `+` and digits only.
    Phone(String),
    /// A domain name in NFC, lower-cased, without a trailing dot.
    Domain(String),
    /// An IP address.
    Ip(IpAddr),
}

impl Identifier {
    /// Parses and normalizes a value of the given kind: trimmed, in NFC, lower-cased where
    /// the kind is case-insensitive. A stored value and a requested one name the same
    /// subject exactly when both parse to equal identifiers.
    pub fn parse(kind: IdentifierKind, value: &str) -> Result<Self, IdentifierError> {
        let value: String = value.trim().nfc().collect();
        let value = value.as_str();
        match kind {
            IdentifierKind::Email => parse_email(value).map(Self::Email),
            IdentifierKind::CustomerId => parse_customer_id(value).map(Self::CustomerId),
            IdentifierKind::Personnummer => Ok(Self::Personnummer(value.parse()?)),
            IdentifierKind::Phone => parse_phone(value).map(Self::Phone),
            IdentifierKind::Domain => parse_domain(value).map(Self::Domain),
            IdentifierKind::Ip => value.parse().map(Self::Ip).map_err(|_| IdentifierError::Ip),
        }
    }

    /// The kind of this identifier.
    pub fn kind(&self) -> IdentifierKind {
        match self {
            Self::Email(_) => IdentifierKind::Email,
            Self::CustomerId(_) => IdentifierKind::CustomerId,
            Self::Personnummer(_) => IdentifierKind::Personnummer,
            Self::Phone(_) => IdentifierKind::Phone,
            Self::Domain(_) => IdentifierKind::Domain,
            Self::Ip(_) => IdentifierKind::Ip,
        }
    }

    /// The normalized value as text. This is personal data: never log it.
    pub fn value(&self) -> String {
        match self {
            Self::Email(v) | Self::CustomerId(v) | Self::Phone(v) | Self::Domain(v) => v.clone(),
            Self::Personnummer(p) => p.as_str().to_owned(),
            Self::Ip(ip) => ip.to_string(),
        }
    }

    /// Whether values of this identifier's kind compare case-insensitively.
    pub fn is_case_insensitive(&self) -> bool {
        matches!(self, Self::Email(_) | Self::Domain(_) | Self::Ip(_))
    }

    /// Whether this identifier appears in `text` in one of the usual spellings: any case for
    /// emails and domains; with or without separators for numbers, a phone number also in
    /// its national form (without a two-digit country code, as `070…`), a personnummer also
    /// in ten digits; a customer id only as a whole word. For checks that personal data is
    /// gone from a field, a note or a message; it may match more than the exact value, never
    /// less.
    pub fn appears_in(&self, text: &str) -> bool {
        match self {
            Self::Email(v) | Self::Domain(v) => text.to_lowercase().contains(v.as_str()),
            Self::Phone(_) | Self::Personnummer(_) => {
                let own: String = self.value().chars().filter(char::is_ascii_digit).collect();
                let digits: String = text.chars().filter(char::is_ascii_digit).collect();
                let short = own.get(2..).unwrap_or_default();
                digits.contains(&own) || (short.len() >= 7 && digits.contains(short))
            }
            Self::CustomerId(v) => text
                .split(|c: char| !c.is_alphanumeric() && c != '-' && c != '_')
                .any(|word| word == v),
            Self::Ip(ip) => text.contains(&ip.to_string()),
        }
    }
}

impl fmt::Debug for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identifier({}=<redacted>)", self.kind())
    }
}

/// On the wire an identifier is `{"kind": "email", "value": "…"}`, validated on the way in.
#[derive(Serialize, Deserialize)]
struct WireIdentifier {
    kind: IdentifierKind,
    value: String,
}

impl Serialize for Identifier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WireIdentifier {
            kind: self.kind(),
            value: self.value(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Identifier {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = WireIdentifier::deserialize(d)?;
        Identifier::parse(wire.kind, &wire.value).map_err(serde::de::Error::custom)
    }
}

fn parse_email(value: &str) -> Result<String, IdentifierError> {
    let (local, domain) = value.rsplit_once('@').ok_or(IdentifierError::Email)?;
    let ok = !local.is_empty()
        && !domain.is_empty()
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@');
    if ok {
        Ok(fold(value))
    } else {
        Err(IdentifierError::Email)
    }
}

/// Unicode lower case, back in NFC (lowering a composed letter can leave it decomposed).
fn fold(value: &str) -> String {
    value.to_lowercase().nfc().collect()
}

fn parse_customer_id(value: &str) -> Result<String, IdentifierError> {
    if value.is_empty() || value.chars().any(char::is_control) {
        Err(IdentifierError::CustomerId)
    } else {
        Ok(value.to_owned())
    }
}

/// E.164: `+` then 8 to 15 digits. A Swedish national number (leading `0`) becomes `+46…`.
fn parse_phone(value: &str) -> Result<String, IdentifierError> {
    let compact: String = value
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let digits = if let Some(rest) = compact.strip_prefix('+') {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix("00") {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix('0') {
        format!("46{rest}")
    } else {
        return Err(IdentifierError::Phone);
    };
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(format!("+{digits}"))
    } else {
        Err(IdentifierError::Phone)
    }
}

fn parse_domain(value: &str) -> Result<String, IdentifierError> {
    let name = fold(value.trim_end_matches('.'));
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.len() >= 2 && name.len() <= 253 && labels.iter().all(label_ok) {
        Ok(name)
    } else {
        Err(IdentifierError::Domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: IdentifierKind, v: &str) -> Result<String, IdentifierError> {
        Identifier::parse(kind, v).map(|i| i.value())
    }

    #[test]
    fn an_identifier_is_found_in_text_in_its_usual_spellings() {
        let id = |kind, v| Identifier::parse(kind, v).unwrap();
        let email = id(IdentifierKind::Email, "Anna@Example.se");
        assert!(email.appears_in("to: ANNA@example.SE"));
        assert!(!email.appears_in("to: anna@example.com"));
        let phone = id(IdentifierKind::Phone, "+46701234567");
        assert!(phone.appears_in("070-123 45 67"));
        assert!(phone.appears_in("+46 70 123 45 67"));
        assert!(!phone.appears_in("070-123 45 68"));
        let pnr = id(IdentifierKind::Personnummer, "19121212-1212");
        assert!(pnr.appears_in("pnr 121212-1212"));
        assert!(!pnr.appears_in("pnr 121212-1213"));
        let customer = id(IdentifierKind::CustomerId, "31");
        assert!(customer.appears_in("customer 31, closed"));
        assert!(!customer.appears_in("customer 310"));
    }

    #[test]
    fn normalizes_so_two_spellings_match() {
        use IdentifierKind::*;
        let cases = [
            (
                Email,
                " Anna.Svensson@Example.SE ",
                "anna.svensson@example.se",
            ),
            (Phone, "070-123 45 67", "+46701234567"),
            (Phone, "+46 70 123 45 67", "+46701234567"),
            (Phone, "0046701234567", "+46701234567"),
            (Domain, "Example.SE.", "example.se"),
            (Ip, "2001:db8::1", "2001:db8::1"),
            (CustomerId, "C-1001", "C-1001"),
        ];
        for (kind, input, want) in cases {
            assert_eq!(parse(kind, input).as_deref(), Ok(want), "{kind} {input}");
        }
    }

    #[test]
    fn one_normalization_for_every_spelling_of_a_stored_value() {
        use IdentifierKind::*;
        let cases = [
            (Email, "kalle@example.se ", "kalle@example.se"),
            (Email, " KALLE@example.se", "kalle@example.se"),
            (Email, "\tKalle@Example.se\n", "kalle@example.se"),
            (Email, "ÅSA@EXAMPLE.SE", "åsa@example.se"),
            (Email, "A\u{30a}sa@example.se", "åsa@example.se"),
            (Email, "jo\u{308}ran@example.se", "jöran@example.se"),
            (Email, "MÜLLER@example.de", "müller@example.de"),
            (Domain, "BÜCHER.example.", "bücher.example"),
            (Domain, "bu\u{308}cher.example", "bücher.example"),
            (CustomerId, " C-1001 ", "C-1001"),
            (CustomerId, "Jo\u{308}ran", "Jöran"),
            (Personnummer, "811218 9876", "198112189876"),
            (Personnummer, " 8112189876 ", "198112189876"),
            (Ip, " 2001:DB8::1 ", "2001:db8::1"),
        ];
        for (kind, input, want) in cases {
            assert_eq!(parse(kind, input).as_deref(), Ok(want), "{kind} {input:?}");
        }
    }

    #[test]
    fn accents_and_case_of_case_sensitive_kinds_still_tell_people_apart() {
        use IdentifierKind::*;
        let pairs = [
            (Email, "åsa@example.se", "asa@example.se"),
            (Email, "müller@example.de", "muller@example.de"),
            (Email, "jöran@example.se", "joran@example.se"),
            (Domain, "bücher.example", "bucher.example"),
            (CustomerId, "ab12", "AB12"),
        ];
        for (kind, a, b) in pairs {
            assert_ne!(parse(kind, a), parse(kind, b), "{kind}: {a} vs {b}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_identifier() {
        use IdentifierKind::*;
        let cases = [
            (Email, "no-at-sign"),
            (Email, "two words@example.se"),
            (Email, "@example.se"),
            (Phone, "12345"),
            (Phone, "+46abc"),
            (Domain, "localhost"),
            (Domain, "-bad.se"),
            (Ip, "999.1.1.1"),
            (CustomerId, ""),
        ];
        for (kind, input) in cases {
            assert!(parse(kind, input).is_err(), "{kind} {input:?} was accepted");
        }
    }

    #[test]
    fn survives_a_round_trip_on_the_wire() {
        let id = Identifier::parse(IdentifierKind::Email, "A@B.se").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, r#"{"kind":"email","value":"a@b.se"}"#);
        assert_eq!(serde_json::from_str::<Identifier>(&json).unwrap(), id);
    }

    #[test]
    fn invalid_value_on_the_wire_is_refused() {
        let err =
            serde_json::from_str::<Identifier>(r#"{"kind":"personnummer","value":"811218-9875"}"#);
        assert!(err.is_err());
    }

    #[test]
    fn debug_and_errors_never_show_the_value() {
        let id = Identifier::parse(IdentifierKind::Email, "secret.person@example.se").unwrap();
        assert!(!format!("{id:?}").contains("secret"));
        let err = Identifier::parse(IdentifierKind::Email, "secret.person").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }
}
