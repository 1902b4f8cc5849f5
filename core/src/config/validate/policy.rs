//! A policy's checks: which keys its kind takes, its durations, the systems it names, its
//! schedule and safety valves.

use super::keep::{keep, KeepKeys};
use super::warning::inactivity_warning;
use super::{unknown_system, Problems};
use crate::config::cron;
use crate::config::locate::{index, join};
use crate::config::raw::{RawKind, RawMode, RawPolicy, RawValve};
use std::collections::BTreeMap;

use crate::config::types::{Mode, Policy, Rule, Safety, SystemConfig};
use crate::duration::CalendarDuration;

/// The keys that only some policy kinds take.
const KIND_KEYS: [&str; 12] = [
    "idle_for",
    "systems",
    "after",
    "system",
    "records",
    "warn_before",
    "warn_subject",
    "warn_template",
    "from",
    "financial_year_end",
    "round_up_to",
    "restore_window",
];

/// Which of [`KIND_KEYS`] a kind allows, and which of those it requires.
fn kind_keys(kind: RawKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        RawKind::Inactivity => (
            &[
                "idle_for",
                "systems",
                "warn_before",
                "warn_subject",
                "warn_template",
                "restore_window",
            ],
            &["idle_for"],
        ),
        RawKind::Retention => (
            &["after", "systems", "restore_window"],
            &["after", "systems"],
        ),
        RawKind::RecordRetention => (
            &[
                "after",
                "system",
                "records",
                "from",
                "financial_year_end",
                "round_up_to",
            ],
            &["after", "system", "records"],
        ),
    }
}

fn example(key: &str) -> &'static str {
    match key {
        "idle_for" => "idle_for = \"6 months\"",
        "after" => "after = \"2 months\"",
        "systems" => "systems = [\"crm\", \"billing\"]",
        "system" => "system = \"signups\"",
        _ => "records = \"unconverted_signups\"",
    }
}

pub(super) fn policy(
    name: &str,
    raw: &RawPolicy,
    systems: &[&str],
    account_source: Option<&str>,
    p: &mut Problems,
) -> Option<Policy> {
    let base = join("policies", name);
    let key = |k: &str| join(&base, k);
    let before = p.count();

    if let Some(schedule) = &raw.schedule {
        p.ok(&key("schedule"), cron::check(schedule));
    }
    let max_per_run = raw.max_per_run.and_then(|n| {
        let n = u64::try_from(n).map_err(|_| "must be zero or more");
        p.ok(&key("max_per_run"), n)
    });
    let max_fraction = raw.max_fraction.filter(|f| {
        let ok = *f > 0.0 && *f <= 1.0;
        if !ok {
            p.at(
                key("max_fraction"),
                "must be more than 0 and at most 1 (e.g. 0.1 for 10% of all subjects)",
            );
        }
        ok
    });
    let max_vs_median = valve(
        raw.max_vs_median,
        Safety::DEFAULT_MAX_VS_MEDIAN,
        |f| f >= 1.0,
        (
            &key("max_vs_median"),
            "must be at least 1 (e.g. 3 for three times the median), or false",
        ),
        p,
    );
    let max_shrink = valve(
        raw.max_shrink,
        Safety::DEFAULT_MAX_SHRINK,
        |f| f > 0.0 && f <= 1.0,
        (
            &key("max_shrink"),
            "must be more than 0 and at most 1 (e.g. 0.5 for half), or false",
        ),
        p,
    );

    let present = [
        raw.idle_for.is_some(),
        raw.systems.is_some(),
        raw.after.is_some(),
        raw.system.is_some(),
        raw.records.is_some(),
        raw.warn_before.is_some(),
        raw.warn_subject.is_some(),
        raw.warn_template.is_some(),
        raw.from.is_some(),
        raw.financial_year_end.is_some(),
        raw.round_up_to.is_some(),
        raw.restore_window.is_some(),
    ];
    let (allowed, required) = kind_keys(raw.kind);
    let kind = raw.kind.as_str();
    for (k, present) in KIND_KEYS.into_iter().zip(present) {
        if present && !allowed.contains(&k) {
            p.at(
                key(k),
                format!("key `{k}` is not allowed for kind = \"{kind}\""),
            );
        } else if !present && required.contains(&k) {
            p.at(
                key(k),
                format!(
                    "required key is missing: kind = \"{kind}\" needs it (e.g. {})",
                    example(k)
                ),
            );
        }
    }

    let duration = |k: &str, text: &Option<String>, p: &mut Problems| {
        let text = text.as_deref()?;
        p.ok(&key(k), text.parse::<CalendarDuration>())
    };
    let restore_window = duration("restore_window", &raw.restore_window, p);
    let approval_valid_for = match &raw.approval_valid_for {
        Some(_) => duration("approval_valid_for", &raw.approval_valid_for, p),
        None => Policy::DEFAULT_APPROVAL_VALID_FOR.parse().ok(),
    };
    let max_clock_gap = duration("max_clock_gap", &raw.max_clock_gap, p);
    let mut warning = None;
    let rule = match raw.kind {
        RawKind::Inactivity => {
            let idle_for = duration("idle_for", &raw.idle_for, p);
            let warn_before = duration("warn_before", &raw.warn_before, p);
            warning = inactivity_warning(raw, idle_for.as_ref(), warn_before, &key, p);
            let list = match &raw.systems {
                Some(list) => system_list(list, &key("systems"), systems, p),
                None => Some(systems.iter().map(|s| (*s).to_owned()).collect()),
            };
            Rule::Inactivity {
                idle_for: idle_for?,
                systems: account_source_last(list?, account_source),
            }
        }
        RawKind::Retention => {
            let after = duration("after", &raw.after, p);
            let list =
                (raw.systems.as_ref()).and_then(|l| system_list(l, &key("systems"), systems, p));
            Rule::Retention {
                after: after?,
                systems: account_source_last(list?, account_source),
            }
        }
        RawKind::RecordRetention => {
            let keys = KeepKeys {
                duration: ("after", raw.after.as_deref()),
                from: raw.from.as_deref(),
                financial_year_end: raw.financial_year_end.as_deref(),
                round_up_to: raw.round_up_to.as_deref(),
                event: "record",
            };
            let after = keep(&base, &keys, p);
            if let Some(system) = &raw.system {
                if !systems.contains(&system.as_str()) {
                    p.at(key("system"), unknown_system(system, systems));
                }
            }
            if raw.records.as_deref().is_some_and(|r| r.trim().is_empty()) {
                p.at(key("records"), "must name a record kind of the system");
            }
            Rule::RecordRetention {
                system: raw.system.clone()?,
                records: raw.records.clone()?,
                after: after?,
            }
        }
    };
    if p.count() > before {
        return None;
    }
    Some(Policy {
        name: name.to_owned(),
        mode: match raw.mode {
            None | Some(RawMode::Report) => Mode::Report,
            Some(RawMode::Enforce) => Mode::Enforce,
        },
        schedule: raw.schedule.clone(),
        safety: Safety {
            max_per_run,
            max_fraction,
            max_vs_median,
            max_shrink,
        },
        rule,
        warning,
        restore_window,
        approval_valid_for: approval_valid_for?,
        max_clock_gap,
    })
}

/// A valve that is on by default: its limit, `None` when turned off. A limit outside
/// `allowed` is reported at `key` with `why`.
fn valve(
    raw: Option<RawValve>,
    default: f64,
    allowed: impl Fn(f64) -> bool,
    (key, why): (&str, &str),
    p: &mut Problems,
) -> Option<f64> {
    match raw {
        None | Some(RawValve::Switch(true)) => Some(default),
        Some(RawValve::Switch(false)) => None,
        Some(RawValve::Limit(limit)) if allowed(limit) => Some(limit),
        Some(RawValve::Limit(_)) => {
            p.at(key.to_owned(), why);
            None
        }
    }
}

/// A policy's `systems`: each must exist, once.
fn system_list(
    list: &[String],
    key: &str,
    systems: &[&str],
    p: &mut Problems,
) -> Option<Vec<String>> {
    let before = p.count();
    if list.is_empty() {
        p.at(key, "names no system: list at least one");
    }
    for (i, name) in list.iter().enumerate() {
        if !systems.contains(&name.as_str()) {
            p.at(index(key, i), unknown_system(name, systems));
        } else if list[..i].contains(name) {
            p.at(index(key, i), format!("system \"{name}\" is listed twice"));
        }
    }
    (p.count() == before).then(|| list.to_vec())
}

/// The account source lists the subjects, so it is erased from last: until then a failed
/// erasure elsewhere can still be retried from its list.
fn account_source_last(mut systems: Vec<String>, account_source: Option<&str>) -> Vec<String> {
    if let Some(i) = systems
        .iter()
        .position(|s| Some(s.as_str()) == account_source)
    {
        let source = systems.remove(i);
        systems.push(source);
    }
    systems
}

/// Record retention removes records through a connector's `expire`: a system a person tends
/// (`manual`) or a processor is told about (`notify`) has none. Subject policies may name any
/// system: a run erases through connectors, and hands the subjects it selects to an erasure
/// request for the others (see `runner::handover`).
pub(super) fn records_through_connectors(
    policies: &BTreeMap<String, Policy>,
    systems: &BTreeMap<String, SystemConfig>,
    p: &mut Problems,
) {
    for (name, policy) in policies {
        let Rule::RecordRetention { system, .. } = &policy.rule else {
            continue;
        };
        let Some(config) = systems.get(system).filter(|s| s.connector().is_none()) else {
            continue;
        };
        p.at(
            join(&join("policies", name), "system"),
            format!(
                "system \"{system}\" is reached by {}; record retention removes records through \
                 a connector's expire",
                how_reached(config)
            ),
        );
    }
}

/// A restore window keeps what the run erases through connectors: a system a person or a
/// processor erases in (the run hands it an erasure request) keeps nothing gallra could put
/// back, so a policy promising a window over it is refused.
pub(super) fn windows_through_connectors(
    policies: &BTreeMap<String, Policy>,
    systems: &BTreeMap<String, SystemConfig>,
    p: &mut Problems,
) {
    for (name, policy) in policies {
        let (
            Some(window),
            Rule::Inactivity { systems: names, .. } | Rule::Retention { systems: names, .. },
        ) = (&policy.restore_window, &policy.rule)
        else {
            continue;
        };
        for system in names {
            let Some(config) = systems.get(system).filter(|s| s.connector().is_none()) else {
                continue;
            };
            p.at(
                join(&join("policies", name), "restore_window"),
                format!(
                    "system \"{system}\" is reached by {}, so gallra cannot keep what is erased \
                     there for {}: list the policy's systems without it, or remove restore_window",
                    how_reached(config),
                    window.as_str()
                ),
            );
        }
    }
}

fn how_reached(system: &SystemConfig) -> &'static str {
    match system.handling {
        crate::config::types::Handling::Manual { .. } => "a person (manual)",
        _ => "a notice to the processor (notify)",
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Rule;

    #[test]
    fn inactivity_without_systems_means_every_system() {
        let text = r#"state_dir = "s"
account_source = "panel"
[systems.panel]
plugin = "sql"
[systems.binders]
manual = { instructions = "Shred the folder" }
[systems.crm]
plugin = "sql"
[policies.idle]
kind = "inactivity"
idle_for = "6 months"
"#;
        let config = crate::config::parse(text, std::path::Path::new("/g.toml")).unwrap();
        let Rule::Inactivity { systems, .. } = &config.policies["idle"].rule else {
            panic!("not inactivity");
        };
        assert_eq!(systems, &["binders", "crm", "panel"]);
    }
}
