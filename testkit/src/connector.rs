//! Opening a connector in a test the way gallra's plugin host does, the subjects tests look
//! up, and the check that an error names no one. Every connector crate's tests share these,
//! so that "opens as the daemon would" means the same thing in each of them.
//!
//! ```
//! use gallra_plugin_api::{Connector, ConnectorError, Description, IdentifierKind, OpenContext};
//! use gallra_testkit::connector::{open_settings, TIME_ZONE};
//!
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Settings {
//!     page_size: u32,
//! }
//!
//! struct Example(OpenContext);
//!
//! impl Connector for Example {
//!     type Settings = Settings;
//!     fn validate(settings: &Settings) -> Result<(), ConnectorError> {
//!         match settings.page_size {
//!             0 => Err(ConnectorError::config("page_size", "must be at least 1")),
//!             _ => Ok(()),
//!         }
//!     }
//!     fn open(_: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
//!         Ok(Example(context))
//!     }
//!     fn describe(&self) -> Description {
//!         unimplemented!()
//!     }
//! }
//!
//! let opened: Example = open_settings("crm", &serde_json::json!({"page_size": 3})).unwrap();
//! assert_eq!((opened.0.system.as_str(), opened.0.time_zone.as_str()), ("crm", TIME_ZONE));
//! assert!(open_settings::<Example>("crm", &serde_json::json!({"page_size": 0})).is_err());
//! assert!(open_settings::<Example>("crm", &serde_json::json!({"page_sise": 3})).is_err());
//! ```

use gallra_plugin_api::{
    parse_settings, Connector, ConnectorError, ExportResult, Identifier, IdentifierKind,
    OpenContext, Subject,
};
use serde_json::Value;

/// The time zone every test system is configured in (`time_zone` in `gallra.toml`).
pub const TIME_ZONE: &str = "Europe/Stockholm";

/// What the host tells a connector it opens for the system named `system`, in [`TIME_ZONE`].
pub fn context(system: &str) -> OpenContext {
    OpenContext {
        system: system.to_owned(),
        time_zone: TIME_ZONE.to_owned(),
    }
}

/// Opens connector `C` for the system `system` from its settings table as JSON, the way the
/// daemon does: the settings cross as JSON bytes, are parsed with [`parse_settings`] (so that
/// an error names the key), checked with [`Connector::validate`], then opened with
/// [`context`]. This is what the plugin export does on the far side of the C ABI, without
/// building or loading the library.
pub fn open_settings<C: Connector>(system: &str, settings: &Value) -> Result<C, ConnectorError> {
    let bytes = serde_json::to_vec(settings).expect("settings serialize to JSON");
    let parsed: C::Settings = parse_settings(&bytes)?;
    C::validate(&parsed)?;
    C::open(parsed, context(system))
}

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
