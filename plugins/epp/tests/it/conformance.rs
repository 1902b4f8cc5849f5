//! The connector keeps gallra's promises (plugin-api's conformance suite) against the
//! testkit's registry. The refused subject is a contact still linked to a domain.

use gallra_plugin_api::conformance::{self, ConformanceSystem, InvalidSettings};
use gallra_plugin_api::{ConnectorError, Identifier, IdentifierKind, Subject};
use gallra_plugin_epp::EppConnector;

use crate::support::{
    open_settings, owned, settings, unreachable_settings, ContactData, EppServer,
};

struct Registry {
    server: EppServer,
}

const SUBJECT: &str = "kund-anna";
const BYSTANDER: &str = "kund-cecilia";
const LINKED: &str = "kund-bertil";

fn contact_id(customer_id: &str) -> String {
    format!("GALLRA-{customer_id}")
}

fn by_customer_id(customer_id: &str) -> Subject {
    Subject::new(vec![Identifier::parse(
        IdentifierKind::CustomerId,
        customer_id,
    )
    .unwrap()])
}

fn first_customer_id(subject: &Subject) -> String {
    subject
        .of_kind(IdentifierKind::CustomerId)
        .next()
        .expect("a customer id")
        .value()
}

impl Registry {
    fn start() -> Self {
        let server = EppServer::start();
        server.add_contact(
            &contact_id(SUBJECT),
            ContactData {
                org: Some("Svenssons Snickeri".to_owned()),
                street: vec!["Ringvägen 17".to_owned()],
                city: "Umeå".to_owned(),
                pc: Some("903 27".to_owned()),
                voice: Some("+46.709876543".to_owned()),
                orgno: Some("[SE]811218-9876".to_owned()),
                ..ContactData::person("Annika Lindqvist", "annika.lindqvist@example.se")
            },
        );
        server.add_contact(
            &contact_id(BYSTANDER),
            ContactData {
                street: vec!["Kungsgatan 3".to_owned()],
                city: "Lund".to_owned(),
                voice: Some("+46.731112233".to_owned()),
                ..ContactData::person("Cecilia Bergström", "cecilia.bergstrom@example.se")
            },
        );
        server.add_contact(
            &contact_id(LINKED),
            ContactData::person("Bertil Holm", "bertil.holm@example.se"),
        );
        server.add_domain("holm.se", &contact_id(LINKED));
        Self { server }
    }
}

impl ConformanceSystem for Registry {
    type Connector = EppConnector;

    fn open(&mut self) -> Result<EppConnector, ConnectorError> {
        open_settings(&settings(&self.server))
    }

    fn open_unreachable(&mut self) -> Result<EppConnector, ConnectorError> {
        open_settings(&unreachable_settings(&self.server))
    }

    fn subject(&self) -> Subject {
        by_customer_id(SUBJECT)
    }

    fn expected_export(&self) -> Vec<String> {
        owned(&[
            "Annika Lindqvist",
            "annika.lindqvist@example.se",
            "Svenssons Snickeri",
            "Ringvägen 17",
            "Umeå",
            "903 27",
            "+46.709876543",
            "[SE]811218-9876",
        ])
    }

    fn bystander(&self) -> Subject {
        by_customer_id(BYSTANDER)
    }

    fn bystander_values(&self) -> Vec<String> {
        owned(&[
            BYSTANDER,
            "Cecilia Bergström",
            "cecilia.bergstrom@example.se",
            "Kungsgatan 3",
            "+46.731112233",
        ])
    }

    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        let valid = settings(&self.server);
        vec![
            InvalidSettings::replacing(&valid, "port", 0.into()),
            InvalidSettings::replacing(&valid, "contacts.contact_id", "GALLRA".into()),
        ]
    }

    fn holds(&mut self, subject: &Subject) -> bool {
        self.server
            .contact(&contact_id(&first_customer_id(subject)))
            .is_some()
    }

    fn refused_subject(&self) -> Option<Subject> {
        Some(by_customer_id(LINKED))
    }

    fn refused_data_intact(&mut self, subject: &Subject) -> bool {
        // The registry keeps the contact (anonymized) for as long as the domain uses it.
        self.server
            .contact(&contact_id(&first_customer_id(subject)))
            .is_some()
            && self.server.domain_exists("holm.se")
    }
}

#[test]
fn the_connector_passes_the_conformance_suite() {
    let mut registry = Registry::start();
    conformance::run(&mut registry);
    // The refused contact was anonymized while it stays.
    let kept = registry.server.contact(&contact_id(LINKED)).unwrap();
    assert_eq!(kept.name, "Anonymized");
}
