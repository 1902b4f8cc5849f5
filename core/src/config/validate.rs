//! Raw structs to the validated [`Config`]: the checks serde cannot do — names, durations,
//! ranges, cross-references, which keys belong to which policy kind. Every problem is
//! collected, so one `gallra check` lists them all.

mod extras;
mod handling;
mod keep;
mod policy;
mod state_store;
mod tables;
mod warning;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::SignedDuration;

use super::locate::{index, join};
use super::parse::Parsed;
use super::raw::{RawConfig, RawSystem};
use super::types::{
    ApiConfig, Config, Handling, NotifyVia, RequestsConfig, SmtpConfig, SystemConfig,
};
use crate::duration::CalendarDuration;
use policy::policy;
use warning::warnings_need_smtp;

/// The time zone used when the file names none.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Stockholm";
/// Calls at once per system when the file says nothing.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The per-call timeout when the file says nothing.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// One thing wrong with the file, before it is given a line and column.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// The dotted key path it is about; empty for the file as a whole.
    pub key: String,
    /// Where in the text, if known; otherwise the key is looked up.
    pub span: Option<Range<usize>>,
    /// What is wrong and what to write instead.
    pub message: String,
}

#[derive(Default)]
pub(super) struct Problems(Vec<Problem>);

impl Problems {
    pub(super) fn at(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            span: None,
            message: message.into(),
        });
    }

    /// How many problems so far: compare before and after a check to see if it failed.
    pub(super) fn count(&self) -> usize {
        self.0.len()
    }

    /// The value, or `None` after recording the error at `key`.
    pub(super) fn ok<T, E: ToString>(&mut self, key: &str, result: Result<T, E>) -> Option<T> {
        result.map_err(|e| self.at(key, e.to_string())).ok()
    }
}

/// What validation produced: the config only if every part parsed and passed, and the
/// systems that passed whatever else failed (so `gallra check` can ask their plugins too).
pub(crate) struct Validated {
    /// The whole config, if everything is right.
    pub config: Option<Config>,
    /// Every system that validated, and the plugin directory if the top level did.
    pub systems: Vec<SystemConfig>,
    /// The configured plugin directory, if the top level validated.
    pub plugin_dir: Option<PathBuf>,
}

/// Checks everything that parsed; every problem found is appended to `problems`.
pub(crate) fn validate(parsed: Parsed, path: &Path, problems: &mut Vec<Problem>) -> Validated {
    let mut p = Problems::default();
    let dir = path.parent().unwrap_or(Path::new(""));
    let names: Vec<&str> = parsed.systems.iter().map(|(n, _)| n.as_str()).collect();

    let top = parsed
        .top
        .and_then(|raw| top_level(raw, &names, dir, &mut p));
    let account_source = top.as_ref().map(|t| t.account_source.as_str());

    let mut systems = BTreeMap::new();
    let mut complete = top.is_some();
    for (name, raw) in &parsed.systems {
        if !valid_name(name) {
            p.at(join("systems", name), bad_name("system"));
        }
        match raw.as_ref().and_then(|raw| system(name, raw, &mut p)) {
            Some(system) => {
                systems.insert(name.clone(), system);
            }
            None => complete = false,
        }
    }
    let mut policies = BTreeMap::new();
    for (name, raw) in &parsed.policies {
        if !valid_name(name) {
            p.at(join("policies", name), bad_name("policy"));
        }
        match raw
            .as_ref()
            .and_then(|raw| policy(name, raw, &names, account_source, &mut p))
        {
            Some(policy) => {
                policies.insert(name.clone(), policy);
            }
            None => complete = false,
        }
    }

    policy::records_through_connectors(&policies, &systems, &mut p);
    policy::windows_through_connectors(&policies, &systems, &mut p);
    activity_needs_a_connector(&systems, &mut p);
    tables::one_system_per_table(&systems, &mut p);
    tables::account_source_by_its_key(&systems, account_source, &mut p);
    if let Some(top) = &top {
        email_needs_smtp(&systems, top.smtp.is_some(), &mut p);
        let raw_policies = (parsed.policies.iter()).filter_map(|(n, raw)| Some((n, raw.as_ref()?)));
        warnings_need_smtp(raw_policies, top.smtp.is_some(), &mut p);
    }
    let failed = !p.0.is_empty();
    problems.extend(p.0);
    let valid_systems = systems.values().cloned().collect();
    let plugin_dir = top.as_ref().and_then(|t| t.plugin_dir.clone());
    let config = top.filter(|_| complete && !failed).map(|top| Config {
        path: path.to_path_buf(),
        time_zone_name: top.time_zone_name,
        time_zone: top.time_zone,
        state_dir: top.state_dir,
        plugin_dir: top.plugin_dir,
        account_source: top.account_source,
        systems,
        policies,
        requests: top.requests,
        smtp: top.smtp,
        api: top.api,
        metrics_listen: top.metrics_listen,
        state_store: top.state_store,
    });
    Validated {
        config,
        systems: valid_systems,
        plugin_dir,
    }
}

struct Top {
    time_zone_name: String,
    time_zone: TimeZone,
    state_dir: PathBuf,
    plugin_dir: Option<PathBuf>,
    account_source: String,
    requests: RequestsConfig,
    smtp: Option<SmtpConfig>,
    api: ApiConfig,
    metrics_listen: Option<std::net::SocketAddr>,
    state_store: crate::config::types::StateStoreConfig,
}

fn top_level(raw: RawConfig, systems: &[&str], dir: &Path, p: &mut Problems) -> Option<Top> {
    let time_zone_name = raw
        .time_zone
        .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_owned());
    let time_zone = jiff::tz::db().get(&time_zone_name).map_err(|_| {
        p.at(
            "time_zone",
            format!(
                "unknown time zone \"{time_zone_name}\" (write an IANA name such as \
                 \"{DEFAULT_TIME_ZONE}\"; is the tz database installed?)"
            ),
        )
    });
    let state_dir = resolve(dir, "state_dir", raw.state_dir, p);
    let plugin_dir = match raw.plugin_dir {
        Some(d) => resolve(dir, "plugin_dir", d, p).map(Some),
        None => Some(None),
    };
    if !systems.contains(&raw.account_source.as_str()) {
        p.at(
            "account_source",
            unknown_system(&raw.account_source, systems),
        );
    }
    let requests = extras::requests(raw.requests.as_ref(), p);
    let smtp = extras::smtp(raw.smtp.as_ref(), dir, p);
    let api = extras::api(raw.api.as_ref(), dir, p);
    let metrics_listen = extras::metrics(raw.metrics.as_ref(), p);
    let state_store = state_store::state_store(raw.state_store.as_ref(), dir, p);
    Some(Top {
        time_zone_name,
        time_zone: time_zone.ok()?,
        state_dir: state_dir?,
        plugin_dir: plugin_dir?,
        account_source: raw.account_source,
        requests: requests?,
        smtp: smtp?,
        api: api?,
        metrics_listen: metrics_listen?,
        state_store: state_store?,
    })
}

/// A system that notifies by email needs a relay to send through.
fn email_needs_smtp(systems: &BTreeMap<String, SystemConfig>, have_smtp: bool, p: &mut Problems) {
    for system in systems.values() {
        if let Handling::Notify(target) = &system.handling {
            if matches!(target.via, NotifyVia::Email(_)) && !have_smtp {
                p.at(
                    join(&join(&join("systems", &system.name), "notify"), "email"),
                    "email notices need an [smtp] table (host, from) to send them through",
                );
            }
        }
    }
}

/// Activity is asked of a system's connector; a system a person or a processor handles has
/// none, and asking it would keep every subject as "system unavailable".
fn activity_needs_a_connector(systems: &BTreeMap<String, SystemConfig>, p: &mut Problems) {
    for system in systems.values() {
        if system.activity && system.connector().is_none() {
            p.at(
                join(&join("systems", &system.name), "activity"),
                "activity is read through a connector, and this system has none: remove it, \
                 or reach the system with a plugin",
            );
        }
    }
}

/// A directory from the file; relative ones are relative to the file's directory.
fn resolve(dir: &Path, key: &str, value: PathBuf, p: &mut Problems) -> Option<PathBuf> {
    if value.as_os_str().is_empty() {
        p.at(key, "must not be empty: write a directory");
        return None;
    }
    Some(dir.join(value))
}

fn system(name: &str, raw: &RawSystem, p: &mut Problems) -> Option<SystemConfig> {
    let base = join("systems", name);
    let key = |k: &str| join(&base, k);
    let handling = handling::handling(&base, raw, p);
    let legal_hold = raw
        .legal_hold
        .as_ref()
        .map(|hold| handling::legal_hold(&base, hold, handling.as_ref(), p));
    let backup_retention = raw
        .backup_retention
        .as_deref()
        .map(|text| p.ok(&key("backup_retention"), text.parse::<CalendarDuration>()));
    let concurrency = match raw.concurrency {
        None => Some(DEFAULT_CONCURRENCY),
        Some(n @ 1..=256) => usize::try_from(n).ok(),
        Some(_) => {
            p.at(key("concurrency"), "must be between 1 and 256");
            None
        }
    };
    let call_timeout = match raw.call_timeout.as_deref() {
        None => Some(DEFAULT_CALL_TIMEOUT),
        Some(text) => p.ok(&key("call_timeout"), timeout(text)),
    };
    Some(SystemConfig {
        name: name.to_owned(),
        handling: handling?,
        legal_hold: legal_hold.map(|h| h.ok_or(())).transpose().ok()?,
        marketing: raw.marketing,
        source_customer_id: raw.source_customer_id,
        activity: raw.activity,
        description: raw.description.clone(),
        data_categories: raw.data_categories.clone(),
        processor: raw.processor.clone(),
        purpose: raw.purpose.clone(),
        legal_basis: raw.legal_basis.clone(),
        recipients: raw.recipients.clone(),
        retention: raw.retention.clone(),
        backup_retention: backup_retention.map(|d| d.ok_or(())).transpose().ok()?,
        concurrency: concurrency?,
        call_timeout: call_timeout?,
    })
}

pub(super) fn timeout(text: &str) -> Result<Duration, &'static str> {
    const SYNTAX: &str = "not a duration (write e.g. \"30s\", \"2m\")";
    let duration: SignedDuration = text.trim().parse().map_err(|_| SYNTAX)?;
    if duration.is_negative() || duration.is_zero() {
        return Err("a timeout must be longer than zero");
    }
    Duration::try_from(duration).map_err(|_| SYNTAX)
}

/// TOML to JSON for the plugin. Datetimes become their TOML text (RFC 3339).
fn to_json(value: &toml::Value, key: &str, p: &mut Problems) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match value {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => J::Number(n),
            None => {
                p.at(key, "must be a finite number (not nan or inf)");
                return None;
            }
        },
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => {
            let items: Vec<_> = (items.iter().enumerate())
                .map(|(i, v)| to_json(v, &index(key, i), p))
                .collect();
            J::Array(items.into_iter().collect::<Option<_>>()?)
        }
        toml::Value::Table(table) => {
            let entries: Vec<_> = (table.iter())
                .map(|(k, v)| Some((k.clone(), to_json(v, &join(key, k), p)?)))
                .collect();
            J::Object(entries.into_iter().collect::<Option<_>>()?)
        }
    })
}

pub(super) fn unknown_system(name: &str, systems: &[&str]) -> String {
    if systems.is_empty() {
        format!(
            "no system named \"{name}\" (no systems are configured: add a [systems.{name}] table)"
        )
    } else {
        format!(
            "no system named \"{name}\" (configured systems: {})",
            systems.join(", ")
        )
    }
}

pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn bad_name(what: &str) -> String {
    format!(
        "a {what} name uses only a-z, 0-9, `_` and `-` (it appears in logs, metrics and receipts)"
    )
}
