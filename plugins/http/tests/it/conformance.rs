//! The connector, configured with the crate docs' example settings, keeps gallra's promises
//! (plugin-api's conformance suite) against the testkit's REST API.

use gallra_plugin_api::conformance::{self, ConformanceSystem, InvalidSettings};
use gallra_plugin_api::{ConnectorError, IdentifierKind, Subject};
use gallra_plugin_http::HttpConnector;
use gallra_testkit::connector::{by_email_and_phone, bystander, owned};
use gallra_testkit::rest::{Address, NewUser, RestApi};
use gallra_testkit::server::unreachable_url;

use crate::support::{open_settings, settings, settings_for, valid_token, SecretFile};

struct Shop {
    api: RestApi,
    token: SecretFile,
    subject_id: u64,
    bystander_id: u64,
}

const SUBJECT: (&str, &str) = ("annika.lindqvist@example.se", "+46709876543");

impl Shop {
    fn start() -> Self {
        let api = RestApi::start();
        let subject_id = api.add_user(NewUser {
            email: "Annika.Lindqvist@example.se".to_owned(),
            name: "Annika Lindqvist".to_owned(),
            phone: Some("070-987 65 43".to_owned()),
            address: Some(Address {
                street: "Ringvägen 17".to_owned(),
                city: "Umeå".to_owned(),
            }),
            last_login: Some("2024-05-01T12:00:00Z".to_owned()),
        });
        let bystander_id = api.add_user(NewUser {
            email: bystander::EMAIL.to_owned(),
            name: bystander::NAME.to_owned(),
            phone: Some(bystander::PHONE.to_owned()),
            address: Some(Address {
                street: bystander::STREET.to_owned(),
                city: bystander::CITY.to_owned(),
            }),
            last_login: None,
        });
        Self {
            api,
            token: valid_token(),
            subject_id,
            bystander_id,
        }
    }
}

impl ConformanceSystem for Shop {
    type Connector = HttpConnector;

    fn open(&mut self) -> Result<HttpConnector, ConnectorError> {
        open_settings(&settings(&self.api, &self.token))
    }

    fn open_unreachable(&mut self) -> Result<HttpConnector, ConnectorError> {
        let mut s = settings_for(&unreachable_url(), &self.token);
        s["http"]["max_retries"] = 1.into();
        open_settings(&s)
    }

    fn subject(&self) -> Subject {
        by_email_and_phone(SUBJECT.0, SUBJECT.1)
    }

    fn expected_export(&self) -> Vec<String> {
        owned(&[
            "Annika Lindqvist",
            "annika.lindqvist@example.se",
            "070-987 65 43",
            "Ringvägen 17",
            "Umeå",
            "2024-05-01T12:00:00Z",
        ])
    }

    fn bystander(&self) -> Subject {
        bystander::subject()
    }

    fn bystander_values(&self) -> Vec<String> {
        bystander::values()
    }

    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        let valid = settings(&self.api, &self.token);
        vec![
            InvalidSettings::replacing(&valid, "collection", " ".into()),
            InvalidSettings::replacing(&valid, "status.last_activity", "last_login".into()),
        ]
    }

    fn holds(&mut self, subject: &Subject) -> bool {
        let email = subject
            .of_kind(IdentifierKind::Email)
            .next()
            .unwrap()
            .value();
        let id = if email == SUBJECT.0 {
            self.subject_id
        } else {
            self.bystander_id
        };
        self.api.user_exists(id)
    }
}

#[test]
fn the_documented_example_passes_the_conformance_suite() {
    let mut shop = Shop::start();
    conformance::run(&mut shop);
    assert_eq!(shop.api.user_count(), 1, "only the bystander is left");
}
