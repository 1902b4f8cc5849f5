//! The connector's settings: what the sysadmin writes under `[systems.NAME.settings]` in
//! `gallra.toml`. gallra's configuration reference is written from these `///` comments, so
//! give every field one.
//!
//! CHANGE: your system's settings (a URL, a `*_file` for each secret, never the secret
//! itself, a page size, …).

use std::path::PathBuf;

use gallra_plugin_api::{ConnectorError, SettingsProblems};
use serde::Deserialize;

/// `[systems.NAME.settings]` of a system whose customers are kept in a CSV file.
// deny_unknown_fields: `gallra check` then refuses a misspelt key instead of ignoring it.
// Never combine it with `#[serde(flatten)]`, which silently turns it off.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The CSV file, e.g. `/var/lib/shop/customers.csv`: a header row, then one row per
    /// customer. The columns `customer_id` (unique), `email` and `last_login` (local time in
    /// gallra's `time_zone`, `2024-05-01 13:45:00`, or empty) must be there; every other
    /// column is personal data too and is exported with them. gallra rewrites the file to
    /// erase someone, so nothing else may write it at the same time.
    pub path: PathBuf,
}

impl Settings {
    /// What serde cannot check. Runs in `gallra check` and before every open, and must not
    /// touch the system: report every mistake (not only the first), each with the key it is
    /// in, so that `gallra check` shows them all at once.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        // A relative path would be taken from wherever the daemon runs (`/` under systemd),
        // not from gallra.toml's directory.
        if !self.path.is_absolute() {
            problems.add("path", "must be an absolute path, e.g. /var/lib/shop/customers.csv");
        }
        problems.into_result()
    }
}
