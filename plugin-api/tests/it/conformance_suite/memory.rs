//! An in-memory connector that keeps every promise, unless told to break one ([`Flaw`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use gallra_plugin_api::{
    Capability, Connector, ConnectorError, Description, EraseOutcome, ExportField, ExportResult,
    Identifier, IdentifierKind, LookupResult, OpenContext, RecordRef, RestoreOutcome, ResumeToken,
    Retention, ScanPage, ScanRequest, Subject, SubjectFacts, SubjectRecord,
};
use jiff::Timestamp;

/// How a test connector misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
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
    /// `health` is left to the trait's default.
    NoHealth,
    /// Says `activity_bearing` without claiming `status`.
    ActivityBearingWithoutStatus,
    /// A scan of a system that is down answers an empty last page.
    EmptyScanWhenUnreachable,
    /// Every page after the first hands on the cursor it was asked with.
    ScanCursorRepeats,
    /// The first page is empty, with a cursor to the rest.
    ScanEmptyFirstPage,
    /// Every page holds the rest of the subjects, whatever the limit.
    ScanIgnoresLimit,
    /// Every page says there is one subject more than there is.
    ScanTotalTooHigh,
    /// A page that holds everything lists it in reverse key order.
    ScanOrderDependsOnLimit,
    /// A page that holds everything lists its first subject twice.
    ScanListsTwice,
    /// Resolves, and claims, email only: a scanned key finds no one.
    ResolvesByEmailOnly,
    /// Scans with keys of its own (`row-C-1`), which lookup does not take as customer ids.
    ScanKeyIsNotTheCustomerId,
    /// Status of someone it does not hold fails ("no such customer").
    StatusOfAbsentFails,
    /// Status of a subject with an unpaid invoice fails.
    StatusFailsForDebtors,
    /// The scan leaves out the unpaid invoices that status counts.
    ScanLeavesOutInvoices,
    /// An asynchronous erase's resume token names the subject by email.
    ResumeTokenNamesTheSubject,
}

/// How a test connector erases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Delete,
    /// Overwrites email and name, keeps the record (bookkeeping systems).
    Anonymize,
    /// Answers InProgress until the system's job has run.
    Asynchronous,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    pub name: String,
    pub last_login: Option<Timestamp>,
    /// An unpaid invoice: erasure is refused.
    pub legal_hold: bool,
    pub anonymized: bool,
    pub deletion_requested: bool,
}

impl Person {
    pub fn new(email: &str, name: &str) -> Self {
        Self {
            email: email.into(),
            name: name.into(),
            last_login: None,
            legal_hold: false,
            anonymized: false,
            deletion_requested: false,
        }
    }

    fn facts(&self) -> SubjectFacts {
        SubjectFacts {
            last_activity: self.last_login,
            unpaid_invoices: Some(u64::from(self.legal_hold)),
            ..SubjectFacts::default()
        }
    }
}

pub type Store = Arc<Mutex<BTreeMap<String, Person>>>;

pub struct Memory {
    pub store: Store,
    pub reachable: bool,
    pub flaw: Flaw,
    pub style: Style,
}

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
            _ => refused_connection(),
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
                        Identifier::CustomerId(id) => {
                            id == *key && self.flaw != Flaw::ResolvesByEmailOnly
                        }
                        _ => false,
                    })
            })
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// The key a scan reports for the person stored under `key`.
    fn scan_key(&self, key: &str) -> String {
        match self.flaw {
            Flaw::ScanKeyIsNotTheCustomerId => format!("row-{key}"),
            _ => key.to_owned(),
        }
    }

    fn scan_record(&self, key: &str, person: &Person) -> SubjectRecord {
        let mut facts = person.facts();
        if self.flaw == Flaw::ScanLeavesOutInvoices {
            facts.unpaid_invoices = None;
        }
        SubjectRecord {
            key: self.scan_key(key),
            identifiers: vec![
                Identifier::parse(IdentifierKind::Email, &person.email).unwrap(),
                Identifier::parse(IdentifierKind::CustomerId, key).unwrap(),
            ],
            facts,
            unreadable: Vec::new(),
        }
    }

    /// Puts back each exported record that is not there.
    fn restore_export(&self, data: &ExportResult) -> Result<RestoreOutcome, ConnectorError> {
        let mut store = self.store.lock().unwrap();
        let mut outcome = RestoreOutcome::default();
        let mut records: BTreeMap<&str, Person> = BTreeMap::new();
        for field in &data.fields {
            let person = records
                .entry(&field.record)
                .or_insert_with(|| Person::new("", ""));
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

fn refused_connection() -> ConnectorError {
    ConnectorError::transient("system \"memory\": connection refused")
}

impl Connector for Memory {
    type Settings = super::settings::MemorySettings;

    fn validate(settings: &Self::Settings) -> Result<(), ConnectorError> {
        settings.validate()
    }

    fn open(_: Self::Settings, _: OpenContext) -> Result<Self, ConnectorError> {
        unreachable!("the tests build Memory directly")
    }

    fn describe(&self) -> Description {
        let mut capabilities = vec![
            Capability::Scan,
            Capability::Lookup,
            Capability::Export,
            Capability::Erase,
        ];
        // Only a deleting connector can put back what it deleted.
        if self.style == Style::Delete {
            capabilities.push(Capability::Restore);
        }
        if self.flaw != Flaw::ActivityBearingWithoutStatus {
            capabilities.push(Capability::Status);
        }
        Description {
            name: "memory".into(),
            version: "0".into(),
            capabilities,
            identifier_kinds: match self.flaw {
                Flaw::ResolvesByEmailOnly => vec![IdentifierKind::Email],
                _ => vec![IdentifierKind::Email, IdentifierKind::CustomerId],
            },
            record_kinds: vec![],
            activity_bearing: true,
        }
    }

    fn health(&self) -> Result<(), ConnectorError> {
        match (self.reachable, self.flaw) {
            (_, Flaw::NoHealth) => Err(ConnectorError::Unsupported {
                operation: "health".into(),
            }),
            (true, _) => Ok(()),
            (false, _) => Err(refused_connection()),
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<ScanPage, ConnectorError> {
        if !self.reachable {
            return match self.flaw {
                Flaw::EmptyScanWhenUnreachable => Ok(ScanPage {
                    subjects: vec![],
                    next_cursor: None,
                    total: None,
                }),
                _ => Err(refused_connection()),
            };
        }
        let store = self.store.lock().unwrap();
        let after = request
            .cursor
            .as_deref()
            .map(|c| c.strip_prefix("row-").unwrap_or(c));
        let rest: Vec<(&String, &Person)> = store
            .iter()
            .filter(|(key, _)| after.is_none_or(|after| key.as_str() > after))
            .collect();
        let total = Some(store.len() as u64 + u64::from(self.flaw == Flaw::ScanTotalTooHigh));
        if self.flaw == Flaw::ScanEmptyFirstPage && request.cursor.is_none() {
            return Ok(ScanPage {
                subjects: vec![],
                next_cursor: Some("row-".into()),
                total,
            });
        }
        let limit = match self.flaw {
            Flaw::ScanIgnoresLimit => rest.len(),
            _ => request.limit as usize,
        };
        let page = &rest[..rest.len().min(limit)];
        let mut subjects: Vec<SubjectRecord> =
            page.iter().map(|(k, p)| self.scan_record(k, p)).collect();
        let everything = page.len() == store.len();
        match self.flaw {
            Flaw::ScanOrderDependsOnLimit if everything => subjects.reverse(),
            Flaw::ScanListsTwice if everything => subjects.push(subjects[0].clone()),
            _ => {}
        }
        let next_cursor = match (page.last(), self.flaw) {
            (_, Flaw::ScanCursorRepeats) if request.cursor.is_some() => request.cursor.clone(),
            (Some((key, _)), _) if page.len() < rest.len() => Some(self.scan_key(key)),
            _ => None,
        };
        Ok(ScanPage {
            subjects,
            next_cursor,
            total,
        })
    }

    fn status(&self, who: &Subject) -> Result<SubjectFacts, ConnectorError> {
        if !self.reachable {
            return Err(self.down(who));
        }
        let keys = self.matching(who);
        if keys.is_empty() && self.flaw == Flaw::StatusOfAbsentFails {
            return Err(ConnectorError::permanent(
                "system \"memory\": no such customer",
            ));
        }
        let store = self.store.lock().unwrap();
        let mut facts = SubjectFacts::default();
        for key in keys {
            let theirs = store[&key].facts();
            if theirs.unpaid_invoices > Some(0) && self.flaw == Flaw::StatusFailsForDebtors {
                return Err(ConnectorError::permanent(
                    "system \"memory\": cannot count invoices",
                ));
            }
            facts.last_activity = facts.last_activity.max(theirs.last_activity);
            facts.unpaid_invoices =
                Some(facts.unpaid_invoices.unwrap_or(0) + theirs.unpaid_invoices.unwrap_or(0));
        }
        Ok(facts)
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
            return Err(refused_connection());
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
                (Style::Asynchronous, flaw) => {
                    person.deletion_requested = true;
                    let job = match flaw {
                        Flaw::ResumeTokenNamesTheSubject => format!("job-for-{}", person.email),
                        _ => format!("job-{key}"),
                    };
                    return Ok(EraseOutcome::InProgress {
                        reason: "the deletion job has not run yet".into(),
                        check_after_secs: 60,
                        resume: Some(ResumeToken::new(job)?),
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
