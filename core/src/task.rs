//! A task's life, for every engine: its states, and how a step's outcome moves it on.

use std::time::Duration;

use gallra_plugin_api::{RecordRef, ResumeToken};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::named_enum;
use crate::policy::answer::Next;
use crate::policy::retry;

/// Where a task is in its life: pending → running → one of the final states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Not started yet.
    Pending,
    /// Handed to a connector. Found in this state at start-up, it was interrupted.
    Running,
    /// Carried out (erasing what was already gone counts).
    Done,
    /// Kept on purpose; `detail` names the legal basis and until when.
    Retained,
    /// Cannot be done yet; `detail` says why (e.g. an active service).
    Blocked,
    /// Gave up after retries; `detail` holds the last error.
    Failed,
    /// A person must act and confirm.
    NeedsPerson,
    /// Not carried out: the decision made again just before the erase keeps the subject
    /// (a login, a new service or a debt since the plan); `detail` says why. Final: the
    /// next run decides about the subject afresh.
    Kept,
}

named_enum!(TaskState {
    Pending => "pending",
    Running => "running",
    Done => "done",
    Retained => "retained",
    Blocked => "blocked",
    Failed => "failed",
    NeedsPerson => "needs_person",
    Kept => "kept",
});

impl TaskState {
    /// Whether the runner is finished with the task: everything except pending and running.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

/// Who made a task; it decides how far the task can wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maker {
    /// A policy run. It keeps no time of its own to act again: what it cannot finish now (a
    /// refusal, a deletion in progress, an error its own attempts did not mend) leaves the
    /// subject in the account source, and the next run finds it and tries again.
    Run,
    /// A data subject's request (or a run's handover): its task waits with a time to act
    /// again. `notice`: the task sends a notice, which is tried again for as long as the relay
    /// fails, since a person could do no more than wait for it too.
    Request {
        /// Whether the task sends a notice.
        notice: bool,
    },
}

/// The task a step was taken for, as far as what it becomes depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken<'a> {
    /// The task's number (for the commands a person is pointed to).
    pub task: i64,
    /// Its request's number, for a request's task.
    pub request: i64,
    /// Attempts made before this step.
    pub attempts: u32,
    /// Its detail before this step.
    pub detail: Option<&'a str>,
}

/// What a task becomes after a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Its state.
    pub state: TaskState,
    /// Not acted on again before this instant.
    pub not_before: Option<Timestamp>,
    /// Kept until (the end of a legal hold).
    pub retained_until: Option<Timestamp>,
    /// The law that keeps it.
    pub legal_basis: Option<String>,
    /// What happened, in words (no personal data).
    pub detail: String,
    /// The records an anonymization under a legal hold kept.
    pub kept: Option<Vec<RecordRef>>,
    /// What the connector needs to check a deletion it has under way, handed back on the
    /// next erase (`None` keeps the stored one while the task is not final).
    pub resume: Option<ResumeToken>,
}

/// What a task made by `maker` becomes at `now` after a step that came to `next`: the one
/// state machine of every engine. A transient failure of a request's task is tried again
/// after [`retry::backoff`] from `base` (with the caller's `jitter` in `[0, 1)`); after
/// [`retry::MAX_ATTEMPTS`] a connector task waits for a person, who can try it again, confirm
/// it done by hand or cancel the request, and a notice keeps being tried at the longest wait.
/// Counting attempts never makes a transient error final.
pub fn after(
    maker: Maker,
    taken: &Taken<'_>,
    next: Next,
    now: Timestamp,
    base: Duration,
    jitter: f64,
) -> Step {
    match maker {
        Maker::Run => after_in_run(next),
        Maker::Request { notice } => after_in_request(notice, taken, next, now, base, jitter),
    }
}

fn step(state: TaskState, detail: String) -> Step {
    Step {
        state,
        not_before: None,
        retained_until: None,
        legal_basis: None,
        detail,
        kept: None,
        resume: None,
    }
}

fn after_in_run(next: Next) -> Step {
    match next {
        Next::Done(detail) => step(TaskState::Done, detail),
        Next::Kept {
            mut detail,
            until,
            law,
            ..
        } => {
            // The run keeps no dates of its own: the detail carries them.
            if let Some(law) = &law {
                detail.push_str(&format!(" ({law})"));
            }
            if let Some(until) = until {
                detail.push_str(&format!(" until {until}"));
            }
            step(TaskState::Retained, detail)
        }
        Next::Held { detail, .. } => step(TaskState::Retained, detail),
        Next::Refused { detail, .. } => step(TaskState::Blocked, detail),
        Next::InProgress { detail, resume, .. } => Step {
            resume,
            ..step(
                TaskState::Blocked,
                format!("{detail}; the next run checks again"),
            )
        },
        Next::NeedsPerson(detail) => step(TaskState::NeedsPerson, detail),
        Next::Retry(detail) | Next::Failed(detail) => step(TaskState::Failed, detail),
    }
}

fn after_in_request(
    notice: bool,
    taken: &Taken<'_>,
    next: Next,
    now: Timestamp,
    base: Duration,
    jitter: f64,
) -> Step {
    let attempt = taken.attempts + 1;
    match next {
        Next::Done(detail) => step(TaskState::Done, detail),
        Next::Kept {
            detail,
            until,
            law,
            recheck_at,
        } => Step {
            retained_until: until,
            legal_basis: law,
            not_before: Some(recheck_at),
            ..step(TaskState::Retained, detail)
        },
        Next::Refused {
            detail,
            law,
            recheck_at,
        } => Step {
            legal_basis: law,
            not_before: Some(recheck_at),
            ..step(TaskState::Retained, detail)
        },
        Next::Held {
            detail,
            until,
            law,
            kept,
        } => Step {
            retained_until: Some(until),
            legal_basis: Some(law),
            not_before: Some(until),
            kept: Some(kept),
            ..step(TaskState::Retained, detail)
        },
        Next::InProgress {
            detail,
            check_at,
            resume,
        } => Step {
            not_before: Some(check_at),
            resume,
            ..step(TaskState::Pending, detail)
        },
        Next::NeedsPerson(detail) => step(TaskState::NeedsPerson, detail),
        Next::Failed(detail) => step(TaskState::Failed, detail),
        Next::Retry(error) if attempt >= retry::MAX_ATTEMPTS && !notice => {
            let (id, request) = (taken.task, taken.request);
            step(
                TaskState::NeedsPerson,
                format!(
                    "not done after {attempt} attempts: {error}; `gallra task retry {id}` tries \
                     again, `gallra task done {id}` confirms it was done by hand, \
                     `gallra request cancel {request}` stops the request"
                ),
            )
        }
        Next::Retry(error) => {
            let stuck = attempt >= retry::MAX_ATTEMPTS;
            let wait = match stuck {
                true => retry::backoff(retry::MAX_BACKOFF, 0, jitter),
                false => retry::backoff(base, taken.attempts, jitter),
            };
            let at = now + SignedDuration::try_from(wait).unwrap_or_default();
            let detail = match stuck {
                true => format!(
                    "{NOT_SENT} {attempt} attempts (the {}th failed at {}): {error}; tried again \
                     at {at}, then at most every {} hours until it goes out; \
                     `gallra request cancel {}` stops the request",
                    retry::MAX_ATTEMPTS,
                    stuck_since(taken.detail, now),
                    retry::MAX_BACKOFF.as_secs() / 3600,
                    taken.request
                ),
                false => format!("attempt {attempt} failed: {error}; retrying at {at}"),
            };
            Step {
                not_before: Some(at),
                ..step(TaskState::Pending, detail)
            }
        }
    }
}

/// How the detail of a notice that [`retry::MAX_ATTEMPTS`] did not send begins.
pub const NOT_SENT: &str = "not sent in";

/// When a notice still not sent reached [`retry::MAX_ATTEMPTS`]: kept in its detail from then
/// on (so that "since when" survives every later attempt), or `now` the first time.
fn stuck_since(detail: Option<&str>, now: Timestamp) -> String {
    let marker = format!("(the {}th failed at ", retry::MAX_ATTEMPTS);
    detail
        .filter(|d| d.starts_with(NOT_SENT))
        .and_then(|d| d.split_once(&marker))
        .and_then(|(_, rest)| rest.split_once(')'))
        .map_or_else(|| now.to_string(), |(since, _)| since.to_owned())
}

#[cfg(test)]
mod tests;
