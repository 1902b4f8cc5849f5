//! The connector keeps gallra's promises (plugin-api's conformance suite) against the
//! testkit's Zendesk: small pages, a partial-match neighbour of the subject, tickets, and a
//! compliance deletion that completes only when the suite lets it.

use gallra_plugin_api::conformance::{self, ConformanceSystem, InvalidSettings};
use gallra_plugin_api::{ConnectorError, IdentifierKind, Subject};
use gallra_plugin_zendesk::ZendeskConnector;

use crate::support::*;

const ANNA: &str = "annika.lindqvist@example.se";
const CECILIA: &str = "cecilia.bergstrom@example.se";
/// Zendesk's search finds this one for Anna's email too: it must be told apart.
const NEIGHBOUR: &str = "maj.annika.lindqvist@example.se";

struct Helpdesk {
    server: Zendesk,
    secrets: Secrets,
}

impl Helpdesk {
    fn start() -> Self {
        let server = Zendesk::start();
        server.set_page_size(2);
        let anna = server.add_user(NewUser {
            phone: Some("+46709876543".to_owned()),
            external_id: Some("kund-1001".to_owned()),
            last_login_at: Some("2024-02-01T09:00:00Z".to_owned()),
            ..NewUser::new("Annika Lindqvist", ANNA)
        });
        for n in 0..3 {
            server.add_ticket(
                anna,
                &format!("Faktura {n} dubbeldebiterad"),
                &format!("Hej, faktura nummer {n} drogs två gånger från mitt kort"),
            );
        }
        let neighbour = server.add_user(NewUser::new("Maj Lindqvist", NEIGHBOUR));
        server.add_ticket(neighbour, "Flytt av abonnemang", "Maj flyttar till Luleå");
        for n in 0..4 {
            server.add_user(NewUser::new(
                &format!("Filler {n}"),
                &format!("filler{n}.annika.lindqvist@example.se"),
            ));
        }
        let cecilia = server.add_user(NewUser {
            phone: Some("+46731112233".to_owned()),
            ..NewUser::new("Cecilia Bergström", CECILIA)
        });
        server.add_ticket(
            cecilia,
            "Lösenordet fungerar inte",
            "Cecilia kan inte logga in",
        );
        Self {
            server,
            secrets: Secrets::new(),
        }
    }
}

impl ConformanceSystem for Helpdesk {
    type Connector = ZendeskConnector;

    /// With `activity`, so that `status` is claimed and checked too.
    fn open(&mut self) -> Result<ZendeskConnector, ConnectorError> {
        let mut s = settings(&self.server, &self.secrets);
        s["activity"] = true.into();
        open_settings(&s)
    }

    fn open_unreachable(&mut self) -> Result<ZendeskConnector, ConnectorError> {
        let mut s = unreachable_settings(&self.secrets);
        s["activity"] = true.into();
        open_settings(&s)
    }

    fn subject(&self) -> Subject {
        by_email(ANNA)
    }

    fn expected_export(&self) -> Vec<String> {
        owned(&[
            "Annika Lindqvist",
            ANNA,
            "+46709876543",
            "kund-1001",
            "2024-02-01T09:00:00Z",
            "Faktura 0 dubbeldebiterad",
            "faktura nummer 2 drogs två gånger",
        ])
    }

    fn bystander(&self) -> Subject {
        by_email(CECILIA)
    }

    fn bystander_values(&self) -> Vec<String> {
        owned(&[
            CECILIA,
            "Cecilia Bergström",
            "+46731112233",
            "Lösenordet fungerar inte",
            NEIGHBOUR,
            "Maj Lindqvist",
            "Maj flyttar till Luleå",
        ])
    }

    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        let valid = settings(&self.server, &self.secrets);
        vec![InvalidSettings::replacing(
            &valid,
            "check_after_secs",
            0.into(),
        )]
    }

    fn holds(&mut self, subject: &Subject) -> bool {
        subject
            .of_kind(IdentifierKind::Email)
            .any(|email| self.server.holds_email(&email.value()))
    }

    fn erase_in_progress(&mut self) {
        self.server.finish_compliance_deletions();
    }
}

#[test]
fn the_connector_passes_the_conformance_suite() {
    let mut helpdesk = Helpdesk::start();
    conformance::run(&mut helpdesk);
    assert!(
        helpdesk.server.holds_email(NEIGHBOUR),
        "the partial match of the subject's email was erased too"
    );
}
