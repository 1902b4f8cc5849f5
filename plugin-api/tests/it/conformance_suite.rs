//! The conformance suite itself: a sound in-memory connector passes it (deleting,
//! anonymizing or erasing asynchronously), and each deliberately broken one fails it,
//! naming the rule it breaks.

#![cfg(feature = "conformance")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use gallra_plugin_api::conformance::{self, ConformanceSystem};
use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExportField, ExportResult,
    Identifier, IdentifierKind, LookupResult, OpenContext, RecordRef, RestoreOutcome, Retention,
    Subject,
};

/// How a test connector misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    None,
    EmptyLookupWhenUnreachable,
    EmailInError,
    ErasedForRefused,
    EraseLeavesData,
    EraseTakesBystander,
    ExportMissesName,
    SecondEraseFails,
    /// Restore puts a record back even when it is there (not idempotent).
    RestoreTwice,
    /// Restore leaves out the name.
    RestoreLosesName,
    /// A batched lookup answers its subjects in reverse order.
    BatchOutOfOrder,
    /// A batched erase answers "erased" for every subject without erasing anything.
    BatchEraseDoesNothing,
}

/// How a test connector erases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Delete,
    /// Overwrites email and name, keeps the record (bookkeeping systems).
    Anonymize,
    /// Answers InProgress until the system's job has run.
    Asynchronous,
}

#[derive(Debug, Clone)]
struct Person {
    email: String,
    name: String,
    legal_hold: bool,
    anonymized: bool,
    deletion_requested: bool,
}

type Store = Arc<Mutex<BTreeMap<String, Person>>>;

struct Memory {
    store: Store,
    reachable: bool,
    flaw: Flaw,
    style: Style,
}

#[derive(serde::Deserialize)]
struct NoSettings {}

impl Memory {
    fn down(&self, who: &Subject) -> ConnectorError {
        match self.flaw {
            Flaw::EmailInError => {
                let email = who
                    .of_kind(IdentifierKind::Email)
                    .next()
                    .map(Identifier::value);
                ConnectorError::transient(format!("cannot reach the system to look up {email:?}"))
            }
            _ => ConnectorError::transient("system \"memory\": connection refused"),
        }
    }

    /// Keys of the people the subject's identifiers match (anonymized ones match nothing).
    fn matching(&self, who: &Subject) -> Vec<String> {
        let store = self.store.lock().unwrap();
        store
            .iter()
            .filter(|(key, p)| {
                !p.anonymized
                    && who.identifiers.iter().any(|i| match i {
                        Identifier::Email(e) => *e == p.email,
                        Identifier::CustomerId(id) => id == *key,
                        _ => false,
                    })
            })
            .map(|(key, _)| key.clone())
            .collect()
    }
}

impl Connector for Memory {
    type Settings = NoSettings;

    fn open(_: NoSettings, _: OpenContext) -> Result<Self, ConnectorError> {
        unreachable!("the tests build Memory directly")
    }

    fn describe(&self) -> Description {
        Description {
            name: "memory".into(),
            version: "0".into(),
            capabilities: match self.style {
                // Only a deleting connector can put back what it deleted.
                Style::Delete => vec![
                    Capability::Lookup,
                    Capability::Export,
                    Capability::Erase,
                    Capability::Restore,
                ],
                _ => vec![Capability::Lookup, Capability::Export, Capability::Erase],
            },
            identifier_kinds: vec![IdentifierKind::Email, IdentifierKind::CustomerId],
            record_kinds: vec![],
            activity_bearing: false,
        }
    }

    fn health(&self) -> Result<(), ConnectorError> {
        if self.reachable {
            Ok(())
        } else {
            Err(ConnectorError::transient(
                "system \"memory\": connection refused",
            ))
        }
    }

    fn lookup(&self, who: &Subject) -> Result<LookupResult, ConnectorError> {
        if !self.reachable {
            return match self.flaw {
                Flaw::EmptyLookupWhenUnreachable => Ok(LookupResult::default()),
                _ => Err(self.down(who)),
            };
        }
        let records = self
            .matching(who)
            .into_iter()
            .map(|key| RecordRef {
                collection: "people".into(),
                key,
            })
            .collect();
        Ok(LookupResult { records })
    }

    fn export(&self, who: &Subject) -> Result<ExportResult, ConnectorError> {
        if !self.reachable {
            return Err(self.down(who));
        }
        let keys = self.matching(who);
        let store = self.store.lock().unwrap();
        let mut fields = Vec::new();
        for key in keys {
            let person = &store[&key];
            let mut values = vec![("email", person.email.clone())];
            if self.flaw != Flaw::ExportMissesName {
                values.push(("name", person.name.clone()));
            }
            for (field, value) in values {
                fields.push(ExportField {
                    collection: "people".into(),
                    record: key.clone(),
                    field: field.into(),
                    value: Some(value),
                });
            }
        }
        Ok(ExportResult { fields })
    }

    fn restore(&self, data: &ExportResult) -> Result<RestoreOutcome, ConnectorError> {
        if !self.reachable {
            return Err(ConnectorError::transient(
                "system \"memory\": connection refused",
            ));
        }
        self.restore_export(data)
    }

    fn lookup_many(&self, who: &[Subject]) -> Vec<Result<LookupResult, ConnectorError>> {
        let mut found: Vec<_> = who.iter().map(|w| self.lookup(w)).collect();
        if self.flaw == Flaw::BatchOutOfOrder {
            found.reverse();
        }
        found
    }

    fn erase_many(&self, who: &[Subject]) -> Vec<Result<EraseOutcome, ConnectorError>> {
        match self.flaw {
            Flaw::BatchEraseDoesNothing => who
                .iter()
                .map(|_| Ok(EraseOutcome::Erased { records: 1 }))
                .collect(),
            _ => who.iter().map(|w| self.erase(w)).collect(),
        }
    }

    fn erase(&self, who: &Subject) -> Result<EraseOutcome, ConnectorError> {
        if !self.reachable {
            return Err(self.down(who));
        }
        let keys = self.matching(who);
        let mut store = self.store.lock().unwrap();
        if self.flaw == Flaw::SecondEraseFails && keys.is_empty() {
            return Err(ConnectorError::permanent(
                "system \"memory\": no such person",
            ));
        }
        let mut records = 0;
        for key in keys {
            let person = store.get_mut(&key).unwrap();
            if person.legal_hold {
                if self.flaw == Flaw::ErasedForRefused {
                    return Ok(EraseOutcome::Erased { records: 0 });
                }
                return Ok(EraseOutcome::Retained(Retention {
                    reason: "unpaid invoices are bookkeeping records".into(),
                    legal_basis: Some("Bokföringslagen 7 kap. 2 §".into()),
                    until: None,
                }));
            }
            records += 1;
            match (self.style, self.flaw) {
                (_, Flaw::EraseLeavesData) => {}
                (Style::Delete, _) => {
                    store.remove(&key);
                }
                (Style::Anonymize, _) => {
                    person.email = format!("anonymized-{key}@invalid");
                    person.name = "—".into();
                    person.anonymized = true;
                }
                (Style::Asynchronous, _) => {
                    person.deletion_requested = true;
                    return Ok(EraseOutcome::InProgress {
                        reason: "the deletion job has not run yet".into(),
                        check_after_secs: 60,
                        resume: None,
                    });
                }
            }
            if self.flaw == Flaw::EraseTakesBystander {
                store.retain(|_, p| p.legal_hold);
            }
        }
        Ok(match self.style {
            Style::Anonymize => EraseOutcome::Anonymized {
                records,
                retained: None,
                kept: Vec::new(),
            },
            _ => EraseOutcome::Erased { records },
        })
    }
}

impl Memory {
    /// Puts back each exported record that is not there.
    fn restore_export(&self, data: &ExportResult) -> Result<RestoreOutcome, ConnectorError> {
        let mut store = self.store.lock().unwrap();
        let mut outcome = RestoreOutcome::default();
        let mut records: BTreeMap<&str, Person> = BTreeMap::new();
        for field in &data.fields {
            let person = records.entry(&field.record).or_insert_with(|| Person {
                email: String::new(),
                name: String::new(),
                legal_hold: false,
                anonymized: false,
                deletion_requested: false,
            });
            let value = field.value.clone().unwrap_or_default();
            match field.field.as_str() {
                "email" => person.email = value,
                "name" if self.flaw != Flaw::RestoreLosesName => person.name = value,
                _ => {}
            }
        }
        for (key, person) in records {
            if store.contains_key(key) && self.flaw != Flaw::RestoreTwice {
                outcome.already_present += 1;
            } else {
                store.insert(key.to_owned(), person);
                outcome.restored += 1;
            }
        }
        Ok(outcome)
    }
}

struct MemorySystem {
    store: Store,
    flaw: Flaw,
    style: Style,
    with_refusal: bool,
}

fn email(value: &str) -> Identifier {
    Identifier::parse(IdentifierKind::Email, value).unwrap()
}

fn customer(value: &str) -> Identifier {
    Identifier::parse(IdentifierKind::CustomerId, value).unwrap()
}

impl MemorySystem {
    fn new(flaw: Flaw, style: Style) -> Self {
        let person = |email: &str, name: &str, legal_hold| Person {
            email: email.into(),
            name: name.into(),
            legal_hold,
            anonymized: false,
            deletion_requested: false,
        };
        let store = BTreeMap::from([
            (
                "C-1".to_owned(),
                person("anna@example.se", "Anna Andersson", false),
            ),
            (
                "C-2".to_owned(),
                person("bengt@example.se", "Bengt Bystander", false),
            ),
            (
                "C-3".to_owned(),
                person("cilla@example.se", "Cilla Credit", true),
            ),
        ]);
        Self {
            store: Arc::new(Mutex::new(store)),
            flaw,
            style,
            with_refusal: true,
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

    fn erase_in_progress(&mut self) {
        self.store
            .lock()
            .unwrap()
            .retain(|_, p| !p.deletion_requested);
    }
}

fn run(flaw: Flaw, style: Style) {
    conformance::run(&mut MemorySystem::new(flaw, style));
}

#[test]
fn a_deleting_connector_passes() {
    run(Flaw::None, Style::Delete);
}

#[test]
fn an_anonymizing_connector_passes() {
    run(Flaw::None, Style::Anonymize);
}

#[test]
fn an_asynchronous_eraser_passes_once_its_job_has_run() {
    run(Flaw::None, Style::Asynchronous);
}

#[test]
fn a_system_without_refusals_skips_those_rules() {
    let mut system = MemorySystem::new(Flaw::ErasedForRefused, Style::Delete);
    system.with_refusal = false;
    conformance::run(&mut system);
}

#[test]
#[should_panic(expected = "conformance rule \"unreachable-is-transient\" violated: lookup")]
fn an_empty_lookup_from_an_unreachable_system_fails() {
    run(Flaw::EmptyLookupWhenUnreachable, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"no-personal-data-in-errors\" violated: the lookup error"
)]
fn an_email_in_an_error_message_fails() {
    run(Flaw::EmailInError, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"refusal-honest\" violated")]
fn reporting_erased_for_a_refused_subject_fails() {
    run(Flaw::ErasedForRefused, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"erase-removes\" violated")]
fn an_erase_that_leaves_the_data_fails() {
    run(Flaw::EraseLeavesData, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"erase-spares-bystander\" violated")]
fn an_erase_that_takes_the_bystander_fails() {
    run(Flaw::EraseTakesBystander, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"export-complete\" violated")]
fn an_export_missing_a_seeded_value_fails() {
    run(Flaw::ExportMissesName, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"erase-idempotent\" violated")]
fn an_erase_that_fails_the_second_time_fails() {
    run(Flaw::SecondEraseFails, Style::Delete);
}

#[test]
#[should_panic(expected = "conformance rule \"restore-idempotent\" violated")]
fn a_restore_that_puts_back_twice_fails() {
    run(Flaw::RestoreTwice, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"restore-round-trip\" violated: after the restore the subject's export differs"
)]
fn a_restore_that_loses_a_field_fails() {
    run(Flaw::RestoreLosesName, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"batch-matches-single\" violated: subject #1 of a batched lookup"
)]
fn a_batch_answered_out_of_order_fails() {
    run(Flaw::BatchOutOfOrder, Style::Delete);
}

#[test]
#[should_panic(
    expected = "conformance rule \"batch-erase-matches-single\" violated: subject #1 of a batched erase"
)]
fn a_batched_erase_that_answers_unlike_the_single_one_fails() {
    run(Flaw::BatchEraseDoesNothing, Style::Delete);
}
