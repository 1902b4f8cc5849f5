//! How a system is reached (`plugin`, `manual` or `notify`) and its legal hold.

use super::keep::{keep, KeepKeys};
use super::{to_json, valid_name, Problems};
use crate::config::locate::join;
use crate::config::raw::{RawLegalHold, RawNotify, RawSystem};
use crate::config::types::{Confirm, Handling, LegalHold, NotifyTarget, NotifyVia};
use crate::duration::CalendarDuration;
use crate::template::placeholders;
use crate::template::NOTICE_PLACEHOLDERS;

/// Exactly one of `plugin`, `manual` and `notify`.
pub(super) fn handling(base: &str, raw: &RawSystem, p: &mut Problems) -> Option<Handling> {
    let given: Vec<&str> = [
        raw.plugin.as_ref().map(|_| "plugin"),
        raw.manual.as_ref().map(|_| "manual"),
        raw.notify.as_ref().map(|_| "notify"),
    ]
    .into_iter()
    .flatten()
    .collect();
    match given.as_slice() {
        [] => {
            p.at(
                base,
                "says nothing of how to reach it: write plugin = \"sql\" (or another plugin), \
                 manual = { instructions = \"…\" }, or notify = { email = \"…\", template = \"…\" }",
            );
            return None;
        }
        [_] => {}
        [first, second, ..] => {
            p.at(
                join(base, second),
                format!(
                    "a system takes one of plugin, manual and notify, and this one has {first} too"
                ),
            );
            return None;
        }
    }
    if raw.plugin.is_none() && !raw.settings.is_empty() {
        p.at(
            join(base, "settings"),
            "settings are for a plugin; this system has none",
        );
        return None;
    }
    if let Some(plugin) = &raw.plugin {
        if !valid_name(plugin) {
            p.at(
                join(base, "plugin"),
                "a plugin name uses only a-z, 0-9, `_` and `-`, e.g. \"sql\"",
            );
            return None;
        }
        let settings = to_json(
            &toml::Value::Table(raw.settings.clone()),
            &join(base, "settings"),
            p,
        )?;
        return Some(Handling::Connector {
            plugin: plugin.clone(),
            settings,
        });
    }
    if let Some(manual) = &raw.manual {
        if manual.instructions.trim().is_empty() {
            p.at(
                join(base, "manual.instructions"),
                "must say what the person must do",
            );
            return None;
        }
        return Some(Handling::Manual {
            instructions: manual.instructions.clone(),
        });
    }
    raw.notify
        .as_ref()
        .and_then(|n| notify(&join(base, "notify"), n, p))
        .map(|target| Handling::Notify(Box::new(target)))
}

fn notify(base: &str, raw: &RawNotify, p: &mut Problems) -> Option<NotifyTarget> {
    let via = match (&raw.email, &raw.webhook) {
        (Some(email), None) if email.contains('@') => NotifyVia::Email(email.clone()),
        (Some(_), None) => {
            p.at(join(base, "email"), "not an email address");
            return None;
        }
        (None, Some(url)) if url.starts_with("https://") || url.starts_with("http://") => {
            NotifyVia::Webhook {
                url: url.clone(),
                token_file: raw.token_file.clone(),
            }
        }
        (None, Some(_)) => {
            p.at(join(base, "webhook"), "not a URL (write https://…)");
            return None;
        }
        _ => {
            p.at(base, "needs exactly one of email and webhook");
            return None;
        }
    };
    if raw.template.trim().is_empty() {
        p.at(
            join(base, "template"),
            "must not be empty: it is the notice's text",
        );
        return None;
    }
    let templates = [
        ("template", Some(&raw.template)),
        ("subject", raw.subject.as_ref()),
    ];
    for (key, text) in templates {
        let Some(text) = text else { continue };
        let unknown = match placeholders(text) {
            Ok(names) => names
                .into_iter()
                .find(|n| !NOTICE_PLACEHOLDERS.contains(&n.as_str()))
                .map(|n| {
                    format!(
                        "unknown placeholder {{{n}}} (known: {})",
                        NOTICE_PLACEHOLDERS.join(", ")
                    )
                }),
            Err(e) => Some(e.to_string()),
        };
        if let Some(message) = unknown {
            p.at(join(base, key), message);
            return None;
        }
    }
    Some(NotifyTarget {
        via,
        subject: raw
            .subject
            .clone()
            .unwrap_or_else(|| "Deletion request {request}".into()),
        template: raw.template.clone(),
        confirm: confirm(base, raw, p)?,
    })
}

/// `confirm`, and how an unanswered notice is chased: only a notice that waits for an
/// answer can be reminded or escalated.
fn confirm(base: &str, raw: &RawNotify, p: &mut Problems) -> Option<Confirm> {
    let chase = [
        ("remind_every", &raw.remind_every),
        ("escalate_after", &raw.escalate_after),
    ];
    if !raw.confirm {
        if let Some((key, _)) = chase.iter().find(|(_, v)| v.is_some()) {
            p.at(
                join(base, key),
                "needs confirm = true: only a notice that waits for the processor's answer is reminded or escalated",
            );
            return None;
        }
        return Some(Confirm::No);
    }
    let remind_every = optional_duration(base, "remind_every", &raw.remind_every, p);
    let escalate_after = optional_duration(base, "escalate_after", &raw.escalate_after, p);
    Some(Confirm::Yes {
        remind_every: remind_every?,
        escalate_after: escalate_after?,
    })
}

/// `Some(None)` when absent, `None` when present but wrong (reported).
fn optional_duration(
    base: &str,
    key: &str,
    value: &Option<String>,
    p: &mut Problems,
) -> Option<Option<CalendarDuration>> {
    match value {
        None => Some(None),
        Some(text) => p
            .ok(&join(base, key), text.parse::<CalendarDuration>())
            .map(Some),
    }
}

/// A legal hold, only on a system a connector reaches (it must anonymize and report status).
pub(super) fn legal_hold(
    base: &str,
    raw: &RawLegalHold,
    handling: Option<&Handling>,
    p: &mut Problems,
) -> Option<LegalHold> {
    let key = join(base, "legal_hold");
    let keys = KeepKeys {
        duration: ("keep", Some(&raw.keep)),
        from: raw.from.as_deref(),
        financial_year_end: raw.financial_year_end.as_deref(),
        round_up_to: raw.round_up_to.as_deref(),
        event: "last_activity",
    };
    let keep = keep(&key, &keys, p);
    if raw.law.trim().is_empty() {
        p.at(
            join(&key, "law"),
            "must cite the law that requires the data to be kept",
        );
        return None;
    }
    if matches!(
        handling,
        Some(Handling::Manual { .. } | Handling::Notify(_))
    ) {
        p.at(
            key,
            "a legal hold needs a system reached by a plugin (it anonymizes, then erases later)",
        );
        return None;
    }
    Some(LegalHold {
        keep: keep?,
        law: raw.law.clone(),
    })
}
