//! `gallra.toml` exactly as written: what serde reads before [`super::validate`] checks it.
//!
//! Every struct denies unknown keys, so a typo is an error rather than a silently ignored
//! setting. Values that need more than a type check (durations, names, cross-references,
//! ranges) stay plain strings and numbers here and are checked in `validate`, which can then
//! report all of them at once with the key that is wrong.
//!
//! The configuration reference in the README is written from the doc comments below.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// The top level of `gallra.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a TOML document")]
pub struct RawConfig {
    /// The IANA time zone that calendar durations (`6 months`) and schedules are counted in,
    /// e.g. `"Europe/Stockholm"` (the default).
    pub time_zone: Option<String>,
    /// Required. The directory for gallra's state (`state.db`). A relative path is relative to
    /// the directory of the configuration file.
    pub state_dir: PathBuf,
    /// An extra directory to load plugins from, searched after the directory of the `gallra`
    /// binary and before `/usr/lib/gallra/plugins`. A relative path is relative to the
    /// directory of the configuration file.
    pub plugin_dir: Option<PathBuf>,
    /// Required. The name of the system that lists the subjects (customers), usually the
    /// control panel or billing. Its plugin must be able to scan.
    pub account_source: String,
    /// The systems that hold personal data, one `[systems.NAME]` table each. A name uses only
    /// `a-z`, `0-9`, `_` and `-`; it appears in logs, metrics and receipts.
    #[serde(default)]
    pub systems: BTreeMap<String, RawSystem>,
    /// The policies gallra enforces, one `[policies.NAME]` table each. A name uses only
    /// `a-z`, `0-9`, `_` and `-`.
    #[serde(default)]
    pub policies: BTreeMap<String, RawPolicy>,
}

/// One `[systems.NAME]` table: one connector instance, and its entry in the system register.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [systems.NAME] table")]
pub struct RawSystem {
    /// Required. The plugin that speaks to the system, e.g. `"sql"` (loaded from
    /// `libgallra_plugin_sql.so`). Uses only `a-z`, `0-9`, `_` and `-`.
    pub plugin: String,
    /// Whether activity in this system (a login, a ticket, an invoice) counts against
    /// inactivity. Default `false`.
    #[serde(default)]
    pub activity: bool,
    /// Register: what this system is, in words, e.g. `"Control panel"`.
    pub description: Option<String>,
    /// Register: the categories of personal data it holds, e.g. `["name", "email"]`.
    #[serde(default)]
    pub data_categories: Vec<String>,
    /// Register: who runs it: `"own"`, or the processor's name.
    pub processor: Option<String>,
    /// Register: why the data is processed, e.g. `"deliver the hosting service"`.
    pub purpose: Option<String>,
    /// Register: the legal basis for the processing, e.g. `"contract"`.
    pub legal_basis: Option<String>,
    /// How long backups of this system are kept, as a calendar duration, e.g. `"30 days"`.
    pub backup_retention: Option<String>,
    /// How many calls may run at once against this system: 1 to 256, default 4.
    pub concurrency: Option<i64>,
    /// How long one call may take before it counts as failed and is retried later, e.g.
    /// `"30s"` or `"2m"`. Default `"60s"`.
    pub call_timeout: Option<String>,
    /// The plugin's own settings (`[systems.NAME.settings]`), passed to it as JSON. See the
    /// plugin's documentation; `gallra check` asks the plugin to validate them.
    #[serde(default)]
    pub settings: toml::Table,
}

/// One `[policies.NAME]` table. Which keys it takes depends on `kind`; a key that does not
/// belong to the kind is an error.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [policies.NAME] table")]
pub struct RawPolicy {
    /// Required. What the policy decides: `"inactivity"` (erase subjects idle for
    /// `idle_for`), `"retention"` (erase subjects `after` their relationship ended) or
    /// `"record_retention"` (remove records of kind `records` in `system` older than
    /// `after`).
    pub kind: RawKind,
    /// `"report"` (the default: plan and record, delete nothing) or `"enforce"` (act).
    pub mode: Option<RawMode>,
    /// When the policy runs, as a cron expression with seconds (six fields:
    /// sec min hour day-of-month month day-of-week), e.g. `"0 0 3 * * *"` for 03:00 daily.
    /// Without it the policy runs only on `gallra run --once`.
    pub schedule: Option<String>,
    /// Safety valve: a run that would purge more subjects than this waits for
    /// `gallra approve` instead.
    pub max_per_run: Option<i64>,
    /// Safety valve: a run that would purge more than this fraction of all subjects waits
    /// for `gallra approve` instead. More than 0, at most 1; e.g. `0.1` for 10%.
    pub max_fraction: Option<f64>,
    /// `kind = "inactivity"` only, required: how long a subject must have had no activity
    /// in any activity-bearing system, e.g. `"6 months"`.
    pub idle_for: Option<String>,
    /// `kind = "inactivity"` (optional; default: every configured system) and
    /// `kind = "retention"` (required): the systems to erase the subject from. The account
    /// source is always acted on last.
    pub systems: Option<Vec<String>>,
    /// `kind = "retention"` and `kind = "record_retention"`, required: how long after the
    /// relationship ended (retention) or after the record's own clock started
    /// (record_retention), e.g. `"2 months"`.
    pub after: Option<String>,
    /// `kind = "record_retention"` only, required: the system holding the records.
    pub system: Option<String>,
    /// `kind = "record_retention"` only, required: the record kind, as that system's
    /// settings name it, e.g. `"unconverted_signups"`.
    pub records: Option<String>,
}

/// The `kind` of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawKind {
    /// Erase subjects with no activity for `idle_for`.
    Inactivity,
    /// Erase subjects `after` their relationship ended.
    Retention,
    /// Remove records older than `after`.
    RecordRetention,
}

impl RawKind {
    /// The name as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inactivity => "inactivity",
            Self::Retention => "retention",
            Self::RecordRetention => "record_retention",
        }
    }
}

/// The `mode` of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawMode {
    /// Plan and record; delete nothing.
    Report,
    /// Carry the plan out.
    Enforce,
}
