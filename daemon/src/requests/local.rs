//! The request service over the local state store: what `gallra request …`, `gallra task …`
//! and the admin API call.

use std::sync::Arc;

use gallra_plugin_api::Identifier;
use jiff::Timestamp;

use super::intake::{check_identifiers, due_date, fan_out};
use super::model::{
    RequestId, RequestKind, RequestRecord, RequestState, RequestTask, RequestTaskId, TaskUpdate,
};
use super::receipt::build_receipt;
use super::service::RequestService;
use super::settle::{is_open, settle};
use super::view::{RequestSummary, RequestView, ServiceError, TaskView};
use crate::config::{Config, Handling};
use crate::store::{Cancel, RequestStore, StoreError, TaskState};
use gallra_core::free_text::refuse_personal_data;

/// Requests kept in the local state store.
pub struct LocalService {
    config: Arc<Config>,
    store: Arc<dyn RequestStore>,
}

impl LocalService {
    /// The service for this config and store.
    pub fn new(config: Arc<Config>, store: Arc<dyn RequestStore>) -> Self {
        Self { config, store }
    }

    fn record(&self, id: RequestId) -> Result<RequestRecord, ServiceError> {
        self.store
            .request(id)
            .map_err(unavailable)?
            .ok_or_else(|| ServiceError::NotFound(format!("no request {id}")))
    }

    fn summary(
        &self,
        record: &RequestRecord,
        tasks: &[RequestTask],
        now: Timestamp,
    ) -> RequestSummary {
        let open = matches!(record.state, RequestState::Open | RequestState::Blocked);
        let zoned = now.to_zoned(self.config.time_zone.clone());
        let risk_from = self
            .config
            .requests
            .at_risk_within
            .after(&zoned)
            .timestamp();
        RequestSummary {
            id: record.id,
            kind: record.kind,
            state: record.state,
            received_at: record.received_at,
            due_at: record.due_at,
            at_risk: open && record.due_at <= risk_from,
            overdue: open && record.due_at < now,
            tasks: tasks.len(),
            tasks_open: tasks.iter().filter(|t| is_open(t)).count(),
            detail: record.detail.clone(),
            filed_by: record.origin.clone(),
        }
    }

    fn task_view(&self, task: &RequestTask) -> TaskView {
        let instructions = self
            .config
            .systems
            .get(&task.system)
            .and_then(|s| match &s.handling {
                Handling::Manual { instructions } => Some(instructions.clone()),
                _ => None,
            });
        TaskView {
            id: task.id,
            request: task.request,
            system: task.system.clone(),
            action: task.action,
            state: task.state,
            attempts: task.attempts,
            not_before: task.not_before,
            retained_until: task.retained_until,
            legal_basis: task.legal_basis.clone(),
            detail: task.detail.clone(),
            finished_at: task.finished_at,
            instructions,
        }
    }

    fn view(&self, record: &RequestRecord) -> Result<RequestView, ServiceError> {
        let tasks = self.store.request_tasks(record.id).map_err(unavailable)?;
        let receipt = matches!(
            record.state,
            RequestState::Done | RequestState::Failed | RequestState::Cancelled
        )
        .then(|| {
            let backups = |system: &str| {
                self.config
                    .systems
                    .get(system)
                    .and_then(|s| s.backup_retention.clone())
            };
            build_receipt(record, &tasks, &backups, &self.config.time_zone)
        });
        Ok(RequestView {
            summary: self.summary(record, &tasks, crate::clock::now()),
            task_list: tasks.iter().map(|t| self.task_view(t)).collect(),
            receipt,
        })
    }
}

fn not_open(id: RequestId, state: RequestState) -> ServiceError {
    ServiceError::Conflict(format!(
        "request {id} is {state} already: it cannot be cancelled"
    ))
}

fn unavailable(error: StoreError) -> ServiceError {
    ServiceError::Unavailable(format!("state store: {error}"))
}

impl RequestService for LocalService {
    fn submit(
        &self,
        kind: RequestKind,
        identifiers: Vec<Identifier>,
    ) -> Result<RequestView, ServiceError> {
        check_identifiers(&identifiers)?;
        let tasks = fan_out(&self.config, kind);
        if tasks.is_empty() {
            return Err(ServiceError::Invalid(format!(
                "no configured system takes {kind} requests"
            )));
        }
        let now = crate::clock::now();
        let due = due_date(&self.config, kind, now);
        let extension = self.config.requests.extension_reason.as_deref();
        let id = self
            .store
            .create_request(kind, &identifiers, now, due, extension, &tasks)
            .map_err(unavailable)?;
        tracing::info!(request = id.0, kind = %kind, tasks = tasks.len(), due = %due, "request received");
        self.view(&self.record(id)?)
    }

    fn list(&self, open_only: bool, limit: usize) -> Result<Vec<RequestSummary>, ServiceError> {
        let now = crate::clock::now();
        // "Open" includes failed requests: they need a person and must not drop out of sight.
        let records: Vec<RequestRecord> = if open_only {
            let all = self
                .store
                .list_requests(false, usize::MAX >> 1)
                .map_err(unavailable)?;
            all.into_iter()
                .filter(|r| {
                    matches!(
                        r.state,
                        RequestState::Open | RequestState::Blocked | RequestState::Failed
                    )
                })
                .take(limit)
                .collect()
        } else {
            self.store
                .list_requests(false, limit)
                .map_err(unavailable)?
        };
        records
            .iter()
            .map(|r| {
                Ok(self.summary(
                    r,
                    &self.store.request_tasks(r.id).map_err(unavailable)?,
                    now,
                ))
            })
            .collect()
    }

    fn show(&self, id: RequestId) -> Result<RequestView, ServiceError> {
        self.view(&self.record(id)?)
    }

    fn cancel(&self, id: RequestId, reason: &str) -> Result<RequestView, ServiceError> {
        let record = self.record(id)?;
        if !matches!(
            record.state,
            RequestState::Open | RequestState::Blocked | RequestState::Failed
        ) {
            return Err(not_open(id, record.state));
        }
        refuse_personal_data("reason", reason, &record.identifiers)
            .map_err(ServiceError::Invalid)?;
        // One transaction: a step under way cannot write over it, and no identifier stays.
        let detail = format!("cancelled: {reason}");
        let now = crate::clock::now();
        match self
            .store
            .cancel_request(id, &detail, now)
            .map_err(unavailable)?
        {
            Cancel::Cancelled => {}
            Cancel::NotOpen(state) => return Err(not_open(id, state)),
        }
        tracing::info!(request = id.0, "request cancelled");
        self.show(id)
    }

    fn manual_tasks(&self) -> Result<Vec<TaskView>, ServiceError> {
        let tasks = self.store.needs_person_tasks().map_err(unavailable)?;
        Ok(tasks.iter().map(|t| self.task_view(t)).collect())
    }

    fn task_done(&self, id: RequestTaskId, note: &str) -> Result<TaskView, ServiceError> {
        self.by_person(id, &[TaskState::NeedsPerson], "note", note, |task, now| {
            let update = TaskUpdate {
                task: task.id,
                state: TaskState::Done,
                attempted: false,
                not_before: None,
                retained_until: None,
                legal_basis: None,
                detail: Some(format!("done by a person: {note}")),
                kept: None,
                resume: None,
            };
            self.store.update_request_tasks(&[update], now)?;
            tracing::info!(
                task = id.0,
                request = task.request.0,
                "manual task confirmed"
            );
            Ok(())
        })
    }

    fn task_retry(&self, id: RequestTaskId, reason: &str) -> Result<TaskView, ServiceError> {
        let states = [TaskState::NeedsPerson, TaskState::Failed];
        self.by_person(id, &states, "reason", reason, |task, now| {
            let detail = match reason.trim() {
                "" => "to be tried again, as a person asked".to_owned(),
                reason => format!("to be tried again, as a person asked: {reason}"),
            };
            self.store.retry_request_task(task.id, &detail, now)?;
            // The account source's erasure failed, or was never made, because this task
            // failed (it goes last, keeping the subject findable): it comes back with it.
            for other in self.store.request_tasks(task.request)? {
                let held_back = other.id != task.id
                    && other.system == self.config.account_source
                    && other.state == TaskState::Failed
                    && other.action == super::RequestAction::Erase;
                if held_back {
                    self.store.retry_request_task(other.id, &detail, now)?;
                }
            }
            tracing::info!(
                task = id.0,
                request = task.request.0,
                "task to be tried again"
            );
            Ok(())
        })
    }
}

impl LocalService {
    /// What a person does to a task (confirms it done, has it tried again): checked to be in
    /// one of `states`, with `text` (the note or reason, `field`) refused if it holds personal
    /// data; then `act` changes the task and the request is settled (a failed one reopens, a
    /// done one forgets its identifiers). The task as it then stands.
    fn by_person(
        &self,
        id: RequestTaskId,
        states: &[TaskState],
        field: &str,
        text: &str,
        act: impl FnOnce(&RequestTask, Timestamp) -> Result<(), StoreError>,
    ) -> Result<TaskView, ServiceError> {
        let task = self
            .store
            .request_task(id)
            .map_err(unavailable)?
            .ok_or_else(|| ServiceError::NotFound(format!("no task {id}")))?;
        if !states.contains(&task.state) {
            let wanted: Vec<String> = states.iter().map(|s| s.to_string()).collect();
            return Err(ServiceError::Conflict(match states {
                [TaskState::NeedsPerson] => {
                    format!("task {id} is {}, not waiting for a person", task.state)
                }
                _ => format!("task {id} is {}, not {}", task.state, wanted.join(" or ")),
            }));
        }
        let record = self.record(task.request)?;
        if record.state == RequestState::Cancelled {
            return Err(ServiceError::Conflict(format!(
                "task {id} belongs to request {}, which is cancelled",
                record.id
            )));
        }
        refuse_personal_data(field, text, &record.identifiers).map_err(ServiceError::Invalid)?;
        let now = crate::clock::now();
        act(&task, now).map_err(|e| match e {
            StoreError::RequestCancelled { request } => ServiceError::Conflict(format!(
                "task {id} belongs to request {request}, which is cancelled"
            )),
            e => unavailable(e),
        })?;
        settle(self.store.as_ref(), &record, now).map_err(unavailable)?;
        let task = self
            .store
            .request_task(id)
            .map_err(unavailable)?
            .unwrap_or(task);
        Ok(self.task_view(&task))
    }
}
