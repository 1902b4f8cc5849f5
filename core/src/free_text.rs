//! Text people type into gallra — the note that confirms a manual task, the reason a request
//! was cancelled — is kept with the request for as long as the request is, and may be shown
//! on its receipt. It must not hold personal data, so text that looks like some is refused
//! with a message that says what was found (never the value) and what to write instead.

use gallra_plugin_api::{Identifier, IdentifierKind};

/// Refuses `text` (the `field` a person filled in) if it holds one of the subject's
/// identifiers, an email address, a personnummer or a phone number.
pub fn refuse_personal_data(field: &str, text: &str, subject: &[Identifier]) -> Result<(), String> {
    match personal_data_in(text, subject) {
        None => Ok(()),
        Some(found) => Err(format!(
            "{field}: looks like it holds {found}. The {field} is kept with the request and may \
             be shown on its receipt, so it must not hold personal data: say what was done \
             instead (e.g. \"removed from the archive, ticket 4711\")"
        )),
    }
}

/// What kind of personal data `text` seems to hold, if any.
fn personal_data_in(text: &str, subject: &[Identifier]) -> Option<String> {
    if let Some(kind) = subject_identifier_in(text, subject) {
        return Some(format!("the data subject's {kind}"));
    }
    if words(text).any(|word| word.contains('@') && parse(IdentifierKind::Email, word)) {
        return Some("an email address".into());
    }
    number_runs(text).find_map(|run| {
        let digits: String = run.chars().filter(char::is_ascii_digit).collect();
        if matches!(digits.len(), 10 | 12) && parse(IdentifierKind::Personnummer, &digits) {
            Some("a personnummer".into())
        } else if (run.starts_with('+') || run.starts_with('0')) && (8..=15).contains(&digits.len())
        {
            Some("a phone number".into())
        } else {
            None
        }
    })
}

/// The kind of the first of the subject's identifiers that appears in `text`. Customer ids
/// are left out: a short number is too common in ordinary notes to mean anything.
fn subject_identifier_in(text: &str, subject: &[Identifier]) -> Option<IdentifierKind> {
    subject
        .iter()
        .filter(|identifier| identifier.kind() != IdentifierKind::CustomerId)
        .find(|identifier| identifier.appears_in(text))
        .map(Identifier::kind)
}

fn parse(kind: IdentifierKind, value: &str) -> bool {
    Identifier::parse(kind, value).is_ok()
}

/// Whitespace-separated words without the punctuation around them.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '@')))
}

/// Runs of digits joined by single spaces or dashes (`070-123 45 67`), with a leading `+`.
fn number_runs(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let digit_at = move |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let continues = move |i: usize| {
        digit_at(i) || (matches!(bytes.get(i), Some(b' ' | b'-')) && digit_at(i + 1))
    };
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let start = at;
            let first = start + usize::from(bytes[start] == b'+');
            at += 1;
            if digit_at(first) {
                at = (first..).find(|&i| !continues(i)).unwrap_or(bytes.len());
                return Some(&text[start..at]);
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Vec<Identifier> {
        vec![
            Identifier::parse(IdentifierKind::Email, "Anna.Svensson@example.se").unwrap(),
            Identifier::parse(IdentifierKind::Phone, "+46701234567").unwrap(),
            Identifier::parse(IdentifierKind::CustomerId, "31").unwrap(),
        ]
    }

    fn found(text: &str) -> Option<String> {
        personal_data_in(text, &subject())
    }

    #[test]
    fn ordinary_notes_pass() {
        for note in [
            "removed from the paper archive, ticket 4711",
            "deleted in the old CRM on 2026-11-23 by the support team",
            "customer 31 asked us to stop; contract ended",
            "done, 3 folders",
        ] {
            assert_eq!(found(note), None, "{note}");
        }
    }

    #[test]
    fn the_subjects_own_identifiers_are_refused_in_any_spelling() {
        assert_eq!(
            found("mailed ANNA.SVENSSON@example.se"),
            Some("the data subject's email".into())
        );
        assert_eq!(
            found("called 070-123 45 67"),
            Some("the data subject's phone".into())
        );
    }

    #[test]
    fn anyones_email_personnummer_or_phone_is_refused() {
        assert_eq!(
            found("cc: bo@example.org."),
            Some("an email address".into())
        );
        assert_eq!(found("pnr 19121212-1212"), Some("a personnummer".into()));
        assert_eq!(
            found("pnr 121212-1212 checked"),
            Some("a personnummer".into())
        );
        assert_eq!(
            found("call +46 8 123 456 78"),
            Some("a phone number".into())
        );
        assert_eq!(found("or 08-123 456 78"), Some("a phone number".into()));
    }

    #[test]
    fn the_refusal_names_the_field_and_never_the_value() {
        let error = refuse_personal_data("note", "sent to anna.svensson@example.se", &subject())
            .unwrap_err();
        assert!(error.starts_with("note: looks like it holds the data subject's email"));
        assert!(!error.contains("anna"), "{error}");
    }
}
