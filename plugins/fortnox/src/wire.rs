//! The JSON Fortnox answers with: lists wrapped with `MetaInformation`, single resources
//! wrapped in their name (`{"Customer": {...}}`).

use jiff::civil::Date;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// A list's paging information.
#[derive(Debug, Deserialize)]
pub struct Meta {
    #[serde(rename = "@TotalPages")]
    pub total_pages: u32,
}

/// `GET /customers`.
#[derive(Debug, Deserialize)]
pub struct CustomerList {
    #[serde(rename = "MetaInformation")]
    pub meta: Meta,
    #[serde(rename = "Customers", default)]
    pub customers: Vec<CustomerRow>,
}

/// One row of `GET /customers`.
#[derive(Debug, Deserialize)]
pub struct CustomerRow {
    #[serde(rename = "CustomerNumber", deserialize_with = "text")]
    pub number: String,
    #[serde(rename = "Email", default, deserialize_with = "opt_text")]
    pub email: Option<String>,
    #[serde(rename = "OrganisationNumber", default, deserialize_with = "opt_text")]
    pub organisation_number: Option<String>,
}

/// `GET|PUT /customers/{CustomerNumber}`: every field, as Fortnox sent it.
#[derive(Debug, Deserialize)]
pub struct CustomerCard {
    #[serde(rename = "Customer")]
    pub customer: Map<String, Value>,
}

/// `GET /invoices`.
#[derive(Debug, Deserialize)]
pub struct InvoiceList {
    #[serde(rename = "MetaInformation")]
    pub meta: Meta,
    #[serde(rename = "Invoices", default)]
    pub invoices: Vec<InvoiceRow>,
}

/// One row of `GET /invoices`.
#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceRow {
    #[serde(rename = "InvoiceDate", default, deserialize_with = "opt_text")]
    pub invoice_date: Option<String>,
    /// The date of the payment that settled it.
    #[serde(rename = "FinalPayDate", default, deserialize_with = "opt_text")]
    pub final_pay_date: Option<String>,
    #[serde(rename = "Balance", default, deserialize_with = "opt_amount")]
    pub balance: Option<f64>,
    #[serde(rename = "Cancelled", default)]
    pub cancelled: Option<bool>,
}

impl InvoiceRow {
    /// The latest bookkeeping event of the invoice: its date, or the final payment's if
    /// later (the payment is a record too, booked in its own financial year).
    pub fn latest_date(&self) -> Option<Date> {
        let read = |d: &Option<String>| d.as_deref().and_then(|d| d.trim().parse::<Date>().ok());
        read(&self.invoice_date).max(read(&self.final_pay_date))
    }

    /// Whether money is still owed on it.
    pub fn is_unpaid(&self) -> bool {
        !self.cancelled.unwrap_or(false) && self.balance.is_some_and(|b| b.abs() >= 0.005)
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_text(d)?.ok_or_else(|| serde::de::Error::custom("expected text"))
}

/// A string or number as text; `null` and `""` as `None`.
fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// An amount as a number or a string.
fn opt_amount<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', ".").parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn an_invoice_counts_from_its_payment_when_that_is_later() {
        let row: InvoiceRow = serde_json::from_str(
            r#"{"InvoiceDate":"2025-06-20","FinalPayDate":"2025-07-02","Balance":0,"Cancelled":false}"#,
        )
        .unwrap();
        assert_eq!(row.latest_date(), Some(date(2025, 7, 2)));
        assert!(!row.is_unpaid());
        let unpaid: InvoiceRow = serde_json::from_str(
            r#"{"InvoiceDate":"2025-06-20","FinalPayDate":null,"Balance":"125.50"}"#,
        )
        .unwrap();
        assert_eq!(unpaid.latest_date(), Some(date(2025, 6, 20)));
        assert!(unpaid.is_unpaid());
        let cancelled: InvoiceRow =
            serde_json::from_str(r#"{"InvoiceDate":"2025-06-20","Balance":100,"Cancelled":true}"#)
                .unwrap();
        assert!(!cancelled.is_unpaid());
    }
}
