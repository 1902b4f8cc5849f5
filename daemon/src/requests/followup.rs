//! Chasing processors that were told to delete and must confirm: the notice is sent again
//! every `remind_every`, and after `escalate_after` with no confirmation the task says it is
//! escalated, the audit log records it, and `gallra_notices_escalated_total` counts it so
//! that an alert reaches a person. The task keeps waiting for `gallra task done` throughout.

use jiff::Timestamp;

use super::delivery::{self, Notice};
use super::engine::DriveError;
use super::model::{RequestTask, TaskUpdate};
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::config::{Confirm, Handling, NotifyTarget};
use crate::context::Context;
use crate::duration::CalendarDuration;
use crate::metrics::{Metrics, SafeName};
use crate::store::{NoticeRecord, RequestStore, TaskState};

/// What is due for one unanswered notice at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FollowUp {
    /// Send reminder number N (from 1).
    pub remind: Option<u32>,
    /// Escalate now (it was not before).
    pub escalate: bool,
}

/// Decides what an unanswered notice needs at `now`. Durations count on the configured
/// calendar, from the first notice (escalation) and from the latest one (reminders).
pub fn due(
    notice: &NoticeRecord,
    remind_every: Option<&CalendarDuration>,
    escalate_after: Option<&CalendarDuration>,
    tz: &jiff::tz::TimeZone,
    now: Timestamp,
) -> FollowUp {
    let passed = |from: Timestamp, span: &CalendarDuration| {
        span.after(&from.to_zoned(tz.clone())).timestamp() <= now
    };
    FollowUp {
        remind: remind_every
            .filter(|every| passed(notice.last_sent_at, every))
            .map(|_| notice.reminders + 1),
        escalate: notice.escalated_at.is_none()
            && escalate_after.is_some_and(|after| passed(notice.first_sent_at, after)),
    }
}

/// Sends the reminders and escalations that are due at `now`. A reminder that cannot be sent
/// is logged and tried at the next pass; nothing here changes whether a task is done.
///
/// Each is recorded in the state store first (so that a processor is not reminded again at
/// every pass while the audit log is failing), then in the audit log; an audit log that
/// cannot be written stops the drive with its error.
pub async fn follow_up(
    context: &Context,
    store: &dyn RequestStore,
    metrics: Option<&Metrics>,
    now: Timestamp,
) -> Result<(), DriveError> {
    for task in store.needs_person_tasks()? {
        let Some(target) = chased(context, &task) else {
            continue;
        };
        let Confirm::Yes {
            remind_every,
            escalate_after,
        } = &target.confirm
        else {
            continue;
        };
        // A notice sent before gallra recorded notices: count from the task's last change.
        let notice = match store.notice(task.id)? {
            Some(notice) => notice,
            None => store.notice_sent(task.id, task.updated_at)?,
        };
        let tz = &context.config.time_zone;
        let due = due(
            &notice,
            remind_every.as_ref(),
            escalate_after.as_ref(),
            tz,
            now,
        );
        if due.escalate {
            escalate(context, store, metrics, &task, &notice, now)?;
        }
        if let Some(n) = due.remind {
            remind(context, store, &task, target, n, now).await?;
        }
    }
    Ok(())
}

/// The notify target of a task whose system chases unanswered notices.
fn chased<'a>(context: &'a Context, task: &RequestTask) -> Option<&'a NotifyTarget> {
    let Handling::Notify(target) = &context.config.systems.get(&task.system)?.handling else {
        return None;
    };
    match &target.confirm {
        Confirm::Yes {
            remind_every,
            escalate_after,
        } if remind_every.is_some() || escalate_after.is_some() => Some(target),
        _ => None,
    }
}

async fn remind(
    context: &Context,
    store: &dyn RequestStore,
    task: &RequestTask,
    target: &NotifyTarget,
    n: u32,
    now: Timestamp,
) -> Result<(), DriveError> {
    let Some(record) = store.request(task.request)? else {
        return Ok(());
    };
    let config = &context.config;
    match delivery::send(config, &record, &task.system, target, Notice::Reminder(n)).await {
        Ok(()) => {
            store.notice_sent(task.id, now)?;
            let entry = NewEntry::new(
                Actor::Request(record.id.0),
                Action::Notify,
                Outcome::Reminded,
            )
            .system(task.system.clone())
            .subject(&record.identifiers)
            .detail(format!("reminder {n}"));
            context.write_audit(&[entry])?;
            tracing::info!(system = %task.system, request = record.id.0, reminder = n, "reminder sent");
        }
        Err(why) => {
            tracing::warn!(system = %task.system, request = record.id.0, error = %why, "reminder not sent; trying again at the next pass");
        }
    }
    Ok(())
}

fn escalate(
    context: &Context,
    store: &dyn RequestStore,
    metrics: Option<&Metrics>,
    task: &RequestTask,
    notice: &NoticeRecord,
    now: Timestamp,
) -> Result<(), DriveError> {
    let detail = format!(
        "escalated: the processor has not confirmed the deletion since the notice of {} ({} reminders sent); ask them, then confirm with `gallra task done`",
        notice.first_sent_at.to_zoned(context.config.time_zone.clone()).date(),
        notice.reminders,
    );
    let update = TaskUpdate {
        task: task.id,
        state: TaskState::NeedsPerson,
        attempted: false,
        not_before: None,
        retained_until: None,
        legal_basis: None,
        detail: Some(detail),
        kept: None,
        resume: None,
    };
    store.update_request_tasks(&[update], now)?;
    store.notice_escalated(task.id, now)?;
    if let Some(metrics) = metrics {
        metrics.notice_escalated(&SafeName::lossy(&task.system));
    }
    let mut entry = NewEntry::new(
        Actor::Request(task.request.0),
        Action::Notify,
        Outcome::Escalated,
    )
    .system(task.system.clone());
    if let Some(record) = store.request(task.request)? {
        entry = entry.subject(&record.identifiers);
    }
    context.write_audit(&[entry])?;
    tracing::warn!(system = %task.system, request = task.request.0, "an unanswered deletion notice was escalated to a person");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn days(n: i64) -> CalendarDuration {
        format!("{n} days").parse().unwrap()
    }

    fn notice(first: &str, last: &str, reminders: u32) -> NoticeRecord {
        NoticeRecord {
            first_sent_at: at(first),
            last_sent_at: at(last),
            reminders,
            escalated_at: None,
        }
    }

    #[test]
    fn a_reminder_is_due_a_full_period_after_the_latest_notice_and_not_before() {
        let tz = jiff::tz::TimeZone::get("Europe/Stockholm").unwrap();
        let sent = notice("2027-01-01T10:00:00Z", "2027-01-08T10:00:00Z", 1);
        let every = days(7);
        let before = due(&sent, Some(&every), None, &tz, at("2027-01-15T09:59:59Z"));
        assert_eq!(before, FollowUp::default());
        let on_time = due(&sent, Some(&every), None, &tz, at("2027-01-15T10:00:00Z"));
        assert_eq!(on_time.remind, Some(2), "the second reminder");
    }

    #[test]
    fn escalation_counts_from_the_first_notice_and_happens_once() {
        let tz = jiff::tz::TimeZone::get("Europe/Stockholm").unwrap();
        let mut sent = notice("2027-01-01T10:00:00Z", "2027-01-15T10:00:00Z", 2);
        let after = days(21);
        let early = due(&sent, None, Some(&after), &tz, at("2027-01-22T09:00:00Z"));
        assert!(!early.escalate);
        let late = due(&sent, None, Some(&after), &tz, at("2027-01-22T10:00:00Z"));
        assert!(late.escalate);
        sent.escalated_at = Some(at("2027-01-22T10:00:00Z"));
        let again = due(&sent, None, Some(&after), &tz, at("2027-03-01T00:00:00Z"));
        assert!(!again.escalate, "escalated once only");
    }
}
