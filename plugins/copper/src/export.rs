//! A Copper person record as export fields, and the matching of search hits to a subject.

use gallra_plugin_api::jiff::Timestamp;
use gallra_plugin_api::{ExportField, Identifier, IdentifierKind};
use serde_json::Value;

use crate::client::Person;

/// The collection name of Copper people in records and exports.
pub const COLLECTION: &str = "people";

/// Top-level text fields exported as they are.
const TEXT_FIELDS: [&str; 4] = ["name", "title", "company_name", "details"];

/// Lists of objects, exported one field per entry: (list, the entry's value key, field name).
const LIST_FIELDS: [(&str, &str, &str); 4] = [
    ("emails", "email", "email"),
    ("phone_numbers", "number", "phone_number"),
    ("socials", "url", "social"),
    ("websites", "url", "website"),
];

/// The parts of `address`.
const ADDRESS_FIELDS: [&str; 5] = ["street", "city", "state", "postal_code", "country"];

/// The personal data of one person record (`GET /people/{id}`) as export fields.
pub fn person_fields(id: u64, person: &Value) -> Vec<ExportField> {
    let record = id.to_string();
    let field = |name: String, value: Option<String>| ExportField {
        collection: COLLECTION.to_owned(),
        record: record.clone(),
        field: name,
        value,
    };
    let mut fields = Vec::new();
    for name in TEXT_FIELDS {
        fields.push(field(name.to_owned(), text(person.get(name))));
    }
    for (list, key, name) in LIST_FIELDS {
        let entries = person.get(list).and_then(Value::as_array);
        for entry in entries.into_iter().flatten() {
            fields.push(field(name.to_owned(), text(entry.get(key))));
        }
    }
    if let Some(address) = person.get("address").filter(|a| a.is_object()) {
        for part in ADDRESS_FIELDS {
            fields.push(field(format!("address.{part}"), text(address.get(part))));
        }
    }
    let created = person
        .get("date_created")
        .and_then(Value::as_i64)
        .and_then(unix_time)
        .map(|t| t.to_string());
    fields.push(field("date_created".to_owned(), created));
    fields
}

/// A JSON scalar as text; `None` for null, missing or empty.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Copper's dates are Unix seconds.
pub fn unix_time(seconds: i64) -> Option<Timestamp> {
    Timestamp::from_second(seconds).ok()
}

/// Whether the person holds one of these (lower-cased) emails. Copper's search decides what
/// it returns; this makes sure only exact matches count as the subject's records.
pub fn has_email(person: &Person, emails: &[String]) -> bool {
    person
        .emails
        .iter()
        .any(|e| emails.contains(&e.email.trim().to_lowercase()))
}

/// Whether the person holds this phone number (E.164), however it was typed into Copper.
pub fn has_phone(person: &Person, e164: &str) -> bool {
    person.phone_numbers.iter().any(
        |p| match Identifier::parse(IdentifierKind::Phone, &p.number) {
            Ok(parsed) => parsed.value() == e164,
            // Numbers Copper holds without a country code or in a form gallra does not
            // parse: the same digits still name the same line.
            Err(_) => digits(&p.number) == digits(e164),
        },
    )
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person(json: Value) -> Person {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn every_personal_field_is_exported_and_dates_are_rfc3339() {
        let record = json!({
            "id": 7, "name": "Taylor Lowe", "title": "Sales", "company_name": "Lowe AB",
            "details": "met at fair",
            "emails": [{"email": "taylor@example.se", "category": "work"}],
            "phone_numbers": [{"number": "070-123 45 67", "category": "mobile"}],
            "address": {"street": "Storgatan 1", "city": "Umeå", "state": null,
                        "postal_code": "903 27", "country": "SE"},
            "socials": [], "websites": [{"url": "lowe.example", "category": "work"}],
            "date_created": 1516262400
        });
        let fields = person_fields(7, &record);
        let get = |name: &str| {
            fields
                .iter()
                .find(|f| f.field == name)
                .and_then(|f| f.value.clone())
        };
        assert_eq!(get("name").as_deref(), Some("Taylor Lowe"));
        assert_eq!(get("email").as_deref(), Some("taylor@example.se"));
        assert_eq!(get("phone_number").as_deref(), Some("070-123 45 67"));
        assert_eq!(get("address.city").as_deref(), Some("Umeå"));
        assert_eq!(get("address.state"), None);
        assert_eq!(get("website").as_deref(), Some("lowe.example"));
        assert_eq!(get("date_created").as_deref(), Some("2018-01-18T08:00:00Z"));
        assert!(fields
            .iter()
            .all(|f| f.collection == "people" && f.record == "7"));
    }

    #[test]
    fn emails_match_exactly_ignoring_case() {
        let p = person(json!({"id": 1, "emails": [{"email": "Anna@Example.se"}]}));
        assert!(has_email(&p, &["anna@example.se".to_owned()]));
        assert!(!has_email(&p, &["nna@example.se".to_owned()]));
    }

    #[test]
    fn phones_match_in_any_notation() {
        let p = person(json!({"id": 1, "phone_numbers": [{"number": "070-123 45 67"}]}));
        assert!(has_phone(&p, "+46701234567"));
        assert!(!has_phone(&p, "+46701234568"));
        let us = person(json!({"id": 2, "phone_numbers": [{"number": "+1 (415) 854-6956"}]}));
        assert!(has_phone(&us, "+14158546956"));
        // Without a country code the number is ambiguous: no match rather than a guess.
        let bare = person(json!({"id": 3, "phone_numbers": [{"number": "4158546956"}]}));
        assert!(!has_phone(&bare, "+14158546956"));
    }
}
