//! The connector keeps gallra's promises (plugin-api's conformance suite) against the
//! testkit's WHMCS. The refused subject is a client with an invoice.

use gallra_plugin_api::conformance::{self, ConformanceSystem, InvalidSettings};
use gallra_plugin_api::{ConnectorError, Identifier, IdentifierKind, Subject};
use gallra_plugin_whmcs::WhmcsConnector;

use crate::support::{
    anna, open_settings, owned, settings, unreachable_settings, ClientData, Whmcs,
};

struct Billing {
    server: Whmcs,
    anna: u64,
    bertil: u64,
    cecilia: u64,
}

fn subject(id: u64, email: &str) -> Subject {
    Subject::new(vec![
        Identifier::parse(IdentifierKind::CustomerId, &id.to_string()).unwrap(),
        Identifier::parse(IdentifierKind::Email, email).unwrap(),
    ])
}

fn id_of(subject: &Subject) -> u64 {
    subject
        .of_kind(IdentifierKind::CustomerId)
        .next()
        .expect("a customer id")
        .value()
        .parse()
        .expect("numeric")
}

impl Billing {
    fn start() -> Self {
        let server = Whmcs::start();
        server.set_max_page(2);
        let anna = server.add_client(anna());
        let bertil = server.add_client(ClientData::person(
            "Bertil",
            "Holm",
            "bertil.holm@example.se",
        ));
        server.add_invoice(bertil, "2024-05-02", "Paid");
        let mut cecilia =
            ClientData::person("Cecilia", "Bergström", "cecilia.bergstrom@example.se");
        cecilia.address1 = "Kungsgatan 3".to_owned();
        cecilia.phonenumber = "0731112233".to_owned();
        let cecilia = server.add_client(cecilia);
        Self {
            server,
            anna,
            bertil,
            cecilia,
        }
    }
}

impl ConformanceSystem for Billing {
    type Connector = WhmcsConnector;

    fn open(&mut self) -> Result<WhmcsConnector, ConnectorError> {
        open_settings(&settings(&self.server))
    }

    fn open_unreachable(&mut self) -> Result<WhmcsConnector, ConnectorError> {
        open_settings(&unreachable_settings(&self.server))
    }

    fn subject(&self) -> Subject {
        subject(self.anna, "annika.lindqvist@example.se")
    }

    fn expected_export(&self) -> Vec<String> {
        owned(&[
            "Annika",
            "Lindqvist",
            "annika.lindqvist@example.se",
            "Lindqvists Snickeri",
            "Ringvägen 17",
            "Umeå",
            "903 27",
            "0709876543",
            "19811218-9876",
            "prefers email",
        ])
    }

    fn bystander(&self) -> Subject {
        subject(self.cecilia, "cecilia.bergstrom@example.se")
    }

    fn bystander_values(&self) -> Vec<String> {
        owned(&[
            "Cecilia",
            "Bergström",
            "cecilia.bergstrom@example.se",
            "Kungsgatan 3",
            "0731112233",
        ])
    }

    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        let valid = settings(&self.server);
        vec![
            InvalidSettings::replacing(&valid, "page_size", 0.into()),
            InvalidSettings::replacing(&valid, "base_url", "billing.example.se".into()),
        ]
    }

    fn holds(&mut self, subject: &Subject) -> bool {
        self.server.client(id_of(subject)).is_some()
    }

    fn refused_subject(&self) -> Option<Subject> {
        Some(subject(self.bertil, "bertil.holm@example.se"))
    }

    fn refused_data_intact(&mut self, subject: &Subject) -> bool {
        let id = id_of(subject);
        self.server
            .client(id)
            .is_some_and(|c| c.email == "bertil.holm@example.se")
            && self.server.invoice_count(id) == 1
    }
}

#[test]
fn the_connector_passes_the_conformance_suite() {
    let mut billing = Billing::start();
    conformance::run(&mut billing);
    assert!(billing.server.client(billing.anna).is_none());
    assert!(billing.server.client(billing.bertil).is_some());
}
