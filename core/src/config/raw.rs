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
    /// Deadlines and checks for data subjects' requests (`[requests]`).
    pub requests: Option<RawRequests>,
    /// How gallra sends email: notices to processors and people (`[smtp]`).
    pub smtp: Option<RawSmtp>,
    /// The admin API (`[api]`).
    pub api: Option<RawApi>,
    /// Prometheus metrics (`[metrics]`).
    pub metrics: Option<RawMetrics>,
    /// Where the state store is kept (`[state_store]`): SQLite in `state_dir` by default, or a
    /// PostgreSQL database shared by several daemons.
    pub state_store: Option<RawStateStore>,
}

/// `[state_store]`: which database holds gallra's state, and this daemon's name in it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [state_store] table")]
pub struct RawStateStore {
    /// `"sqlite"` (the default: `state.db` in `state_dir`, for one daemon) or `"postgresql"`
    /// (one database for several daemons; needs `url_file`).
    pub backend: Option<String>,
    /// With `backend = "postgresql"`: a file (mode 0600) holding the database's URL, e.g.
    /// `postgres://gallra@db.example/gallra`. Never write the URL in this file.
    pub url_file: Option<PathBuf>,
    /// This daemon's name among those sharing the store, in its task leases and audit chain:
    /// `a-z`, `0-9`, `_`, `-`, `.`. Default: the host's name. Give each daemon its own.
    pub node: Option<String>,
    /// How long a task or the scheduler's leadership stays this daemon's without renewal,
    /// e.g. `"2 minutes"`. Default `"5 minutes"`. After a daemon dies, another takes its
    /// tasks over this long after its last renewal.
    pub lease: Option<String>,
}

/// `[metrics]`: where `/metrics` is served for Prometheus.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [metrics] table")]
pub struct RawMetrics {
    /// A TCP address for `GET /metrics`, e.g. `"127.0.0.1:9750"`. Metrics hold no personal
    /// data, but keep it on localhost or behind a firewall all the same.
    pub listen: String,
}

/// `[requests]`: when requests are due, and how often blocked ones are checked again.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [requests] table")]
pub struct RawRequests {
    /// How long an erasure may take, e.g. `"7 days"`. Default `"1 month"`, the GDPR ceiling;
    /// more than a month needs `extension_reason`.
    pub erase_within: Option<String>,
    /// How long an export (register extract) may take. Default `"1 month"`.
    pub export_within: Option<String>,
    /// How long a restriction (or lifting one) may take. Default `"1 month"`.
    pub restrict_within: Option<String>,
    /// How long stopping marketing after an objection may take. Default `"1 month"`.
    pub object_within: Option<String>,
    /// Why the deadlines above may exceed one month (GDPR Art. 12(3) allows two more months
    /// for complex or numerous requests). Without it, a deadline over a month is refused.
    pub extension_reason: Option<String>,
    /// A request due within this long is marked at risk, e.g. `"2 days"` (the default).
    pub at_risk_within: Option<String>,
    /// How often a request blocked by active services or an unpaid invoice is checked
    /// again, e.g. `"1 hour"` (the default).
    pub recheck_every: Option<String>,
    /// The first wait before retrying a task that failed transiently, e.g. `"30 seconds"`
    /// (the default); each further attempt waits twice as long (with jitter), up to 6 hours.
    pub retry_base: Option<String>,
    /// Meant to keep what erasure requests erase, encrypted, for `gallra restore`. Not built
    /// yet: set, it is refused, so that no one relies on a promise gallra does not keep
    /// (policies take `restore_window` of their own).
    pub restore_window: Option<String>,
    /// How long an export's files stay in `state_dir/exports` after they were written, e.g.
    /// `"30 days"` (the default). Older export files are deleted on every daemon wake and
    /// `gallra run`, each deletion recorded in the audit log: hand the files over before.
    pub exports_keep: Option<String>,
}

/// `[smtp]`: the mail relay gallra sends notices through.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [smtp] table")]
pub struct RawSmtp {
    /// Required. The relay's host name or address.
    pub host: String,
    /// The relay's port. Default 25.
    pub port: Option<u16>,
    /// Required. The sender address, e.g. `"privacy@hosting.example"`.
    pub from: String,
    /// Whether to require STARTTLS. Default `true`; `false` only for a relay on localhost.
    pub starttls: Option<bool>,
    /// The user name, if the relay needs one.
    pub username: Option<String>,
    /// A file holding the password (mode 0600). Never write the password in this file.
    pub password_file: Option<PathBuf>,
}

/// `[api]`: where the admin API listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [api] table")]
pub struct RawApi {
    /// A Unix socket (mode 0660; its group is the access control), e.g.
    /// `"/run/gallra/api.sock"`.
    pub socket: Option<PathBuf>,
    /// A TCP address, e.g. `"127.0.0.1:8750"`. Needs `tokens_file`.
    pub listen: Option<String>,
    /// A file of bearer tokens, one per line (mode 0600), required with `listen`.
    pub tokens_file: Option<PathBuf>,
}

/// `manual = { … }` on a system: a person acts there (paper, phones, calendars).
#[derive(Debug, Clone, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { instructions = \"…\" }"
)]
pub struct RawManual {
    /// Required. What the person must do, shown by `gallra task list`.
    pub instructions: String,
}

/// `notify = { … }` on a system: a processor without an API is told by email or webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { email = \"…\", template = \"…\" }"
)]
pub struct RawNotify {
    /// The processor's address for deletion notices. Exactly one of `email` and `webhook`.
    pub email: Option<String>,
    /// A URL that receives the notice as JSON by POST.
    pub webhook: Option<String>,
    /// A file holding the webhook's bearer token (mode 0600).
    pub token_file: Option<PathBuf>,
    /// The email's subject. Placeholders as in `template`.
    pub subject: Option<String>,
    /// Required. The notice's text, with placeholders `{request}`, `{kind}`, `{system}`,
    /// `{due_date}`, `{email}`, `{personnummer}`, `{customer_id}`, `{phone}`, `{domain}`.
    pub template: String,
    /// Whether a person must confirm the processor's answer (`gallra task done`). Default
    /// `false`: sending the notice completes the task.
    #[serde(default)]
    pub confirm: bool,
    /// With `confirm`: send the notice again this long after the last one while no answer
    /// is confirmed, e.g. `"7 days"`.
    pub remind_every: Option<String>,
    /// With `confirm`: this long after the first notice with no answer confirmed, escalate
    /// to a person (the task says so, and `gallra_notices_escalated_total` counts it),
    /// e.g. `"21 days"`.
    pub escalate_after: Option<String>,
}

/// `legal_hold = { … }` on a system: a law keeps some of its data for a while after an
/// erasure was asked for; gallra anonymizes now and erases the rest when the hold ends.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { keep = \"7 years\", law = \"…\" }"
)]
pub struct RawLegalHold {
    /// Required. How long the data is kept, e.g. `"7 years"`, counted from the subject's
    /// last activity in this system (e.g. the last invoice), or as `from` says.
    pub keep: String,
    /// Required. The law, e.g. `"Bokföringslagen 7 kap. 2 §"`.
    pub law: String,
    /// What `keep` is counted from: `"last_activity"` (the default: the subject's last
    /// activity here, e.g. the last invoice) or `"end_of_financial_year"` (the end of the
    /// financial year that activity falls in, as Bokföringslagen 7 kap. 2 § counts).
    pub from: Option<String>,
    /// With `from = "end_of_financial_year"`: the financial year's last day as `MM-DD`,
    /// always the last day of a month. Default `"12-31"` (a calendar year); e.g. `"04-30"`
    /// for a financial year May–April.
    pub financial_year_end: Option<String>,
    /// `"year"`: the hold lasts to the end of the calendar year in which `keep` runs out.
    /// Bookkeeping is kept "until the end of the seventh year after the calendar year in
    /// which the financial year ended": `keep = "7 years"`, `from = "end_of_financial_year"`,
    /// `round_up_to = "year"`.
    pub round_up_to: Option<String>,
}

/// One `[systems.NAME]` table: one connector instance, and its entry in the system register.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [systems.NAME] table")]
pub struct RawSystem {
    /// The plugin that speaks to the system, e.g. `"sql"` (loaded from
    /// `libgallra_plugin_sql.so`). Uses only `a-z`, `0-9`, `_` and `-`. Exactly one of
    /// `plugin`, `manual` and `notify`.
    pub plugin: Option<String>,
    /// A system where a person acts: `manual = { instructions = "…" }`.
    pub manual: Option<RawManual>,
    /// A processor told by email or webhook: `notify = { email = "…", template = "…" }`.
    pub notify: Option<RawNotify>,
    /// A law that keeps data here for a while: `legal_hold = { keep = "7 years", law = "…" }`.
    pub legal_hold: Option<RawLegalHold>,
    /// Whether the system is used for marketing: an objection (Art. 21) erases the subject
    /// here. Default `false`.
    #[serde(default)]
    pub marketing: bool,
    /// Whether this system knows customers by the account source's customer id (a domain
    /// registry whose contact handles are made from it, say): requests and runs then hand it
    /// that id with the subject's other identifiers. Default `false`: another system's
    /// customer ids mean nothing here.
    #[serde(default)]
    pub source_customer_id: bool,
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
    /// Register: who the data is disclosed to from here, e.g. `["Internetstiftelsen (.se)"]`.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Register: how long the data is kept, in words, where no policy or legal hold of this
    /// file says it (a system a person tends), e.g. `"at least 8 years (bookkeeping)"`.
    /// `gallra register` shows it beside the rules it computes.
    pub retention: Option<String>,
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

/// A safety valve's setting: a number, or `false` for off (`true` keeps the default).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged, expecting = "a number, or false to turn the valve off")]
pub enum RawValve {
    /// On (`true`: with its default) or off (`false`).
    Switch(bool),
    /// On, with this limit.
    Limit(f64),
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
    /// Safety valve: a run that would purge more than this many times the median of the
    /// policy's last 5 runs waits for `gallra approve` (at least 3 earlier runs are needed,
    /// and 10 subjects or fewer never trip it). Default `3`; `false` turns it off.
    pub max_vs_median: Option<RawValve>,
    /// Safety valve: an account source that lost more than this fraction of its subjects
    /// since the policy's last trusted scan is taken as broken, and the run waits for
    /// `gallra approve`. Default `0.5` (half); `false` turns it off.
    pub max_shrink: Option<RawValve>,
    /// How long after its plan a run that stopped for approval may still be approved and
    /// carried out, e.g. `"24 hours"` (the default). An older plan expires: it is abandoned
    /// and its identifiers forgotten, and the next run plans afresh.
    pub approval_valid_for: Option<String>,
    /// Safety valve: a run whose clock is more than this after the policy's last run (or
    /// before it) stops for approval: a clock that jumped years ahead would make everyone
    /// look inactive. Default: three times the schedule's interval, at least 14 days (92
    /// days for a policy without a schedule).
    pub max_clock_gap: Option<String>,
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
    /// `kind = "record_retention"` only: what `after` is counted from: `"record"` (the
    /// default: the record's own clock, e.g. its date) or `"end_of_financial_year"` (the end
    /// of the financial year the record's date falls in).
    pub from: Option<String>,
    /// `kind = "record_retention"` with `from = "end_of_financial_year"`: the financial
    /// year's last day as `MM-DD`. Default `"12-31"`; e.g. `"04-30"` for May–April.
    pub financial_year_end: Option<String>,
    /// `kind = "record_retention"` only: `"year"` keeps records to the end of the calendar
    /// year in which `after` runs out. Bookkeeping as Bokföringslagen 7 kap. 2 § counts it:
    /// `after = "7 years"`, `from = "end_of_financial_year"`, `round_up_to = "year"`.
    pub round_up_to: Option<String>,
    /// `kind = "record_retention"` only, required: the system holding the records.
    pub system: Option<String>,
    /// `kind = "record_retention"` only, required: the record kind, as that system's
    /// settings name it, e.g. `"unconverted_signups"`.
    pub records: Option<String>,
    /// `kind = "inactivity"` only, optional: warn each subject by email this long before
    /// their account is deleted, e.g. `"30 days"` (shorter than `idle_for`). Nobody is then
    /// deleted without a warning sent at least this long before; activity after the warning
    /// voids it. Needs `[smtp]` and `warn_template`; the address is the subject's `email`
    /// identifier in the account source.
    pub warn_before: Option<String>,
    /// With `warn_before`, optional: the warning's subject line, with the placeholders of
    /// `warn_template`. Default `"Your account will be deleted on {delete_on}"`.
    pub warn_subject: Option<String>,
    /// With `warn_before`, required: the warning's text. Placeholders: `{delete_on}` (the
    /// date the account will be deleted unless they log in, `YYYY-MM-DD` in `time_zone`),
    /// `{email}`, `{policy}` and `{idle_for}`; `{{` and `}}` write a brace.
    pub warn_template: Option<String>,
    /// `kind = "inactivity"` and `kind = "retention"`, optional: keep what a run erases,
    /// encrypted, for this long, e.g. `"14 days"`, so that `gallra restore RUN` can undo a
    /// wrong purge; then the run's key is destroyed. Every system of the policy must be
    /// reached by a connector (and, at run time, one that can export and restore: an erase
    /// there is not made until the subject's data is kept). Default: nothing is kept.
    pub restore_window: Option<String>,
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
