//! The conformance suite: the promises gallra relies on, against the seeded file.

use gallra_plugin_api::conformance::{self, ConformanceSystem, InvalidSettings};
use gallra_plugin_api::{ConnectorError, Identifier, IdentifierKind, Subject};
use gallra_plugin_customers_csv::CustomersCsv;
use serde_json::json;

use crate::support::{open, Shop, ANNIKA, CECILIA};

/// A customer known by email and customer id, the kinds the connector claims.
fn customer(fields: [&str; 5]) -> Subject {
    Subject::new(vec![
        Identifier::parse(IdentifierKind::Email, fields[1]).unwrap(),
        Identifier::parse(IdentifierKind::CustomerId, fields[0]).unwrap(),
    ])
}

impl ConformanceSystem for Shop {
    type Connector = CustomersCsv;

    fn open(&mut self) -> Result<CustomersCsv, ConnectorError> {
        open(&self.settings())
    }

    /// A file on a file system that is not mounted: its directory is not there.
    fn open_unreachable(&mut self) -> Result<CustomersCsv, ConnectorError> {
        let unmounted = self.path.with_file_name("unmounted").join("customers.csv");
        open(&json!({ "path": unmounted }))
    }

    fn subject(&self) -> Subject {
        customer(ANNIKA)
    }

    fn expected_export(&self) -> Vec<String> {
        ANNIKA[1..4].iter().map(|v| v.to_string()).collect()
    }

    fn bystander(&self) -> Subject {
        customer(CECILIA)
    }

    fn bystander_values(&self) -> Vec<String> {
        CECILIA[1..4].iter().map(|v| v.to_string()).collect()
    }

    /// Settings `validate` must refuse without touching the file, each naming its key.
    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        let relative = json!("customers.csv");
        vec![InvalidSettings::replacing(&self.settings(), "path", relative)]
    }

    /// Read from the file itself, not through the connector.
    fn holds(&mut self, subject: &Subject) -> bool {
        let text = self.text().to_lowercase();
        text.lines().any(|line| {
            subject.identifiers.iter().any(|id| match id.kind() {
                IdentifierKind::CustomerId => line.starts_with(&format!("{},", id.value())),
                _ => line.contains(&id.value()),
            })
        })
    }
}

#[test]
fn the_connector_keeps_every_promise_of_the_conformance_suite() {
    conformance::run(&mut Shop::seeded());
}
