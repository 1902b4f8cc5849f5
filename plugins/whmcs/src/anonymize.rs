//! What an anonymized client looks like: the `UpdateClient` fields that replace its
//! personal data, and the test for a client that already holds them.

use base64::Engine;

use crate::config::Settings;
use crate::wire::Client;

/// The name and address placeholder. WHMCS requires a first name, last name, address and
/// city, so they are overwritten rather than emptied.
pub const PLACEHOLDER: &str = "Anonymized";

/// The unique address the client gets; WHMCS requires a unique email per client.
pub fn email(client_id: u64, settings: &Settings) -> String {
    format!(
        "anonymized-{client_id}@{}",
        settings.anonymized_email_domain
    )
}

/// The `UpdateClient` parameters that remove the client's personal data. The country,
/// currency and status stay: invoices need them and they identify no one.
pub fn fields(client_id: u64, settings: &Settings) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("firstname", PLACEHOLDER.to_owned()),
        ("lastname", PLACEHOLDER.to_owned()),
        ("companyname", String::new()),
        ("email", email(client_id, settings)),
        ("address1", PLACEHOLDER.to_owned()),
        ("address2", String::new()),
        ("city", PLACEHOLDER.to_owned()),
        ("state", String::new()),
        ("postcode", String::new()),
        ("phonenumber", String::new()),
        ("tax_id", String::new()),
        ("notes", String::new()),
        ("clearcreditcard", "true".to_owned()),
        ("marketingoptin", "false".to_owned()),
    ];
    if let Some(field) = settings.personnummer_field {
        fields.push(("customfields", cleared_custom_field(field)));
    }
    fields
}

/// Whether the client already holds exactly what [`fields`] writes.
pub fn is_anonymized(client: &Client, settings: &Settings) -> bool {
    let is = |value: &Option<String>, expected: &str| value.as_deref().unwrap_or("") == expected;
    is(&client.firstname, PLACEHOLDER)
        && is(&client.lastname, PLACEHOLDER)
        && is(&client.companyname, "")
        && client
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(&email(client.id, settings)))
        && is(&client.address1, PLACEHOLDER)
        && is(&client.address2, "")
        && is(&client.city, PLACEHOLDER)
        && is(&client.state, "")
        && is(&client.postcode, "")
        && is(&client.phonenumber, "")
        && is(&client.tax_id, "")
        && is(&client.notes, "")
        && settings
            .personnummer_field
            .is_none_or(|field| client.custom_field(field).is_none())
}

/// `UpdateClient` takes custom fields as a base64-encoded PHP `serialize()`d array of
/// field id → value: here `[id => ""]`.
fn cleared_custom_field(field: u64) -> String {
    let serialized = format!("a:1:{{i:{field};s:0:\"\";}}");
    base64::engine::general_purpose::STANDARD.encode(serialized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_fields_are_a_base64_php_array() {
        // base64 of a:1:{i:7;s:0:"";}
        assert_eq!(cleared_custom_field(7), "YToxOntpOjc7czowOiIiO30=");
    }
}
