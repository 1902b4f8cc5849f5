//! What one request task does in its system, and what came of it. The engine records the
//! outcome; nothing here touches the state store.

use gallra_core::policy::answer::{self, Next};
use gallra_core::policy::hold::{hold_ends, HoldEnds};
use gallra_plugin_api::{ConnectorError, EraseOutcome, Identifier, IdentifierKind, Subject};
use jiff::Timestamp;

use super::model::{RequestAction, RequestRecord, RequestTask};
use crate::config::{Config, LegalHold};
use crate::plugins::SystemHandle;

/// What a system's legal hold says about an erasure, decided before anything changes.
#[derive(Debug, Clone, PartialEq)]
pub enum HoldCheck {
    /// No hold applies (no dated records there, or the hold is over): erase.
    NoHold,
    /// The hold keeps the records until this instant: anonymize now, erase then. The engine
    /// records the date on the task *before* anonymizing, so that a crash in between cannot
    /// lose it (once anonymized, the subject can no longer be found to count it again).
    Until(Timestamp),
    /// Nothing can be decided now.
    Outcome(Next),
}

/// Counts a legal hold from the subject's last activity in the system (e.g. the last invoice),
/// as the hold says: plainly, or from the end of that financial year (see [`crate::config::Keep`]).
pub async fn check_hold(
    config: &Config,
    handle: &SystemHandle,
    hold: &LegalHold,
    subject: Subject,
    now: Timestamp,
) -> HoldCheck {
    let who = subject.clone();
    let facts = match handle.call("status", move |i| i.status(&who)).await {
        Ok(facts) => facts,
        Err(e) => return HoldCheck::Outcome(e.next()),
    };
    let Some(last) = facts.last_activity else {
        // A system that reports activity but has no date for this subject holds no dated
        // records (no invoice at all): the law keeps nothing, so no hold applies.
        if handle.description().activity_bearing {
            return HoldCheck::NoHold;
        }
        return match handle.call("lookup", move |i| i.lookup(&subject)).await {
            Ok(found) if found.records.is_empty() => HoldCheck::NoHold,
            Ok(_) => HoldCheck::Outcome(Next::NeedsPerson(format!(
                "legal hold ({}): this system's connector reports no dates to count the hold from; decide by hand",
                hold.law
            ))),
            Err(e) => HoldCheck::Outcome(e.next()),
        };
    };
    match hold_ends(hold, last, now, &config.time_zone) {
        HoldEnds::Over => HoldCheck::NoHold,
        HoldEnds::At(until) => HoldCheck::Until(until),
        // Asked again later (a read gone wrong comes right); an open task shows if it never
        // does.
        HoldEnds::Implausible => HoldCheck::Outcome(Next::Retry(format!(
            "legal hold ({}): this system reports an implausible last activity (before 2000) to count the hold from; asked again later",
            hold.law
        ))),
    }
}

/// Erases (or, for `object`, removes from marketing) the subject in one system. Under a
/// legal hold whose end the engine has recorded on the task (see [`check_hold`]), the
/// personal data the law does not need is anonymized and the task retained until the end;
/// once the hold is over, the rest is erased.
pub async fn erase(
    config: &Config,
    handle: &SystemHandle,
    task: &RequestTask,
    subject: Subject,
    identifiers: &[Identifier],
    now: Timestamp,
) -> Next {
    let hold = config
        .systems
        .get(&task.system)
        .and_then(|s| s.legal_hold.as_ref());
    if let (Some(hold), Some(until)) = (hold, task.retained_until.filter(|until| *until > now)) {
        let who = subject.clone();
        let outcome = match handle.call("anonymize", move |i| i.anonymize(&who)).await {
            Ok(outcome) => outcome,
            Err(e) => return e.next(),
        };
        // Whatever the connector answered, the kept records must no longer name the subject.
        return match handle.anonymized_read_back(&subject, identifiers).await {
            Ok(()) => Next::Held {
                detail: format!(
                    "{}; the records stay for bookkeeping",
                    answer::describe(&outcome)
                ),
                until,
                law: hold.law.clone(),
                kept: match outcome {
                    EraseOutcome::Anonymized { kept, .. } => kept,
                    _ => Vec::new(),
                },
            },
            Err(why) => Next::Retry(why),
        };
    }
    if let Some(kept) = &task.kept {
        return super::hold_end::erase_kept(config, handle, task, kept, now).await;
    }
    let hold_ended = task.retained_until.is_some_and(|until| until <= now);
    let answer = handle.erase_confirmed(&subject, identifiers).await;
    let zoned = now.to_zoned(config.time_zone.clone());
    let recheck = config.requests.recheck_every.after(&zoned).timestamp();
    answer::next(answer, now, recheck, hold_ended)
}

/// Restricts processing (or lifts it); a connector that cannot is a job for a person.
pub async fn restrict(handle: &SystemHandle, subject: Subject, on: bool) -> Next {
    match handle
        .call("restrict", move |i| i.restrict(&subject, on))
        .await
    {
        Ok(()) => Next::Done(
            if on {
                "restricted"
            } else {
                "restriction lifted"
            }
            .into(),
        ),
        Err(e)
            if matches!(
                e.connector_error(),
                Some(ConnectorError::Unsupported { .. })
            ) =>
        {
            Next::NeedsPerson(format!(
                "this system's connector cannot {} processing: do it by hand, then confirm",
                if on {
                    "restrict"
                } else {
                    "lift the restriction on"
                }
            ))
        }
        Err(e) => e.next(),
    }
}

/// The action's name as a verb for messages.
pub fn verb(action: RequestAction) -> &'static str {
    match action {
        RequestAction::Erase => "erase",
        RequestAction::Anonymize => "anonymize",
        RequestAction::Export => "export",
        RequestAction::Restrict => "restrict",
        RequestAction::Unrestrict => "unrestrict",
        RequestAction::Notify => "notify",
        RequestAction::Manual => "act by hand",
    }
}

pub use gallra_core::template::NOTICE_PLACEHOLDERS;

/// The placeholders a notice template may use, with this request's values. Identifiers are
/// personal data: they go into the notice (the processor needs them) and nowhere else.
pub fn notice_vars(
    request: &RequestRecord,
    system: &str,
    config: &Config,
) -> Vec<(&'static str, String)> {
    let value = |kind: IdentifierKind| {
        request
            .identifiers
            .iter()
            .find(|i| i.kind() == kind)
            .map(Identifier::value)
            .unwrap_or_default()
    };
    let due = request
        .due_at
        .to_zoned(config.time_zone.clone())
        .date()
        .to_string();
    vec![
        ("request", request.id.to_string()),
        ("kind", request.kind.to_string()),
        ("system", system.to_owned()),
        ("due_date", due),
        ("email", value(IdentifierKind::Email)),
        ("personnummer", value(IdentifierKind::Personnummer)),
        ("customer_id", value(IdentifierKind::CustomerId)),
        ("phone", value(IdentifierKind::Phone)),
        ("domain", value(IdentifierKind::Domain)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_provide_exactly_the_placeholders_config_allows() {
        let config = crate::config::parse(
            "state_dir = \"s\"\naccount_source = \"p\"\n[systems.p]\nplugin = \"sql\"\n",
            std::path::Path::new("/g.toml"),
        )
        .unwrap();
        let request = RequestRecord {
            id: super::super::RequestId(1),
            kind: super::super::RequestKind::Erase,
            state: super::super::RequestState::Open,
            received_at: Timestamp::UNIX_EPOCH,
            due_at: Timestamp::UNIX_EPOCH,
            completed_at: None,
            identifiers: vec![],
            detail: None,
            extension: None,
            origin: None,
        };
        let names: Vec<&str> = notice_vars(&request, "p", &config)
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(names, NOTICE_PLACEHOLDERS);
    }
}
