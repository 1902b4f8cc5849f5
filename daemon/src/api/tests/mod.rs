//! The API against an in-memory request service.

mod guards;
mod hostile;
mod openapi;
mod routes;
mod serve;

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use gallra_plugin_api::Identifier;
use jiff::Timestamp;
use serde_json::Value;
use tower::ServiceExt;

use super::{router, Auth};
use crate::requests::{
    Receipt, ReceiptLine, ReceiptOutcome, RequestAction, RequestId, RequestKind, RequestService,
    RequestState, RequestSummary, RequestTaskId, RequestView, ServiceError, TaskView,
};
use crate::store::TaskState;

pub(super) const TOKEN: &str = "test-token-0123456789abcdef";

/// Requests in memory: each gets two tasks, one automatic and one manual.
#[derive(Default)]
pub(super) struct FakeService {
    state: Mutex<FakeState>,
}

#[derive(Default)]
struct FakeState {
    requests: Vec<RequestView>,
    /// What `submit` received, to check normalization reaches the service.
    submitted: Vec<(RequestKind, Vec<Identifier>)>,
    unavailable: bool,
}

impl FakeService {
    pub(super) fn submitted(&self) -> Vec<(RequestKind, Vec<Identifier>)> {
        self.state.lock().unwrap().submitted.clone()
    }

    pub(super) fn set_unavailable(&self, unavailable: bool) {
        self.state.lock().unwrap().unavailable = unavailable;
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut FakeState) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        let mut state = self.state.lock().unwrap();
        if state.unavailable {
            return Err(ServiceError::Unavailable(
                "the state store is locked; try again".into(),
            ));
        }
        f(&mut state)
    }
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).unwrap()
}

fn task(id: i64, request: i64, system: &str, action: RequestAction, state: TaskState) -> TaskView {
    TaskView {
        id: RequestTaskId(id),
        request: RequestId(request),
        system: system.into(),
        action,
        state,
        attempts: 0,
        not_before: None,
        retained_until: None,
        legal_basis: None,
        detail: None,
        finished_at: None,
        instructions: (action == RequestAction::Manual).then(|| "Shred the binder page".into()),
    }
}

impl FakeState {
    fn request_mut(&mut self, id: RequestId) -> Result<&mut RequestView, ServiceError> {
        self.requests
            .iter_mut()
            .find(|r| r.summary.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("no request {id}")))
    }

    fn task_mut(&mut self, id: RequestTaskId) -> Result<&mut TaskView, ServiceError> {
        self.requests
            .iter_mut()
            .flat_map(|r| r.task_list.iter_mut())
            .find(|t| t.id == id)
            .ok_or_else(|| ServiceError::NotFound(format!("no task {id}")))
    }
}

impl RequestService for FakeService {
    fn submit(
        &self,
        kind: RequestKind,
        identifiers: Vec<Identifier>,
    ) -> Result<RequestView, ServiceError> {
        self.with(|state| {
            let id = state.requests.len() as i64 + 1;
            // Later requests fall due sooner, so sorting is visible.
            let due = at(30 * 86_400 - id * 3600);
            let view = RequestView {
                summary: RequestSummary {
                    id: RequestId(id),
                    kind,
                    state: RequestState::Open,
                    received_at: at(id),
                    due_at: due,
                    at_risk: false,
                    overdue: false,
                    tasks: 2,
                    tasks_open: 2,
                    detail: None,
                    filed_by: None,
                },
                task_list: vec![
                    task(
                        2 * id - 1,
                        id,
                        "panel",
                        RequestAction::Erase,
                        TaskState::Pending,
                    ),
                    task(
                        2 * id,
                        id,
                        "binders",
                        RequestAction::Manual,
                        TaskState::NeedsPerson,
                    ),
                ],
                receipt: None,
            };
            state.submitted.push((kind, identifiers));
            state.requests.push(view.clone());
            Ok(view)
        })
    }

    fn list(&self, open_only: bool, limit: usize) -> Result<Vec<RequestSummary>, ServiceError> {
        self.with(|state| {
            let mut list: Vec<RequestSummary> = state
                .requests
                .iter()
                .map(|r| r.summary.clone())
                .filter(|s| !open_only || s.state == RequestState::Open)
                .collect();
            list.sort_by_key(|s| s.due_at);
            list.truncate(limit);
            Ok(list)
        })
    }

    fn show(&self, id: RequestId) -> Result<RequestView, ServiceError> {
        self.with(|state| state.request_mut(id).map(|r| r.clone()))
    }

    fn cancel(&self, id: RequestId, reason: &str) -> Result<RequestView, ServiceError> {
        self.with(|state| {
            let view = state.request_mut(id)?;
            if view.summary.state != RequestState::Open {
                return Err(ServiceError::Conflict(format!(
                    "request {id} is {}; only an open or blocked request can be cancelled",
                    view.summary.state
                )));
            }
            view.summary.state = RequestState::Cancelled;
            view.summary.detail = Some(format!("cancelled: {reason}"));
            view.summary.tasks_open = 0;
            view.receipt = Some(Receipt {
                request: id,
                kind: view.summary.kind,
                state: RequestState::Cancelled,
                received_at: view.summary.received_at,
                completed_at: Some(at(100)),
                systems: vec![ReceiptLine {
                    system: "panel".into(),
                    outcome: ReceiptOutcome::Cancelled,
                    detail: Some("cancelled".into()),
                    retained_until: Some(at(200)),
                    legal_basis: Some("Bokföringslagen 7 kap. 2 §".into()),
                }],
                backups_expire_by: Some(at(300)),
            });
            Ok(view.clone())
        })
    }

    fn manual_tasks(&self) -> Result<Vec<TaskView>, ServiceError> {
        self.with(|state| {
            Ok(state
                .requests
                .iter()
                .flat_map(|r| r.task_list.iter())
                .filter(|t| t.state == TaskState::NeedsPerson)
                .cloned()
                .collect())
        })
    }

    fn task_done(&self, id: RequestTaskId, note: &str) -> Result<TaskView, ServiceError> {
        self.with(|state| {
            let task = state.task_mut(id)?;
            if task.state != TaskState::NeedsPerson {
                return Err(ServiceError::Conflict(format!(
                    "task {id} is {}; only a task waiting for a person can be done",
                    task.state
                )));
            }
            task.state = TaskState::Done;
            task.detail = Some(note.to_owned());
            Ok(task.clone())
        })
    }

    fn task_retry(&self, id: RequestTaskId, reason: &str) -> Result<TaskView, ServiceError> {
        self.with(|state| {
            let task = state.task_mut(id)?;
            if !matches!(task.state, TaskState::NeedsPerson | TaskState::Failed) {
                return Err(ServiceError::Conflict(format!(
                    "task {id} is {}, not needs_person or failed",
                    task.state
                )));
            }
            // A manual task tried again is handed straight back to a person by the engine.
            task.state = match task.action {
                RequestAction::Manual => TaskState::NeedsPerson,
                _ => TaskState::Pending,
            };
            task.attempts = 0;
            task.detail = Some(reason.to_owned());
            Ok(task.clone())
        })
    }
}

/// A router over a fresh fake, with the fake for inspection.
pub(super) fn app(auth: Auth) -> (Router, Arc<FakeService>) {
    let fake = Arc::new(FakeService::default());
    (router(fake.clone(), auth), fake)
}

pub(super) fn bearer() -> Auth {
    Auth::Bearer(vec!["another-token".into(), TOKEN.into()])
}

/// One answer, body parsed as JSON when it is.
pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    /// The error code, asserting the error shape.
    pub fn code(&self) -> &str {
        self.json["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error body ({}): {}", self.status, self.text))
    }

    /// Asserts that this is the error `status` with `code`, and that its text does not echo
    /// `secret` (a value from the request that `case` names).
    pub fn assert_error(&self, status: StatusCode, code: &str, secret: &str, case: &str) {
        assert_eq!(self.status, status, "{case}: {}", self.text);
        assert_eq!(self.code(), code, "{case}");
        assert!(!self.text.contains(secret), "{case} echoed: {}", self.text);
    }

    /// The `id` of each element of a JSON array body, in order.
    pub fn ids(&self) -> Vec<i64> {
        self.json
            .as_array()
            .unwrap_or_else(|| panic!("not a list ({}): {}", self.status, self.text))
            .iter()
            .map(|item| item["id"].as_i64().unwrap())
            .collect()
    }
}

pub(super) async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        text,
        json,
    }
}

/// A request with a JSON body (or none) and the test token.
pub(super) fn request(method: &str, uri: &str, body: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"));
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    builder
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
        .unwrap()
}

pub(super) async fn call(app: &Router, method: &str, uri: &str, body: Option<&str>) -> Answer {
    send(app, request(method, uri, body)).await
}

/// `GET uri` with the test token.
pub(super) async fn get(app: &Router, uri: &str) -> Answer {
    call(app, "GET", uri, None).await
}

/// `POST uri` with a JSON `body` and the test token.
pub(super) async fn post(app: &Router, uri: &str, body: &str) -> Answer {
    call(app, "POST", uri, Some(body)).await
}

pub(super) const ERASE_ANNA: &str = r#"{"kind":"erase","identifiers":{"email":"Anna.Svensson@Example.se","personnummer":"19811218-9876"}}"#;
