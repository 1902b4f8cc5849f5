//! The subjects connector tests look up, and the check that an error names no one. Every
//! connector crate's tests share these. Opening a connector as gallra's plugin host does is
//! `gallra_plugin_api::testing` (feature `testing`), which plugin authors outside this
//! repository use too.

use gallra_plugin_api::{ConnectorError, ExportResult, Identifier, IdentifierKind, Subject};

/// What the host tells a connector it opens for a system (re-exported for the ABI tests that
/// open a plugin library with it).
pub use gallra_plugin_api::testing::context;

/// A subject known by one identifier; panics if `value` is not a valid `kind`.
pub fn subject(kind: IdentifierKind, value: &str) -> Subject {
    let identifier = Identifier::parse(kind, value)
        .unwrap_or_else(|e| panic!("a test identifier of kind {kind:?} is invalid: {e}"));
    Subject::new(vec![identifier])
}

/// A subject known by one email address.
pub fn by_email(email: &str) -> Subject {
    subject(IdentifierKind::Email, email)
}

/// A subject known by an email address and a phone number; panics if either is invalid.
pub fn by_email_and_phone(email: &str, phone: &str) -> Subject {
    Subject::new(vec![
        Identifier::parse(IdentifierKind::Email, email).expect("a valid test email"),
        Identifier::parse(IdentifierKind::Phone, phone).expect("a valid test phone number"),
    ])
}

/// The bystander of the connectors' conformance suites: a second seeded person who shares
/// nothing with the subject and must come through the subject's erasure untouched. Each test
/// system stores her in its own shape, from these values.
pub mod bystander {
    use gallra_plugin_api::Subject;

    pub const EMAIL: &str = "cecilia.bergstrom@example.se";
    pub const NAME: &str = "Cecilia Bergström";
    /// Her phone number as a system stores it; gallra looks it up as [`PHONE_E164`].
    pub const PHONE: &str = "+46 73 111 22 33";
    pub const PHONE_E164: &str = "+46731112233";
    pub const STREET: &str = "Kungsgatan 3";
    pub const CITY: &str = "Lund";

    /// She, known by her email and phone.
    pub fn subject() -> Subject {
        super::by_email_and_phone(EMAIL, PHONE_E164)
    }

    /// What of hers must never be in the subject's export.
    pub fn values() -> Vec<String> {
        super::owned(&[EMAIL, NAME, STREET, PHONE])
    }
}

/// The values as owned strings: what the conformance suite's `expected_export` and
/// `bystander_values` return, written as a list of literals.
pub fn owned(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

/// The value of the first field named `field` in an export (`None` where there is no such
/// field, or its value is null).
pub fn field_value(export: &ExportResult, field: &str) -> Option<String> {
    export
        .fields
        .iter()
        .find(|f| f.field == field)
        .and_then(|f| f.value.clone())
}

/// What the seeded test systems hold of their people in every connector's tests (first
/// names, surnames, the email domain, the start of Anna's personnummer): none of it may be
/// in an error. Each crate adds what else it seeds.
pub const SEEDED_PEOPLE: [&str; 6] = [
    "annika",
    "lindqvist",
    "bertil",
    "cecilia",
    "example.se",
    "811218",
];

/// Panics unless `error` is transient (the system is down or busy: try again later, never
/// "nothing found"), and if its text holds any of `values` (see [`assert_no_pii`]).
pub fn assert_transient(error: &ConnectorError, values: &[&str]) {
    assert!(error.is_transient(), "{error:?}");
    assert_no_pii(error, values);
}

/// Panics unless `error` is permanent and tells the sysadmin to check the credentials, and
/// if its text holds any of `values` (see [`assert_no_pii`]).
pub fn assert_bad_credentials(error: &ConnectorError, values: &[&str]) {
    assert!(
        matches!(error, ConnectorError::Permanent { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("check the credentials"),
        "{error}"
    );
    assert_no_pii(error, values);
}

/// Panics if the error's text, as shown (`Display`) or logged (`Debug`), holds any of
/// `values`, ignoring case: what a connector reports reaches logs and the audit trail, which
/// must not name the person.
pub fn assert_no_pii(error: &ConnectorError, values: &[&str]) {
    let text = format!("{error} {error:?}").to_lowercase();
    for value in values {
        assert!(
            !text.contains(&value.to_lowercase()),
            "the error holds personal data ({value:?}): {text}"
        );
    }
}
