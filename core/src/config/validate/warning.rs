//! `warn_before` and its notice on an inactivity policy: the period, the subject line and
//! text (checked against the placeholders a warning provides), and the relay it needs.

use super::Problems;
use crate::config::locate::join;
use crate::config::raw::RawPolicy;
use crate::config::types::InactivityWarning;
use crate::duration::CalendarDuration;
use crate::template::placeholders;
use crate::template::WARNING_PLACEHOLDERS;

/// The warning's subject line when the file gives none.
const DEFAULT_WARN_SUBJECT: &str = "Your account will be deleted on {delete_on}";

/// A warning text to suggest.
const EXAMPLE: &str =
    "warn_template = \"Your account will be deleted on {delete_on} unless you log in.\"";

/// `warn_before` with its notice. The notice's keys without `warn_before` are an error:
/// a template that is never sent is a mistake the administrator wants to hear about.
pub(super) fn inactivity_warning(
    raw: &RawPolicy,
    idle_for: Option<&CalendarDuration>,
    before: Option<CalendarDuration>,
    key: &dyn Fn(&str) -> String,
    p: &mut Problems,
) -> Option<InactivityWarning> {
    if raw.warn_before.is_none() {
        for (k, given) in [
            ("warn_subject", raw.warn_subject.is_some()),
            ("warn_template", raw.warn_template.is_some()),
        ] {
            if given {
                p.at(
                    key(k),
                    format!("`{k}` is only used with warn_before (e.g. warn_before = \"30 days\")"),
                );
            }
        }
        return None;
    }
    if let (Some(before), Some(idle_for)) = (&before, idle_for) {
        if !shorter(before, idle_for) {
            p.at(
                key("warn_before"),
                format!(
                    "must be shorter than idle_for = \"{idle_for}\": the warning goes out \
                     warn_before ahead of the deletion"
                ),
            );
        }
    }
    let subject = raw
        .warn_subject
        .clone()
        .unwrap_or_else(|| DEFAULT_WARN_SUBJECT.to_owned());
    let texts = [
        ("warn_template", raw.warn_template.as_ref()),
        ("warn_subject", Some(&subject)),
    ];
    for (k, text) in texts {
        let Some(text) = text else { continue };
        let wrong = match placeholders(text) {
            Ok(names) => names
                .into_iter()
                .find(|n| !WARNING_PLACEHOLDERS.contains(&n.as_str()))
                .map(|n| {
                    let known: Vec<String> = WARNING_PLACEHOLDERS
                        .iter()
                        .map(|k| format!("{{{k}}}"))
                        .collect();
                    format!("unknown placeholder {{{n}}} (known: {})", known.join(", "))
                }),
            Err(e) => Some(e.to_string()),
        };
        if let Some(message) = wrong {
            p.at(key(k), message);
        }
    }
    let Some(template) = &raw.warn_template else {
        p.at(
            key("warn_template"),
            format!(
                "required key is missing: warn_before needs the warning's text (e.g. {EXAMPLE})"
            ),
        );
        return None;
    };
    if template.trim().is_empty() {
        p.at(
            key("warn_template"),
            "must not be empty: it is the warning's text",
        );
    }
    Some(InactivityWarning {
        before: before?,
        subject,
        template: template.clone(),
    })
}

/// Whether `a` is shorter than `b` on the calendar. Months differ in length, so this is
/// judged at a fixed date; only borderline pairs (`30 days` and `1 month`) depend on which.
fn shorter(a: &CalendarDuration, b: &CalendarDuration) -> bool {
    let at: jiff::Zoned = jiff::civil::date(2001, 3, 1)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .expect("a valid date");
    a.cutoff(&at) > b.cutoff(&at)
}

/// Warnings are sent by email, so a policy that warns needs a relay.
pub(super) fn warnings_need_smtp<'a>(
    policies: impl Iterator<Item = (&'a String, &'a RawPolicy)>,
    have_smtp: bool,
    p: &mut Problems,
) {
    if have_smtp {
        return;
    }
    for (name, _) in policies.filter(|(_, raw)| raw.warn_before.is_some()) {
        p.at(
            join(&join("policies", name), "warn_before"),
            "warnings are sent by email: add an [smtp] table (host, from) to send them through",
        );
    }
}
