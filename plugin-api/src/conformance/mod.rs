//! The conformance suite (feature `conformance`): the promises every connector keeps,
//! checked against a seeded test system.
//!
//! gallra decides from a connector's answers whether a person's data is gone, so a
//! connector must never say "nothing here" when it could not look, never say "erased" when
//! data stays, and never put personal data in an error. Implement [`ConformanceSystem`] for
//! your test system (a seeded database, a testkit server) and call [`run`] in a test:
//!
//! ```ignore
//! #[test]
//! fn the_connector_passes_the_conformance_suite() {
//!     let mut system = SeededHelpdesk::start();
//!     gallra_plugin_api::conformance::run(&mut system);
//! }
//! ```
//!
//! [`run`] panics on the first broken promise with a message that starts with
//! `conformance rule "<rule>" violated`. The rules, in the order they are checked:
//!
//! | rule | what must hold |
//! |---|---|
//! | `describe` | the connector claims `lookup` and `erase` and at least one identifier kind |
//! | `unreachable-is-transient` | pointed at a system that is down, `open` or every operation (`health` included) fails with [`ConnectorError::Transient`] — never an empty lookup, never `Erased` |
//! | `lookup-finds-subject` | lookup finds the seeded subject by each identifier kind the connector claims, alone |
//! | `lookup-absent-is-empty` | lookup of someone the system never held is an empty result, not an error |
//! | `batch-matches-single` | a batched lookup, status and export (those claimed) of the subject, the bystander and someone never held answer each of them as the single call does, in order |
//! | `export-complete` | export (if claimed) holds every expected value of the subject |
//! | `export-only-subject` | export holds no value of the bystander |
//! | `erase-succeeds` | erasing the subject answers `Erased` or `Anonymized` without retention (`InProgress` is re-asked until done) |
//! | `erase-removes` | afterwards lookup by each identifier kind finds nothing, and the system (checked directly) holds none of the subject's data |
//! | `erase-spares-bystander` | the bystander is still found and still held |
//! | `erase-idempotent` | erasing again succeeds |
//! | `batch-erase-matches-single` | a batched erase of the erased subject and someone never held answers each as the single erase does (and removes nothing of the bystander) |
//! | `restore-round-trip` | (if `restore` is claimed, with `export`) restoring the export made before the erase answers `restored` > 0, after which lookup finds the subject again, the system holds it, and its export equals the one before, field for field |
//! | `restore-idempotent` | restoring the same export again puts nothing back (`restored` = 0, `already_present` > 0) and changes no field |
//! | `refusal-honest` | a subject the system must keep is answered `Retained`, `Anonymized` with a retention, or [`ConnectorError::Refused`] — never `Erased` |
//! | `refusal-keeps-data` | and the data that must stay is still there |
//! | `no-personal-data-in-errors` | no error returned during the run contains an identifier or seeded value of any test subject |
//!
//! A connector that anonymizes instead of deleting (bookkeeping systems) passes as long as,
//! after the erase, its lookup no longer finds the subject by its identifiers and
//! [`ConformanceSystem::holds`] says the personal data is gone.
//!
//! Every call goes through [`crate::dispatch`] and a JSON round trip of its result, as it
//! would through the plugin ABI.

#![deny(missing_docs)]

mod pii;

use crate::connector::{dispatch, Connector};
use crate::error::ConnectorError;
use crate::identifiers::{Identifier, IdentifierKind};
use crate::messages::{
    BatchOp, Call, Capability, Description, EraseOutcome, ExportResult, LookupResult, Reply,
    RestoreOutcome, Subject,
};

use pii::Sensitive;

/// A seeded test system the suite runs a connector against.
///
/// Seed it with (at least) a **subject** to look up, export and erase, and a **bystander**
/// who shares nothing with the subject and must survive; optionally a **refused** subject
/// whose erasure the system must refuse (unpaid invoices, a contact linked to a domain).
/// [`run`] erases the subject, so give it a fresh system each time.
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
    /// claims in [`Description::identifier_kinds`].
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

    /// Called before `erase` is asked again after an [`EraseOutcome::InProgress`]: let a
    /// test server finish its asynchronous deletion here (advance its clock, run its job).
    fn erase_in_progress(&mut self) {}

    /// How many times `erase` is asked again after [`EraseOutcome::InProgress`] before the
    /// suite gives up. Default 10.
    fn max_in_progress_polls(&self) -> u32 {
        10
    }
}

/// Runs every check against `system`; panics with the first violated rule.
///
/// See the [module docs](self) for the rules.
pub fn run<S: ConformanceSystem>(system: &mut S) {
    let subject = system.subject();
    let bystander = system.bystander();
    let refused = system.refused_subject();
    let mut suite = Suite::new(system, &subject, &bystander, refused.as_ref());
    suite.describe_claims_enough();
    suite.unreachable_is_transient();
    let connector = suite.open();
    suite.lookups(&connector);
    suite.batch_reads(&connector);
    let export = suite.export(&connector);
    suite.erase(&connector);
    suite.batch_erase(&connector);
    if let Some(export) = export.filter(|_| suite.claims(Capability::Restore)) {
        suite.restore(&connector, &export);
    }
    if let Some(refused) = &refused {
        suite.refusal(&connector, refused);
    }
}

/// Panics naming the rule.
#[track_caller]
fn violated(rule: &str, what: impl std::fmt::Display) -> ! {
    panic!("conformance rule \"{rule}\" violated: {what}")
}

struct Suite<'s, S: ConformanceSystem> {
    system: &'s mut S,
    subject: &'s Subject,
    bystander: &'s Subject,
    description: Option<Description>,
    sensitive: Sensitive,
}

impl<'s, S: ConformanceSystem> Suite<'s, S> {
    fn new(
        system: &'s mut S,
        subject: &'s Subject,
        bystander: &'s Subject,
        refused: Option<&Subject>,
    ) -> Self {
        let mut sensitive = Sensitive::default();
        for who in [Some(subject), Some(bystander), refused]
            .into_iter()
            .flatten()
        {
            sensitive.add_subject(who);
        }
        sensitive.add_subject(&system.absent_subject());
        for value in system
            .expected_export()
            .iter()
            .chain(&system.bystander_values())
        {
            sensitive.add_value(value);
        }
        Self {
            system,
            subject,
            bystander,
            description: None,
            sensitive,
        }
    }

    fn open(&mut self) -> S::Connector {
        match self.system.open() {
            Ok(connector) => connector,
            Err(e) => {
                self.check_error("open", &e);
                panic!(
                    "conformance test setup: cannot open the connector on the seeded system: {e}"
                )
            }
        }
    }

    fn description(&self) -> &Description {
        self.description.as_ref().expect("described first")
    }

    fn claims(&self, capability: Capability) -> bool {
        self.description().capabilities.contains(&capability)
    }

    /// Calls `connector` as the host would: through `dispatch` and a JSON round trip; checks
    /// any error for personal data.
    fn call(&self, connector: &S::Connector, call: Call) -> Result<Reply, ConnectorError> {
        let operation = call.operation();
        let result = dispatch(connector, call);
        let json = serde_json::to_string(&result).unwrap_or_else(|e| {
            violated(
                "describe",
                format!("the {operation} result does not serialize: {e}"),
            )
        });
        let back: Result<Reply, ConnectorError> = serde_json::from_str(&json).unwrap_or_else(|e| {
            violated(
                "describe",
                format!("the {operation} result does not deserialize: {e}"),
            )
        });
        if let Err(e) = &back {
            self.check_error(operation, e);
        }
        back
    }

    fn check_error(&self, operation: &str, error: &ConnectorError) {
        let text = format!("{error} {error:?}");
        if self.sensitive.found_in(&text) {
            violated(
                "no-personal-data-in-errors",
                format!(
                    "the {operation} error contains an identifier or a seeded value of a test \
                     subject: {text}"
                ),
            );
        }
    }

    fn lookup(
        &self,
        connector: &S::Connector,
        who: &Subject,
    ) -> Result<LookupResult, ConnectorError> {
        self.call(connector, Call::Lookup(who.clone()))
            .map(|reply| match reply {
                Reply::Lookup(found) => found,
                other => violated("describe", format!("lookup answered {other:?}")),
            })
    }

    fn export_of(
        &self,
        connector: &S::Connector,
        who: &Subject,
    ) -> Result<ExportResult, ConnectorError> {
        self.call(connector, Call::Export(who.clone()))
            .map(|reply| match reply {
                Reply::Export(export) => export,
                other => violated("describe", format!("export answered {other:?}")),
            })
    }

    fn erase_once(
        &self,
        connector: &S::Connector,
        who: &Subject,
    ) -> Result<EraseOutcome, ConnectorError> {
        self.call(connector, Call::Erase(who.clone()))
            .map(|reply| match reply {
                Reply::Erase(outcome) => outcome,
                other => violated("describe", format!("erase answered {other:?}")),
            })
    }

    /// Erase, asked again while it answers `InProgress`.
    fn erase_until_settled(
        &mut self,
        connector: &S::Connector,
        who: &Subject,
        rule: &str,
    ) -> Result<EraseOutcome, ConnectorError> {
        let mut polls = 0;
        loop {
            let outcome = self.erase_once(connector, who);
            if let Ok(EraseOutcome::InProgress { .. }) = outcome {
                polls += 1;
                if polls > self.system.max_in_progress_polls() {
                    violated(
                        rule,
                        format!("erase still answers InProgress after {polls} calls"),
                    );
                }
                self.system.erase_in_progress();
                continue;
            }
            return outcome;
        }
    }

    fn describe_claims_enough(&mut self) {
        let connector = self.open();
        let description = match self.call(&connector, Call::Describe) {
            Ok(Reply::Description(d)) => d,
            other => violated("describe", format!("describe answered {other:?}")),
        };
        for needed in [Capability::Lookup, Capability::Erase] {
            if !description.capabilities.contains(&needed) {
                violated(
                    "describe",
                    format!(
                        "the connector does not claim {needed:?}; the suite needs lookup and erase"
                    ),
                );
            }
        }
        if description.identifier_kinds.is_empty() {
            violated("describe", "the connector claims no identifier kind");
        }
        for kind in &description.identifier_kinds {
            if self.subject.of_kind(*kind).next().is_none() {
                panic!(
                    "conformance test setup: the connector claims identifier kind {kind}, but \
                     the seeded subject has no {kind} identifier; add one"
                );
            }
        }
        self.description = Some(description);
    }

    fn unreachable_is_transient(&mut self) {
        const RULE: &str = "unreachable-is-transient";
        let connector = match self.system.open_unreachable() {
            Err(e) => {
                self.check_error("open", &e);
                if !e.is_transient() {
                    violated(RULE, format!("open on an unreachable system failed with a non-transient error: {e:?}"));
                }
                return;
            }
            Ok(connector) => connector,
        };
        let subject = self.subject.clone();
        let mut calls = vec![Call::Lookup(subject.clone()), Call::Erase(subject.clone())];
        if self.claims(Capability::Export) {
            calls.push(Call::Export(subject.clone()));
        }
        if self.claims(Capability::Status) {
            calls.push(Call::Status(subject.clone()));
        }
        if self.claims(Capability::Anonymize) {
            calls.push(Call::Anonymize(subject));
        }
        calls.push(Call::Health);
        for call in calls {
            let operation = call.operation();
            match self.call(&connector, call) {
                Err(e) if e.is_transient() => {}
                Err(e) => violated(RULE, format!("{operation} on an unreachable system failed with a non-transient error: {e:?}")),
                Ok(Reply::Done) if operation == "health" => violated(
                    RULE,
                    "health on an unreachable system answered Ok (implement Connector::health \
                     so that it checks the system is reachable)",
                ),
                Ok(reply) => violated(
                    RULE,
                    format!("{operation} on an unreachable system answered as if it had looked: {}", kind_of(&reply)),
                ),
            }
        }
    }

    fn lookups(&mut self, connector: &S::Connector) {
        let kinds = self.description().identifier_kinds.clone();
        for (who, name) in [(self.subject, "subject"), (self.bystander, "bystander")] {
            for kind in &kinds {
                let Some(identifier) = who.of_kind(*kind).next() else {
                    continue;
                };
                let alone = Subject::new(vec![identifier.clone()]);
                match self.lookup(connector, &alone) {
                    Ok(found) if !found.records.is_empty() => {}
                    Ok(_) => violated(
                        "lookup-finds-subject",
                        format!("lookup by the {name}'s {kind} alone found nothing"),
                    ),
                    Err(e) => violated(
                        "lookup-finds-subject",
                        format!("lookup by the {name}'s {kind} alone failed: {e}"),
                    ),
                }
            }
        }
        let absent = self.system.absent_subject();
        match self.lookup(connector, &absent) {
            Ok(found) if found.records.is_empty() => {}
            Ok(found) => violated(
                "lookup-absent-is-empty",
                format!(
                    "lookup of someone never seeded found {} records",
                    found.records.len()
                ),
            ),
            Err(e) => violated(
                "lookup-absent-is-empty",
                format!("lookup of someone never seeded failed instead of finding nothing: {e}"),
            ),
        }
    }

    /// Checks the subject's export; returns it for the restore round trip.
    fn export(&mut self, connector: &S::Connector) -> Option<ExportResult> {
        if !self.claims(Capability::Export) {
            return None;
        }
        let export = self.export_of(connector, self.subject).unwrap_or_else(|e| {
            violated(
                "export-complete",
                format!("export of the subject failed: {e}"),
            )
        });
        let values: Vec<String> = export
            .fields
            .iter()
            .filter_map(|f| f.value.as_deref())
            .map(str::to_lowercase)
            .collect();
        for (n, expected) in self.system.expected_export().iter().enumerate() {
            let expected = expected.to_lowercase();
            if !values.iter().any(|v| v.contains(&expected)) {
                violated(
                    "export-complete",
                    format!(
                        "expected export value #{} (of expected_export()) is in no exported field",
                        n + 1
                    ),
                );
            }
        }
        for (n, foreign) in self.system.bystander_values().iter().enumerate() {
            let foreign = foreign.to_lowercase();
            if values.iter().any(|v| v.contains(&foreign)) {
                violated(
                    "export-only-subject",
                    format!(
                        "the subject's export holds bystander value #{} (of bystander_values())",
                        n + 1
                    ),
                );
            }
        }
        Some(export)
    }

    /// Restores the export made before the erase, twice: the first puts the subject back as
    /// they were, the second changes nothing.
    fn restore(&mut self, connector: &S::Connector, before: &ExportResult) {
        let first = self.restore_once(connector, before, "restore-round-trip");
        if first.restored == 0 {
            violated(
                "restore-round-trip",
                "restoring the export of an erased subject put back no record",
            );
        }
        match self.lookup(connector, self.subject) {
            Ok(found) if !found.records.is_empty() => {}
            Ok(_) => violated(
                "restore-round-trip",
                "after the restore, lookup does not find the subject",
            ),
            Err(e) => violated(
                "restore-round-trip",
                format!("lookup after the restore failed: {e}"),
            ),
        }
        if !self.system.holds(self.subject) {
            violated(
                "restore-round-trip",
                "after the restore, the system does not hold the subject's data",
            );
        }
        self.same_export(connector, before, "restore-round-trip");
        let second = self.restore_once(connector, before, "restore-idempotent");
        if second.restored != 0 || second.already_present == 0 {
            violated(
                "restore-idempotent",
                format!("restoring the same export again answered {second:?}; expected nothing restored and the records already present"),
            );
        }
        self.same_export(connector, before, "restore-idempotent");
    }

    fn restore_once(
        &self,
        connector: &S::Connector,
        data: &ExportResult,
        rule: &str,
    ) -> RestoreOutcome {
        match self.call(connector, Call::Restore(data.clone())) {
            Ok(Reply::Restore(outcome)) => outcome,
            Ok(other) => violated(rule, format!("restore answered {}", kind_of(&other))),
            Err(e) => violated(rule, format!("restore failed: {e}")),
        }
    }

    /// The subject's export now holds exactly the fields of `before` (in any order).
    fn same_export(&self, connector: &S::Connector, before: &ExportResult, rule: &str) {
        let now = self
            .export_of(connector, self.subject)
            .unwrap_or_else(|e| violated(rule, format!("export after the restore failed: {e}")));
        let sorted = |export: &ExportResult| {
            let mut fields: Vec<_> = export
                .fields
                .iter()
                .map(|f| (&f.collection, &f.record, &f.field, &f.value))
                .collect();
            fields.sort();
            fields
                .into_iter()
                .map(|(c, r, f, v)| (c.clone(), r.clone(), f.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        let (was, is) = (sorted(before), sorted(&now));
        if was != is {
            let differ = was.iter().filter(|f| !is.contains(f)).count()
                + is.iter().filter(|f| !was.contains(f)).count();
            violated(
                rule,
                format!(
                    "after the restore the subject's export differs from the one before the erase in {differ} fields ({} then, {} now)",
                    was.len(),
                    is.len()
                ),
            );
        }
    }

    fn erase(&mut self, connector: &S::Connector) {
        let subject = self.subject;
        match self.erase_until_settled(connector, subject, "erase-succeeds") {
            Ok(EraseOutcome::Erased { .. })
            | Ok(EraseOutcome::Anonymized { retained: None, .. }) => {}
            Ok(other) => violated(
                "erase-succeeds",
                format!(
                    "erasing the seeded subject answered {other:?}; it has nothing that must stay"
                ),
            ),
            Err(e) => violated(
                "erase-succeeds",
                format!("erasing the seeded subject failed: {e}"),
            ),
        }
        let kinds = self.description().identifier_kinds.clone();
        for kind in &kinds {
            for identifier in subject.of_kind(*kind) {
                let alone = Subject::new(vec![identifier.clone()]);
                match self.lookup(connector, &alone) {
                    Ok(found) if found.records.is_empty() => {}
                    Ok(found) => violated(
                        "erase-removes",
                        format!(
                            "after erase, lookup by the subject's {kind} still finds {} records",
                            found.records.len()
                        ),
                    ),
                    Err(e) => violated("erase-removes", format!("lookup after erase failed: {e}")),
                }
            }
        }
        if self.system.holds(subject) {
            violated(
                "erase-removes",
                "after erase (and lookup finding nothing), the system still holds the subject's data",
            );
        }
        match self.lookup(connector, self.bystander) {
            Ok(found) if !found.records.is_empty() => {}
            Ok(_) => violated(
                "erase-spares-bystander",
                "after erasing the subject, lookup no longer finds the bystander",
            ),
            Err(e) => violated(
                "erase-spares-bystander",
                format!("lookup of the bystander failed: {e}"),
            ),
        }
        if !self.system.holds(self.bystander) {
            violated(
                "erase-spares-bystander",
                "after erasing the subject, the system no longer holds the bystander",
            );
        }
        match self.erase_until_settled(connector, subject, "erase-idempotent") {
            Ok(EraseOutcome::Erased { .. })
            | Ok(EraseOutcome::Anonymized { retained: None, .. }) => {}
            Ok(other) => violated(
                "erase-idempotent",
                format!("erasing an erased subject again answered {other:?}"),
            ),
            Err(e) => violated(
                "erase-idempotent",
                format!("erasing an erased subject again failed: {e}"),
            ),
        }
        if self.system.holds(subject) {
            violated(
                "erase-idempotent",
                "after the second erase the system holds the subject's data again",
            );
        }
    }

    fn refusal(&mut self, connector: &S::Connector, refused: &Subject) {
        const RULE: &str = "refusal-honest";
        match self.erase_until_settled(connector, refused, RULE) {
            Ok(EraseOutcome::Retained(_)) => {}
            Ok(EraseOutcome::Anonymized { retained: Some(_), .. }) => {}
            Err(ConnectorError::Refused { .. }) => {}
            Ok(other) => violated(
                RULE,
                format!("erasing a subject whose data must stay answered {other:?}; expected Retained, Anonymized with a retention, or Refused"),
            ),
            Err(e) => violated(
                RULE,
                format!("erasing a subject whose data must stay failed with {e:?}; expected Retained, Anonymized with a retention, or Refused"),
            ),
        }
        if !self.system.refused_data_intact(refused) {
            violated(
                "refusal-keeps-data",
                "the data that must stay for the refused subject is gone",
            );
        }
    }
}

/// The batched calls ([`Call::Many`]): each subject answered as its single call would.
impl<S: ConformanceSystem> Suite<'_, S> {
    fn batch_reads(&mut self, connector: &S::Connector) {
        let absent = self.system.absent_subject();
        let who = vec![self.subject.clone(), self.bystander.clone(), absent];
        let ops = [
            (BatchOp::Lookup, Capability::Lookup),
            (BatchOp::Status, Capability::Status),
            (BatchOp::Export, Capability::Export),
        ];
        for (op, capability) in ops {
            if self.claims(capability) {
                self.batch_matches(connector, op, &who, "batch-matches-single");
            }
        }
    }

    fn batch_erase(&mut self, connector: &S::Connector) {
        let who = vec![self.subject.clone(), self.system.absent_subject()];
        self.batch_matches(
            connector,
            BatchOp::Erase,
            &who,
            "batch-erase-matches-single",
        );
        if !self.system.holds(self.bystander) {
            violated(
                "batch-erase-matches-single",
                "after a batched erase of the subject and someone never held, the system no longer holds the bystander",
            );
        }
    }

    /// Asks `op` for `who` in one batch, then one by one, and compares subject by subject:
    /// the same reply, or an error of the same kind.
    fn batch_matches(&self, connector: &S::Connector, op: BatchOp, who: &[Subject], rule: &str) {
        let name = op.operation();
        let call = Call::Many {
            of: op,
            subjects: who.to_vec(),
        };
        let batched = match self.call(connector, call) {
            Ok(Reply::Many(results)) => results,
            Ok(other) => violated(
                rule,
                format!("a batched {name} answered {}", kind_of(&other)),
            ),
            Err(e) => violated(rule, format!("a batched {name} failed as a whole: {e}")),
        };
        if batched.len() != who.len() {
            violated(
                rule,
                format!(
                    "a batched {name} of {} subjects answered {} results",
                    who.len(),
                    batched.len()
                ),
            );
        }
        for (n, (subject, in_batch)) in who.iter().zip(batched).enumerate() {
            if let Err(e) = &in_batch {
                self.check_error(name, e);
            }
            let alone = self.call(connector, op.single(subject.clone()));
            let same = match (&in_batch, &alone) {
                (Ok(a), Ok(b)) => a == b,
                (Err(a), Err(b)) => std::mem::discriminant(a) == std::mem::discriminant(b),
                _ => false,
            };
            if !same {
                let shown = |r: &Result<Reply, ConnectorError>| match r {
                    Ok(reply) => kind_of(reply),
                    Err(e) => format!("error {e}"),
                };
                violated(
                    rule,
                    format!(
                        "subject #{} of a batched {name} was answered {}, but the single call answers {}",
                        n + 1,
                        shown(&in_batch),
                        shown(&alone)
                    ),
                );
            }
        }
    }
}

fn kind_of(reply: &Reply) -> String {
    match reply {
        Reply::Lookup(found) => format!("a lookup with {} records", found.records.len()),
        Reply::Erase(outcome) => format!("{outcome:?}"),
        Reply::Export(export) => format!("an export of {} fields", export.fields.len()),
        Reply::Done => "done".to_owned(),
        Reply::Status(_) => "status facts".to_owned(),
        other => format!("{other:?}"),
    }
}
