//! The customer card fields that identify a person, and what replaces them. Invoices keep
//! their own copy of the buyer's name and address, so the card needs none of them for the
//! bookkeeping; currency, terms, VAT type and price list stay.

use serde_json::{Map, Value};

/// The name an anonymized customer gets (Fortnox requires a name).
pub const NAME: &str = "Anonymized";

/// The fields emptied on the card.
const CLEARED: &[&str] = &[
    "Address1",
    "Address2",
    "ZipCode",
    "City",
    "Email",
    "EmailInvoice",
    "EmailInvoiceBCC",
    "EmailInvoiceCC",
    "EmailOffer",
    "EmailOfferBCC",
    "EmailOfferCC",
    "EmailOrder",
    "EmailOrderBCC",
    "EmailOrderCC",
    "Phone1",
    "Phone2",
    "Fax",
    "WWW",
    "OrganisationNumber",
    "VATNumber",
    "YourReference",
    "OurReference",
    "DeliveryName",
    "DeliveryAddress1",
    "DeliveryAddress2",
    "DeliveryZipCode",
    "DeliveryCity",
    "DeliveryPhone1",
    "DeliveryPhone2",
    "DeliveryFax",
    "Comments",
    "GLN",
    "GLNDelivery",
];

/// The `PUT /customers/{CustomerNumber}` body's `Customer` object.
pub fn fields() -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("Name".to_owned(), Value::from(NAME));
    for name in CLEARED {
        fields.insert((*name).to_owned(), Value::from(""));
    }
    fields.insert("Active".to_owned(), Value::from(false));
    fields
}

/// Whether the card already holds what [`fields`] writes.
pub fn is_anonymized(card: &Map<String, Value>) -> bool {
    let empty = |name: &str| match card.get(name) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    };
    card.get("Name").and_then(Value::as_str) == Some(NAME)
        && CLEARED.iter().all(|name| empty(name))
        && card.get("Active").and_then(Value::as_bool) != Some(true)
}

/// The card's fields for an export: every value except Fortnox' own links.
pub fn exported(card: &Map<String, Value>) -> Vec<(String, Option<String>)> {
    card.iter()
        .filter(|(name, _)| !name.starts_with('@'))
        .filter_map(|(name, value)| {
            let text = match value {
                Value::Null => None,
                Value::String(s) if s.trim().is_empty() => None,
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                // Nested structures (default delivery types, templates) hold settings.
                Value::Array(_) | Value::Object(_) => return None,
            };
            Some((name.clone(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anonymized_card_is_recognised() {
        let mut card = fields();
        card.insert("CustomerNumber".into(), "17".into());
        card.insert("Currency".into(), "SEK".into());
        assert!(is_anonymized(&card));
        card.insert("Phone1".into(), "070-1234567".into());
        assert!(!is_anonymized(&card));
    }

    #[test]
    fn exports_leave_out_links_and_settings() {
        let card: Map<String, Value> = serde_json::from_str(
            r#"{"@url":"https://x","Name":"Anna","Email":"","Active":true,"DefaultDeliveryTypes":{"Invoice":"PRINT"},"CreditLimit":0}"#,
        )
        .unwrap();
        let fields = exported(&card);
        let mut names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["Active", "CreditLimit", "Email", "Name"]);
    }
}
