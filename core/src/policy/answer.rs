//! What a connector's answer to an erase means for the task that asked: one reading of every
//! answer, for a policy run's tasks and a request's alike.
//!
//! What an answer *means* (done, kept under a rule, refused for now, still under way, worth
//! another try, or an error no retry mends) is decided here once; what the task then becomes
//! is [`crate::task::after`], which is where a run and a request differ: a request's task
//! waits with a time to act again, a run's leaves the subject for the next run.

use gallra_plugin_api::{ConnectorError, EraseOutcome, RecordRef, ResumeToken, Retention};
use jiff::{SignedDuration, Timestamp};

/// What came back from one erase (or anonymize) call, as the engine saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The call answered this, and a read-back confirmed it (or, for `Retained` and
    /// `InProgress`, nothing needed confirming).
    Confirmed(EraseOutcome),
    /// The call answered, but the read-back could not confirm it: why.
    Unconfirmed(String),
    /// The call failed.
    Error {
        /// The connector's own error, if it gave one (a timeout gives none).
        error: Option<ConnectorError>,
        /// Whether trying again may succeed.
        transient: bool,
        /// The message, naming the system and the call.
        text: String,
    },
}

/// The next step of a task, decided from an [`Answer`].
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Finished: the read-back found the data gone (or its personal fields replaced).
    Done(String),
    /// A rule keeps the data; asked about again at `recheck_at` (the rule's end, if it has
    /// one), so that data is not kept for good once the reason is gone.
    Kept {
        /// Why, in words.
        detail: String,
        /// The end of the rule, if the connector gave one.
        until: Option<Timestamp>,
        /// The law, if the connector named one.
        law: Option<String>,
        /// When to ask again.
        recheck_at: Timestamp,
    },
    /// The connector refused because of a rule of its own (a contact that still holds a
    /// domain): nothing changed; asked again at `recheck_at`.
    Refused {
        /// Why, in words.
        detail: String,
        /// The law, if the connector named one.
        law: Option<String>,
        /// When to ask again.
        recheck_at: Timestamp,
    },
    /// The system deletes asynchronously and has not finished: ask again at `check_at`.
    /// Never done, never a failure.
    InProgress {
        /// What is under way.
        detail: String,
        /// When to ask again.
        check_at: Timestamp,
        /// What the connector needs to check the deletion then, kept with the task.
        resume: Option<ResumeToken>,
    },
    /// Anonymized under a legal hold that ends at `until`; the connector named the records it
    /// kept (`kept`, possibly none), by which they are erased then.
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
    /// A person must act (and confirm): what to do, in words.
    NeedsPerson(String),
    /// Failed for now; another attempt may succeed.
    Retry(String),
    /// Failed in a way no retry mends (a permanent error, a call the connector cannot make).
    Failed(String),
}

/// The longest a connector may ask gallra to wait before it asks again about a deletion in
/// progress: a day, so that a wrong value cannot park a task for years.
pub const LONGEST_PROGRESS_WAIT: SignedDuration = SignedDuration::from_hours(24);

/// Reads `answer` at `now`; `recheck_at` is when data kept without an end date (or refused) is
/// asked about again, and `after_hold` says the erase ends a legal hold (it says so when done).
pub fn next(answer: Answer, now: Timestamp, recheck_at: Timestamp, after_hold: bool) -> Next {
    match answer {
        Answer::Confirmed(outcome) => confirmed(outcome, now, recheck_at, after_hold),
        Answer::Unconfirmed(why) => Next::Retry(why),
        Answer::Error {
            error:
                Some(ConnectorError::Refused {
                    reason,
                    legal_basis,
                }),
            ..
        } => Next::Refused {
            detail: format!("refused: {reason}; asked again later"),
            law: legal_basis,
            recheck_at,
        },
        Answer::Error {
            transient: true,
            text,
            ..
        } => Next::Retry(text),
        Answer::Error { text, .. } => Next::Failed(text),
    }
}

fn confirmed(
    outcome: EraseOutcome,
    now: Timestamp,
    recheck_at: Timestamp,
    after_hold: bool,
) -> Next {
    let kept = |detail: String, r: Retention| Next::Kept {
        detail,
        until: r.until,
        law: r.legal_basis,
        recheck_at: r.until.unwrap_or(recheck_at),
    };
    match outcome {
        EraseOutcome::Retained(r) => kept(format!("kept: {}", r.reason), r),
        EraseOutcome::Anonymized {
            records,
            retained: Some(r),
            ..
        } => kept(
            format!("anonymized {records} records; kept: {}", r.reason),
            r,
        ),
        EraseOutcome::InProgress {
            reason,
            check_after_secs,
            resume,
        } => {
            let wait =
                SignedDuration::from_secs(check_after_secs.max(1).min(i64::MAX as u64) as i64)
                    .min(LONGEST_PROGRESS_WAIT);
            Next::InProgress {
                detail: format!("in progress: {reason}"),
                check_at: now + wait,
                resume,
            }
        }
        other => {
            let done = describe(&other);
            Next::Done(match after_hold {
                true => format!("{done} after the legal hold ended"),
                false => done,
            })
        }
    }
}

/// An erase outcome in words (no personal data: the connector's reasons carry none).
pub fn describe(outcome: &EraseOutcome) -> String {
    match outcome {
        EraseOutcome::Erased { records } => format!("erased {records} records"),
        EraseOutcome::Anonymized { records, .. } => format!("anonymized {records} records"),
        EraseOutcome::Retained(r) => format!("kept: {}", r.reason),
        EraseOutcome::InProgress { reason, .. } => format!("in progress: {reason}"),
    }
}

impl Next {
    /// The detail a task records.
    pub fn detail(&self) -> &str {
        match self {
            Next::Done(d) | Next::NeedsPerson(d) | Next::Retry(d) | Next::Failed(d) => d,
            Next::Kept { detail, .. }
            | Next::Refused { detail, .. }
            | Next::InProgress { detail, .. }
            | Next::Held { detail, .. } => detail,
        }
    }
}

#[cfg(test)]
mod tests;
