//! The validated configuration: what the rest of gallra reads. Built from the raw TOML by
//! [`super::load`]; every value here has already been checked.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use jiff::tz::TimeZone;

use super::keep::Keep;
use crate::duration::CalendarDuration;

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// The IANA name of the time zone calendar durations are counted in.
    pub time_zone_name: String,
    /// That time zone.
    pub time_zone: TimeZone,
    /// Where the state store (`state.db`) lives.
    pub state_dir: PathBuf,
    /// An extra directory to look for plugins in (after the one beside the binary).
    pub plugin_dir: Option<PathBuf>,
    /// The name of the system that lists subjects (a key of `systems`).
    pub account_source: String,
    /// The configured systems, by name.
    pub systems: BTreeMap<String, SystemConfig>,
    /// The configured policies, by name.
    pub policies: BTreeMap<String, Policy>,
    /// Deadlines and checks for requests.
    pub requests: RequestsConfig,
    /// The mail relay, if notices are sent by email.
    pub smtp: Option<SmtpConfig>,
    /// Where the admin API listens.
    pub api: ApiConfig,
    /// Where `/metrics` is served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Which database holds the state, and this daemon's name in it.
    pub state_store: StateStoreConfig,
}

/// `[state_store]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateStoreConfig {
    /// SQLite in `state_dir`, or a shared PostgreSQL database.
    pub backend: StateBackend,
    /// This daemon's name in leases and its audit chain; `None`: the host's name.
    pub node: Option<String>,
    /// How long a lease lasts without renewal.
    pub lease: Duration,
}

impl Default for StateStoreConfig {
    fn default() -> Self {
        Self {
            backend: StateBackend::Sqlite,
            node: None,
            lease: DEFAULT_LEASE,
        }
    }
}

/// How long a lease lasts unless `[state_store] lease` says otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5 * 60);

/// Where the state store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateBackend {
    /// `state_dir/state.db`: one daemon.
    Sqlite,
    /// A PostgreSQL database several daemons share.
    Postgresql {
        /// The file holding its URL (a secret: it may hold a password).
        url_file: PathBuf,
    },
}

/// `[requests]`, validated.
#[derive(Debug, Clone)]
pub struct RequestsConfig {
    /// Erasure deadline.
    pub erase_within: CalendarDuration,
    /// Export deadline.
    pub export_within: CalendarDuration,
    /// Restriction deadline.
    pub restrict_within: CalendarDuration,
    /// Objection deadline.
    pub object_within: CalendarDuration,
    /// The recorded reason for deadlines beyond one month.
    pub extension_reason: Option<String>,
    /// Due within this long: at risk.
    pub at_risk_within: CalendarDuration,
    /// How often a blocked request is checked again.
    pub recheck_every: CalendarDuration,
    /// The first wait before a retry.
    pub retry_base: std::time::Duration,
    /// How long what an erasure request erases is kept for `gallra restore`. Always `None`
    /// for now: validation refuses the key until requests keep what they erase.
    pub restore_window: Option<CalendarDuration>,
    /// How long export files are kept after they were written.
    pub exports_keep: CalendarDuration,
}

/// `[smtp]`, validated.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Sender address.
    pub from: String,
    /// Require STARTTLS.
    pub starttls: bool,
    /// User name.
    pub username: Option<String>,
    /// Password file.
    pub password_file: Option<PathBuf>,
}

/// `[api]`, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiConfig {
    /// Unix socket.
    pub socket: Option<PathBuf>,
    /// TCP address (with bearer tokens).
    pub listen: Option<SocketAddr>,
    /// Bearer tokens file.
    pub tokens_file: Option<PathBuf>,
}

/// One system: one connector instance.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    /// Its name (the key under `[systems]`). Safe to log.
    pub name: String,
    /// How gallra reaches it: a connector plugin, a person, or a notice to a processor.
    pub handling: Handling,
    /// A law that keeps data here for a while after an erasure is asked for.
    pub legal_hold: Option<LegalHold>,
    /// Whether an objection to marketing erases the subject here.
    pub marketing: bool,
    /// Whether it knows customers by the account source's customer id.
    pub source_customer_id: bool,
    /// Whether this system's activity counts against inactivity.
    pub activity: bool,
    /// Register: what this system is, in words.
    pub description: Option<String>,
    /// Register: the categories of personal data it holds.
    pub data_categories: Vec<String>,
    /// Register: who runs it (`own` or the processor's name).
    pub processor: Option<String>,
    /// Register: why the data is processed.
    pub purpose: Option<String>,
    /// Register: the legal basis for the processing.
    pub legal_basis: Option<String>,
    /// Register: who the data is disclosed to from here.
    pub recipients: Vec<String>,
    /// Register: how long the data is kept, in words (beside the rules gallra enforces).
    pub retention: Option<String>,
    /// How long backups of this system are kept.
    pub backup_retention: Option<CalendarDuration>,
    /// How many calls may run at once against this system.
    pub concurrency: usize,
    /// How long one call may take before it counts as failed (transient).
    pub call_timeout: Duration,
}

/// How gallra reaches a system.
#[derive(Debug, Clone)]
pub enum Handling {
    /// Through a connector plugin.
    Connector {
        /// The plugin, e.g. `sql` (file `libgallra_plugin_sql.so`).
        plugin: String,
        /// The connector's own settings, as JSON for the plugin.
        settings: serde_json::Value,
    },
    /// A person acts and confirms with `gallra task done`.
    Manual {
        /// What they must do.
        instructions: String,
    },
    /// A processor without an API is told.
    Notify(Box<NotifyTarget>),
}

/// Where and how a processor is told.
#[derive(Debug, Clone)]
pub struct NotifyTarget {
    /// By email or webhook.
    pub via: NotifyVia,
    /// The email subject.
    pub subject: String,
    /// The notice text, with placeholders.
    pub template: String,
    /// Whether a person confirms the processor's answer, and how the silence is chased.
    pub confirm: Confirm,
}

/// Whether a notice waits for the processor's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Sending the notice completes the task.
    No,
    /// A person confirms the answer with `gallra task done`.
    Yes {
        /// Send the notice again this long after the last one.
        remind_every: Option<CalendarDuration>,
        /// Escalate to a person this long after the first notice.
        escalate_after: Option<CalendarDuration>,
    },
}

/// The channel of a notice.
#[derive(Debug, Clone)]
pub enum NotifyVia {
    /// An email to this address.
    Email(String),
    /// A JSON POST to this URL, with a bearer token from a file.
    Webhook {
        /// The URL.
        url: String,
        /// The token file.
        token_file: Option<PathBuf>,
    },
}

/// A legal hold on a system's data.
#[derive(Debug, Clone)]
pub struct LegalHold {
    /// How long, counted from the subject's last activity there (or the end of its
    /// financial year).
    pub keep: Keep,
    /// The law.
    pub law: String,
}

impl SystemConfig {
    /// The plugin and its settings, if a connector reaches this system.
    pub fn connector(&self) -> Option<(&str, &serde_json::Value)> {
        match &self.handling {
            Handling::Connector { plugin, settings } => Some((plugin, settings)),
            _ => None,
        }
    }
}

/// One policy, validated.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Its name (the key under `[policies]`). Safe to log.
    pub name: String,
    /// Report only, or act.
    pub mode: Mode,
    /// When it runs, as a cron expression; `None` runs only on `gallra run --once`.
    pub schedule: Option<String>,
    /// Limits that stop a run before it deletes anything.
    pub safety: Safety,
    /// What the policy decides.
    pub rule: Rule,
    /// `kind = "inactivity"` only: warn subjects by email before deleting them.
    pub warning: Option<InactivityWarning>,
    /// How long what a run of this policy erases is kept, encrypted, so that `gallra restore
    /// RUN` can put it back (see the daemon's `restore` module); `None`: nothing is kept.
    pub restore_window: Option<CalendarDuration>,
    /// How long after its plan a run stopped by a safety valve may still be approved and
    /// carried out (default [`Policy::DEFAULT_APPROVAL_VALID_FOR`]); after that it expires.
    pub approval_valid_for: CalendarDuration,
    /// A run whose clock is this much later than the policy's last run stops for approval;
    /// `None`: derived from the schedule (three intervals, at least 14 days).
    pub max_clock_gap: Option<CalendarDuration>,
}

impl Policy {
    /// `approval_valid_for` when the config does not say.
    pub const DEFAULT_APPROVAL_VALID_FOR: &'static str = "24 hours";
}

/// `warn_before` and its notice: an inactivity policy warns each subject by email before
/// deleting them, and deletes only those warned at least `before` earlier.
#[derive(Debug, Clone)]
pub struct InactivityWarning {
    /// How long before the deletion the warning goes out, e.g. `30 days`.
    pub before: CalendarDuration,
    /// The email's subject line, with placeholders.
    pub subject: String,
    /// The email's text, with placeholders.
    pub template: String,
}

/// Whether a policy acts or only reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Plans and records what it would do; deletes nothing. New policies start here.
    #[default]
    Report,
    /// Carries the plan out.
    Enforce,
}

/// Safety valves of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Safety {
    /// A run that would purge more subjects than this waits for `gallra approve`.
    pub max_per_run: Option<u64>,
    /// A run that would purge more than this fraction (0..=1) of all subjects waits too.
    pub max_fraction: Option<f64>,
    /// A run that would purge more than this many times the median of the policy's last
    /// runs waits too (`None`: off).
    pub max_vs_median: Option<f64>,
    /// An account source that lost more than this fraction (0..=1) of its subjects since the
    /// policy's last trusted scan is taken as broken, and the run waits (`None`: off).
    pub max_shrink: Option<f64>,
}

impl Safety {
    /// `max_vs_median` when the config does not say.
    pub const DEFAULT_MAX_VS_MEDIAN: f64 = 3.0;
    /// `max_shrink` when the config does not say.
    pub const DEFAULT_MAX_SHRINK: f64 = 0.5;
}

/// What a policy decides.
#[derive(Debug, Clone)]
pub enum Rule {
    /// `kind = "inactivity"`: subjects with no activity in any activity-bearing system for
    /// `idle_for` are erased from `systems`.
    Inactivity {
        /// How long without activity.
        idle_for: CalendarDuration,
        /// The systems to erase from (all configured systems if the config names none),
        /// in config order; the account source is always acted on last.
        systems: Vec<String>,
    },
    /// `kind = "retention"`: subjects whose relationship ended more than `after` ago are
    /// erased from `systems`.
    Retention {
        /// How long after the relationship ended.
        after: CalendarDuration,
        /// The systems to erase from.
        systems: Vec<String>,
    },
    /// `kind = "record_retention"`: records of kind `records` in `system` whose own clock
    /// started more than `after` ago are removed.
    RecordRetention {
        /// The system holding the records.
        system: String,
        /// The record kind, as the connector names it.
        records: String,
        /// How long records are kept, and from when that is counted.
        after: Keep,
    },
}

/// Which customer id a system is handed with a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerIds {
    /// The account source: its own customer id, the one thing it is sure to find them by.
    Own,
    /// A system that knows customers by the account source's id (`source_customer_id`): that
    /// id, with the subject's other identifiers.
    Source,
    /// Any other system: no customer id (another system's ids mean nothing there).
    None,
}

impl Config {
    /// Which customer id `system` is handed with a subject.
    pub fn customer_ids(&self, system: &str) -> CustomerIds {
        if system == self.account_source {
            CustomerIds::Own
        } else if self
            .systems
            .get(system)
            .is_some_and(|s| s.source_customer_id)
        {
            CustomerIds::Source
        } else {
            CustomerIds::None
        }
    }
}
