//! [`ConformanceSystem`]: what a connector's tests give the suite.

use crate::connector::Connector;
use crate::error::ConnectorError;
use crate::identifiers::{Identifier, IdentifierKind};
use crate::messages::Subject;

/// A seeded test system the suite runs a connector against.
///
/// Seed it with (at least) a **subject** to look up, export and erase, and a **bystander**
/// who shares nothing with the subject and must survive; optionally a **refused** subject
/// whose erasure the system must refuse (unpaid invoices, a contact linked to a domain).
/// [`run`](super::run) erases the subject, so give it a fresh system each time.
pub trait ConformanceSystem {
    /// The connector under test.
    type Connector: Connector;

    /// Opens the connector on the seeded system, configured as a sysadmin would.
    fn open(&mut self) -> Result<Self::Connector, ConnectorError>;

    /// Opens the connector configured for a system that is down (a closed port, a stopped
    /// server). Either this fails with [`ConnectorError::Transient`], or it succeeds and
    /// every operation on the result does.
    fn open_unreachable(&mut self) -> Result<Self::Connector, ConnectorError>;

    /// The seeded subject, with one identifier (at least) of every kind the connector
    /// claims in [`crate::Description::identifier_kinds`].
    fn subject(&self) -> Subject;

    /// Values the subject's export must contain (each appears, case-insensitively, in some
    /// field's value): its email, name, … Make them distinctive.
    fn expected_export(&self) -> Vec<String>;

    /// A second seeded person, sharing nothing with the subject, who must survive.
    fn bystander(&self) -> Subject;

    /// Values of the bystander that must never appear in the subject's export. Defaults to
    /// the bystander's identifiers.
    fn bystander_values(&self) -> Vec<String> {
        self.bystander()
            .identifiers
            .iter()
            .map(Identifier::value)
            .collect()
    }

    /// Whether the system, checked directly and not through the connector, still holds
    /// personal data of `subject` (a row, a member, a customer card with its email or
    /// personnummer). For an anonymizing system: `false` once the personal fields are gone.
    fn holds(&mut self, subject: &Subject) -> bool;

    /// A seeded subject whose erasure the system must refuse, if the system has such a rule.
    fn refused_subject(&self) -> Option<Subject> {
        None
    }

    /// Whether the data that must stay for [`refused_subject`](Self::refused_subject) is
    /// still there (the invoices, the linked contact), checked directly. Implement it
    /// whenever `refused_subject` is `Some`.
    fn refused_data_intact(&mut self, _subject: &Subject) -> bool {
        panic!(
            "conformance test setup: refused_subject() is Some, so implement \
             refused_data_intact() to check directly that the retained data is still there"
        )
    }

    /// Someone the system never held. Defaults to an email under `example.invalid` and
    /// customer id `987654321`; override it when the connector claims neither kind, or
    /// when that customer id exists.
    fn absent_subject(&self) -> Subject {
        Subject::new(vec![
            Identifier::parse(IdentifierKind::Email, "nobody.conformance@example.invalid")
                .expect("valid email"),
            // Digits, so that a system with numeric customer numbers can look it up.
            Identifier::parse(IdentifierKind::CustomerId, "987654321").expect("valid customer id"),
        ])
    }

    /// Called before `erase` is asked again after an [`crate::EraseOutcome::InProgress`]: let a
    /// test server finish its asynchronous deletion here (advance its clock, run its job).
    fn erase_in_progress(&mut self) {}

    /// Settings the connector must refuse, each with the key its refusal must name: a zero
    /// page size, a URL without a scheme, a `*_file` secret that is a relative path. The
    /// suite checks them as `gallra check` and the daemon's open do (the JSON parsed into
    /// the connector's settings, then [`Connector::validate`]), and then that the system
    /// still holds the subject and the bystander. Give at least one that passes serde and
    /// only `validate` refuses. Default: none, and the rule `invalid-settings-refused` is
    /// skipped; a connector with settings should not leave it so.
    fn invalid_settings(&self) -> Vec<InvalidSettings> {
        Vec::new()
    }

    /// How many times `erase` is asked again after [`crate::EraseOutcome::InProgress`] before the
    /// suite gives up. Default 10.
    fn max_in_progress_polls(&self) -> u32 {
        10
    }
}

/// Settings of a system that the connector must refuse (see
/// [`ConformanceSystem::invalid_settings`]).
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidSettings {
    /// The system's `settings` table as gallra hands it over (JSON), wrong in one place.
    pub settings: serde_json::Value,
    /// The dotted key the refusal must name, as `gallra check` shows it
    /// (`ConnectorError::Config::key`, or one of the keys of its settings problems), e.g.
    /// `page_size` or `subjects.identifiers.email`.
    pub key: String,
}

impl InvalidSettings {
    /// `settings`, which the connector must refuse naming `key`.
    pub fn new(settings: serde_json::Value, key: impl Into<String>) -> Self {
        Self {
            settings,
            key: key.into(),
        }
    }

    /// Valid `settings` with the value at the dotted `key` (tables only, e.g.
    /// `contacts.contact_id`; a missing table is added) replaced by `value`, which the
    /// connector must refuse naming `key`:
    ///
    /// ```
    /// # use gallra_plugin_api::conformance::InvalidSettings;
    /// # use serde_json::json;
    /// let bad = InvalidSettings::replacing(&json!({"page_size": 50}), "page_size", json!(0));
    /// assert_eq!(bad.settings, json!({"page_size": 0}));
    /// ```
    pub fn replacing(settings: &serde_json::Value, key: &str, value: serde_json::Value) -> Self {
        let mut changed = settings.clone();
        let mut at = &mut changed;
        for part in key.split('.') {
            if !at.is_object() {
                *at = serde_json::Value::Object(Default::default());
            }
            at = &mut at[part];
        }
        *at = value;
        Self::new(changed, key)
    }
}
