//! # gallra-plugin-api
//!
//! Everything you need to write a **connector**: the plugin through which
//! [gallra](https://example.invalid/gallra) reads and erases personal data in one system
//! (a control panel, a CRM, a mailbox, a registry). This crate's docs are the whole manual.
//!
//! A connector is a Rust `cdylib` that implements the safe [`Connector`] trait and calls
//! [`export_connector!`] once. gallra loads the library from its plugin directory, checks its
//! ABI version, and calls it from a pool of blocking threads with a timeout per call. You never
//! write `unsafe`.
//!
//! ## A complete connector
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::Mutex;
//!
//! use gallra_plugin_api::{
//!     Capability, Connector, ConnectorError, Description, EraseOutcome, Identifier,
//!     IdentifierKind, LookupResult, OpenContext, RecordRef, Subject,
//! };
//!
//! /// Settings as the sysadmin writes them under `[systems.NAME.settings]`.
//! #[derive(serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Settings {
//!     /// Emails of the people this toy system knows.
//!     emails: Vec<String>,
//! }
//!
//! struct Toy {
//!     people: Mutex<BTreeMap<String, ()>>,
//! }
//!
//! impl Connector for Toy {
//!     type Settings = Settings;
//!
//!     fn open(settings: Settings, _context: OpenContext) -> Result<Self, ConnectorError> {
//!         let people = settings.emails.into_iter().map(|e| (e.to_lowercase(), ())).collect();
//!         Ok(Toy { people: Mutex::new(people) })
//!     }
//!
//!     fn describe(&self) -> Description {
//!         Description {
//!             name: "toy".into(),
//!             version: env!("CARGO_PKG_VERSION").into(),
//!             capabilities: vec![Capability::Lookup, Capability::Erase],
//!             identifier_kinds: vec![IdentifierKind::Email],
//!             record_kinds: vec![],
//!             activity_bearing: false,
//!         }
//!     }
//!
//!     fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
//!         let people = self.people.lock().unwrap();
//!         let records = subject
//!             .of_kind(IdentifierKind::Email)
//!             .filter(|email| people.contains_key(&email.value()))
//!             .map(|email| RecordRef { collection: "people".into(), key: email.value() })
//!             .collect();
//!         Ok(LookupResult { records })
//!     }
//!
//!     fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
//!         let mut people = self.people.lock().unwrap();
//!         let removed = subject
//!             .of_kind(IdentifierKind::Email)
//!             .filter(|email| people.remove(&email.value()).is_some())
//!             .count();
//!         // Erasing someone already gone is success with 0 records: erase is idempotent.
//!         Ok(EraseOutcome::Erased { records: removed as u64 })
//!     }
//! }
//!
//! // In a real plugin, at the crate root of a `crate-type = ["cdylib", "rlib"]` crate:
//! // gallra_plugin_api::export_connector!(Toy);
//! # let toy = Toy::open(Settings { emails: vec!["A@example.se".into()] },
//! #     OpenContext { system: "toy".into(), time_zone: "UTC".into() }).unwrap();
//! # let who = Subject::new(vec![Identifier::parse(IdentifierKind::Email, "a@example.se").unwrap()]);
//! # assert_eq!(toy.lookup(&who).unwrap().records.len(), 1);
//! # assert_eq!(toy.erase(&who).unwrap(), EraseOutcome::Erased { records: 1 });
//! # assert_eq!(toy.erase(&who).unwrap(), EraseOutcome::Erased { records: 0 });
//! ```
//!
//! ## What to watch out for
//!
//! - **Never put personal data in an error or a log line.** Errors say which system, table or
//!   endpoint failed and what to do about it; identifiers are redacted in `Debug` for this
//!   reason, but `Display`/[`Identifier::value`] are not.
//! - **"Not found" must mean not found.** A timeout, a refused connection or a 5xx is
//!   [`ConnectorError::Transient`], never an empty result: gallra would take an empty answer
//!   as "this person has no data here", and an empty scan page as "nobody is active".
//! - **Refuse honestly.** When a law or an association keeps data (invoices, a contact linked
//!   to a domain), return [`EraseOutcome::Retained`] or anonymize and say why; never report
//!   `Erased` for data that is still there.
//!
//! ## Modules
//! - [`identifiers`]: typed, validated identifiers (email, personnummer, phone, …).
//! - [`messages`]: the values that cross between gallra and a connector.
//! - [`abi`]: the C ABI (for the curious; the macro handles it).
//! - `host` (feature `host`): the loader gallra uses, also handy in your own tests.
//! - `http` (feature `http`): the connector kit for HTTP APIs — a client with retries,
//!   `Retry-After`, a per-system rate limit and PII-free errors; secrets from files;
//!   pagination that never takes a short page for the end. `http::guide` is a complete
//!   HTTP connector with its test.
//! - `conformance` (feature `conformance`): the suite every connector's tests run against a
//!   seeded test system.
//! - `testing` (feature `testing`): open your connector in a test as gallra does
//!   (`testing::open_settings`), from the settings a sysadmin would write.
//!
//! [`OpenContext::tz`] turns the configured time zone into a [`jiff::tz::TimeZone`], for
//! systems that store dates without one.
//!
//! ## Starting a connector of your own
//!
//! `plugins/template` in the repository is a small, complete connector (customers kept in a
//! CSV file) that builds outside the repository, with its conformance test;
//! `plugins/GUIDE.md` takes you from a copy of it to a plugin gallra loads.
//! `plugins/README.md` is the reference for writing, testing, building and installing one.

pub mod abi;
#[cfg(feature = "host")]
pub mod built;
#[cfg(feature = "conformance")]
pub mod conformance;
mod connector;
mod error;
#[doc(hidden)]
pub mod export;
#[cfg(feature = "host")]
pub mod host;
#[cfg(feature = "http")]
pub mod http;
pub mod identifiers;
mod log;
pub mod messages;
mod open;
mod personnummer;
mod problems;
mod resume;
mod still_selected;
#[cfg(feature = "testing")]
pub mod testing;

pub use connector::{dispatch, parse_settings, Connector};
pub use error::ConnectorError;
pub use identifiers::{
    Identifier, IdentifierError, IdentifierKind, Personnummer, PersonnummerError,
};
pub use messages::{
    BatchOp, Call, CallResult, Capability, Description, EraseOutcome, ExpireRequest, ExpireResult,
    ExportField, ExportResult, LookupResult, OpenContext, RecordRef, Reply, RestoreOutcome,
    Retention, ScanPage, ScanRequest, Subject, SubjectFacts, SubjectRecord, MAX_BATCH,
};
pub use problems::{SettingsProblem, SettingsProblems};
pub use resume::{ResumeToken, MAX_RESUME_TOKEN};
pub use still_selected::StillSelected;

/// Re-exported so that plugin crates use the same `jiff` types as the messages.
pub use jiff;

#[doc(hidden)]
pub mod __private {
    pub use crate::export::vtable;
}
