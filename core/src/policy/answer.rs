//! What a connector's answer to an erase means for the task that asked: one reading of every
//! answer, for a policy run's tasks and a request's alike.
//!
//! The engines differ only in how far ahead they can wait: a request's task is kept with a
//! time to ask again, while a run's task can only leave the subject in the account source so
//! that the next run finds it again ([`Next::for_run`]). What an answer *means* (done, kept
//! under a rule, refused for now, still under way, worth another try, or an error no retry
//! mends) is decided here once.

use gallra_plugin_api::{ConnectorError, EraseOutcome, Retention};
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
    },
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
        } => {
            let wait =
                SignedDuration::from_secs(check_after_secs.max(1).min(i64::MAX as u64) as i64)
                    .min(LONGEST_PROGRESS_WAIT);
            Next::InProgress {
                detail: format!("in progress: {reason}"),
                check_at: now + wait,
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

/// How a policy run's task ends on a [`Next`]: a run cannot wait for a time of its own, so
/// what a request would ask again later ([`Next::Refused`], [`Next::InProgress`]) is
/// *blocked*: the account source keeps the subject, and the next run finds it and asks again.
/// A [`Next::Retry`] the run's own attempts did not mend is a failure for this run, for the
/// same reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// Done.
    Done,
    /// Kept under a rule; the run goes on to the next system.
    Retained,
    /// Not finished; the subject stays in the account source until a later run.
    Blocked,
    /// Failed; the subject stays in the account source until a later run.
    Failed,
}

impl Next {
    /// The detail a task records.
    pub fn detail(&self) -> &str {
        match self {
            Next::Done(d) | Next::Retry(d) | Next::Failed(d) => d,
            Next::Kept { detail, .. }
            | Next::Refused { detail, .. }
            | Next::InProgress { detail, .. } => detail,
        }
    }

    /// How a policy run's task ends on this step (see [`RunEnd`]).
    pub fn for_run(&self) -> RunEnd {
        match self {
            Next::Done(_) => RunEnd::Done,
            Next::Kept { .. } => RunEnd::Retained,
            Next::Refused { .. } | Next::InProgress { .. } => RunEnd::Blocked,
            Next::Retry(_) | Next::Failed(_) => RunEnd::Failed,
        }
    }
}

#[cfg(test)]
mod tests;
