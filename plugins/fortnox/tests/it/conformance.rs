//! The connector keeps gallra's promises (plugin-api's conformance suite) against the
//! testkit's Fortnox. The refused subject is a customer with an invoice: anonymized and
//! retained under Bokföringslagen.

use gallra_plugin_api::conformance::{self, ConformanceSystem, InvalidSettings};
use gallra_plugin_api::{ConnectorError, Identifier, IdentifierKind, Subject};
use gallra_plugin_fortnox::FortnoxConnector;
use serde_json::json;

use crate::support::{
    anna_card, open_settings, owned, settings, today, unreachable_settings, Fortnox, InvoiceData,
};

struct Books {
    server: Fortnox,
}

fn subject(number: &str, email: &str, personnummer: &str) -> Subject {
    Subject::new(vec![
        Identifier::parse(IdentifierKind::CustomerId, number).unwrap(),
        Identifier::parse(IdentifierKind::Email, email).unwrap(),
        Identifier::parse(IdentifierKind::Personnummer, personnummer).unwrap(),
    ])
}

fn number_of(subject: &Subject) -> String {
    subject
        .of_kind(IdentifierKind::CustomerId)
        .next()
        .expect("a customer number")
        .value()
}

impl Books {
    fn start() -> Self {
        let server = crate::support::fortnox();
        server.add_customer("1001", anna_card());
        server.add_customer(
            "1002",
            json!({
                "Name": "Bertil Holm", "Email": "bertil.holm@example.se",
                "OrganisationNumber": "19640823-3234", "City": "Luleå",
            }),
        );
        server.add_invoice("1002", InvoiceData::paid(&today()));
        server.add_customer(
            "1003",
            json!({
                "Name": "Cecilia Bergström", "Email": "cecilia.bergstrom@example.se",
                "OrganisationNumber": "19900101-0017", "Address1": "Kungsgatan 3",
                "Phone1": "073-111 22 33",
            }),
        );
        Self { server }
    }
}

impl ConformanceSystem for Books {
    type Connector = FortnoxConnector;

    fn open(&mut self) -> Result<FortnoxConnector, ConnectorError> {
        open_settings(&settings(&self.server))
    }

    fn open_unreachable(&mut self) -> Result<FortnoxConnector, ConnectorError> {
        open_settings(&unreachable_settings(&self.server))
    }

    fn subject(&self) -> Subject {
        subject("1001", "annika.lindqvist@example.se", "19811218-9876")
    }

    fn expected_export(&self) -> Vec<String> {
        owned(&[
            "Annika Lindqvist",
            "annika.lindqvist@example.se",
            "faktura.annika@example.se",
            "811218-9876",
            "Ringvägen 17",
            "903 27",
            "Umeå",
            "070-987 65 43",
            "ring efter 17",
        ])
    }

    fn bystander(&self) -> Subject {
        subject("1003", "cecilia.bergstrom@example.se", "19900101-0017")
    }

    fn bystander_values(&self) -> Vec<String> {
        owned(&[
            "Cecilia Bergström",
            "cecilia.bergstrom@example.se",
            "900101-0017",
            "Kungsgatan 3",
            "073-111 22 33",
        ])
    }

    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        let valid = settings(&self.server);
        vec![
            InvalidSettings::replacing(&valid, "page_size", json!(501)),
            InvalidSettings::replacing(&valid, "client_id", json!(" ")),
        ]
    }

    fn holds(&mut self, subject: &Subject) -> bool {
        // A card holds personal data while it has its name, email or personnummer.
        self.server
            .customer(&number_of(subject))
            .is_some_and(|card| {
                ["Name", "Email", "OrganisationNumber"].iter().any(|field| {
                    card.get(*field)
                        .and_then(|v| v.as_str())
                        .is_some_and(|v| !v.is_empty() && v != "Anonymized")
                })
            })
    }

    fn refused_subject(&self) -> Option<Subject> {
        Some(subject("1002", "bertil.holm@example.se", "19640823-3234"))
    }

    fn refused_data_intact(&mut self, subject: &Subject) -> bool {
        let number = number_of(subject);
        self.server.customer(&number).is_some() && self.server.invoice_count(&number) == 1
    }
}

#[test]
fn the_connector_passes_the_conformance_suite() {
    let mut books = Books::start();
    conformance::run(&mut books);
    assert!(
        books.server.customer("1001").is_none(),
        "without invoices: deleted"
    );
    let kept = books.server.customer("1002").expect("with invoices: kept");
    assert_eq!(kept["Name"], "Anonymized");
    assert_eq!(kept["Email"], "");
    assert_eq!(kept["OrganisationNumber"], "");
}
