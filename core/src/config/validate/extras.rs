//! The top-level tables beside systems and policies: `[requests]`, `[smtp]`, `[api]`.

use std::cmp::Ordering;
use std::path::Path;

use jiff::civil::date;
use jiff::Span;

use super::{resolve, Problems};
use crate::config::locate::join;
use crate::config::raw::{RawApi, RawRequests, RawSmtp};
use crate::config::types::{ApiConfig, RequestsConfig, SmtpConfig};
use crate::duration::CalendarDuration;

/// `[requests]`, with every deadline within the law's ceiling: one month, or three with a
/// recorded reason (GDPR Art. 12(3)).
pub(super) fn requests(raw: Option<&RawRequests>, p: &mut Problems) -> Option<RequestsConfig> {
    let empty = RawRequests {
        erase_within: None,
        export_within: None,
        restrict_within: None,
        object_within: None,
        extension_reason: None,
        at_risk_within: None,
        recheck_every: None,
        retry_base: None,
        restore_window: None,
        exports_keep: None,
    };
    let raw = raw.unwrap_or(&empty);
    let extension = raw
        .extension_reason
        .clone()
        .filter(|r| !r.trim().is_empty());
    let ceiling = if extension.is_some() { 3 } else { 1 };
    let mut deadline = |key: &str, value: &Option<String>| -> Option<CalendarDuration> {
        let full = join("requests", key);
        let within = p.ok(
            &full,
            value
                .as_deref()
                .unwrap_or("1 month")
                .parse::<CalendarDuration>(),
        )?;
        if longer_than_months(&within, ceiling) {
            let remedy = if ceiling == 1 {
                "more than one month, the GDPR ceiling (Art. 12(3)): shorten it, or record why in requests.extension_reason"
            } else {
                "more than three months, the ceiling even with an extension (GDPR Art. 12(3))"
            };
            p.at(full, remedy);
            return None;
        }
        Some(within)
    };
    let erase_within = deadline("erase_within", &raw.erase_within);
    let export_within = deadline("export_within", &raw.export_within);
    let restrict_within = deadline("restrict_within", &raw.restrict_within);
    let object_within = deadline("object_within", &raw.object_within);
    let mut duration = |key: &str, value: &Option<String>, default: &str| {
        p.ok(
            &join("requests", key),
            value
                .as_deref()
                .unwrap_or(default)
                .parse::<CalendarDuration>(),
        )
    };
    let at_risk_within = duration("at_risk_within", &raw.at_risk_within, "2 days");
    let recheck_every = duration("recheck_every", &raw.recheck_every, "1 hour");
    let exports_keep = duration("exports_keep", &raw.exports_keep, "30 days");
    let retry_base = p.ok(
        "requests.retry_base",
        super::timeout(raw.retry_base.as_deref().unwrap_or("30s")),
    );
    if raw.restore_window.is_some() {
        p.at(
            "requests.restore_window",
            "keeping what erasure requests erase is not built yet: remove the key (a policy \
             can keep what its purges erase with restore_window in [policies.NAME])",
        );
    }
    Some(RequestsConfig {
        erase_within: erase_within?,
        export_within: export_within?,
        restrict_within: restrict_within?,
        object_within: object_within?,
        extension_reason: extension,
        at_risk_within: at_risk_within?,
        recheck_every: recheck_every?,
        retry_base: retry_base?,
        restore_window: None,
        exports_keep: exports_keep?,
    })
}

/// Whether a duration can be longer than `months` months: compared from 1 January, where
/// a month is 31 days long. Submission still caps each due date at the calendar ceiling.
fn longer_than_months(within: &CalendarDuration, months: i64) -> bool {
    let start = date(2025, 1, 1);
    let ceiling = Span::new().months(months);
    within
        .span()
        .compare((ceiling, start))
        .map_or(true, |o| o == Ordering::Greater)
}

/// `[smtp]`.
pub(super) fn smtp(
    raw: Option<&RawSmtp>,
    dir: &Path,
    p: &mut Problems,
) -> Option<Option<SmtpConfig>> {
    let Some(raw) = raw else { return Some(None) };
    let from_ok = raw.from.contains('@');
    if !from_ok {
        p.at(
            "smtp.from",
            "not an email address (write e.g. \"privacy@hosting.example\")",
        );
    }
    if raw.host.trim().is_empty() {
        p.at("smtp.host", "must not be empty");
        return None;
    }
    let password_file = match &raw.password_file {
        Some(file) => Some(resolve(dir, "smtp.password_file", file.clone(), p)?),
        None => None,
    };
    from_ok.then(|| {
        Some(SmtpConfig {
            host: raw.host.clone(),
            port: raw.port.unwrap_or(25),
            from: raw.from.clone(),
            starttls: raw.starttls.unwrap_or(true),
            username: raw.username.clone(),
            password_file,
        })
    })
}

/// `[api]`: TCP only with bearer tokens.
pub(super) fn api(raw: Option<&RawApi>, dir: &Path, p: &mut Problems) -> Option<ApiConfig> {
    let Some(raw) = raw else {
        return Some(ApiConfig::default());
    };
    let listen = match raw.listen.as_deref() {
        None => None,
        Some(text) => Some(
            p.ok(
                "api.listen",
                text.parse()
                    .map_err(|_| "not an address (write e.g. \"127.0.0.1:8750\")"),
            )?,
        ),
    };
    if listen.is_some() && raw.tokens_file.is_none() {
        p.at(
            "api.listen",
            "a TCP listener needs api.tokens_file (bearer tokens); the Unix socket needs none",
        );
        return None;
    }
    let socket = match &raw.socket {
        Some(s) => Some(resolve(dir, "api.socket", s.clone(), p)?),
        None => None,
    };
    let tokens_file = match &raw.tokens_file {
        Some(t) => Some(resolve(dir, "api.tokens_file", t.clone(), p)?),
        None => None,
    };
    Some(ApiConfig {
        socket,
        listen,
        tokens_file,
    })
}

/// `[metrics]`.
pub(super) fn metrics(
    raw: Option<&crate::config::raw::RawMetrics>,
    p: &mut Problems,
) -> Option<Option<std::net::SocketAddr>> {
    let Some(raw) = raw else { return Some(None) };
    p.ok(
        "metrics.listen",
        raw.listen
            .parse()
            .map_err(|_| "not an address (write e.g. \"127.0.0.1:9750\")"),
    )
    .map(Some)
}
