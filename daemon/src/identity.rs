//! Whether an identifier picks out exactly one subject of the account source, asked at the
//! moment it is about to be used to erase.
//!
//! An email address, personnummer or domain is a way into every other system: the CRM, the
//! mailboxes, the registry. If two customers of the account source hold one email (a family
//! address, a mailbox that moved from one customer to another while a run waited), erasing
//! "the person with that email" elsewhere would take the other customer's data too. So before
//! a subject's identifiers are handed to any system, each one is looked up in the account
//! source: it is used only if every record it finds there belongs to this subject, and this
//! subject still holds it. Policy runs and requests both resolve through here.
//!
//! The normalization that decides whether two spellings are "the same" value is the
//! identifier type's own ([`gallra_plugin_api::Identifier::parse`]) on gallra's side and the
//! connector's on the stored side; this module decides only about ambiguity.

use std::collections::BTreeSet;

use gallra_plugin_api::{Identifier, IdentifierKind, RecordRef, Subject};

use crate::plugins::{CallError, SystemHandle};

/// Which of a subject's identifiers may be used to erase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Identifiers that pick out exactly this subject (and every kind never checked here: the
    /// source's key, phone numbers and IP addresses, which no erase elsewhere matches on).
    pub usable: Vec<Identifier>,
    /// Kinds of identifier withheld because another subject of the account source holds the
    /// same value, or this subject no longer does. Never the values.
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
            "the subject's {} is also held by another customer of the account source, or no \
             longer by this one, so it is not used to erase",
            kinds.join(" and ")
        ))
    }
}

/// The kinds of identifier an erase outside the account source may match on. A phone number
/// or an IP address can be shared by several people and is never used to erase.
pub fn is_strong(kind: IdentifierKind) -> bool {
    matches!(
        kind,
        IdentifierKind::Email | IdentifierKind::Personnummer | IdentifierKind::Domain
    )
}

/// Resolves the subject the account source knows as `key`: each strong identifier is looked
/// up in the source by itself and kept only if what it finds is exactly records of `key`.
/// A source that cannot be asked is an error: nothing is erased on an identification that
/// could not be checked.
pub async fn resolve(
    source: &SystemHandle,
    key: &str,
    identifiers: &[Identifier],
) -> Result<Resolution, CallError> {
    let own_key = Identifier::parse(IdentifierKind::CustomerId, key).ok();
    let own = match &own_key {
        Some(id) => lookup(source, id.clone()).await?,
        None => BTreeSet::new(),
    };
    let mut resolution = Resolution::default();
    for identifier in identifiers {
        if !is_strong(identifier.kind()) {
            resolution.usable.push(identifier.clone());
            continue;
        }
        let found = lookup(source, identifier.clone()).await?;
        if sole_holder(&own, &found) {
            resolution.usable.push(identifier.clone());
        } else {
            resolution.withheld.insert(identifier.kind());
        }
    }
    Ok(resolution)
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

/// Whether the records found by an identifier are the subject's own, and some of them.
/// A pure function of the two lookups, so that the rule is tested without a connector.
pub fn sole_holder(own: &BTreeSet<(String, String)>, found: &BTreeSet<(String, String)>) -> bool {
    !found.is_empty() && !own.is_empty() && found.is_subset(own)
}

async fn lookup(
    source: &SystemHandle,
    identifier: Identifier,
) -> Result<BTreeSet<(String, String)>, CallError> {
    let subject = Subject::new(vec![identifier]);
    let found = source.call("lookup", move |i| i.lookup(&subject)).await?;
    Ok(found
        .records
        .into_iter()
        .map(|RecordRef { collection, key }| (collection, key))
        .collect())
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
    fn an_identifier_is_used_only_if_it_finds_this_subject_and_no_one_else() {
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
            (set(&[]), false, "no longer held by anyone"),
        ];
        for (found, usable, case) in cases {
            assert_eq!(sole_holder(&own, &found), usable, "{case}");
        }
        assert!(
            !sole_holder(&set(&[]), &set(&[("customers", "1")])),
            "a subject the source no longer has is no one's sole holder"
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
