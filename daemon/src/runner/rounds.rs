//! Erasing a batch of a run's tasks: every subject re-checked at once, then system by system
//! in rounds, each system handed all of the round's subjects in one batch.
//!
//! A subject's tasks run in their order (the account source last) and stop at its first
//! failure, as they always did: round *n* takes each subject's *n*-th task, and a subject
//! whose earlier task did not finish gets its remaining tasks blocked. Within a round the
//! tasks are grouped by system, and each system gets one batched erase and one batched
//! read-back for them ([`SystemHandle::erase_confirmed_many`]); a subject's failure in a batch
//! fails that subject only. Transient failures are tried again, the failed subjects alone,
//! up to [`ATTEMPTS`] times.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use gallra_core::policy::answer::{self, Next};
use gallra_core::policy::identifiers::subject_for;
use gallra_core::policy::retry;
use gallra_core::task::{self, Maker, Taken};
use gallra_plugin_api::{Identifier, ResumeToken, Subject};

use super::recheck::{self, Verdict};
use crate::config::{Config, Rule};
use crate::identity::Resolution;
use crate::plugins::{SystemHandle, Systems};
use crate::restore::RestoreKeeper;
use crate::store::{TaskRecord, TaskState};

/// Attempts of a call that fails transiently, within one run; a run's task that still fails
/// leaves the subject in the account source, and the next run tries again.
const ATTEMPTS: u32 = 3;
/// The first wait between two attempts within a run.
const RETRY_BASE: Duration = Duration::from_millis(200);
/// How old a subject's re-check may be when one of its erasures is asked for: older, it is
/// checked again first. Rounds of a database are over in a second or two; a round through
/// a rate-limited API can take minutes, and a login in that time must still keep the
/// customer everywhere, not only in the account source (which checks in its own
/// transaction).
const FRESH: Duration = Duration::from_secs(10);

/// One task's outcome, as the audit log and the state store get it.
pub(super) type TaskResult = (TaskRecord, TaskState, Option<String>);

/// One subject of the batch, with the tasks it has left.
struct InHand {
    /// The subject's key and identifiers as the plan recorded them.
    planned: (String, Vec<Identifier>),
    tasks: VecDeque<TaskRecord>,
    resolution: Resolution,
    /// The system whose task did not finish; the rest are blocked.
    failed_at: Option<String>,
    /// When the subject was last decided and resolved.
    checked: Instant,
    /// Kept when checked again: the state and why, for every task left.
    held: Option<(TaskState, String)>,
}

/// Runs a batch's tasks and returns every task's outcome.
pub(super) async fn erase_batch(
    systems: &Systems,
    config: &Config,
    rule: &Rule,
    tasks: Vec<TaskRecord>,
    restore: Option<&RestoreKeeper>,
) -> Vec<TaskResult> {
    let groups = group_by_subject(tasks);
    let subjects: Vec<(String, Vec<Identifier>)> = groups
        .iter()
        .map(|tasks| (tasks[0].subject_key.clone(), tasks[0].identifiers.clone()))
        .collect();
    let continuing = continuing(config, &groups);
    let verdicts = recheck_with_retries(config, systems, rule, &subjects, &continuing).await;
    let mut results = Vec::new();
    let mut in_hand = Vec::new();
    for ((tasks, verdict), planned) in groups.into_iter().zip(verdicts).zip(subjects) {
        match verdict {
            Verdict::Erase(resolution) => in_hand.push(InHand {
                planned,
                tasks: tasks.into(),
                resolution,
                failed_at: None,
                checked: Instant::now(),
                held: None,
            }),
            Verdict::Hold(state, why) => {
                let key = &tasks[0].subject_key;
                if state == TaskState::Kept {
                    tracing::info!(subject = %key, "{why}");
                } else {
                    tracing::warn!(subject = %key, "{why}");
                }
                results.extend(tasks.into_iter().map(|t| (t, state, Some(why.clone()))));
            }
        }
    }
    loop {
        // This round: each subject's next task, grouped by system.
        let mut round: BTreeMap<String, Vec<(usize, TaskRecord)>> = BTreeMap::new();
        for (i, subject) in in_hand.iter_mut().enumerate() {
            let Some(mut task) = subject.tasks.pop_front() else {
                continue;
            };
            // What is recorded of the erase (its audit entry, its tombstone) names the subject
            // by the identifiers it was erased through, never by one withheld as shared.
            task.identifiers = subject.resolution.usable.clone();
            if let Some((state, why)) = &subject.held {
                results.push((task, *state, Some(why.clone())));
                continue;
            }
            match &subject.failed_at {
                Some(system) => {
                    let detail =
                        format!("not attempted: the task on system \"{system}\" did not finish");
                    results.push((task, TaskState::Blocked, Some(detail)));
                }
                None => round
                    .entry(task.system.clone())
                    .or_default()
                    .push((i, task)),
            }
        }
        if round.is_empty() && in_hand.iter().all(|s| s.tasks.is_empty()) {
            return results;
        }
        for (system, tasks) in round {
            // Checked just before this system's erase, not only before the round: a round
            // of several systems runs them one after the other.
            let asked = (in_hand.as_mut_slice(), &continuing);
            let tasks = refresh(config, systems, rule, asked, tasks, &mut results).await;
            if tasks.is_empty() {
                continue;
            }
            let asked: Vec<(&TaskRecord, &Resolution)> = tasks
                .iter()
                .map(|(i, task)| (task, &in_hand[*i].resolution))
                .collect();
            let outcomes = erase_in(systems, config, rule, &system, &asked, restore).await;
            for ((i, mut task), (state, detail, resume)) in tasks.into_iter().zip(outcomes) {
                // What the connector needs to follow a deletion it has under way, kept for
                // the subject's next task here (this run's, or the next run's).
                task.resume = resume;
                if !matches!(state, TaskState::Done | TaskState::Retained) {
                    in_hand[i].failed_at = Some(task.system.clone());
                }
                results.push((task, state, detail));
            }
        }
    }
}

/// Decides again, and resolves again, every subject of `tasks` whose last check is older
/// than [`FRESH`]: one kept now gets its state for this task and every one left; one still
/// selected is erased through the identifiers resolved now. Returns the tasks to erase.
async fn refresh(
    config: &Config,
    systems: &Systems,
    rule: &Rule,
    (in_hand, continuing): (&mut [InHand], &BTreeSet<String>),
    tasks: Vec<(usize, TaskRecord)>,
    results: &mut Vec<TaskResult>,
) -> Vec<(usize, TaskRecord)> {
    let stale: Vec<usize> = tasks
        .iter()
        .map(|(i, _)| *i)
        .filter(|&i| in_hand[i].checked.elapsed() > FRESH)
        .collect();
    if stale.is_empty() {
        return tasks;
    }
    let subjects: Vec<(String, Vec<Identifier>)> =
        stale.iter().map(|&i| in_hand[i].planned.clone()).collect();
    let verdicts = recheck_with_retries(config, systems, rule, &subjects, continuing).await;
    for (i, verdict) in stale.into_iter().zip(verdicts) {
        in_hand[i].checked = Instant::now();
        match verdict {
            Verdict::Erase(resolution) => in_hand[i].resolution = resolution,
            Verdict::Hold(state, why) => in_hand[i].held = Some((state, why)),
        }
    }
    let mut kept = Vec::new();
    for (i, mut task) in tasks {
        match &in_hand[i].held {
            Some((state, why)) => results.push((task, *state, Some(why.clone()))),
            None => {
                task.identifiers = in_hand[i].resolution.usable.clone();
                kept.push((i, task));
            }
        }
    }
    kept
}

/// The subjects whose task at the account source was running when claimed: an interrupted
/// attempt had their erase there under way (see [`recheck::recheck_many`]).
fn continuing(config: &Config, groups: &[Vec<TaskRecord>]) -> BTreeSet<String> {
    groups
        .iter()
        .flatten()
        .filter(|t| t.system == config.account_source && t.state == TaskState::Running)
        .map(|t| t.subject_key.clone())
        .collect()
}

/// Splits a batch into per-subject lists, each in task order. A subject's tasks can straddle
/// two batches only if the batch cut through them; the rest run in the next batch.
fn group_by_subject(tasks: Vec<TaskRecord>) -> Vec<Vec<TaskRecord>> {
    let mut groups: BTreeMap<String, Vec<TaskRecord>> = BTreeMap::new();
    for task in tasks {
        groups
            .entry(task.subject_key.clone())
            .or_default()
            .push(task);
    }
    groups
        .into_values()
        .map(|mut tasks| {
            tasks.sort_by_key(|t| t.order);
            tasks
        })
        .collect()
}

/// The re-check, tried again (for the subjects that could not be checked only) like an erase
/// call when a system could not be asked (a database restarting): a subject that cannot be
/// checked is not erased in this run.
async fn recheck_with_retries(
    config: &Config,
    systems: &Systems,
    rule: &Rule,
    subjects: &[(String, Vec<Identifier>)],
    continuing: &BTreeSet<String>,
) -> Vec<Verdict> {
    let mut verdicts = recheck::recheck_many(config, systems, rule, subjects, continuing).await;
    for attempt in 1..ATTEMPTS {
        let again: Vec<usize> = (0..subjects.len())
            .filter(|&i| matches!(verdicts[i], Verdict::Hold(TaskState::Failed, _)))
            .collect();
        if again.is_empty() {
            break;
        }
        if let Verdict::Hold(_, why) = &verdicts[again[0]] {
            tracing::warn!(subjects = again.len(), attempt, "{why}; retrying");
        }
        tokio::time::sleep(retry_wait(attempt)).await;
        let asked: Vec<_> = again.iter().map(|&i| subjects[i].clone()).collect();
        let fresh = recheck::recheck_many(config, systems, rule, &asked, continuing).await;
        for (i, verdict) in again.into_iter().zip(fresh) {
            verdicts[i] = verdict;
        }
    }
    verdicts
}

/// What an erase in one system came to for a task: its state, why, and the resume token to
/// keep for the subject's next task there.
type Erased = (TaskState, Option<String>, Option<ResumeToken>);

/// One subject's erase in one system, as prepared before the call.
struct Prepared {
    subject: Subject,
    identifiers: Vec<Identifier>,
    /// An identifier of a kind this system finds people by was withheld: "done" here cannot
    /// have found what is filed under it.
    unreachable: bool,
    /// Why it was withheld, for the detail.
    withheld: Option<String>,
}

/// Erases each task's subject in `system` through the identifiers resolved as its own, all
/// in one batch. A subject none of whose identifier kinds this system finds people by (they
/// were withheld as shared, or never known) cannot be asked: a person must look, and "done"
/// is never said of an erase that could not have found anything.
async fn erase_in(
    systems: &Systems,
    config: &Config,
    rule: &Rule,
    system: &str,
    tasks: &[(&TaskRecord, &Resolution)],
    restore: Option<&RestoreKeeper>,
) -> Vec<Erased> {
    let handle = match systems.get(system) {
        Ok(handle) => handle.clone(),
        Err(why) => {
            return tasks
                .iter()
                .map(|(task, _)| (TaskState::Failed, Some(why.clone()), task.resume.clone()))
                .collect()
        }
    };
    let source = system == config.account_source;
    let resolves = &handle.description().identifier_kinds;
    let mut outcomes: Vec<Option<Erased>> = vec![None; tasks.len()];
    let mut prepared = Vec::new();
    for (i, (task, resolution)) in tasks.iter().enumerate() {
        let mut subject = subject_for(&resolution.usable, config.customer_ids(system));
        if !subject
            .identifiers
            .iter()
            .any(|i| resolves.contains(&i.kind()))
        {
            let why = match resolution.withheld_reason() {
                Some(why) => format!("unmatched: {why}; a person must find the subject's data here"),
                None => "unmatched: gallra knows no identifier of the subject that this system finds people by; a person must look".to_owned(),
            };
            outcomes[i] = Some((TaskState::NeedsPerson, Some(why), task.resume.clone()));
            continue;
        }
        if source {
            subject.still_selected = recheck::still_selected(config, rule);
        }
        // A deletion the connector had under way for this subject here (an earlier run's)
        // is checked by what it asked to be handed back.
        subject.resume = task.resume.clone();
        // A policy with a restore window keeps the subject's data first; if it cannot, no
        // erase.
        if let Some(keeper) = restore {
            let kept = crate::restore::keep_before_erase(
                keeper,
                &handle,
                &task.subject_key,
                &subject,
                &resolution.usable,
            )
            .await;
            if let Err(why) = kept {
                outcomes[i] = Some((TaskState::Failed, Some(why), task.resume.clone()));
                continue;
            }
        }
        let prepared_one = Prepared {
            subject,
            identifiers: resolution.usable.clone(),
            unreachable: resolution
                .withheld
                .iter()
                .any(|kind| resolves.contains(kind)),
            withheld: resolution.withheld_reason(),
        };
        prepared.push((i, prepared_one));
    }
    let erased = erase_with_retries(&handle, &prepared).await;
    for ((i, prepared), next) in prepared.iter().zip(erased) {
        let resume = match &next {
            Next::InProgress { resume, .. } => resume.clone(),
            _ => None,
        };
        let (state, detail) = settle(run_state(next), prepared, source);
        outcomes[*i] = Some((state, detail, resume));
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every task settled"))
        .collect()
}

/// What an erase's state comes to for this subject: "done" through identifiers that left one
/// withheld of a kind this system finds people by is for a person; an account source that
/// checked the facts again in the delete's transaction and found the subject no longer
/// selected kept it, as the re-check would have.
fn settle(
    outcome: (TaskState, Option<String>),
    prepared: &Prepared,
    source: bool,
) -> (TaskState, Option<String>) {
    match outcome {
        (TaskState::Done, detail) if prepared.unreachable => (
            TaskState::NeedsPerson,
            Some(format!(
                "{}; unmatched: {}; a person must find what this system holds under it",
                detail.unwrap_or_default(),
                prepared.withheld.clone().unwrap_or_default()
            )),
        ),
        (TaskState::Blocked, Some(why)) if source && prepared.subject.still_selected.is_some() => (
            TaskState::Kept,
            Some(format!("{}: {why}", recheck::CHANGED)),
        ),
        outcome => outcome,
    }
}

/// The batch's erase calls, with the subjects that failed transiently tried again (alone)
/// up to [`ATTEMPTS`] times. One [`Next`] per subject, in order.
async fn erase_with_retries(handle: &SystemHandle, prepared: &[(usize, Prepared)]) -> Vec<Next> {
    let mut nexts: Vec<Option<Next>> = vec![None; prepared.len()];
    let mut asked: Vec<usize> = (0..prepared.len()).collect();
    let mut attempt = 1;
    while !asked.is_empty() {
        let subjects = asked
            .iter()
            .map(|&k| {
                (
                    prepared[k].1.subject.clone(),
                    prepared[k].1.identifiers.clone(),
                )
            })
            .collect();
        let answers = handle.erase_confirmed_many(subjects).await;
        // A run keeps no time of its own to ask again: what a request would ask about later,
        // the next run finds (see `Maker::Run` in gallra-core task::after).
        let now = crate::clock::now();
        let mut again = Vec::new();
        for (k, answer) in asked.into_iter().zip(answers) {
            match answer::next(answer, now, now, false) {
                Next::Retry(why) if attempt < ATTEMPTS => {
                    if again.is_empty() {
                        tracing::warn!(system = %handle.name(), attempt, error = %why, "erase failed; retrying");
                    }
                    again.push(k);
                }
                next => nexts[k] = Some(next),
            }
        }
        if !again.is_empty() {
            tokio::time::sleep(retry_wait(attempt)).await;
            attempt += 1;
        }
        asked = again;
    }
    nexts
        .into_iter()
        .map(|n| n.expect("every subject answered"))
        .collect()
}

/// The wait before a run's attempt `attempt + 1` within the run ([`retry::backoff`] from
/// [`RETRY_BASE`]).
fn retry_wait(attempt: u32) -> Duration {
    retry::backoff(RETRY_BASE, attempt - 1, rand::random::<f64>())
}

/// A run's task state and detail for the engine's reading of an answer: the one state
/// machine of every engine ([`task::after`]), for a run's task.
fn run_state(next: Next) -> (TaskState, Option<String>) {
    let taken = Taken {
        task: 0,
        request: 0,
        attempts: 0,
        detail: None,
    };
    let step = task::after(
        Maker::Run,
        &taken,
        next,
        crate::clock::now(),
        RETRY_BASE,
        0.5,
    );
    (step.state, Some(step.detail))
}
