//! The JSON WHMCS answers with, read leniently: PHP writes numbers as strings or numbers
//! and empty lists as `[]` where full ones are `{"client": [...]}`, depending on version.

use serde::de::{self, DeserializeOwned};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Every answer's envelope.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    /// `success` or `error`.
    pub result: String,
    /// The error's text.
    #[serde(default, deserialize_with = "text")]
    pub message: Option<String>,
}

/// `GetClients`.
#[derive(Debug, Deserialize)]
pub struct ClientList {
    #[serde(deserialize_with = "number")]
    pub totalresults: u64,
    #[serde(default, deserialize_with = "listing")]
    pub clients: Vec<ClientRow>,
}

/// One row of `GetClients`.
#[derive(Debug, Deserialize)]
pub struct ClientRow {
    #[serde(deserialize_with = "number")]
    pub id: u64,
}

/// `GetClientsDetails` with `stats=true`.
#[derive(Debug, Deserialize)]
pub struct Details {
    pub client: Client,
    #[serde(default)]
    pub stats: Option<Stats>,
}

/// The `client` of `GetClientsDetails`: the fields the connector reads or exports.
#[derive(Debug, Deserialize)]
pub struct Client {
    #[serde(deserialize_with = "number")]
    pub id: u64,
    #[serde(default, deserialize_with = "text")]
    pub firstname: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub lastname: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub companyname: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub address1: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub address2: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub city: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub postcode: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub country: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub phonenumber: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub phonenumberformatted: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub phonecc: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub tax_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub lastlogin: Option<String>,
    #[serde(default, deserialize_with = "custom_fields")]
    pub customfields: Vec<CustomField>,
}

impl Client {
    /// The personal fields, by WHMCS name, for an export.
    pub fn personal_fields(&self) -> Vec<(String, Option<String>)> {
        let mut fields: Vec<(String, Option<String>)> = [
            ("firstname", &self.firstname),
            ("lastname", &self.lastname),
            ("companyname", &self.companyname),
            ("email", &self.email),
            ("address1", &self.address1),
            ("address2", &self.address2),
            ("city", &self.city),
            ("state", &self.state),
            ("postcode", &self.postcode),
            ("country", &self.country),
            ("phonenumber", &self.phonenumber),
            ("tax_id", &self.tax_id),
            ("notes", &self.notes),
            ("status", &self.status),
            ("lastlogin", &self.lastlogin),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), non_empty(value)))
        .collect();
        fields.extend(self.customfields.iter().map(|f| {
            (
                format!("customfield {}", f.id),
                non_empty(&Some(f.value.clone())),
            )
        }));
        fields
    }

    /// The value of custom field `id`, if set.
    pub fn custom_field(&self, id: u64) -> Option<&str> {
        self.customfields
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.value.trim())
            .filter(|v| !v.is_empty())
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// One client custom field value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomField {
    pub id: u64,
    pub value: String,
}

/// The `stats` of `GetClientsDetails`.
#[derive(Debug, Deserialize)]
pub struct Stats {
    #[serde(default, deserialize_with = "opt_number")]
    pub numunpaidinvoices: Option<u64>,
    #[serde(default, deserialize_with = "opt_number")]
    pub productsnumactive: Option<u64>,
    #[serde(default, deserialize_with = "opt_number")]
    pub numactivedomains: Option<u64>,
}

/// `GetInvoices`.
#[derive(Debug, Deserialize)]
pub struct InvoiceList {
    #[serde(deserialize_with = "number")]
    pub totalresults: u64,
    #[serde(default, deserialize_with = "listing")]
    pub invoices: Vec<Invoice>,
}

/// One row of `GetInvoices`.
#[derive(Debug, Deserialize)]
pub struct Invoice {
    /// `Y-m-d`, whatever the site's display format.
    #[serde(default, deserialize_with = "text")]
    pub date: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub status: Option<String>,
}

impl Invoice {
    /// Whether the invoice was issued: a draft is not yet a bookkeeping record.
    pub fn is_issued(&self) -> bool {
        !self
            .status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("draft"))
    }

    /// The invoice date, if it is a real one (`0000-00-00` is not).
    pub fn date(&self) -> Option<jiff::civil::Date> {
        let text = self.date.as_deref()?.trim();
        let day = text.get(..10).unwrap_or(text);
        day.parse().ok()
    }
}

/// A string, number or boolean as text; `null` as `None`.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => return Err(de::Error::custom("expected text")),
    })
}

fn to_number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A whole number written as a number or as a string.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    to_number(&Value::deserialize(d)?).ok_or_else(|| de::Error::custom("expected a whole number"))
}

/// Like [`number`], with `null`, `""` or anything else unreadable as unknown.
fn opt_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(to_number(&Value::deserialize(d)?))
}

/// A list written as `{"client": [...]}`, `{"client": {...}}` (one item), `[...]`, `""` or
/// `null`.
fn listing<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let items = match Value::deserialize(d)? {
        Value::Null => return Ok(Vec::new()),
        Value::String(s) if s.is_empty() => return Ok(Vec::new()),
        Value::Array(items) => items,
        Value::Object(map) if map.is_empty() => return Ok(Vec::new()),
        Value::Object(map) if map.len() == 1 => match map.into_iter().next() {
            Some((_, Value::Array(items))) => items,
            Some((_, one @ Value::Object(_))) => vec![one],
            _ => return Err(de::Error::custom("expected a list")),
        },
        _ => return Err(de::Error::custom("expected a list")),
    };
    items
        .into_iter()
        .map(|item| T::deserialize(item).map_err(|_| de::Error::custom("a list item is malformed")))
        .collect()
}

/// `customfields` as `[{"id": 1, "value": "x"}]`, `{"customfield": [...]}` or empty.
fn custom_fields<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<CustomField>, D::Error> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(deserialize_with = "number")]
        id: u64,
        #[serde(default, deserialize_with = "text")]
        value: Option<String>,
    }
    let raw: Vec<Raw> = listing(d)?;
    Ok(raw
        .into_iter()
        .map(|r| CustomField {
            id: r.id,
            value: r.value.unwrap_or_default(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_in_every_shape_whmcs_writes() {
        for (json, n) in [
            (
                r#"{"totalresults":"2","clients":{"client":[{"id":"1"},{"id":2}]}}"#,
                2,
            ),
            (r#"{"totalresults":1,"clients":{"client":{"id":"7"}}}"#, 1),
            (r#"{"totalresults":0,"clients":[]}"#, 0),
            (r#"{"totalresults":0,"clients":""}"#, 0),
            (r#"{"totalresults":0}"#, 0),
        ] {
            let list: ClientList = serde_json::from_str(json).unwrap();
            assert_eq!(list.clients.len(), n, "{json}");
        }
    }

    #[test]
    fn details_read_strings_and_numbers_alike() {
        let json = r#"{"result":"success","client":{"id":5,"email":"a@b.se","phonecc":46,
            "customfields":[{"id":"3","value":"19811218-9876"},{"id":4,"value":null}],
            "cctype":null},"stats":{"numunpaidinvoices":"2","productsnumactive":1,
            "numactivedomains":"","income":"$0.00"}}"#;
        let details: Details = serde_json::from_str(json).unwrap();
        assert_eq!(details.client.phonecc.as_deref(), Some("46"));
        assert_eq!(details.client.custom_field(3), Some("19811218-9876"));
        assert_eq!(details.client.custom_field(4), None);
        let stats = details.stats.unwrap();
        assert_eq!(stats.numunpaidinvoices, Some(2));
        assert_eq!(stats.productsnumactive, Some(1));
        assert_eq!(stats.numactivedomains, None);
    }

    #[test]
    fn invoice_dates_and_drafts() {
        let invoice = |date: &str, status: &str| Invoice {
            date: Some(date.to_owned()),
            status: Some(status.to_owned()),
        };
        assert_eq!(
            invoice("2024-02-29", "Paid").date(),
            Some(jiff::civil::date(2024, 2, 29))
        );
        assert_eq!(invoice("0000-00-00", "Paid").date(), None);
        assert!(!invoice("2024-01-01", "Draft").is_issued());
        assert!(invoice("2024-01-01", "Cancelled").is_issued());
    }
}
