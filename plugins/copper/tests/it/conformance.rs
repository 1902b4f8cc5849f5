//! The connector keeps gallra's promises (plugin-api's conformance suite) against the
//! testkit's Copper. Copper has no rule that keeps a person, so there is no refused subject.

use std::collections::BTreeMap;

use gallra_plugin_api::conformance::{self, ConformanceSystem, InvalidSettings};
use gallra_plugin_api::{ConnectorError, IdentifierKind, Subject};
use gallra_plugin_copper::CopperConnector;
use gallra_testkit::connector::{by_email_and_phone, bystander, owned};
use gallra_testkit::copper::{Copper, NewPerson};
use gallra_testkit::server::unreachable_url;

use crate::support::{open_settings, settings, valid_token, SecretFile};

struct Crm {
    copper: Copper,
    token: SecretFile,
    /// Seeded email → person id.
    ids: BTreeMap<String, u64>,
}

const SUBJECT: (&str, &str) = ("annika.lindqvist@example.se", "+46709876543");

impl Crm {
    fn start() -> Self {
        let copper = Copper::start();
        let mut ids = BTreeMap::new();
        ids.insert(
            SUBJECT.0.to_owned(),
            copper.add_person(NewPerson {
                phones: vec!["070-987 65 43".to_owned()],
                title: Some("Snickare".to_owned()),
                company_name: Some("Svenssons Snickeri".to_owned()),
                details: Some("Träffades på mässan i Umeå".to_owned()),
                address: Some((
                    "Ringvägen 17".to_owned(),
                    "Umeå".to_owned(),
                    "903 27".to_owned(),
                    "SE".to_owned(),
                )),
                date_created: Some(1_516_262_400),
                ..NewPerson::named("Annika Lindqvist", "Annika.Lindqvist@example.se")
            }),
        );
        ids.insert(
            bystander::EMAIL.to_owned(),
            copper.add_person(NewPerson {
                phones: vec![bystander::PHONE.to_owned()],
                address: Some((
                    bystander::STREET.to_owned(),
                    bystander::CITY.to_owned(),
                    "222 22".to_owned(),
                    "SE".to_owned(),
                )),
                ..NewPerson::named(bystander::NAME, bystander::EMAIL)
            }),
        );
        Self {
            copper,
            token: valid_token(),
            ids,
        }
    }
}

impl ConformanceSystem for Crm {
    type Connector = CopperConnector;

    /// With `activity`, so that `status` is claimed and checked too.
    fn open(&mut self) -> Result<CopperConnector, ConnectorError> {
        let mut s = settings(&self.copper.base_url(), &self.token);
        s["activity"] = true.into();
        open_settings(&s)
    }

    fn open_unreachable(&mut self) -> Result<CopperConnector, ConnectorError> {
        let mut s = settings(
            &format!("{}/developer_api/v1", unreachable_url()),
            &self.token,
        );
        s["http"]["max_retries"] = 1.into();
        s["activity"] = true.into();
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
            "Snickare",
            "Svenssons Snickeri",
            "Träffades på mässan i Umeå",
            "Ringvägen 17",
            "903 27",
            "2018-01-18T08:00:00Z",
        ])
    }

    fn bystander(&self) -> Subject {
        bystander::subject()
    }

    fn bystander_values(&self) -> Vec<String> {
        bystander::values()
    }

    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        let valid = settings(&self.copper.base_url(), &self.token);
        vec![
            InvalidSettings::replacing(&valid, "user_email", "gallra-bot".into()),
            InvalidSettings::replacing(&valid, "page_size", 0.into()),
        ]
    }

    fn holds(&mut self, subject: &Subject) -> bool {
        subject
            .of_kind(IdentifierKind::Email)
            .filter_map(|e| self.ids.get(&e.value()))
            .any(|id| self.copper.person_exists(*id))
    }
}

#[test]
fn the_connector_passes_the_conformance_suite() {
    let mut crm = Crm::start();
    conformance::run(&mut crm);
    assert_eq!(crm.copper.people_count(), 1, "only the bystander is left");
}
