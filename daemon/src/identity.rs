//! Whether an identifier picks out exactly one subject of the account source, asked at the
//! moment it is about to be used to erase.
//!
//! An email address, personnummer or domain is a way into every other system: the CRM, the
//! mailboxes, the registry. If two customers of the account source hold one email (a family
//! address, a mailbox that moved from one customer to another while a run waited), erasing
//! "the person with that email" elsewhere would take the other customer's data too. So before
//! a subject's identifiers are handed to any system, each one is looked up in the account
//! source: it is used only if every record it finds there belongs to this subject (no other
//! customer holds it). Policy runs and requests both resolve through here. A subject the
//! source no longer has (a run erased it before a request it filed is carried out) is still
//! reached by an identifier no one else holds.
//!
//! The normalization that decides whether two spellings are "the same" value is the
//! identifier type's own ([`gallra_plugin_api::Identifier::parse`]) on gallra's side and the
//! connector's on the stored side; this module decides only about ambiguity.

use std::collections::BTreeSet;

use gallra_plugin_api::{Identifier, IdentifierKind, LookupResult, RecordRef, Subject};

use crate::plugins::{CallError, SystemHandle};

/// Which of a subject's identifiers may be used to erase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Identifiers that pick out exactly this subject (and every kind never checked here: the
    /// source's key, phone numbers and IP addresses, which no erase elsewhere matches on).
    pub usable: Vec<Identifier>,
    /// Kinds of identifier withheld because another subject of the account source holds the
    /// same value. Never the values.
    pub withheld: BTreeSet<IdentifierKind>,
}

impl Resolution {
    /// Why the withheld identifiers were withheld, for a task's detail (kinds only).
    pub fn withheld_reason(&self) -> Option<String> {
        if self.withheld.is_empty() {
            return None;
        }
        let kinds: Vec<&str> = self.withheld.iter().map(|k| k.as_str()).collect();
        Some(format!(
            "the subject's {} is held by another customer of the account source too, so it \
             is not used to erase",
            kinds.join(" and ")
        ))
    }
}

pub use gallra_core::policy::identifiers::is_strong;

/// Resolves the subject the account source knows as `key`: each strong identifier is looked
/// up in the source by itself and kept only if it finds no record but `key`'s.
/// A source that cannot be asked is an error: nothing is erased on an identification that
/// could not be checked.
pub async fn resolve(
    source: &SystemHandle,
    key: &str,
    identifiers: &[Identifier],
) -> Result<Resolution, CallError> {
    let mut resolved = resolve_many(source, &[(key.to_owned(), identifiers.to_vec())]).await;
    resolved.pop().expect("one answer per subject")
}

/// [`resolve`] for many subjects, each its source key and identifiers: every lookup they
/// need goes to the source in one batch. A subject any of whose lookups failed gets that
/// error; the others are unaffected.
pub async fn resolve_many(
    source: &SystemHandle,
    subjects: &[(String, Vec<Identifier>)],
) -> Vec<Result<Resolution, CallError>> {
    // Per subject: its own key's lookup (if the key is an id), then one per strong identifier.
    let mut asked = Vec::new();
    for (key, identifiers) in subjects {
        if let Ok(own) = Identifier::parse(IdentifierKind::CustomerId, key) {
            asked.push(Subject::new(vec![own]));
        }
        let strong = identifiers.iter().filter(|i| is_strong(i.kind()));
        asked.extend(strong.map(|i| Subject::new(vec![i.clone()])));
    }
    let mut found = source
        .lookup_many(asked)
        .await
        .into_iter()
        .map(|r| r.map(records));
    subjects
        .iter()
        .map(|(key, identifiers)| {
            let own = match Identifier::parse(IdentifierKind::CustomerId, key) {
                Ok(_) => found.next().expect("an answer per lookup"),
                Err(_) => Ok(BTreeSet::new()),
            };
            let mut resolution = Resolution::default();
            let mut failed = own.as_ref().err().cloned();
            for identifier in identifiers {
                if !is_strong(identifier.kind()) {
                    resolution.usable.push(identifier.clone());
                    continue;
                }
                let theirs = found.next().expect("an answer per lookup");
                match (&own, theirs) {
                    (Ok(own), Ok(theirs)) if no_one_else(own, &theirs) => {
                        resolution.usable.push(identifier.clone())
                    }
                    (Ok(_), Ok(_)) => {
                        resolution.withheld.insert(identifier.kind());
                    }
                    (_, Err(error)) => failed = failed.or(Some(error)),
                    (Err(_), Ok(_)) => {}
                }
            }
            match failed {
                Some(error) => Err(error),
                None => Ok(resolution),
            }
        })
        .collect()
}

/// Whether any strong identifier, looked up in the account source by itself, finds more than
/// one subject there: more than one record in one collection (an account source lists one
/// record per subject in each collection it names; see `LookupResult`). For a request that
/// gives no customer id: such an identifier cannot say whom to erase.
pub async fn shared_in_source(
    source: &SystemHandle,
    identifiers: &[Identifier],
) -> Result<bool, CallError> {
    for identifier in identifiers.iter().filter(|i| is_strong(i.kind())) {
        if several_subjects(&lookup(source, identifier.clone()).await?) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether one collection holds more than one of the records found.
pub fn several_subjects(found: &BTreeSet<(String, String)>) -> bool {
    let mut collections = BTreeSet::new();
    found
        .iter()
        .any(|(collection, _)| !collections.insert(collection.as_str()))
}

/// Whether every record found by an identifier is one of the subject's own: no other
/// customer holds it. A pure function of the two lookups, so that the rule is tested without
/// a connector.
pub fn no_one_else(own: &BTreeSet<(String, String)>, found: &BTreeSet<(String, String)>) -> bool {
    found.is_subset(own)
}

async fn lookup(
    source: &SystemHandle,
    identifier: Identifier,
) -> Result<BTreeSet<(String, String)>, CallError> {
    let subject = Subject::new(vec![identifier]);
    let found = source.call("lookup", move |i| i.lookup(&subject)).await?;
    Ok(records(found))
}

/// A lookup's records as (collection, key) pairs.
fn records(found: LookupResult) -> BTreeSet<(String, String)> {
    found
        .records
        .into_iter()
        .map(|RecordRef { collection, key }| (collection, key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(records: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        records
            .iter()
            .map(|(c, k)| (c.to_string(), k.to_string()))
            .collect()
    }

    #[test]
    fn an_identifier_is_used_only_if_no_other_customer_holds_it() {
        let own = set(&[("customers", "1"), ("devices", "1")]);
        let cases = [
            (set(&[("customers", "1")]), true, "only this subject"),
            (own.clone(), true, "this subject's rows and children"),
            (
                set(&[("customers", "1"), ("customers", "2")]),
                false,
                "a family address two customers share",
            ),
            (
                set(&[("customers", "2")]),
                false,
                "a mailbox that moved to another customer",
            ),
            (
                set(&[]),
                true,
                "held by no one now (changed by this customer)",
            ),
        ];
        for (found, usable, case) in cases {
            assert_eq!(no_one_else(&own, &found), usable, "{case}");
        }
        assert!(
            !no_one_else(&set(&[]), &set(&[("customers", "2")])),
            "a subject the source no longer has: another customer holding the email is another"
        );
        assert!(
            no_one_else(&set(&[]), &set(&[])),
            "a subject the source no longer has: an email no one holds is still theirs to erase by"
        );
    }

    #[test]
    fn two_records_in_one_collection_are_two_subjects() {
        assert!(!several_subjects(&set(&[
            ("customers", "1"),
            ("services", "1")
        ])));
        assert!(several_subjects(&set(&[
            ("customers", "1"),
            ("customers", "2")
        ])));
        assert!(!several_subjects(&set(&[])));
    }

    #[test]
    fn the_reason_names_kinds_never_values() {
        let mut resolution = Resolution::default();
        assert_eq!(resolution.withheld_reason(), None);
        resolution.withheld.insert(IdentifierKind::Email);
        let reason = resolution.withheld_reason().unwrap();
        assert!(reason.contains("email"), "{reason}");
        assert!(!reason.contains('@'), "{reason}");
    }
}
