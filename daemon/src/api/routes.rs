//! The handlers: each reads and checks its input, calls the synchronous [`RequestService`] on
//! the blocking pool, and answers JSON.

use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gallra_plugin_api::{Identifier, IdentifierKind};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::errors::{json_error, ErrorCode, HttpError};
use crate::requests::{RequestId, RequestKind, RequestService, RequestTaskId, ServiceError};

/// The service as the handlers hold it.
pub(super) type Service = Arc<dyn RequestService>;

/// Every route, as (method, path template): the router, the OpenAPI document and the tests
/// all answer to this list.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/health"),
    ("GET", "/v1/openapi.json"),
    ("POST", "/v1/requests"),
    ("GET", "/v1/requests"),
    ("GET", "/v1/requests/{id}"),
    ("POST", "/v1/requests/{id}/cancel"),
    ("GET", "/v1/tasks"),
    ("POST", "/v1/tasks/{id}/retry"),
    ("POST", "/v1/tasks/{id}/done"),
];

/// `GET /v1/requests` returns at most this many unless `limit` says otherwise.
pub const DEFAULT_LIST_LIMIT: usize = 100;
/// The largest `limit` accepted.
pub const MAX_LIST_LIMIT: usize = 1000;
/// The longest cancel reason or task note accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

/// The identifier fields of a request body, in the order they are checked.
pub const IDENTIFIER_FIELDS: [IdentifierKind; 5] = [
    IdentifierKind::Email,
    IdentifierKind::Personnummer,
    IdentifierKind::CustomerId,
    IdentifierKind::Phone,
    IdentifierKind::Domain,
];

/// `POST /v1/requests`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "SubmitRequest")]
struct SubmitBody {
    kind: String,
    identifiers: IdentifiersBody,
}

/// Who the request is about; at least one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "Identifiers")]
struct IdentifiersBody {
    email: Option<String>,
    personnummer: Option<String>,
    customer_id: Option<String>,
    phone: Option<String>,
    domain: Option<String>,
}

impl IdentifiersBody {
    fn get(&self, kind: IdentifierKind) -> Option<&str> {
        match kind {
            IdentifierKind::Email => self.email.as_deref(),
            IdentifierKind::Personnummer => self.personnummer.as_deref(),
            IdentifierKind::CustomerId => self.customer_id.as_deref(),
            IdentifierKind::Phone => self.phone.as_deref(),
            IdentifierKind::Domain => self.domain.as_deref(),
            IdentifierKind::Ip => None,
        }
    }
}

/// `POST /v1/requests/{id}/cancel`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "CancelRequest")]
struct CancelBody {
    reason: String,
}

/// `POST /v1/tasks/{id}/done`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "TaskDoneRequest")]
struct DoneBody {
    note: String,
}

/// `POST /v1/tasks/{id}/retry`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "TaskRetryRequest")]
struct RetryBody {
    reason: String,
}

pub(super) async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

pub(super) async fn submit(
    State(service): State<Service>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let body: SubmitBody = json_body(&headers, body)?;
    let kind = RequestKind::from_str(&body.kind).map_err(|_| {
        let kinds: Vec<&str> = RequestKind::ALL.iter().map(|k| k.as_str()).collect();
        HttpError::invalid(format!("kind: expected one of {}", kinds.join(", ")))
    })?;
    let identifiers = identifiers(&body.identifiers)?;
    let view = call(&service, move |s| s.submit(kind, identifiers)).await?;
    let location = format!("/v1/requests/{}", view.summary.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response())
}

/// Parses every identifier given, naming each refused field and never its value.
fn identifiers(body: &IdentifiersBody) -> Result<Vec<Identifier>, HttpError> {
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    for kind in IDENTIFIER_FIELDS {
        if let Some(value) = body.get(kind) {
            match Identifier::parse(kind, value) {
                Ok(id) => parsed.push(id),
                Err(err) => problems.push(format!("identifiers.{kind}: {err}")),
            }
        }
    }
    if !problems.is_empty() {
        return Err(HttpError::invalid(problems.join("; ")));
    }
    if parsed.is_empty() {
        let names: Vec<&str> = IDENTIFIER_FIELDS.iter().map(|k| k.as_str()).collect();
        return Err(HttpError::invalid(format!(
            "identifiers: give at least one of {}",
            names.join(", ")
        )));
    }
    Ok(parsed)
}

pub(super) async fn list(
    State(service): State<Service>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, HttpError> {
    let Query(pairs) =
        query.map_err(|_| HttpError::bad_request("the query string is malformed"))?;
    let mut open = None;
    let mut limit = None;
    for (key, value) in pairs {
        match key.as_str() {
            "open" if open.is_none() => {
                open = Some(match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(HttpError::bad_request("open: expected true or false")),
                });
            }
            "limit" if limit.is_none() => {
                let n = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
                    .ok_or_else(|| {
                        HttpError::bad_request(format!(
                            "limit: expected a whole number from 1 to {MAX_LIST_LIMIT}"
                        ))
                    })?;
                limit = Some(n);
            }
            "open" | "limit" => {
                return Err(HttpError::bad_request(format!(
                    "query parameter `{key}` given twice"
                )))
            }
            // The name is the client's: not repeated, whatever it looks like.
            _ => {
                return Err(HttpError::bad_request(
                    "an unknown query parameter (expected `open` or `limit`)",
                ))
            }
        }
    }
    let open = open.unwrap_or(false);
    let limit = limit.unwrap_or(DEFAULT_LIST_LIMIT);
    let summaries = call(&service, move |s| s.list(open, limit)).await?;
    Ok(Json(summaries).into_response())
}

pub(super) async fn show(
    State(service): State<Service>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, HttpError> {
    let id = RequestId(path_id(path, "request")?);
    let view = call(&service, move |s| s.show(id)).await?;
    Ok(Json(view).into_response())
}

pub(super) async fn cancel(
    State(service): State<Service>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let id = RequestId(path_id(path, "request")?);
    let body: CancelBody = json_body(&headers, body)?;
    let reason = text_field("reason", &body.reason)?;
    let view = call(&service, move |s| s.cancel(id, &reason)).await?;
    Ok(Json(view).into_response())
}

pub(super) async fn tasks(State(service): State<Service>) -> Result<Response, HttpError> {
    let tasks = call(&service, |s| s.manual_tasks()).await?;
    Ok(Json(tasks).into_response())
}

pub(super) async fn task_done(
    State(service): State<Service>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let id = RequestTaskId(path_id(path, "task")?);
    let body: DoneBody = json_body(&headers, body)?;
    let note = text_field("note", &body.note)?;
    let task = call(&service, move |s| s.task_done(id, &note)).await?;
    Ok(Json(task).into_response())
}

pub(super) async fn task_retry(
    State(service): State<Service>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let id = RequestTaskId(path_id(path, "task")?);
    let body: RetryBody = json_body(&headers, body)?;
    let reason = text_field("reason", &body.reason)?;
    let task = call(&service, move |s| s.task_retry(id, &reason)).await?;
    Ok(Json(task).into_response())
}

/// Runs a service call on the blocking pool (the service is synchronous).
async fn call<T, F>(service: &Service, f: F) -> Result<T, HttpError>
where
    T: Send + 'static,
    F: FnOnce(&dyn RequestService) -> Result<T, ServiceError> + Send + 'static,
{
    let service = Arc::clone(service);
    match tokio::task::spawn_blocking(move || f(service.as_ref())).await {
        Ok(result) => result.map_err(HttpError::from),
        Err(_) => {
            // The panic itself went to the panic hook; its message is not repeated here
            // because it could hold anything.
            tracing::error!(target: "gallra::api", "the request service panicked");
            Err(HttpError::new(
                ErrorCode::Internal,
                "gallra failed while handling this request; see the daemon log",
            ))
        }
    }
}

/// A request or task number from the path: a positive whole number.
fn path_id(path: Result<Path<String>, PathRejection>, what: &str) -> Result<i64, HttpError> {
    let refused = || HttpError::bad_request(format!("a {what} id is a positive whole number"));
    let Path(text) = path.map_err(|_| refused())?;
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refused());
    }
    text.parse::<i64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(refused)
}

/// Reads a JSON body. A `Content-Type` other than JSON is refused; none at all is taken as
/// JSON (a hand-written `curl` call forgets it).
fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, HttpError> {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        if !is_json(content_type.as_bytes()) {
            return Err(HttpError::bad_request(
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
    }
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HttpError::payload_too_large()
        } else {
            HttpError::bad_request("the body could not be read")
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|err| json_error(&err))
}

/// `application/json`, or any `+json` type, with or without parameters.
fn is_json(content_type: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(content_type) else {
        return false;
    };
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A free-text field (a reason, a note): not blank, not too long, no control characters
/// other than newlines and tabs. It is stored and shown on receipts.
fn text_field(name: &str, value: &str) -> Result<String, HttpError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(HttpError::invalid(format!("{name}: must not be empty")));
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(HttpError::invalid(format!(
            "{name}: at most {MAX_TEXT_CHARS} characters"
        )));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(HttpError::invalid(format!(
            "{name}: control characters are not allowed"
        )));
    }
    Ok(value.to_owned())
}
