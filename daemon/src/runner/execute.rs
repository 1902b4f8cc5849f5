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

use gallra_core::policy::identifiers::subject_for;

use super::progress::Progress;
use super::report::TaskCounts;
use super::rounds;
use super::RunError;
use crate::audit::words::AGAIN;
use crate::audit::{words, write_ahead, Action, Actor, AuditLog, NewEntry, Outcome};
use crate::config::{Config, Policy};
use crate::plugins::Systems;
use crate::store::{RunId, Store, TaskId, TaskRecord, TaskState};

/// Subjects claimed from the store per batch, each with all its tasks (about 1,500 tasks of
/// a purge through three systems); their results are committed together, and each system
/// gets its share of them in one batched call ([`rounds`]). Several daemons sharing the
/// store claim batches side by side, never the same subject.
const BATCH_SUBJECTS: usize = 500;

/// What the tasks of a run came to, per system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskTotals {
    /// Per system.
    pub per_system: BTreeMap<String, TaskCounts>,
}

impl TaskTotals {
    /// The totals of a run's tasks as the store counts them, `(system, state, count)`.
    pub fn of_counts(counts: &[(String, TaskState, u64)]) -> Self {
        let mut totals = Self::default();
        for (system, state, n) in counts {
            if matches!(state, TaskState::Pending | TaskState::Running) {
                continue;
            }
            totals.add(system, *state, *n);
        }
        totals
    }

    fn count(&mut self, system: &str, state: TaskState) {
        self.add(system, state, 1);
    }

    fn add(&mut self, system: &str, state: TaskState, n: u64) {
        let counts = self.per_system.entry(system.to_owned()).or_default();
        match state {
            TaskState::Done => counts.done += n,
            TaskState::Retained => counts.retained += n,
            TaskState::Kept => counts.kept += n,
            TaskState::Blocked | TaskState::NeedsPerson => counts.blocked += n,
            _ => counts.failed += n,
        }
    }

    /// Tasks that failed or were blocked.
    pub fn unfinished(&self) -> u64 {
        self.per_system.values().map(|c| c.blocked + c.failed).sum()
    }
}

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
    loop {
        // This node's leases on what it is working on stay alive from batch to batch.
        store.renew_leases()?;
        let tasks = store.claim_tasks(run, BATCH_SUBJECTS, crate::clock::now())?;
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
            rounds::erase_batch(systems, config, &rule, tasks, restore.map(Arc::as_ref)).await;
        progress.advance(results.len() as u64);
        let mut updates = Vec::new();
        let mut entries = Vec::new();
        let mut tombstones = Vec::new();
        let tokens: Vec<_> = results
            .iter()
            .filter_map(|(task, _, _)| Some((task.id, task.resume.clone()?)))
            .collect();
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
            store.keep_resume_tokens(&tokens)?;
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
    // Started in the store first (claimed, under this node's lease): a process killed
    // before the entries are written leaves the tasks running, so the next run's entries
    // for them say "again" and none is counted twice.
    let fresh: Vec<TaskId> = ids
        .iter()
        .copied()
        .filter(|id| !interrupted.contains(id))
        .collect();
    write_ahead::announce::<RunError>(
        audit,
        || Ok(()),
        &intents,
        || Ok(store.release_tasks(&fresh, crate::clock::now()).map(drop)?),
    )
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
