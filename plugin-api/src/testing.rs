//! Opening a connector in your tests the way gallra opens it (feature `testing`), without
//! building or loading the library.
//!
//! gallra hands a connector its `[systems.NAME.settings]` table as JSON, parses it with
//! [`parse_settings`](crate::parse_settings) (so that an error names the key), checks it with
//! [`Connector::validate`], and opens it with an [`OpenContext`]; [`open_settings`] does the
//! same, through the code the plugin export itself runs. Add the feature to your
//! dev-dependency: `gallra-plugin-api = { …, features = ["conformance", "testing"] }`.
//!
//! ```
//! use gallra_plugin_api::testing::{open_settings, TIME_ZONE};
//! use gallra_plugin_api::{Connector, ConnectorError, Description, OpenContext};
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
//! // validate refuses it:
//! assert!(open_settings::<Example>("crm", &serde_json::json!({"page_size": 0})).is_err());
//! // serde refuses it (deny_unknown_fields):
//! assert!(open_settings::<Example>("crm", &serde_json::json!({"page_sise": 3})).is_err());
//! ```

use serde_json::Value;

use crate::connector::Connector;
use crate::error::ConnectorError;
use crate::messages::OpenContext;
use crate::open::open_connector;

/// The time zone [`context`] gives: gallra's default `time_zone`.
pub const TIME_ZONE: &str = "Europe/Stockholm";

/// What gallra tells a connector it opens for the system named `system`, in [`TIME_ZONE`].
pub fn context(system: &str) -> OpenContext {
    OpenContext {
        system: system.to_owned(),
        time_zone: TIME_ZONE.to_owned(),
    }
}

/// Opens connector `C` for the system named `system` from its settings table as JSON, as
/// gallra does: parsed, validated, then opened with [`context`]. An error is what
/// `gallra check` or the daemon would report for those settings.
pub fn open_settings<C: Connector>(system: &str, settings: &Value) -> Result<C, ConnectorError> {
    let bytes = serde_json::to_vec(settings).expect("a JSON value serializes");
    open_connector(&bytes, context(system))
}

/// The key of every problem connector `C`'s [`Connector::validate`] finds in `settings` (its
/// settings table as JSON, parsed as gallra parses it), in the order found: what
/// `gallra check` would point at. Empty when the settings pass; panics when they do not
/// parse, since then `validate` is never asked.
pub fn settings_problems<C: Connector>(settings: &Value) -> Vec<String> {
    let bytes = serde_json::to_vec(settings).expect("a JSON value serializes");
    let parsed: C::Settings = match crate::parse_settings(&bytes) {
        Ok(parsed) => parsed,
        Err(e) => panic!("the settings do not parse: {e}"),
    };
    match C::validate(&parsed) {
        Ok(()) => Vec::new(),
        Err(e) => match e.settings_problems() {
            problems if problems.is_empty() => panic!("validate failed without a key: {e}"),
            problems => problems.into_iter().map(|p| p.key).collect(),
        },
    }
}
