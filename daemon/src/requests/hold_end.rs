//! The end of a legal hold: what the anonymization kept is erased, found by the references
//! the connector named then (the request's identifiers were replaced in the system and are
//! no longer kept), and read back by them. Nothing found, or nothing named, is a job for a
//! person, never "done".

use gallra_core::policy::answer::{self, Answer, Next};
use gallra_plugin_api::{Capability, EraseOutcome, Identifier, IdentifierKind, RecordRef, Subject};
use jiff::Timestamp;

use super::model::RequestTask;
use crate::config::Config;
use crate::plugins::SystemHandle;
use crate::store::TaskState;

/// The subject the erase at the hold's end is asked about: one `customer_id` per kept
/// record's key, as the plugin ABI promises (`EraseOutcome::Anonymized::kept`).
pub fn kept_subject(kept: &[RecordRef]) -> Subject {
    Subject::new(
        kept.iter()
            .filter_map(|r| Identifier::parse(IdentifierKind::CustomerId, &r.key).ok())
            .collect(),
    )
}

/// Erases what an anonymization under the hold kept, now that the hold has ended.
pub async fn erase_kept(
    config: &Config,
    handle: &SystemHandle,
    task: &RequestTask,
    kept: &[RecordRef],
    now: Timestamp,
) -> Next {
    let since = task
        .retained_until
        .map(|t| format!(" on {}", t.to_zoned(config.time_zone.clone()).date()))
        .unwrap_or_default();
    if kept.is_empty() {
        return Next::NeedsPerson(format!(
            "the legal hold ended{since}, but this system's connector named none of the records its anonymization kept, so gallra cannot find them again: erase them by hand, then confirm"
        ));
    }
    if !handle.can(Capability::Lookup) {
        return Next::NeedsPerson(format!(
            "the legal hold ended{since}, but this system's connector cannot look records up, so no erasure of the {} records kept could be read back: erase them by hand, then confirm",
            kept.len()
        ));
    }
    let subject = kept_subject(kept);
    let zoned = now.to_zoned(config.time_zone.clone());
    let recheck = config.requests.recheck_every.after(&zoned).timestamp();
    let read = |answer| answer::next(answer, now, recheck, true);
    let who = subject.clone();
    let outcome = match handle.call("erase", move |i| i.erase(&who)).await {
        Ok(outcome) => outcome,
        Err(e) => return read(Answer::from(&e)),
    };
    // Taken up again after an interrupted drive, the rows may be gone already.
    let again = task.state == TaskState::Running;
    match outcome {
        EraseOutcome::Erased { records: 0 } if !again => Next::NeedsPerson(format!(
            "the legal hold ended{since}, but the {} records its anonymization kept were not found by their references: check this system by hand, then confirm",
            kept.len()
        )),
        EraseOutcome::Anonymized { retained: None, .. } => Next::NeedsPerson(format!(
            "the legal hold ended{since}, but this system's erase only anonymizes ({}), so the records kept under the hold stay: delete them by hand, or configure the connector to delete, then confirm",
            answer::describe(&outcome)
        )),
        outcome => read(match handle.confirm(&subject, &[], &outcome).await {
            Ok(()) => Answer::Confirmed(outcome),
            Err(why) => Answer::Unconfirmed(why),
        }),
    }
}
