//! The connector keeps gallra's promises (plugin-api's conformance suite) against the
//! testkit's Mailchimp: the subject is in three of seven audiences, once archived (which the
//! search does not show) and once hidden from the search.

use gallra_plugin_api::conformance::{self, ConformanceSystem, InvalidSettings};
use gallra_plugin_api::{ConnectorError, IdentifierKind, Subject};
use gallra_plugin_mailchimp::MailchimpConnector;
use serde_json::json;

use crate::support::*;

const ANNA: &str = "Annika.Lindqvist@example.se";
const CECILIA: &str = "cecilia.bergstrom@example.se";

struct Account {
    server: Mailchimp,
    secrets: Secrets,
}

impl Account {
    fn start() -> Self {
        let server = Mailchimp::start();
        with_audiences(&server);
        let address =
            json!({"addr1": "Ringvägen 17", "city": "Umeå", "zip": "903 27", "country": "SE"});
        server.add_member(
            "list1",
            NewMember::subscribed(ANNA)
                .field("FNAME", "Annika")
                .field("LNAME", "Lindqvist")
                .field("ADDRESS", address)
                .field("PHONE", "+46709876543")
                .ip("192.0.2.44"),
        );
        server.add_member("list4", NewMember::subscribed(ANNA).status("archived"));
        server.add_member(
            "list6",
            NewMember::subscribed(ANNA).field("FNAME", "Annika"),
        );
        server.hide_from_search("list6", ANNA);
        server.add_member(
            "list1",
            NewMember::subscribed(CECILIA)
                .field("FNAME", "Cecilia")
                .field("LNAME", "Bergström"),
        );
        server.add_member("list2", NewMember::subscribed(&format!("x.{CECILIA}")));
        Self {
            server,
            secrets: Secrets::new(),
        }
    }
}

impl ConformanceSystem for Account {
    type Connector = MailchimpConnector;

    fn open(&mut self) -> Result<MailchimpConnector, ConnectorError> {
        open_settings(&settings(&self.server, &self.secrets))
    }

    fn open_unreachable(&mut self) -> Result<MailchimpConnector, ConnectorError> {
        open_settings(&unreachable_settings(&self.secrets))
    }

    fn subject(&self) -> Subject {
        by_email(ANNA)
    }

    fn expected_export(&self) -> Vec<String> {
        owned(&[
            ANNA,
            "Annika",
            "Lindqvist",
            "Ringvägen 17",
            "Umeå",
            "903 27",
            "+46709876543",
            "192.0.2.44",
        ])
    }

    fn bystander(&self) -> Subject {
        by_email(CECILIA)
    }

    fn bystander_values(&self) -> Vec<String> {
        owned(&[CECILIA, "Cecilia", "Bergström"])
    }

    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        let valid = settings(&self.server, &self.secrets);
        vec![
            InvalidSettings::replacing(&valid, "page_size", json!(0)),
            InvalidSettings::replacing(&valid, "max_connections", json!(0)),
        ]
    }

    fn holds(&mut self, subject: &Subject) -> bool {
        subject
            .of_kind(IdentifierKind::Email)
            .any(|email| self.server.holds_email(&email.value()))
    }
}

#[test]
fn the_connector_passes_the_conformance_suite() {
    let mut account = Account::start();
    conformance::run(&mut account);
    for list in ["list1", "list4", "list6"] {
        assert!(account.server.is_forgotten(list, ANNA), "{list}");
    }
}
