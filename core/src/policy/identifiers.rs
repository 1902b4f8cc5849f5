//! Which of a subject's identifiers a system is handed: the one rule for policy runs and
//! requests alike. Which identifiers are the subject's *alone* (no other customer of the
//! account source holds them) is asked of the source at the moment of erasing, by the
//! daemon's identity module; this rule then picks, from those, what each system may match on.

use gallra_plugin_api::{Identifier, IdentifierKind, Subject};

use crate::config::CustomerIds;

/// The kinds of identifier an erase outside the account source may match on. A phone number
/// or an IP address can be shared by several people and is never used to erase.
pub fn is_strong(kind: IdentifierKind) -> bool {
    matches!(
        kind,
        IdentifierKind::Email | IdentifierKind::Personnummer | IdentifierKind::Domain
    )
}

/// The identifiers `identifiers` hands a system that takes customer ids as `customer_ids`
/// says: strong ones only, and the customer id only to a system that knows it. The account
/// source, given the customer id, gets that alone: matching it by "id or email" would also
/// take another customer who shares the email. Without a customer id (a request filed by
/// email) the source gets the strong identifiers, which the identity check has found to be
/// held by no other customer there.
pub fn subject_for(identifiers: &[Identifier], customer_ids: CustomerIds) -> Subject {
    let has_key = identifiers
        .iter()
        .any(|i| i.kind() == IdentifierKind::CustomerId);
    let keep = |kind: IdentifierKind| match (customer_ids, kind) {
        (CustomerIds::Own, IdentifierKind::CustomerId) => true,
        (CustomerIds::Own, kind) => !has_key && is_strong(kind),
        (CustomerIds::Source, IdentifierKind::CustomerId) => true,
        (_, kind) => is_strong(kind),
    };
    Subject::new(
        identifiers
            .iter()
            .filter(|i| keep(i.kind()))
            .cloned()
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(kind: IdentifierKind, value: &str) -> Identifier {
        Identifier::parse(kind, value).unwrap()
    }

    fn kinds(identifiers: &[Identifier], customer_ids: CustomerIds) -> Vec<IdentifierKind> {
        subject_for(identifiers, customer_ids)
            .identifiers
            .iter()
            .map(Identifier::kind)
            .collect()
    }

    #[test]
    fn each_system_is_handed_the_identifiers_it_can_match_on() {
        let all = [
            id(IdentifierKind::Email, "anna@example.se"),
            id(IdentifierKind::CustomerId, "31"),
            id(IdentifierKind::Phone, "+46701234567"),
        ];
        assert_eq!(kinds(&all, CustomerIds::Own), [IdentifierKind::CustomerId]);
        assert_eq!(
            kinds(&all, CustomerIds::Source),
            [IdentifierKind::Email, IdentifierKind::CustomerId]
        );
        assert_eq!(kinds(&all, CustomerIds::None), [IdentifierKind::Email]);
    }

    #[test]
    fn the_account_source_without_a_customer_id_gets_strong_identifiers_only() {
        let by_email = [
            id(IdentifierKind::Email, "anna@example.se"),
            id(IdentifierKind::Phone, "+46701234567"),
        ];
        assert_eq!(kinds(&by_email, CustomerIds::Own), [IdentifierKind::Email]);
    }
}
