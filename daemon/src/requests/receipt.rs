//! The receipt of a finished request: per system what happened, and when the last backup
//! that could hold the data expires. Built from the stored request and its tasks, and
//! rendered as plain text a privacy officer can send the subject.
//!
//! Outcome of a task, by its action and state:
//!
//! | state                          | action                      | outcome          |
//! |--------------------------------|-----------------------------|------------------|
//! | retained                       | any                         | `Retained` (law, until) |
//! | done                           | erase, detail "anonymized…" | `Anonymized`     |
//! | done                           | erase                       | `Erased`         |
//! | done                           | anonymize                   | `Anonymized`     |
//! | done                           | manual                      | `DoneByPerson`   |
//! | done                           | notify                      | `Notified`       |
//! | done                           | export, restrict, unrestrict| `Done`           |
//! | pending, running, blocked, failed, needs-person | any        | `NotDone`        |
//!
//! An erase that the connector answered by anonymizing (the runner records
//! `anonymized N records`) is shown as anonymized. A task of a cancelled request shows what
//! really happened to it: an erase that ran before the cancellation is `Erased`, one that
//! did not is `Cancelled`; the receipt says the request was cancelled, not completed.
//!
//! The backup date: data left a system when its task finished, so for each system whose
//! data was removed, anonymized, kept under a law, or handed to a person or processor, the
//! date is (the later of the request's completion — now if it has none — and that task's
//! last change) plus the system's `backup_retention`, counted on the calendar of the
//! configured time zone; the receipt gives the latest of these. The later-change rule
//! covers a legal hold that ended after the request was done. Exports and restrictions
//! remove nothing, so they give no backup date.

use std::fmt::Write as _;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::model::{RequestAction, RequestKind, RequestRecord, RequestState, RequestTask};
use super::view::{Receipt, ReceiptLine, ReceiptOutcome};
use crate::duration::CalendarDuration;
use crate::store::TaskState;

/// Builds the receipt of `request` from its `tasks` (in task order).
///
/// `backup_retention` gives a system's configured backup retention (None if it states
/// none); `tz` is the calendar the durations are counted on.
pub fn build_receipt(
    request: &RequestRecord,
    tasks: &[RequestTask],
    backup_retention: &dyn Fn(&str) -> Option<CalendarDuration>,
    tz: &TimeZone,
) -> Receipt {
    build_receipt_at(request, tasks, backup_retention, tz, crate::clock::now())
}

fn build_receipt_at(
    request: &RequestRecord,
    tasks: &[RequestTask],
    backup_retention: &dyn Fn(&str) -> Option<CalendarDuration>,
    tz: &TimeZone,
    now: Timestamp,
) -> Receipt {
    let mut tasks: Vec<&RequestTask> = tasks.iter().collect();
    tasks.sort_by_key(|t| (t.order, t.id));
    let completed = request.completed_at.unwrap_or(now);

    let mut systems = Vec::with_capacity(tasks.len());
    let mut backups_expire_by: Option<Timestamp> = None;
    for task in tasks {
        let outcome = match outcome(task) {
            ReceiptOutcome::NotDone if request.state == RequestState::Cancelled => {
                ReceiptOutcome::Cancelled
            }
            other => other,
        };
        if removes_data(task.action, outcome) {
            if let Some(retention) = backup_retention(&task.system) {
                let left_at = completed.max(task.updated_at);
                let expires = retention.after(&left_at.to_zoned(tz.clone())).timestamp();
                backups_expire_by = Some(backups_expire_by.map_or(expires, |b| b.max(expires)));
            }
        }
        let retained = outcome == ReceiptOutcome::Retained;
        systems.push(ReceiptLine {
            system: task.system.clone(),
            outcome,
            detail: task.detail.clone(),
            retained_until: if retained { task.retained_until } else { None },
            legal_basis: if retained {
                task.legal_basis.clone()
            } else {
                None
            },
        });
    }

    Receipt {
        request: request.id,
        kind: request.kind,
        state: request.state,
        received_at: request.received_at,
        completed_at: request.completed_at,
        systems,
        backups_expire_by,
    }
}

/// What one task did; see the module's table.
fn outcome(task: &RequestTask) -> ReceiptOutcome {
    match task.state {
        TaskState::Retained => ReceiptOutcome::Retained,
        TaskState::Done => match task.action {
            RequestAction::Erase if said_anonymized(task.detail.as_deref()) => {
                ReceiptOutcome::Anonymized
            }
            RequestAction::Erase => ReceiptOutcome::Erased,
            RequestAction::Anonymize => ReceiptOutcome::Anonymized,
            RequestAction::Manual => ReceiptOutcome::DoneByPerson,
            RequestAction::Notify => ReceiptOutcome::Notified,
            RequestAction::Export | RequestAction::Restrict | RequestAction::Unrestrict => {
                ReceiptOutcome::Done
            }
        },
        TaskState::Pending
        | TaskState::Running
        | TaskState::Blocked
        | TaskState::Failed
        | TaskState::NeedsPerson
        | TaskState::Kept => ReceiptOutcome::NotDone,
    }
}

/// The runner's detail for an erase answered by anonymizing starts "anonymized".
fn said_anonymized(detail: Option<&str>) -> bool {
    detail.is_some_and(|d| {
        d.trim_start()
            .get(..10)
            .is_some_and(|w| w.eq_ignore_ascii_case("anonymized"))
    })
}

/// Whether the task took data out of its system (so backups are what is left).
fn removes_data(action: RequestAction, outcome: ReceiptOutcome) -> bool {
    let removing = matches!(
        action,
        RequestAction::Erase
            | RequestAction::Anonymize
            | RequestAction::Manual
            | RequestAction::Notify
    );
    removing && !matches!(outcome, ReceiptOutcome::NotDone | ReceiptOutcome::Cancelled)
}

/// The receipt as plain text for the subject. Names systems, laws and dates (in `tz`),
/// never the subject's identifiers, and leaves out task details (error texts, staff notes),
/// which are for the privacy officer and are in the JSON receipt.
pub fn render_receipt(receipt: &Receipt, tz: &TimeZone) -> String {
    let date = |t: Timestamp| t.to_zoned(tz.clone()).date().to_string();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Receipt for request {}: {}",
        receipt.request,
        kind_words(receipt.kind)
    );
    let _ = write!(out, "Received {}", date(receipt.received_at));
    match (receipt.state, receipt.completed_at) {
        (RequestState::Cancelled, Some(at)) => {
            let _ = writeln!(out, ", cancelled {}.", date(at));
        }
        (RequestState::Cancelled, None) => out.push_str(", cancelled.\n"),
        (_, Some(done)) => {
            let _ = writeln!(out, ", completed {}.", date(done));
        }
        (_, None) => out.push_str(", not yet completed.\n"),
    }
    out.push('\n');
    if receipt.systems.is_empty() {
        out.push_str("No system was involved.\n");
    } else {
        out.push_str("What we did, system by system:\n");
    }
    for line in &receipt.systems {
        let _ = writeln!(out, "- {}: {}", line.system, outcome_words(line, &date));
    }
    if let Some(by) = receipt.backups_expire_by {
        let _ = writeln!(
            out,
            "\nOur backups are kept for a limited time and are used only to restore our \
             systems. The last backup that could still hold your data expires on {} at the \
             latest.",
            date(by)
        );
    }
    out
}

fn kind_words(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Erase => "erasure of your personal data",
        RequestKind::Export => "a copy of your personal data",
        RequestKind::Restrict => "restriction of processing",
        RequestKind::Unrestrict => "lifting the restriction of processing",
        RequestKind::Object => "objection to marketing",
    }
}

fn outcome_words(line: &ReceiptLine, date: &dyn Fn(Timestamp) -> String) -> String {
    match line.outcome {
        ReceiptOutcome::Erased => "your data was erased.".to_owned(),
        ReceiptOutcome::Anonymized => {
            "your personal data was anonymized; the records that remain no longer identify you."
                .to_owned()
        }
        ReceiptOutcome::Retained => {
            let law = line
                .legal_basis
                .as_deref()
                .map_or_else(|| "a legal obligation".to_owned(), |l| l.to_owned());
            match line.retained_until {
                Some(until) => format!(
                    "what the law does not require was removed; the rest is kept as required \
                     by {law} until {}, and will be erased then without you having to ask again.",
                    date(until)
                ),
                None => format!(
                    "what the law does not require was removed; the rest is kept as required \
                     by {law} for as long as it requires."
                ),
            }
        }
        ReceiptOutcome::DoneByPerson => {
            "handled by a member of our staff, who confirmed it was done.".to_owned()
        }
        ReceiptOutcome::Notified => {
            "the company that handles this for us was told to do the same.".to_owned()
        }
        ReceiptOutcome::Done => "done as you asked.".to_owned(),
        ReceiptOutcome::NotDone => {
            "not completed; our privacy staff are following this up.".to_owned()
        }
        ReceiptOutcome::Cancelled => "not done: the request was cancelled.".to_owned(),
    }
}

#[cfg(test)]
mod tests;
