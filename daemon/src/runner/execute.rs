//! Carrying out a run's tasks: one erase per selected subject per system.
//!
//! Tasks are in the state store before the first one runs. Per subject they run in order, the
//! account source last, and stop at the first failure: a subject the source still lists is
//! found again by the next run, so nothing is left half-erased and forgotten. A task whose
//! result was not recorded (a crash) runs again; every erase is idempotent. The audit log
//! hears of each task before the erase call and of its outcome before the state store does
//! (see [`execute_tasks`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use gallra_core::policy::answer::{self, Next};
use gallra_core::policy::identifiers::subject_for;
use gallra_core::policy::retry;
use gallra_core::task::{self, Maker, Taken};
use gallra_plugin_api::{Identifier, Subject};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::progress::Progress;
use super::recheck::{self, Verdict};
use super::report::TaskCounts;
use super::RunError;
use crate::audit::words::AGAIN;
use crate::audit::{words, write_ahead, Action, Actor, AuditLog, NewEntry, Outcome};
use crate::config::{Config, Policy, Rule};
use crate::identity::Resolution;
use crate::plugins::{SystemHandle, Systems};
use crate::store::{RunId, Store, TaskId, TaskRecord, TaskState};

/// Tasks fetched from the store per batch; their results are committed together.
const BATCH: usize = 500;
/// Subjects in flight at once (each system also has its own concurrency limit).
const SUBJECTS_IN_FLIGHT: usize = 64;
/// Attempts of a call that fails transiently, within one run; a run's task that still fails
/// leaves the subject in the account source, and the next run tries again.
const ATTEMPTS: u32 = 3;
/// The first wait between two attempts within a run.
const RETRY_BASE: Duration = Duration::from_millis(200);

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
            TaskState::Kept => counts.kept += 1,
            TaskState::Blocked | TaskState::NeedsPerson => counts.blocked += 1,
            _ => counts.failed += 1,
        }
    }

    /// Tasks that failed or were blocked.
    pub fn unfinished(&self) -> u64 {
        self.per_system.values().map(|c| c.blocked + c.failed).sum()
    }
}

/// One task's outcome, as the audit log and the state store get it.
type TaskResult = (TaskRecord, TaskState, Option<String>);

/// Runs every pending task of `run` to a final state, batch by batch, in a write-ahead
/// order: the audit log first gets an entry per task saying it is about to be attempted,
/// then the erase calls are made, then the log gets each outcome, and only then does the
/// state store record the outcomes (with their tombstones). A run stopped anywhere leaves
/// every erasure it made in the audit log; one stopped before the store commit leaves the
/// tasks running, and the next run does them again (every erase is idempotent and read
/// back) and says so in their entries. If the audit log cannot be written the run stops:
/// before erasing if it is the intent, before committing if it is an outcome.
// The restore keeper made it eight; grouping them would touch every caller and test.
#[allow(clippy::too_many_arguments)]
pub async fn execute_tasks(
    store: &Arc<dyn Store>,
    systems: &Arc<Systems>,
    run: RunId,
    config: &Arc<Config>,
    progress: &Progress,
    audit: &AuditLog,
    policy: &Policy,
    restore: Option<&Arc<crate::restore::RestoreKeeper>>,
) -> Result<TaskTotals, RunError> {
    let rule = Arc::new(policy.rule.clone());
    let policy = policy.name.as_str();
    let mut totals = TaskTotals::default();
    crate::tombstones::prune(store.as_ref(), crate::clock::now())?;
    let keeper = crate::tombstones::keeper(&config.state_dir);
    let in_flight = Arc::new(Semaphore::new(SUBJECTS_IN_FLIGHT));
    loop {
        // This node's leases on what it is working on stay alive from batch to batch.
        store.renew_leases()?;
        let tasks = store.pending_tasks(run, BATCH)?;
        if tasks.is_empty() {
            return Ok(totals);
        }
        let interrupted: BTreeSet<TaskId> = tasks
            .iter()
            .filter(|t| t.state == TaskState::Running)
            .map(|t| t.id)
            .collect();
        announce(store.as_ref(), audit, policy, &tasks, &interrupted)?;
        let results =
            erase_batch(systems, config, &rule, tasks, &in_flight, progress, restore).await?;
        let mut updates = Vec::new();
        let mut entries = Vec::new();
        let mut tombstones = Vec::new();
        for (task, state, detail) in results {
            totals.count(&task.system, state);
            let detail = match interrupted.contains(&task.id) {
                true => Some(write_ahead::again(detail)),
                false => detail,
            };
            entries.push(entry(policy, &task, words::outcome(state), detail.clone()));
            if let (Some(keeper), TaskState::Done) = (&keeper, state) {
                let subject = subject_for(&task.identifiers, config.customer_ids(&task.system));
                tombstones.extend(keeper.tombstone(&task.system, &subject, crate::clock::now()));
            }
            updates.push((task.id, state, detail));
        }
        // The outcomes reach the audit log before the store: if they cannot, nothing is
        // committed, the tasks stay running and the next run does them again.
        write_ahead::record::<_, RunError>(audit, &entries, || {
            Ok(store.finish_tasks_and_bury(&updates, &tombstones, crate::clock::now())?)
        })?;
    }
}

/// Marks a batch's tasks started and writes, before any erase call, one audit entry per task
/// saying it is about to be attempted (one write, one fsync). If the log cannot be written,
/// the tasks that were pending are put back and the run stops: nothing was erased.
fn announce(
    store: &dyn Store,
    audit: &AuditLog,
    policy: &str,
    tasks: &[TaskRecord],
    interrupted: &BTreeSet<TaskId>,
) -> Result<(), RunError> {
    let ids: Vec<TaskId> = tasks.iter().map(|t| t.id).collect();
    let intents: Vec<NewEntry> = tasks
        .iter()
        .map(|task| {
            let again = interrupted.contains(&task.id).then(|| AGAIN.to_owned());
            entry(policy, task, Outcome::Started, again)
        })
        .collect();
    // Started in the store first: a process killed before the entries are written leaves
    // the tasks running, so the next run's entries for them say "again" and none is
    // counted twice.
    let fresh: Vec<TaskId> = ids
        .iter()
        .copied()
        .filter(|id| !interrupted.contains(id))
        .collect();
    write_ahead::announce::<RunError>(
        audit,
        || Ok(store.start_tasks(&ids, crate::clock::now()).map(drop)?),
        &intents,
        || Ok(store.release_tasks(&fresh, crate::clock::now()).map(drop)?),
    )
}

/// Runs a batch's tasks, subjects in parallel, and returns every task's outcome.
async fn erase_batch(
    systems: &Arc<Systems>,
    config: &Arc<Config>,
    rule: &Arc<Rule>,
    tasks: Vec<TaskRecord>,
    in_flight: &Arc<Semaphore>,
    progress: &Progress,
    restore: Option<&Arc<crate::restore::RestoreKeeper>>,
) -> Result<Vec<TaskResult>, RunError> {
    let mut work = JoinSet::new();
    for subject_tasks in group_by_subject(tasks) {
        let systems = Arc::clone(systems);
        let restore = restore.cloned();
        let config = Arc::clone(config);
        let rule = Arc::clone(rule);
        let permit = Arc::clone(in_flight)
            .acquire_owned()
            .await
            .expect("never closed");
        work.spawn(async move {
            let results =
                run_subject(&systems, &config, &rule, subject_tasks, restore.as_deref()).await;
            drop(permit);
            results
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = work.join_next().await {
        let results = joined.map_err(|e| RunError::Internal(e.to_string()))?;
        progress.advance(results.len() as u64);
        all.extend(results);
    }
    Ok(all)
}

/// The audit entry of a task: the policy erases in a system, the subject as keyed hashes.
fn entry(policy: &str, task: &TaskRecord, outcome: Outcome, detail: Option<String>) -> NewEntry {
    let entry = NewEntry::new(Actor::Policy(policy.to_owned()), Action::Erase, outcome)
        .system(task.system.clone())
        .subject(&task.identifiers);
    match detail {
        Some(detail) => entry.detail(detail),
        None => entry,
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

/// Runs one subject's tasks in order, after deciding again whether and through which
/// identifiers it may be erased ([`recheck`]); after a failure the rest are blocked for this
/// run.
async fn run_subject(
    systems: &Systems,
    config: &Config,
    rule: &Rule,
    tasks: Vec<TaskRecord>,
    restore: Option<&crate::restore::RestoreKeeper>,
) -> Vec<TaskResult> {
    let mut results = Vec::with_capacity(tasks.len());
    let Some(first) = tasks.first() else {
        return results;
    };
    let (key, identifiers) = (first.subject_key.clone(), first.identifiers.clone());
    let resolution = match recheck_with_retries(config, systems, rule, &key, &identifiers).await {
        Verdict::Erase(resolution) => resolution,
        Verdict::Hold(state, why) => {
            if state == TaskState::Kept {
                tracing::info!(subject = %key, "{why}");
            } else {
                tracing::warn!(subject = %key, "{why}");
            }
            return tasks
                .into_iter()
                .map(|task| (task, state, Some(why.clone())))
                .collect();
        }
    };
    let mut failed_at: Option<String> = None;
    for mut task in tasks {
        // What is recorded of the erase (its audit entry, its tombstone) names the subject by
        // the identifiers it was erased through, never by one withheld as shared.
        task.identifiers = resolution.usable.clone();
        if let Some(system) = &failed_at {
            let detail = format!("not attempted: the task on system \"{system}\" did not finish");
            results.push((task, TaskState::Blocked, Some(detail)));
            continue;
        }
        let span = tracing::info_span!("task", id = task.id.0, system = %task.system);
        let (state, detail) = erase_resolved(systems, config, rule, &task, &resolution, restore)
            .instrument(span)
            .await;
        if !matches!(state, TaskState::Done | TaskState::Retained) {
            failed_at = Some(task.system.clone());
        }
        results.push((task, state, detail));
    }
    results
}

/// The re-check, tried again like an erase call when a system could not be asked (a
/// database restarting): a subject that cannot be checked is not erased in this run.
async fn recheck_with_retries(
    config: &Config,
    systems: &Systems,
    rule: &Rule,
    key: &str,
    identifiers: &[Identifier],
) -> Verdict {
    let mut attempt = 1;
    loop {
        let verdict = recheck::recheck(config, systems, rule, key, identifiers).await;
        match verdict {
            Verdict::Hold(TaskState::Failed, why) if attempt < ATTEMPTS => {
                tracing::warn!(subject = %key, attempt, "{why}; retrying");
                tokio::time::sleep(retry_wait(attempt)).await;
                attempt += 1;
            }
            verdict => return verdict,
        }
    }
}

/// Erases one task's subject through the identifiers resolved as its own. A system none of
/// whose identifier kinds is left (they were withheld as shared, or never known) cannot be
/// asked: a person must look, and "done" is never said of an erase that could not have found
/// anything.
async fn erase_resolved(
    systems: &Systems,
    config: &Config,
    rule: &Rule,
    task: &TaskRecord,
    resolution: &Resolution,
    restore: Option<&crate::restore::RestoreKeeper>,
) -> (TaskState, Option<String>) {
    let handle = match systems.get(&task.system) {
        Ok(handle) => handle.clone(),
        Err(why) => return (TaskState::Failed, Some(why)),
    };
    let mut subject = subject_for(&resolution.usable, config.customer_ids(&task.system));
    let resolves = &handle.description().identifier_kinds;
    if !subject
        .identifiers
        .iter()
        .any(|i| resolves.contains(&i.kind()))
    {
        let why = match resolution.withheld_reason() {
            Some(why) => format!("unmatched: {why}; a person must find the subject's data here"),
            None => "unmatched: gallra knows no identifier of the subject that this system finds people by; a person must look".to_owned(),
        };
        return (TaskState::NeedsPerson, Some(why));
    }
    let source = task.system == config.account_source;
    if source {
        subject.still_selected = recheck::still_selected(config, rule);
    }
    // An identifier withheld as shared or moved, of a kind this system finds people by: the
    // erase through the others cannot have found what is filed under it, so it is not done.
    let unreachable = resolution
        .withheld
        .iter()
        .any(|kind| resolves.contains(kind));
    match erase_one(&handle, task, &subject, &resolution.usable, restore).await {
        (TaskState::Done, detail) if unreachable => (
            TaskState::NeedsPerson,
            Some(format!(
                "{}; unmatched: {}; a person must find what this system holds under it",
                detail.unwrap_or_default(),
                resolution.withheld_reason().unwrap_or_default()
            )),
        ),
        // The account source checked the facts again in the delete's transaction and found
        // the subject no longer selected: kept, as the re-check would have.
        (TaskState::Blocked, Some(why)) if source && subject.still_selected.is_some() => (
            TaskState::Kept,
            Some(format!("{}: {why}", recheck::CHANGED)),
        ),
        outcome => outcome,
    }
}

/// One erase call with retries for transient errors, mapped to a task state.
async fn erase_one(
    handle: &SystemHandle,
    task: &TaskRecord,
    subject: &Subject,
    identifiers: &[Identifier],
    restore: Option<&crate::restore::RestoreKeeper>,
) -> (TaskState, Option<String>) {
    // A policy with a restore window keeps the subject's data first; if it cannot, no erase.
    if let Some(keeper) = restore {
        let kept = crate::restore::keep_before_erase(
            keeper,
            handle,
            &task.subject_key,
            subject,
            identifiers,
        )
        .await;
        if let Err(why) = kept {
            return (TaskState::Failed, Some(why));
        }
    }
    let mut attempt = 1;
    loop {
        let answer = handle.erase_confirmed(subject, identifiers).await;
        // A run keeps no time of its own to ask again: what a request would ask about later,
        // the next run finds (see `Maker::Run` in gallra-core task::after).
        let now = crate::clock::now();
        let next = answer::next(answer, now, now, false);
        match next {
            Next::Retry(why) if attempt < ATTEMPTS => {
                tracing::warn!(system = %task.system, attempt, error = %why, "erase failed; retrying");
                tokio::time::sleep(retry_wait(attempt)).await;
                attempt += 1;
            }
            next => return run_state(next),
        }
    }
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use gallra_plugin_api::{Identifier, IdentifierKind};

    use super::*;
    use crate::audit::{testing, AuditUnavailable, Outcome};
    use crate::plugins::PluginFinder;
    use crate::store::{Decision, SqliteStore};

    /// A run with one selected subject and its task in "crm", a system whose plugin is not
    /// there: its erase fails without a connector call, but every step around it is taken.
    fn run_with_a_task(dir: &Path) -> (Arc<dyn Store>, Arc<Systems>, RunId) {
        let store = SqliteStore::open(&dir.join("state")).unwrap();
        let now = crate::clock::now();
        let run = store.begin_run("inactive", "enforce", now, now).unwrap();
        let email = Identifier::parse(IdentifierKind::Email, "anna@example.se").unwrap();
        let decision = Decision {
            subject_key: "a".into(),
            selected: true,
            reason: "inactive".into(),
            identifiers: vec![email],
        };
        store.record_decisions(run, &[decision]).unwrap();
        let systems = [("crm".to_owned(), crate::store::Action::Erase, 0)];
        store.create_tasks_for_selected(run, &systems).unwrap();
        let finder = PluginFinder::new(Some(&dir.join("no-plugins")));
        let systems = Arc::new(Systems::open(&config(), &finder));
        (Arc::new(store), systems, run)
    }

    /// One system, "crm", the account source.
    fn config() -> Config {
        let text = "state_dir = \"s\"\naccount_source = \"crm\"\n[systems.crm]\nplugin = \"sql\"\n\
                    [policies.inactive]\nkind = \"inactivity\"\nidle_for = \"6 months\"\n";
        crate::config::parse(text, Path::new("/g.toml")).unwrap()
    }

    fn log(dir: &Path) -> AuditLog {
        testing::log(dir, 1)
    }

    fn entries(dir: &Path) -> Vec<(String, String)> {
        testing::entries(dir, "anna")
    }

    async fn execute(
        store: &Arc<dyn Store>,
        systems: &Arc<Systems>,
        run: RunId,
        audit: &AuditLog,
    ) -> Result<TaskTotals, RunError> {
        let progress = Progress::new("test", false);
        let config = Arc::new(config());
        execute_tasks(
            store,
            systems,
            run,
            &config,
            &progress,
            audit,
            &config.policies["inactive"],
            None,
        )
        .await
    }

    fn the_task(store: &Arc<dyn Store>, run: RunId) -> Option<TaskRecord> {
        store.pending_tasks(run, 10).unwrap().pop()
    }

    #[tokio::test]
    async fn an_audit_log_that_cannot_take_the_intent_stops_the_run_before_any_erase() {
        let dir = tempfile::tempdir().unwrap();
        let (store, systems, run) = run_with_a_task(dir.path());
        let audit = log(dir.path());
        audit
            .append(NewEntry::new(Actor::Operator, Action::Erase, Outcome::Done))
            .unwrap();
        let blocker = testing::block_second_file(dir.path());

        let error = execute(&store, &systems, run, &audit).await.unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, RunError::Audit(AuditUnavailable::Write(_))));
        assert!(text.contains(&*blocker.to_string_lossy()), "{text}");
        assert!(text.contains("is the disk full?"), "{text}");
        let task = the_task(&store, run).expect("the task is still to do");
        assert_eq!(
            (task.state, task.attempts),
            (TaskState::Pending, 0),
            "no erase was attempted and the task waits for the next run"
        );
        assert_eq!(
            entries(dir.path()).len(),
            1,
            "nothing of the batch was written"
        );
    }

    #[tokio::test]
    async fn an_outcome_the_audit_log_cannot_take_is_not_committed_and_done_again_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let (store, systems, run) = run_with_a_task(dir.path());
        let audit = log(dir.path());
        // The intent fits in the first file; the outcome needs the second.
        let blocker = testing::block_second_file(dir.path());

        let error = execute(&store, &systems, run, &audit).await.unwrap_err();
        assert!(matches!(error, RunError::Audit(_)), "{error}");
        let task = the_task(&store, run).expect("the outcome was not committed");
        assert_eq!((task.state, task.attempts), (TaskState::Running, 0));
        assert_eq!(entries(dir.path()), [("started".into(), String::new())]);

        std::fs::remove_dir(&blocker).unwrap();
        drop(audit);
        let audit = testing::log(dir.path(), 1 << 20);
        let totals = execute(&store, &systems, run, &audit).await.unwrap();
        assert_eq!(totals.unfinished(), 1, "the plugin is missing: failed");
        assert!(the_task(&store, run).is_none(), "the task is final now");
        let written = entries(dir.path());
        assert_eq!(written.len(), 3, "{written:?}");
        assert_eq!(written[1], ("started".into(), AGAIN.into()));
        assert_eq!(written[2].0, "failed");
        assert!(
            written[2].1.starts_with(&format!("{AGAIN}: ")),
            "the repeated outcome says why: {:?}",
            written[2].1
        );
    }

    #[test]
    fn without_an_audit_log_the_error_names_its_directory_and_what_to_do() {
        let text = AuditUnavailable::not_open(Path::new("/var/lib/gallra")).to_string();
        assert!(text.contains("/var/lib/gallra/audit"), "{text}");
        assert!(text.contains("writable"), "{text}");
        assert!(text.contains("erases nothing"), "{text}");
    }
}
