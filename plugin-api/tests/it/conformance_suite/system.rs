//! The seeded system the test connector runs against: Anna the subject, Bengt the
//! bystander, and Cilla, whose unpaid invoice keeps her.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use gallra_plugin_api::conformance::{ConformanceSystem, InvalidSettings};
use gallra_plugin_api::{ConnectorError, Identifier, IdentifierKind, Subject};
use serde_json::json;

use super::memory::{Flaw, Memory, Person, Store, Style};
use super::settings::{register, ValidateFlaw};

pub struct MemorySystem {
    store: Store,
    flaw: Flaw,
    style: Style,
    pub with_refusal: bool,
    pub validate_flaw: ValidateFlaw,
}

fn email(value: &str) -> Identifier {
    Identifier::parse(IdentifierKind::Email, value).unwrap()
}

fn customer(value: &str) -> Identifier {
    Identifier::parse(IdentifierKind::CustomerId, value).unwrap()
}

impl MemorySystem {
    pub fn new(flaw: Flaw, style: Style) -> Self {
        let anna = Person {
            last_login: Some("2024-05-01T11:45:00Z".parse().unwrap()),
            ..Person::new("anna@example.se", "Anna Andersson")
        };
        let cilla = Person {
            legal_hold: true,
            ..Person::new("cilla@example.se", "Cilla Credit")
        };
        let store = BTreeMap::from([
            ("C-1".to_owned(), anna),
            (
                "C-2".to_owned(),
                Person::new("bengt@example.se", "Bengt Bystander"),
            ),
            ("C-3".to_owned(), cilla),
        ]);
        Self {
            store: Arc::new(Mutex::new(store)),
            flaw,
            style,
            with_refusal: true,
            validate_flaw: ValidateFlaw::None,
        }
    }

    fn connector(&self, reachable: bool) -> Memory {
        Memory {
            store: self.store.clone(),
            reachable,
            flaw: self.flaw,
            style: self.style,
        }
    }
}

impl ConformanceSystem for MemorySystem {
    type Connector = Memory;

    fn open(&mut self) -> Result<Memory, ConnectorError> {
        Ok(self.connector(true))
    }

    fn open_unreachable(&mut self) -> Result<Memory, ConnectorError> {
        Ok(self.connector(false))
    }

    fn subject(&self) -> Subject {
        Subject::new(vec![email("anna@example.se"), customer("C-1")])
    }

    fn expected_export(&self) -> Vec<String> {
        vec!["anna@example.se".into(), "Anna Andersson".into()]
    }

    fn bystander(&self) -> Subject {
        Subject::new(vec![email("bengt@example.se"), customer("C-2")])
    }

    fn bystander_values(&self) -> Vec<String> {
        vec!["bengt@example.se".into(), "Bengt Bystander".into()]
    }

    fn holds(&mut self, who: &Subject) -> bool {
        let store = self.store.lock().unwrap();
        who.identifiers.iter().any(|i| match i {
            Identifier::Email(e) => store.values().any(|p| p.email == *e),
            Identifier::CustomerId(id) => store.get(id).is_some_and(|p| !p.anonymized),
            _ => false,
        })
    }

    fn refused_subject(&self) -> Option<Subject> {
        self.with_refusal
            .then(|| Subject::new(vec![email("cilla@example.se"), customer("C-3")]))
    }

    fn refused_data_intact(&mut self, _who: &Subject) -> bool {
        self.store
            .lock()
            .unwrap()
            .get("C-3")
            .is_some_and(|p| p.email == "cilla@example.se")
    }

    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        let store = match self.validate_flaw {
            ValidateFlaw::EmptiesTheSystem => register(&self.store),
            _ => 0,
        };
        let settings = json!({ "page_size": 0, "flaw": self.validate_flaw, "store": store });
        vec![InvalidSettings::new(settings, "page_size")]
    }

    fn erase_in_progress(&mut self) {
        self.store
            .lock()
            .unwrap()
            .retain(|_, p| !p.deletion_requested);
    }
}
