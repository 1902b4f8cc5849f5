//! Carrying requests through: every due task is run, its outcome recorded before the next
//! one starts, and the request settled. Called by `gallra run` and the daemon's loop; after a
//! crash it simply runs again — a task whose outcome was not recorded is still due, and every
//! step is idempotent.
//!
//! The audit log hears first: before an erase or anonymize step the task is marked running
//! and an entry says it is about to be attempted; its outcome is written to the log before
//! the state store records it. A step interrupted anywhere is done again by the next drive
//! (the task is still running), and its entries then say "again". If the log cannot be
//! written the drive stops with [`DriveError::Audit`] and the request waits.

use std::path::PathBuf;
use std::sync::Arc;

use gallra_plugin_api::{Subject, SubjectFacts};
use jiff::Timestamp;
use tokio::sync::watch;

mod rolling;
pub use rolling::SHARED_IDLE_WAKE;

use super::model::{
    RequestAction, RequestKind, RequestRecord, RequestState, RequestTask, TaskUpdate,
};
use super::settle::{is_due, settle, settle_id, MAX_ATTEMPTS};
use super::steps::{self, HoldCheck};
use super::{delivery, export_step, followup, upkeep};
use crate::audit::words::AGAIN;
use crate::audit::{words, write_ahead, Actor, AuditUnavailable, NewEntry, Outcome};
use crate::config::Handling;
use crate::context::Context;
use crate::metrics::{Metrics, SafeName};
use crate::policy::merge_facts;
use crate::store::{NewTombstone, RequestStore, StoreError, TaskState, TombstoneStore};
use gallra_core::policy::answer::Next;
use gallra_core::policy::identifiers::subject_for;
use gallra_core::task::{self, Maker, Taken};

/// Requests worked on at once.
const IN_FLIGHT: usize = 16;

/// Drives requests.
#[derive(Clone)]
pub struct Engine {
    context: Context,
    store: Arc<dyn RequestStore>,
    tombstones: Arc<dyn TombstoneStore>,
    export_dir: PathBuf,
    metrics: Option<Metrics>,
    /// Set when the service reloads or stops: no new request is taken up, those in hand
    /// finish and are recorded.
    stop: Option<watch::Receiver<bool>>,
}

/// Why a drive stopped. The requests it did not finish wait for the next one.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// The state store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The audit log cannot be written: no step that would need it is taken.
    #[error("{0}")]
    Audit(#[from] AuditUnavailable),
}

/// What one drive did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriveSummary {
    /// Requests worked on.
    pub worked: usize,
}

impl Engine {
    /// An engine over these systems and this store; exports are written to `export_dir`.
    /// Erasures done through the store from now on (requests' and runs') leave tombstones
    /// for the systems that state a backup retention.
    pub fn new(
        context: Context,
        store: Arc<dyn crate::store::Backend>,
        export_dir: PathBuf,
    ) -> Self {
        if let Some(keeper) = crate::tombstones::keeper_or_log(&context.config) {
            crate::tombstones::keep_with(&context.config.state_dir, keeper);
        }
        Self {
            context,
            tombstones: store.clone(),
            store,
            export_dir,
            metrics: None,
            stop: None,
        }
    }

    /// Stops taking up requests once `stop` says so (the service's reload or stop): the
    /// requests in hand finish and are recorded, the rest wait for the next engine.
    pub fn with_stop(mut self, stop: watch::Receiver<bool>) -> Self {
        self.stop = Some(stop);
        self
    }

    fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(|stop| *stop.borrow())
    }

    /// Counts escalated notices in these metrics.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Runs every task that is due at `now`, request by request, until none is; before and
    /// after, writes cancellations to the audit log, and first deletes expired export files.
    /// Without an audit log it does nothing and says why.
    pub async fn drive(&self, now: Timestamp) -> Result<DriveSummary, DriveError> {
        let summary = self.drive_tasks(now).await?;
        upkeep::audit_cancels(&self.context, self.store.as_ref())?;
        Ok(summary)
    }

    async fn drive_tasks(&self, now: Timestamp) -> Result<DriveSummary, DriveError> {
        self.context.audit_log()?;
        upkeep::audit_cancels(&self.context, self.store.as_ref())?;
        upkeep::expire_exports(&self.context, self.store.as_ref(), &self.export_dir, now)?;
        crate::tombstones::prune(self.tombstones.as_ref(), now)?;
        self.settle_stale(now)?;
        followup::follow_up(
            &self.context,
            self.store.as_ref(),
            self.metrics.as_ref(),
            now,
        )
        .await?;
        self.work_due(now).await
    }

    /// Settles open requests whose tasks are all final: a process killed between recording a
    /// request's last task and settling it leaves such a request with nothing due.
    fn settle_stale(&self, now: Timestamp) -> Result<(), StoreError> {
        for record in self.store.list_requests(true, 100_000)? {
            if record.state == RequestState::Open {
                settle(self.store.as_ref(), &record, now)?;
            }
        }
        Ok(())
    }

    /// Works on one request. A cancel that comes meanwhile ends the work: the store refuses
    /// to record anything over it, and no further step starts.
    async fn process(&self, id: super::RequestId, now: Timestamp) -> Result<(), DriveError> {
        match self.process_open(id, now).await {
            Err(DriveError::Store(StoreError::RequestCancelled { request })) => {
                tracing::info!(
                    request = request.0,
                    "the request was cancelled while it was worked on; nothing more is done for it"
                );
                Ok(())
            }
            other => other,
        }
    }

    async fn process_open(&self, id: super::RequestId, now: Timestamp) -> Result<(), DriveError> {
        let Some(record) = self.store.request(id)? else {
            return Ok(());
        };
        if record.state == RequestState::Cancelled {
            return Ok(());
        }
        let tasks = self.store.request_tasks(id)?;
        if record.kind == RequestKind::Erase && !started(&tasks) {
            if let Some(why) = self.precondition(&record).await {
                return Ok(self.block(&record, &tasks, &why, now)?);
            }
        }
        let record = if record.state == RequestState::Blocked {
            self.store
                .set_request_state(id, RequestState::Open, None, now)?;
            self.store.request(id)?.unwrap_or(record)
        } else {
            record
        };
        if record.kind == RequestKind::Export {
            let updates =
                export_step::run(&self.context, &self.export_dir, &record, &tasks, now).await;
            self.record(&record, &tasks, updates, now)?;
        } else {
            for task in &tasks {
                // As it stands now: a cancel may have come during the previous step.
                let current = self.store.request_tasks(id)?;
                let Some(task) = current.iter().find(|t| t.id == task.id) else {
                    continue;
                };
                if !is_due(task, now) || self.waits_for_others(task, &current) {
                    continue;
                }
                let outcome = match self.failed_elsewhere(task, &current) {
                    Some(system) => Next::Failed(format!(
                        "not erased here: the task on \"{system}\" failed, and the account source keeps the customer so that the erasure can still be finished"
                    )),
                    None => {
                        if self.erases(task) {
                            self.announce(&record, task, now)?;
                        }
                        self.step(&record, task, now).await
                    }
                };
                self.record(&record, &current, vec![(task.id, outcome)], now)?;
            }
        }
        settle_id(self.store.as_ref(), id, now)?;
        Ok(())
    }

    /// The account source goes last: it waits until every other system's connector task is
    /// final, so the subject stays findable while anything is left to do. A task handed to a
    /// person after [`MAX_ATTEMPTS`] transient failures is not final either: the person may
    /// have it tried again, which needs the subject findable.
    fn waits_for_others(&self, task: &RequestTask, tasks: &[RequestTask]) -> bool {
        task.system == self.context.config.account_source
            && tasks.iter().any(|t| {
                t.id != task.id
                    && (matches!(t.state, TaskState::Pending | TaskState::Running)
                        || out_of_attempts(t))
                    && !matches!(t.action, RequestAction::Manual | RequestAction::Notify)
            })
    }

    /// For the account source's erase task: another system's connector task that failed for
    /// good. The source then keeps the customer: erasing it would lose the only way to find
    /// them again for what is left.
    fn failed_elsewhere(&self, task: &RequestTask, tasks: &[RequestTask]) -> Option<String> {
        if task.system != self.context.config.account_source || task.action != RequestAction::Erase
        {
            return None;
        }
        tasks
            .iter()
            .find(|t| {
                t.id != task.id
                    && t.state == TaskState::Failed
                    && !matches!(t.action, RequestAction::Manual | RequestAction::Notify)
            })
            .map(|t| t.system.clone())
    }

    async fn step(&self, record: &RequestRecord, task: &RequestTask, now: Timestamp) -> Next {
        let config = &self.context.config;
        let subject = subject_for(&record.identifiers, config.customer_ids(&task.system));
        let Some(system) = config.systems.get(&task.system) else {
            // A reload removed it: nothing is sent to it any more, and a person decides what
            // becomes of the part of the request it held.
            return Next::NeedsPerson(format!(
                "system \"{}\" is no longer configured: do its part by hand and confirm with `gallra task done`, or cancel the request",
                task.system
            ));
        };
        match (&system.handling, task.action) {
            (Handling::Manual { instructions }, _) => Next::NeedsPerson(instructions.clone()),
            (Handling::Notify(target), _) => {
                let outcome = delivery::notify(config, record, &task.system, target).await;
                if let Next::NeedsPerson(_) = outcome {
                    // Reminders and escalation count from here.
                    if let Err(e) = self.store.notice_sent(task.id, now) {
                        return Next::Retry(format!("state store: {e}"));
                    }
                }
                outcome
            }
            (Handling::Connector { .. }, action) => {
                let handle = match self.context.systems.get(&task.system) {
                    Ok(handle) => handle.clone(),
                    Err(why) => return Next::Retry(why),
                };
                match action {
                    RequestAction::Erase | RequestAction::Anonymize => {
                        // At a hold's end the kept records are erased by the connector's own
                        // references; the requester's identifiers are gone by then.
                        let subject = match &task.kept {
                            Some(_) => subject,
                            None => match self.identify(record, &task.system, &handle).await {
                                Ok(subject) => subject,
                                Err(outcome) => return outcome,
                            },
                        };
                        // A deletion the connector has under way is checked by what it
                        // asked to be handed back, which survives a restart.
                        let subject = Subject {
                            resume: task.resume.clone(),
                            ..subject
                        };
                        let mut task = task.clone();
                        if let (Some(hold), None) = (&system.legal_hold, task.retained_until) {
                            match steps::check_hold(config, &handle, hold, subject.clone(), now)
                                .await
                            {
                                HoldCheck::NoHold => {}
                                HoldCheck::Outcome(outcome) => return outcome,
                                HoldCheck::Until(until) => {
                                    // Still running: a drive stopped from here on does
                                    // the step again and says so.
                                    let update = TaskUpdate {
                                        task: task.id,
                                        state: TaskState::Running,
                                        attempted: false,
                                        not_before: None,
                                        retained_until: Some(until),
                                        legal_basis: Some(hold.law.clone()),
                                        detail: Some(format!(
                                            "legal hold until {until}: anonymizing"
                                        )),
                                        kept: None,
                                        resume: None,
                                    };
                                    if let Err(e) = self.store.update_request_tasks(&[update], now)
                                    {
                                        return Next::Retry(format!("state store: {e}"));
                                    }
                                    task.retained_until = Some(until);
                                }
                            }
                        }
                        steps::erase(config, &handle, &task, subject, &record.identifiers, now)
                            .await
                    }
                    RequestAction::Restrict => steps::restrict(&handle, subject, true).await,
                    RequestAction::Unrestrict => steps::restrict(&handle, subject, false).await,
                    other => Next::Failed(format!("cannot {} here", steps::verb(other))),
                }
            }
        }
    }

    /// The subject an erasure hands `system`, through identifiers that pick out the requester
    /// alone in the account source ([`crate::identity`]): with a customer id, each identifier
    /// another customer also holds is withheld; without one, an identifier that finds several
    /// customers there makes the whole erasure a person's task. A system left with no
    /// identifier it finds people by is a person's task too, never "done, 0 records".
    async fn identify(
        &self,
        record: &RequestRecord,
        system: &str,
        handle: &crate::plugins::SystemHandle,
    ) -> Result<gallra_plugin_api::Subject, Next> {
        let config = &self.context.config;
        let source = self
            .context
            .systems
            .get(&config.account_source)
            .map_err(Next::Retry)?;
        let retry = |e: crate::plugins::CallError| e.next();
        let (usable, why) = match resolve_own(source, record).await.map_err(retry)? {
            Some(resolved) => {
                let why = resolved.withheld_reason();
                (resolved.usable, why)
            }
            None => {
                let shared = crate::identity::shared_in_source(source, &record.identifiers)
                    .await
                    .map_err(retry)?;
                if shared {
                    return Err(Next::NeedsPerson(
                        "the account source holds more than one customer with an identifier of \
                         this request, so it cannot say whose data to erase: ask the requester \
                         for their customer id and submit the request with --customer-id"
                            .into(),
                    ));
                }
                (record.identifiers.clone(), None)
            }
        };
        let subject = subject_for(&usable, config.customer_ids(system));
        let resolves = &handle.description().identifier_kinds;
        if !subject
            .identifiers
            .iter()
            .any(|i| resolves.contains(&i.kind()))
        {
            return Err(Next::NeedsPerson(match why {
                Some(why) => format!("unmatched: {why}; a person must find the requester's data here"),
                None => "unmatched: the request gives no identifier this system finds people by; a person must look".into(),
            }));
        }
        Ok(subject)
    }

    /// Asks the account source and every system that reports status (whatever its
    /// `activity` setting) whether the subject still has active services or unpaid invoices,
    /// through the identifiers the erase will use: an email another customer holds now (a
    /// family address, a mailbox that moved) would find that customer's debts, which are not
    /// the requester's. Any failure to ask blocks too: an erasure never goes ahead on a guess.
    async fn precondition(&self, record: &RequestRecord) -> Option<String> {
        let config = &self.context.config;
        let source = match self.context.systems.get(&config.account_source) {
            Ok(source) => source,
            Err(why) => return Some(format!("cannot check for active services: {why}")),
        };
        let identifiers = match resolve_own(source, record).await {
            Ok(Some(resolved)) => resolved.usable,
            Ok(None) => record.identifiers.clone(),
            Err(e) => return Some(format!("cannot check for active services: {e}")),
        };
        let mut facts = SubjectFacts::default();
        for system in config.systems.values() {
            if system.connector().is_none() {
                continue;
            }
            let reports = self
                .context
                .systems
                .get(&system.name)
                .map_or(true, |h| h.can(gallra_plugin_api::Capability::Status));
            if !(system.name == config.account_source || system.activity || reports) {
                continue;
            }
            let Ok(handle) = self.context.systems.get(&system.name) else {
                return Some(format!(
                    "cannot check for active services: system \"{}\" is unavailable",
                    system.name
                ));
            };
            let subject = subject_for(&identifiers, config.customer_ids(&system.name));
            match handle.call("status", move |i| i.status(&subject)).await {
                Ok(theirs) => facts = merge_facts(&facts, &theirs),
                Err(e) => return Some(format!("cannot check for active services: {e}")),
            }
        }
        crate::policy::request_blocker(&facts).map(str::to_owned)
    }

    /// Holds the request until the next check.
    fn block(
        &self,
        record: &RequestRecord,
        tasks: &[RequestTask],
        why: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let zoned = now.to_zoned(self.context.config.time_zone.clone());
        let recheck = self
            .context
            .config
            .requests
            .recheck_every
            .after(&zoned)
            .timestamp();
        let updates: Vec<TaskUpdate> = tasks
            .iter()
            .filter(|t| t.state == TaskState::Pending)
            .map(|t| TaskUpdate {
                task: t.id,
                state: TaskState::Pending,
                attempted: false,
                not_before: Some(recheck),
                retained_until: None,
                legal_basis: None,
                detail: Some(format!("blocked: {why}; checked again at {recheck}")),
                kept: None,
                resume: None,
            })
            .collect();
        self.store.update_request_tasks(&updates, now)?;
        if record.state != RequestState::Blocked || record.detail.as_deref() != Some(why) {
            self.store
                .set_request_state(record.id, RequestState::Blocked, Some(why), now)?;
        }
        Ok(())
    }

    /// Records step outcomes in the audit log (the subject only as its keyed hash), then as
    /// task updates in the state store, in one transaction. If the log cannot be written
    /// nothing is committed: the tasks stay due and are done again.
    fn record(
        &self,
        request: &RequestRecord,
        tasks: &[RequestTask],
        outcomes: Vec<(super::RequestTaskId, Next)>,
        now: Timestamp,
    ) -> Result<(), DriveError> {
        let base = self.context.config.requests.retry_base;
        let updates: Vec<(TaskUpdate, &RequestTask)> = outcomes
            .into_iter()
            .filter_map(|(id, outcome)| {
                let task = tasks.iter().find(|t| t.id == id)?;
                let notice = self.notices(task);
                let mut update = update(task, outcome, now, base, notice);
                if notice && update.state == TaskState::Pending && task.attempts + 1 == MAX_ATTEMPTS
                {
                    self.notice_unsent(task);
                }
                if self.redone(task) {
                    update.detail = Some(write_ahead::again(update.detail));
                }
                Some((update, task))
            })
            .collect();
        let only: Vec<TaskUpdate> = updates.iter().map(|(u, _)| u.clone()).collect();
        let audit = self.context.audit_log()?;
        write_ahead::record::<_, DriveError>(audit, &outcome_entries(request, &updates), || {
            // Before the outcome: an erasure recorded done always has its tombstone.
            self.tombstones
                .bury(&self.tombstones_for(request, &updates, now))?;
            // Recorded at the time it finished, not when this pass began (`now`): a
            // request's completion is its last task's finish.
            self.store
                .update_request_tasks(&only, crate::clock::now())?;
            Ok(())
        })
    }

    /// Whether a task sends a notice (to a processor without an API, through the SMTP relay
    /// or a webhook). Such a task is tried again as long as the relay fails: nothing but the
    /// relay stands in its way, and a person could do no more than wait for it too.
    fn notices(&self, task: &RequestTask) -> bool {
        self.context
            .config
            .systems
            .get(&task.system)
            .is_some_and(|s| matches!(s.handling, Handling::Notify(_)))
    }

    /// A notice still not sent after [`MAX_ATTEMPTS`]: counted with the escalated notices
    /// (`gallra_notices_escalated_total`, whose alert reaches a person) once, and logged.
    fn notice_unsent(&self, task: &RequestTask) {
        if let Some(metrics) = &self.metrics {
            metrics.notice_escalated(&SafeName::lossy(&task.system));
        }
        tracing::warn!(system = %task.system, request = task.request.0, attempts = MAX_ATTEMPTS, "a deletion notice could not be sent; it is tried again until it goes out");
    }

    /// Whether a task's step erases or anonymizes through a connector (and so is announced
    /// in the audit log before it is taken).
    fn erases(&self, task: &RequestTask) -> bool {
        matches!(task.action, RequestAction::Erase | RequestAction::Anonymize)
            && self
                .context
                .config
                .systems
                .get(&task.system)
                .is_some_and(|s| s.connector().is_some())
    }

    /// Whether a task is taken up again after a drive stopped during its step.
    fn redone(&self, task: &RequestTask) -> bool {
        task.state == TaskState::Running && self.erases(task)
    }

    /// Marks the task running and writes that it is about to be attempted to the audit log,
    /// before any connector call. If the log cannot be written the task is put back as it
    /// was and the request waits for the next drive: nothing was erased.
    fn announce(
        &self,
        request: &RequestRecord,
        task: &RequestTask,
        now: Timestamp,
    ) -> Result<(), DriveError> {
        let mark = |state, not_before| TaskUpdate {
            task: task.id,
            state,
            attempted: false,
            not_before,
            retained_until: None,
            legal_basis: None,
            detail: None,
            kept: None,
            resume: None,
        };
        let detail = if self.redone(task) {
            Some(AGAIN.to_owned())
        } else if task.attempts > 0 {
            Some(format!("tried again (attempt {})", task.attempts + 1))
        } else {
            None
        };
        let mut entry = NewEntry::new(
            Actor::Request(request.id.0),
            words::action(task.action),
            Outcome::Started,
        )
        .system(task.system.clone())
        .subject(&request.identifiers);
        if let Some(detail) = detail {
            entry = entry.detail(detail);
        }
        // Running in the store first: a drive killed before the entry is written leaves
        // the task running, so the next drive's entries say "again".
        let fresh = task.state != TaskState::Running;
        let mark_as = |state, not_before| -> Result<(), DriveError> {
            if fresh {
                self.store
                    .update_request_tasks(&[mark(state, not_before)], now)?;
            }
            Ok(())
        };
        let audit = self.context.audit_log()?;
        write_ahead::announce(
            audit,
            || mark_as(TaskState::Running, None),
            &[entry],
            || mark_as(task.state, task.not_before),
        )
    }
}

/// The audit entries of step outcomes that are final or wait for a person (a retry or a
/// deletion in progress is not an outcome yet).
fn outcome_entries(
    request: &RequestRecord,
    updates: &[(TaskUpdate, &RequestTask)],
) -> Vec<NewEntry> {
    updates
        .iter()
        .filter(|(u, _)| u.state != TaskState::Pending)
        .map(|(u, task)| {
            let entry = NewEntry::new(
                Actor::Request(request.id.0),
                words::action(task.action),
                words::outcome(u.state),
            )
            .system(task.system.clone())
            .subject(&request.identifiers);
            match &u.detail {
                Some(detail) => entry.detail(detail.clone()),
                None => entry,
            }
        })
        .collect()
}

impl Engine {
    /// Tombstones for the erasures among these outcomes, in connector systems.
    fn tombstones_for(
        &self,
        request: &RequestRecord,
        updates: &[(TaskUpdate, &RequestTask)],
        now: Timestamp,
    ) -> Vec<NewTombstone> {
        let Some(keeper) = crate::tombstones::keeper(&self.context.config.state_dir) else {
            return Vec::new();
        };
        let config = &self.context.config;
        updates
            .iter()
            .filter(|(u, task)| {
                u.state == TaskState::Done
                    && matches!(task.action, RequestAction::Erase | RequestAction::Anonymize)
                    && config
                        .systems
                        .get(&task.system)
                        .is_some_and(|s| s.connector().is_some())
            })
            .filter_map(|(_, task)| {
                // At a hold's end the records were found by the references kept, which a
                // restore's re-erasure finds them by too.
                let subject = match &task.kept {
                    Some(kept) => super::hold_end::kept_subject(kept),
                    None => subject_for(&request.identifiers, config.customer_ids(&task.system)),
                };
                keeper.tombstone(&task.system, &subject, now)
            })
            .collect()
    }
}

/// Whether a task waits for a person because [`MAX_ATTEMPTS`] transient failures did not
/// get it done (a retry counts its attempts from zero again).
fn out_of_attempts(task: &RequestTask) -> bool {
    task.state == TaskState::NeedsPerson && task.attempts >= MAX_ATTEMPTS
}

/// Whether any task of the request has been attempted (preconditions are checked only before
/// the first: an erasure under way is not stopped half-done by a new service).
/// For a request that gives the customer id: which of its identifiers pick out the requester
/// alone in the account source `source` ([`crate::identity::resolve`]). None without one.
async fn resolve_own(
    source: &crate::plugins::SystemHandle,
    record: &RequestRecord,
) -> Result<Option<crate::identity::Resolution>, crate::plugins::CallError> {
    let key = record
        .identifiers
        .iter()
        .find(|i| i.kind() == gallra_plugin_api::IdentifierKind::CustomerId)
        .map(|i| i.value());
    let Some(key) = key else { return Ok(None) };
    crate::identity::resolve(source, &key, &record.identifiers)
        .await
        .map(Some)
}

fn started(tasks: &[RequestTask]) -> bool {
    tasks
        .iter()
        .any(|t| t.attempts > 0 || t.state != TaskState::Pending)
}

/// The task update for a step's outcome: the one state machine of every engine
/// ([`task::after`]), for a request's task.
fn update(
    task: &RequestTask,
    outcome: Next,
    now: Timestamp,
    base: std::time::Duration,
    notice: bool,
) -> TaskUpdate {
    let taken = Taken {
        task: task.id.0,
        request: task.request.0,
        attempts: task.attempts,
        detail: task.detail.as_deref(),
    };
    let maker = Maker::Request { notice };
    let step = task::after(maker, &taken, outcome, now, base, rand::random::<f64>());
    TaskUpdate {
        task: task.id,
        state: step.state,
        attempted: true,
        not_before: step.not_before,
        retained_until: step.retained_until,
        legal_basis: step.legal_basis,
        detail: Some(step.detail),
        kept: step.kept,
        resume: step.resume,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::{RequestId, RequestTaskId};

    mod write_ahead {
        use std::path::Path;

        use gallra_plugin_api::{Identifier, IdentifierKind};

        use super::*;
        use crate::audit::testing;
        use crate::plugins::{PluginFinder, Systems};
        use crate::store::SqliteStore;

        /// An engine over one erasure request with one task in "crm", a system whose plugin
        /// is not there (its step fails before any connector call), attempted `attempts`
        /// times already (so no precondition is asked), and an audit log that starts a new
        /// file at every batch after the first.
        fn engine(dir: &Path, attempts: u32) -> (Engine, Arc<SqliteStore>, RequestTaskId) {
            let store = Arc::new(SqliteStore::open(&dir.join("state")).unwrap());
            let email = Identifier::parse(IdentifierKind::Email, "anna@example.se").unwrap();
            let task = crate::requests::NewRequestTask {
                system: "crm".into(),
                action: RequestAction::Erase,
                order: 0,
            };
            let now = crate::clock::now();
            let id = store
                .create_request(RequestKind::Erase, &[email], now, now, None, &[task])
                .unwrap();
            let task = store.request_tasks(id).unwrap()[0].id;
            let attempted = TaskUpdate {
                task,
                state: TaskState::Pending,
                attempted: true,
                not_before: None,
                retained_until: None,
                legal_basis: None,
                detail: None,
                kept: None,
                resume: None,
            };
            for _ in 0..attempts {
                store
                    .update_request_tasks(std::slice::from_ref(&attempted), now)
                    .unwrap();
            }
            let text =
                "state_dir = \"s\"\naccount_source = \"crm\"\n[systems.crm]\nplugin = \"sql\"\n";
            let config = crate::config::parse(text, Path::new("/g.toml")).unwrap();
            let finder = PluginFinder::new(Some(&dir.join("no-plugins")));
            let context = Context {
                systems: Arc::new(Systems::open(&config, &finder)),
                config: Arc::new(config),
                progress: false,
                audit: Some(Arc::new(testing::log(dir, 1))),
            };
            let engine = Engine::new(context, store.clone(), dir.join("exports"));
            (engine, store, task)
        }

        fn entries(dir: &Path) -> Vec<(String, String)> {
            testing::entries(dir, "anna")
        }

        fn task(store: &SqliteStore, id: RequestTaskId) -> RequestTask {
            let request = RequestId(1);
            let tasks = store.request_tasks(request).unwrap();
            tasks.into_iter().find(|t| t.id == id).unwrap()
        }

        #[tokio::test]
        async fn an_audit_log_that_cannot_take_the_intent_leaves_the_request_untouched() {
            let dir = tempfile::tempdir().unwrap();
            let (engine, store, id) = engine(dir.path(), 1);
            let audit = engine.context.audit.clone().unwrap();
            audit
                .append(NewEntry::new(
                    Actor::Operator,
                    crate::audit::Action::Erase,
                    Outcome::Done,
                ))
                .unwrap();
            testing::block_second_file(dir.path());

            let error = engine.drive(crate::clock::now()).await.unwrap_err();
            assert!(matches!(error, DriveError::Audit(_)), "{error}");
            assert!(error.to_string().contains("is the disk full?"), "{error}");
            let task = task(&store, id);
            assert_eq!(
                (task.state, task.attempts),
                (TaskState::Pending, 1),
                "not attempted, and due for the next drive as it was"
            );
            assert_eq!(
                entries(dir.path()).len(),
                1,
                "nothing of the step was written"
            );
        }

        #[tokio::test]
        async fn an_outcome_the_audit_log_cannot_take_is_not_committed_and_done_again() {
            let dir = tempfile::tempdir().unwrap();
            // The next attempt is the last: its outcome is final, and written.
            let (engine, store, id) = engine(dir.path(), MAX_ATTEMPTS - 1);
            let blocker = testing::block_second_file(dir.path());

            let error = engine.drive(crate::clock::now()).await.unwrap_err();
            assert!(matches!(error, DriveError::Audit(_)), "{error}");
            let stopped = task(&store, id);
            assert_eq!(
                (stopped.state, stopped.attempts),
                (TaskState::Running, MAX_ATTEMPTS - 1),
                "the outcome was not committed"
            );
            assert_eq!(entries(dir.path())[0].0, "started");

            std::fs::remove_dir(&blocker).unwrap();
            let mut engine = engine;
            engine.context.audit = Some(Arc::new(testing::log(dir.path(), 1 << 20)));
            engine.drive(crate::clock::now()).await.unwrap();
            let done = task(&store, id);
            assert_eq!(
                done.state,
                TaskState::NeedsPerson,
                "the plugin is missing: a person is told"
            );
            let detail = done.detail.unwrap_or_default();
            assert!(
                detail.starts_with(&format!("{AGAIN}: not done after")),
                "{detail}"
            );
            let written = entries(dir.path());
            assert_eq!(written.len(), 3, "{written:?}");
            assert_eq!(written[1], ("started".into(), AGAIN.into()));
            // The log keeps the start of a long detail.
            assert_eq!(written[2].0, "needs_person");
            assert!(
                detail.starts_with(written[2].1.trim_end_matches('…')),
                "{written:?}"
            );
        }
    }
}
