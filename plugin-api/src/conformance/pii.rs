//! The personal data an error message must never contain.

use crate::identifiers::Identifier;
use crate::messages::Subject;

/// Every spelling of the test subjects' data that might leak into a message, lower-cased.
#[derive(Debug, Default)]
pub(super) struct Sensitive {
    needles: Vec<String>,
}

impl Sensitive {
    pub(super) fn add_subject(&mut self, subject: &Subject) {
        for identifier in &subject.identifiers {
            for spelling in spellings(identifier) {
                self.add_value(&spelling);
            }
        }
    }

    /// A seeded value (a name, an address). Values shorter than four characters are left
    /// out: they would match innocent words.
    pub(super) fn add_value(&mut self, value: &str) {
        let value = value.trim().to_lowercase();
        if value.chars().count() >= 4 && !self.needles.contains(&value) {
            self.needles.push(value);
        }
    }

    /// Whether `text` contains any of the data (case-insensitively).
    pub(super) fn found_in(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        self.needles
            .iter()
            .any(|needle| text.contains(needle.as_str()))
    }
}

/// The forms systems and messages commonly write an identifier in.
fn spellings(identifier: &Identifier) -> Vec<String> {
    let value = identifier.value();
    let mut out = vec![value.clone()];
    match identifier {
        Identifier::Email(email) => {
            if let Some((local, _)) = email.split_once('@') {
                out.push(local.to_owned());
            }
            // As it appears percent-encoded in a URL.
            out.push(email.replace('@', "%40"));
        }
        Identifier::Personnummer(p) => {
            out.push(p.short_form());
            out.push(p.short_form().replace('-', ""));
        }
        Identifier::Phone(phone) => {
            if let Some(national) = phone.strip_prefix("+46") {
                out.push(format!("0{national}"));
            }
            out.push(phone.replace('+', "%2B"));
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identifiers::IdentifierKind;

    #[test]
    fn finds_every_spelling_case_insensitively() {
        let mut sensitive = Sensitive::default();
        sensitive.add_subject(&Subject::new(vec![
            Identifier::parse(IdentifierKind::Email, "Anna.K@example.se").unwrap(),
            Identifier::parse(IdentifierKind::Personnummer, "198112189876").unwrap(),
            Identifier::parse(IdentifierKind::Phone, "+46701234567").unwrap(),
        ]));
        sensitive.add_value("Bo");
        for leak in [
            "user ANNA.K@EXAMPLE.SE",
            "GET /users?q=anna.k%40example.se",
            "mailbox anna.k",
            "811218-9876",
            "8112189876",
            "070 tel 0701234567",
        ] {
            assert!(sensitive.found_in(leak), "{leak}");
        }
        assert!(!sensitive.found_in("system \"crm\": GET /users/{id} answered 500; Bokföring"));
    }
}
