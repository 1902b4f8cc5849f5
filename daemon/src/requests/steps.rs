//! What one request task does in its system, and what came of it. The engine records the
//! outcome; nothing here touches the state store.

use gallra_plugin_api::{
    ConnectorError, EraseOutcome, Identifier, IdentifierKind, RecordRef, Subject,
};
use jiff::Timestamp;

use super::model::{RequestAction, RequestRecord, RequestTask};
use crate::config::{Config, CustomerIds, LegalHold};
use crate::plugins::{CallError, SystemHandle};

/// What came of one step.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// Finished.
    Done(String),
    /// Data stays under a rule until `until`; gallra acts again at `recheck_at`.
    Retained {
        /// Why, in words.
        detail: String,
        /// Kept until (the end of a legal hold).
        until: Option<Timestamp>,
        /// The law.
        law: Option<String>,
        /// When to try again (the hold's end, or a re-check of an association).
        recheck_at: Option<Timestamp>,
    },
    /// Anonymized under a legal hold that ends at `until`; the connector named the records
    /// it kept (`kept`, possibly none), by which they are erased then.
    Held {
        /// Why, in words.
        detail: String,
        /// The end of the hold.
        until: Timestamp,
        /// The law.
        law: String,
        /// The records kept, as the connector names them.
        kept: Vec<RecordRef>,
    },
    /// A person must act.
    NeedsPerson(String),
    /// The system is still deleting; ask again at the instant given. Not a failure.
    InProgress(String, Timestamp),
    /// Failed for now; try again later.
    Retry(String),
    /// Failed for good.
    Failed(String),
}

impl StepOutcome {
    pub(crate) fn from_error(error: &CallError) -> Self {
        if error.is_transient() {
            StepOutcome::Retry(error.to_string())
        } else {
            StepOutcome::Failed(error.to_string())
        }
    }
}

/// The identifiers a request hands one system: strong ones only (a phone number or an IP can
/// be shared), and the customer id only to a system that knows it (see [`CustomerIds`]). The
/// account source, given the customer id, gets that alone: matching it by "id or email"
/// would also take another customer who shares the email.
pub fn request_subject(identifiers: &[Identifier], customer_ids: CustomerIds) -> Subject {
    let by_key = customer_ids == CustomerIds::Own
        && identifiers
            .iter()
            .any(|i| i.kind() == IdentifierKind::CustomerId);
    if by_key {
        return Subject::new(
            identifiers
                .iter()
                .filter(|i| i.kind() == IdentifierKind::CustomerId)
                .cloned()
                .collect(),
        );
    }
    let keep = |kind: IdentifierKind| match kind {
        IdentifierKind::Email | IdentifierKind::Personnummer | IdentifierKind::Domain => true,
        IdentifierKind::CustomerId => customer_ids != CustomerIds::None,
        IdentifierKind::Phone | IdentifierKind::Ip => false,
    };
    Subject::new(
        identifiers
            .iter()
            .filter(|i| keep(i.kind()))
            .cloned()
            .collect(),
    )
}

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
    Outcome(StepOutcome),
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
        Err(e) => return HoldCheck::Outcome(StepOutcome::from_error(&e)),
    };
    let Some(last) = facts.last_activity else {
        // A system that reports activity but has no date for this subject holds no dated
        // records (no invoice at all): the law keeps nothing, so no hold applies.
        if handle.description().activity_bearing {
            return HoldCheck::NoHold;
        }
        return match handle.call("lookup", move |i| i.lookup(&subject)).await {
            Ok(found) if found.records.is_empty() => HoldCheck::NoHold,
            Ok(_) => HoldCheck::Outcome(StepOutcome::NeedsPerson(format!(
                "legal hold ({}): this system's connector reports no dates to count the hold from; decide by hand",
                hold.law
            ))),
            Err(e) => HoldCheck::Outcome(StepOutcome::from_error(&e)),
        };
    };
    if last < crate::policy::PLAUSIBLE_AFTER {
        // A 1970 default would end the hold decades ago: nobody can count it from that. Ask
        // again later (a read gone wrong comes right); an open task shows if it never does.
        return HoldCheck::Outcome(StepOutcome::Retry(format!(
            "legal hold ({}): this system reports an implausible last activity (before 2000) to count the hold from; asked again later",
            hold.law
        )));
    }
    let until = hold
        .keep
        .until(&last.to_zoned(config.time_zone.clone()))
        .timestamp();
    if until <= now {
        HoldCheck::NoHold
    } else {
        HoldCheck::Until(until)
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
) -> StepOutcome {
    let hold = config
        .systems
        .get(&task.system)
        .and_then(|s| s.legal_hold.as_ref());
    if let (Some(hold), Some(until)) = (hold, task.retained_until.filter(|until| *until > now)) {
        let who = subject.clone();
        let outcome = match handle.call("anonymize", move |i| i.anonymize(&who)).await {
            Ok(outcome) => outcome,
            Err(e) => return StepOutcome::from_error(&e),
        };
        // Whatever the connector answered, the kept records must no longer name the subject.
        return match handle.anonymized_read_back(&subject, identifiers).await {
            Ok(()) => StepOutcome::Held {
                detail: format!("{}; the records stay for bookkeeping", describe(&outcome)),
                until,
                law: hold.law.clone(),
                kept: match outcome {
                    EraseOutcome::Anonymized { kept, .. } => kept,
                    _ => Vec::new(),
                },
            },
            Err(why) => StepOutcome::Retry(why),
        };
    }
    if let Some(kept) = &task.kept {
        return super::hold_end::erase_kept(config, handle, task, kept, now).await;
    }
    let hold_ended = task.retained_until.is_some_and(|until| until <= now);
    let who = subject.clone();
    match handle.call("erase", move |i| i.erase(&who)).await {
        Ok(EraseOutcome::InProgress {
            reason,
            check_after_secs,
        }) => {
            let wait = jiff::SignedDuration::from_secs(check_after_secs.clamp(1, 86_400) as i64);
            StepOutcome::InProgress(format!("in progress: {reason}"), now + wait)
        }
        // Done only once a read-back confirms it; otherwise asked again later.
        Ok(outcome) => match handle.confirm(&subject, identifiers, &outcome).await {
            Ok(()) => {
                let zoned = now.to_zoned(config.time_zone.clone());
                let recheck = config.requests.recheck_every.after(&zoned).timestamp();
                erase_outcome(outcome, hold_ended, recheck)
            }
            Err(why) => StepOutcome::Retry(why),
        },
        Err(e) => refused_or(&e, now, config),
    }
}

/// The step outcome of an erase call the read-back confirmed. Data kept with no end date
/// (a registry keeps a contact while a domain lives) is asked about again at `recheck`, so
/// it is erased once the reason is gone instead of being kept for good.
pub(super) fn erase_outcome(
    outcome: EraseOutcome,
    after_hold: bool,
    recheck: Timestamp,
) -> StepOutcome {
    let kept = |detail: String, r: gallra_plugin_api::Retention| StepOutcome::Retained {
        detail,
        until: r.until,
        law: r.legal_basis,
        recheck_at: Some(r.until.unwrap_or(recheck)),
    };
    match outcome {
        EraseOutcome::Retained(r) => kept(r.reason.clone(), r),
        EraseOutcome::Anonymized {
            records,
            retained: Some(r),
            ..
        } => kept(format!("anonymized {records} records; {}", r.reason), r),
        other if after_hold => {
            StepOutcome::Done(format!("{} after the legal hold ended", describe(&other)))
        }
        other => StepOutcome::Done(describe(&other)),
    }
}

/// In words, for the receipt.
pub(super) fn describe(outcome: &EraseOutcome) -> String {
    match outcome {
        EraseOutcome::Erased { records } => format!("erased {records} records"),
        EraseOutcome::Anonymized { records, .. } => format!("anonymized {records} records"),
        EraseOutcome::Retained(r) => format!("kept: {}", r.reason),
        EraseOutcome::InProgress { reason, .. } => format!("in progress: {reason}"),
    }
}

/// A connector that refuses because of a rule (a contact linked to a domain) keeps the data
/// for now, and gallra asks again later; anything else is an error.
fn refused_or(error: &CallError, now: Timestamp, config: &Config) -> StepOutcome {
    match error.connector_error() {
        Some(ConnectorError::Refused {
            reason,
            legal_basis,
        }) => {
            let zoned = now.to_zoned(config.time_zone.clone());
            StepOutcome::Retained {
                detail: format!("refused: {reason}; asked again later"),
                until: None,
                law: legal_basis.clone(),
                recheck_at: Some(config.requests.recheck_every.after(&zoned).timestamp()),
            }
        }
        _ => StepOutcome::from_error(error),
    }
}

/// Restricts processing (or lifts it); a connector that cannot is a job for a person.
pub async fn restrict(handle: &SystemHandle, subject: Subject, on: bool) -> StepOutcome {
    match handle
        .call("restrict", move |i| i.restrict(&subject, on))
        .await
    {
        Ok(()) => StepOutcome::Done(
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
            StepOutcome::NeedsPerson(format!(
                "this system's connector cannot {} processing: do it by hand, then confirm",
                if on {
                    "restrict"
                } else {
                    "lift the restriction on"
                }
            ))
        }
        Err(e) => StepOutcome::from_error(&e),
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
    use gallra_plugin_api::Retention;

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

    fn retention(until: Option<Timestamp>) -> Retention {
        Retention {
            reason: "the contact holds a domain".into(),
            legal_basis: None,
            until,
        }
    }

    fn recheck_at(outcome: StepOutcome) -> Option<Timestamp> {
        match outcome {
            StepOutcome::Retained { recheck_at, .. } => recheck_at,
            other => panic!("not retained: {other:?}"),
        }
    }

    #[test]
    fn data_kept_without_an_end_date_is_asked_about_again() {
        let recheck: Timestamp = "2027-01-02T00:00:00Z".parse().unwrap();
        let until: Timestamp = "2032-01-01T00:00:00Z".parse().unwrap();
        let kept = EraseOutcome::Retained(retention(None));
        assert_eq!(
            recheck_at(erase_outcome(kept, false, recheck)),
            Some(recheck)
        );
        let anonymized = EraseOutcome::Anonymized {
            records: 1,
            retained: Some(retention(None)),
            kept: Vec::new(),
        };
        assert_eq!(
            recheck_at(erase_outcome(anonymized, false, recheck)),
            Some(recheck)
        );
        let dated = EraseOutcome::Retained(retention(Some(until)));
        assert_eq!(
            recheck_at(erase_outcome(dated, false, recheck)),
            Some(until)
        );
    }
}
