//! Carrying out a run's tasks: one erase per selected subject per system.
//!
//! Tasks are in the state store before the first one runs. Per subject they run in order, the
//! account source last, and stop at the first failure: a subject the source still lists is
//! found again by the next run, so nothing is left half-erased and forgotten. A task whose
//! result was not recorded (a crash) runs again; every erase is idempotent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gallra_plugin_api::{ConnectorError, EraseOutcome, Identifier, IdentifierKind, Subject};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::progress::Progress;
use super::report::TaskCounts;
use super::RunError;
use crate::audit::{words, Action, Actor, AuditLog, NewEntry};
use crate::plugins::{CallError, Systems};
use crate::store::{RunId, Store, TaskRecord, TaskState};

/// Tasks fetched from the store per batch; their results are committed together.
const BATCH: usize = 500;
/// Subjects in flight at once (each system also has its own concurrency limit).
const SUBJECTS_IN_FLIGHT: usize = 64;
/// Attempts of a call that fails transiently, within one run.
const ATTEMPTS: u32 = 3;

/// What the tasks of a run came to, per system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskTotals {
    /// Per system.
    pub per_system: BTreeMap<String, TaskCounts>,
}

impl TaskTotals {
    fn count(&mut self, system: &str, state: TaskState) {
        let counts = self.per_system.entry(system.to_owned()).or_default();
        match state {
            TaskState::Done => counts.done += 1,
            TaskState::Retained => counts.retained += 1,
            TaskState::Blocked | TaskState::NeedsPerson => counts.blocked += 1,
            _ => counts.failed += 1,
        }
    }

    /// Tasks that failed or were blocked.
    pub fn unfinished(&self) -> u64 {
        self.per_system.values().map(|c| c.blocked + c.failed).sum()
    }
}

/// Runs every pending task of `run` to a final state.
pub async fn execute_tasks(
    store: &Arc<dyn Store>,
    systems: &Arc<Systems>,
    run: RunId,
    source: &str,
    progress: &Progress,
    audit: Option<&Arc<AuditLog>>,
    policy: &str,
) -> Result<TaskTotals, RunError> {
    let mut totals = TaskTotals::default();
    crate::tombstones::prune(store.as_ref(), crate::clock::now())?;
    let keeper = store.tombstone_keeper();
    let in_flight = Arc::new(Semaphore::new(SUBJECTS_IN_FLIGHT));
    loop {
        let tasks = store.pending_tasks(run, BATCH)?;
        if tasks.is_empty() {
            return Ok(totals);
        }
        let ids: Vec<_> = tasks.iter().map(|t| t.id).collect();
        store.start_tasks(&ids, crate::clock::now())?;
        let mut work = JoinSet::new();
        for subject_tasks in group_by_subject(tasks) {
            let systems = Arc::clone(systems);
            let source = source.to_owned();
            let permit = Arc::clone(&in_flight)
                .acquire_owned()
                .await
                .expect("never closed");
            work.spawn(async move {
                let results = run_subject(&systems, &source, subject_tasks).await;
                drop(permit);
                results
            });
        }
        let mut updates = Vec::new();
        let mut entries = Vec::new();
        let mut tombstones = Vec::new();
        while let Some(joined) = work.join_next().await {
            let results = joined.map_err(|e| RunError::Internal(e.to_string()))?;
            progress.advance(results.len() as u64);
            for (task, state, detail) in results {
                totals.count(&task.system, state);
                let mut entry = NewEntry::new(
                    Actor::Policy(policy.to_owned()),
                    Action::Erase,
                    words::outcome(state),
                )
                .system(task.system.clone())
                .subject(&task.identifiers);
                if let Some(detail) = &detail {
                    entry = entry.detail(detail.clone());
                }
                entries.push(entry);
                if let (Some(keeper), TaskState::Done) = (&keeper, state) {
                    let subject = erasure_subject(&task.identifiers, task.system == source);
                    tombstones.extend(keeper.tombstone(
                        &task.system,
                        &subject,
                        crate::clock::now(),
                    ));
                }
                updates.push((task.id, state, detail));
            }
        }
        store.finish_tasks_and_bury(&updates, &tombstones, crate::clock::now())?;
        crate::audit::append(audit, &entries);
    }
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

/// Runs one subject's tasks in order; after a failure the rest are blocked for this run.
async fn run_subject(
    systems: &Systems,
    source: &str,
    tasks: Vec<TaskRecord>,
) -> Vec<(TaskRecord, TaskState, Option<String>)> {
    let mut results = Vec::with_capacity(tasks.len());
    let mut failed_at: Option<String> = None;
    for task in tasks {
        if let Some(system) = &failed_at {
            let detail = format!("not attempted: the task on system \"{system}\" did not finish");
            results.push((task, TaskState::Blocked, Some(detail)));
            continue;
        }
        let span = tracing::info_span!("task", id = task.id.0, system = %task.system);
        let (state, detail) = erase_one(systems, &task, task.system == source)
            .instrument(span)
            .await;
        if !matches!(state, TaskState::Done | TaskState::Retained) {
            failed_at = Some(task.system.clone());
        }
        results.push((task, state, detail));
    }
    results
}

/// One erase call with retries for transient errors, mapped to a task state.
async fn erase_one(
    systems: &Systems,
    task: &TaskRecord,
    is_source: bool,
) -> (TaskState, Option<String>) {
    let handle = match systems.get(&task.system) {
        Ok(handle) => handle.clone(),
        Err(why) => return (TaskState::Failed, Some(why)),
    };
    let subject = erasure_subject(&task.identifiers, is_source);
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=ATTEMPTS {
        let who = subject.clone();
        match handle.call("erase", move |i| i.erase(&who)).await {
            Ok(EraseOutcome::Erased { records }) => {
                return match handle.read_back(&subject).await {
                    Ok(()) => outcome_state(EraseOutcome::Erased { records }),
                    Err(why) => (TaskState::Failed, Some(why)),
                };
            }
            Ok(outcome) => return outcome_state(outcome),
            Err(error) if error.is_transient() && attempt < ATTEMPTS => {
                tracing::warn!(system = %task.system, attempt, error = %error, "erase failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 4;
            }
            Err(error) => return error_state(&error),
        }
    }
    unreachable!("the last attempt returns")
}

fn outcome_state(outcome: EraseOutcome) -> (TaskState, Option<String>) {
    match outcome {
        EraseOutcome::Erased { records } => {
            (TaskState::Done, Some(format!("erased {records} records")))
        }
        EraseOutcome::Anonymized {
            records,
            retained: None,
        } => (
            TaskState::Done,
            Some(format!("anonymized {records} records")),
        ),
        EraseOutcome::Anonymized {
            records,
            retained: Some(r),
        } => (
            TaskState::Retained,
            Some(format!(
                "anonymized {records} records; kept: {}",
                retention_text(&r)
            )),
        ),
        EraseOutcome::Retained(r) => (TaskState::Retained, Some(retention_text(&r))),
        // Not done yet: the account source keeps the subject, so the next run asks again.
        EraseOutcome::InProgress { reason, .. } => (
            TaskState::Blocked,
            Some(format!("in progress: {reason}; the next run checks again")),
        ),
    }
}

fn retention_text(r: &gallra_plugin_api::Retention) -> String {
    let mut text = r.reason.clone();
    if let Some(basis) = &r.legal_basis {
        text.push_str(&format!(" ({basis})"));
    }
    if let Some(until) = r.until {
        text.push_str(&format!(" until {until}"));
    }
    text
}

fn error_state(error: &CallError) -> (TaskState, Option<String>) {
    match error.connector_error() {
        Some(ConnectorError::Refused { .. }) => (TaskState::Blocked, Some(error.to_string())),
        _ => (TaskState::Failed, Some(error.to_string())),
    }
}

/// The identifiers an erase may match on. The account source is reached by its own key
/// only; other systems by strong identifiers only (email, personnummer, domain): a phone
/// number or an IP address can be shared by several people, and erasing by one could
/// remove someone who must stay.
pub fn erasure_subject(identifiers: &[Identifier], is_source: bool) -> Subject {
    let keep = |kind: IdentifierKind| {
        if is_source {
            kind == IdentifierKind::CustomerId
        } else {
            matches!(
                kind,
                IdentifierKind::Email | IdentifierKind::Personnummer | IdentifierKind::Domain
            )
        }
    };
    Subject::new(
        identifiers
            .iter()
            .filter(|i| keep(i.kind()))
            .cloned()
            .collect(),
    )
}
