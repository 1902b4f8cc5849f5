//! The runs half of the state store: a policy run, its decisions and the tasks that carry
//! them out.

use gallra_plugin_api::ResumeToken;
use jiff::Timestamp;

use crate::model::requests::NewRequestTask;
use crate::model::runs::{
    Action, Decision, DecisionFilter, NewTask, RunId, RunRecord, RunState, TaskId, TaskRecord,
    TaskState,
};
use crate::{
    LeaderStore, LeaseStore, NewTombstone, RestoreStore, Result, TombstoneStore, WarningStore,
};

/// The state store. Every method is one atomic step: it happens entirely or not at all.
/// A run's warnings ([`WarningStore`]) are part of it.
pub trait Store:
    WarningStore + TombstoneStore + RestoreStore + LeaseStore + LeaderStore + Send + Sync
{
    /// Starts a run of `policy` for the schedule slot `scheduled_for`, in state
    /// [`RunState::Planning`]. A slot that already has a run gives [`StoreError::RunExists`],
    /// so that no slot is run twice.
    fn begin_run(
        &self,
        policy: &str,
        mode: &str,
        scheduled_for: Timestamp,
        now: Timestamp,
    ) -> Result<RunId>;

    /// Records a batch of decisions in one transaction, each with the identifiers given (the
    /// caller passes only what a task or a warning needs: personal data is kept for nothing
    /// else). Recording a subject again replaces its decision (a planning run resumed after a
    /// crash may see a subject twice).
    fn record_decisions(&self, run: RunId, decisions: &[Decision]) -> Result<()>;

    /// Moves a run to `state` with its counts. A final state sets `finished_at` to `now`.
    fn set_run_state(
        &self,
        run: RunId,
        state: RunState,
        scanned: u64,
        selected: u64,
        detail: Option<&str>,
        now: Timestamp,
    ) -> Result<()>;

    /// Creates one pending task per selected decision and system, in one transaction. Tasks
    /// that exist already are left alone, so calling it again is harmless. Returns how many
    /// tasks were created.
    fn create_tasks_for_selected(
        &self,
        run: RunId,
        systems: &[(String, Action, u32)],
    ) -> Result<u64>;

    /// Files one erasure request per subject the run selected, with `tasks` (the systems the
    /// run does not erase itself), in one transaction, due at `due_at` and marked as coming
    /// from `origin` (e.g. "policy inactive, run 12"). A subject filed for already is left
    /// alone, so calling it again (a resumed run) files none twice. Returns how many requests
    /// were filed now.
    fn file_requests_for_selected(
        &self,
        run: RunId,
        origin: &str,
        received_at: Timestamp,
        due_at: Timestamp,
        tasks: &[NewRequestTask],
    ) -> Result<u64>;

    /// Creates one pending task. If the same (subject, system, action) exists in the run
    /// already, returns that task instead of making a second one.
    fn create_task(&self, run: RunId, task: &NewTask) -> Result<TaskId>;

    /// Marks tasks as handed to a connector, in one transaction, under this node's lease (see
    /// [`crate::Lease`]). Tasks already final are left alone, and so are tasks another node is
    /// running under a lease that has not run out. Returns how many were marked.
    fn start_tasks(&self, tasks: &[TaskId], now: Timestamp) -> Result<u64>;

    /// Puts running tasks back to pending, in one transaction: they were marked started but
    /// no connector was called (the audit log could not record the attempt). Tasks in any
    /// other state are left alone. Returns how many were put back.
    fn release_tasks(&self, tasks: &[TaskId], now: Timestamp) -> Result<u64>;

    /// Up to `limit` tasks of the run that are pending or running with no live lease of
    /// another node's (a running one was interrupted: by this node, or by one whose lease ran
    /// out; every action is idempotent, so it is safe to repeat), ordered by
    /// (subject_key, order).
    fn pending_tasks(&self, run: RunId, limit: usize) -> Result<Vec<TaskRecord>>;

    /// Takes the tasks [`Store::pending_tasks`] would list of up to `subjects` subjects, all
    /// of each subject's at once, marking them running under this node's lease in one
    /// transaction, and gives them with the state they had before (running: interrupted,
    /// to be done again). Two nodes claiming at once never get the same task, nor parts of
    /// one subject's tasks (the order of a subject's erasures is kept on one node).
    fn claim_tasks(&self, run: RunId, subjects: usize, now: Timestamp) -> Result<Vec<TaskRecord>>;

    /// Records the outcomes of attempts in one transaction, with the erasures' tombstones
    /// (none, for outcomes that erased nothing): each task gets its state and detail and
    /// counts the attempt, and a crash loses all of it or none. A task that does not exist
    /// ([`StoreError::NoSuchTask`]) changes nothing.
    ///
    /// [`StoreError::NoSuchTask`]: crate::StoreError::NoSuchTask
    fn finish_tasks_and_bury(
        &self,
        updates: &[(TaskId, TaskState, Option<String>)],
        tombstones: &[NewTombstone],
        now: Timestamp,
    ) -> Result<()>;

    /// Keeps with each task the resume token its connector answered a deletion in progress
    /// with: a later task of the same subject in the same system, in this run or the next,
    /// is handed it ([`TaskRecord::resume`](crate::TaskRecord::resume)). Written before the
    /// outcomes: a task killed in between is redone with its own token.
    fn keep_resume_tokens(&self, tokens: &[(TaskId, ResumeToken)]) -> Result<()>;

    /// One run, if it exists.
    fn run(&self, run: RunId) -> Result<Option<RunRecord>>;

    /// Every run in one of `states`, oldest first (e.g. the runs to resume at start-up).
    fn runs_in_state(&self, states: &[RunState]) -> Result<Vec<RunRecord>>;

    /// The latest `limit` runs, of one policy or of all, newest first.
    fn recent_runs(&self, policy: Option<&str>, limit: usize) -> Result<Vec<RunRecord>>;

    /// Up to `limit` of the run's decisions that `which` asks for (the selected ones, or those
    /// still due a warning), with a subject key after `after_key`, in key order, with their
    /// identifiers.
    fn decisions(
        &self,
        run: RunId,
        which: DecisionFilter,
        after_key: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Decision>>;

    /// Takes subjects out of a run's selection before its tasks and requests exist: each
    /// `(subject key, reason code)` becomes unselected with that reason, and its identifiers
    /// are forgotten. Subjects that already have tasks keep them (each is decided again
    /// before it is erased).
    fn deselect(&self, run: RunId, subjects: &[(String, String)]) -> Result<()>;

    /// How many decisions the run has per (reason, selected).
    fn decision_counts(&self, run: RunId) -> Result<Vec<(String, bool, u64)>>;

    /// How many tasks the run has per (system, state).
    fn task_counts(&self, run: RunId) -> Result<Vec<(String, TaskState, u64)>>;

    /// Drops the identifiers (personal data) of the run's decisions. Refused with
    /// [`StoreError::TasksOpen`] while a task of the run is pending or running, since that task
    /// could no longer find its subject.
    fn forget_identifiers(&self, run: RunId) -> Result<()>;
}
