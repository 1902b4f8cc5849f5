//! The OpenAPI 3.1 document served at `/v1/openapi.json`, written by hand as JSON (no
//! generator dependency). Enumerations come from the model's own lists, and the tests check
//! the document against [`super::ROUTES`] and against serialized views, so it cannot drift
//! far from what the API does.

use serde_json::{json, Map, Value};

use super::errors::ErrorCode;
use super::routes::{DEFAULT_LIST_LIMIT, IDENTIFIER_FIELDS, MAX_LIST_LIMIT, MAX_TEXT_CHARS};
use crate::requests::{RequestAction, RequestKind, RequestState};
use crate::store::TaskState;

/// The document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "gallra admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Submit and follow data subjects' requests (erasure, export, \
                restriction, objection) and confirm manual tasks. On the unix socket no token \
                is needed (the socket's file mode is the access control); on TCP every route \
                except /v1/health and /v1/openapi.json needs `Authorization: Bearer <token>`. \
                Errors are always `{\"error\":{\"code\":…,\"message\":…}}`; messages never \
                repeat submitted values.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Whether the API answers",
                    "security": [],
                    "responses": {
                        "200": json_response("Up", json!({
                            "type": "object",
                            "properties": {"status": {"const": "ok"}},
                            "required": ["status"]
                        }))
                    }
                }
            },
            "/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": json_response("OpenAPI 3.1 document", json!({"type": "object"}))}
                }
            },
            "/v1/requests": {
                "post": {
                    "operationId": "submitRequest",
                    "summary": "Receive a request; it gets a due date and one task per system",
                    "requestBody": body_ref("SubmitRequest"),
                    "responses": responses(
                        ("201", "Received", schema_ref("RequestView")),
                        &["400", "401", "413", "422", "503"],
                    )
                },
                "get": {
                    "operationId": "listRequests",
                    "summary": "Requests by due date, soonest first",
                    "parameters": [
                        {
                            "name": "open", "in": "query", "required": false,
                            "description": "Only requests that are not final",
                            "schema": {"type": "boolean", "default": false}
                        },
                        {
                            "name": "limit", "in": "query", "required": false,
                            "schema": {"type": "integer", "minimum": 1,
                                "maximum": MAX_LIST_LIMIT, "default": DEFAULT_LIST_LIMIT}
                        }
                    ],
                    "responses": responses(
                        ("200", "Requests", json!({"type": "array", "items": schema_ref("RequestSummary")})),
                        &["400", "401", "503"],
                    )
                }
            },
            "/v1/requests/{id}": {
                "parameters": [id_parameter("The request's number")],
                "get": {
                    "operationId": "showRequest",
                    "summary": "One request with its tasks and, once final, its receipt",
                    "responses": responses(
                        ("200", "The request", schema_ref("RequestView")),
                        &["400", "401", "404", "503"],
                    )
                }
            },
            "/v1/requests/{id}/cancel": {
                "parameters": [id_parameter("The request's number")],
                "post": {
                    "operationId": "cancelRequest",
                    "summary": "Cancel an open or blocked request; tasks that have not run stop",
                    "requestBody": body_ref("CancelRequest"),
                    "responses": responses(
                        ("200", "The cancelled request", schema_ref("RequestView")),
                        &["400", "401", "404", "409", "413", "422", "503"],
                    )
                }
            },
            "/v1/tasks": {
                "get": {
                    "operationId": "listManualTasks",
                    "summary": "Tasks waiting for a person, oldest due first",
                    "responses": responses(
                        ("200", "Tasks", json!({"type": "array", "items": schema_ref("TaskView")})),
                        &["401", "503"],
                    )
                }
            },
            "/v1/tasks/{id}/done": {
                "parameters": [id_parameter("The task's number")],
                "post": {
                    "operationId": "completeTask",
                    "summary": "A person confirms a manual task",
                    "requestBody": body_ref("TaskDoneRequest"),
                    "responses": responses(
                        ("200", "The task", schema_ref("TaskView")),
                        &["400", "401", "404", "409", "413", "422", "503"],
                    )
                }
            },
            "/v1/tasks/{id}/retry": {
                "parameters": [id_parameter("The task's number")],
                "post": {
                    "operationId": "retryTask",
                    "summary": "A person has a failed task, or one waiting for them, tried again: due at once, attempts from zero; a failed request opens again",
                    "requestBody": body_ref("TaskRetryRequest"),
                    "responses": responses(
                        ("200", "The task", schema_ref("TaskView")),
                        &["400", "401", "404", "409", "413", "422", "503"],
                    )
                }
            }
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas()
        }
    })
}

fn schemas() -> Value {
    let identifiers: Map<String, Value> = IDENTIFIER_FIELDS
        .iter()
        .map(|k| (k.as_str().to_owned(), json!({"type": "string"})))
        .collect();
    let mut view = summary_properties();
    view.insert(
        "task_list".into(),
        json!({"type": "array", "items": schema_ref("TaskView")}),
    );
    view.insert("receipt".into(), nullable_ref("Receipt"));
    json!({
        "SubmitRequest": {
            "type": "object",
            "additionalProperties": false,
            "required": ["kind", "identifiers"],
            "properties": {
                "kind": {"enum": names(RequestKind::ALL.iter().map(|k| k.as_str()))},
                "identifiers": {
                    "type": "object",
                    "description": "Who the request is about: at least one. Each is validated \
                        (personnummer: date and check digit; phone: E.164 or Swedish national).",
                    "additionalProperties": false,
                    "minProperties": 1,
                    "properties": identifiers
                }
            }
        },
        "CancelRequest": text_body("reason", "Why (kept with the request; no personal data)"),
        "TaskDoneRequest": text_body("note", "What was done (shown on the receipt; no personal data)"),
        "TaskRetryRequest": text_body("reason", "Why it is tried again, e.g. what was fixed (kept with the task; no personal data)"),
        "RequestSummary": object(summary_properties()),
        "RequestView": object(view),
        "TaskView": object(
            props(&[
                ("id", json!({"type": "integer", "format": "int64"})),
                ("request", json!({"type": "integer", "format": "int64"})),
                ("system", json!({"type": "string"})),
                ("action", json!({"enum": names(RequestAction::ALL.iter().map(|a| a.as_str()))})),
                ("state", json!({"enum": names(TaskState::ALL.iter().map(|s| s.as_str()))})),
                ("attempts", json!({"type": "integer", "minimum": 0})),
                ("not_before", nullable_time()),
                ("retained_until", nullable_time()),
                ("legal_basis", nullable_string()),
                ("detail", nullable_string()),
                ("finished_at", nullable_time()),
                ("instructions", nullable_string()),
            ]),
        ),
        "Receipt": object(
            props(&[
                ("request", json!({"type": "integer", "format": "int64"})),
                ("kind", json!({"enum": names(RequestKind::ALL.iter().map(|k| k.as_str()))})),
                ("state", json!({"enum": names(RequestState::ALL.iter().map(|s| s.as_str()))})),
                ("received_at", time()),
                ("completed_at", nullable_time()),
                ("systems", json!({"type": "array", "items": schema_ref("ReceiptLine")})),
                ("backups_expire_by", nullable_time()),
            ]),
        ),
        "ReceiptLine": object(
            props(&[
                ("system", json!({"type": "string"})),
                ("outcome", json!({"enum": ["erased", "anonymized", "retained", "done_by_person",
                    "notified", "done", "not_done", "cancelled"]})),
                ("detail", nullable_string()),
                ("retained_until", nullable_time()),
                ("legal_basis", nullable_string()),
            ]),
        ),
        "Error": {
            "type": "object",
            "additionalProperties": false,
            "required": ["error"],
            "properties": {
                "error": object(
                    props(&[
                        ("code", json!({"enum": names(ErrorCode::ALL.iter().map(|c| c.as_str()))})),
                        ("message", json!({"type": "string"})),
                    ]),
                )
            }
        }
    })
}

fn summary_properties() -> Map<String, Value> {
    props(&[
        ("id", json!({"type": "integer", "format": "int64"})),
        (
            "kind",
            json!({"enum": names(RequestKind::ALL.iter().map(|k| k.as_str()))}),
        ),
        (
            "state",
            json!({"enum": names(RequestState::ALL.iter().map(|s| s.as_str()))}),
        ),
        ("received_at", time()),
        ("due_at", time()),
        (
            "at_risk",
            json!({"type": "boolean", "description": "Open and due soon, or overdue"}),
        ),
        ("overdue", json!({"type": "boolean"})),
        ("tasks", json!({"type": "integer", "minimum": 0})),
        ("tasks_open", json!({"type": "integer", "minimum": 0})),
        ("detail", nullable_string()),
        ("filed_by", nullable_string()),
    ])
}

fn props(list: &[(&str, Value)]) -> Map<String, Value> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// An object with exactly these properties, all present (the views serialize `None` as
/// `null`, never leave a field out).
fn object(properties: Map<String, Value>) -> Value {
    let required: Vec<&String> = properties.keys().collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties
    })
}

fn text_body(field: &str, description: &str) -> Value {
    object(props(&[(
        field,
        json!({"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS,
                "description": description}),
    )]))
}

fn names<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    values.collect()
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn nullable_time() -> Value {
    json!({"type": ["string", "null"], "format": "date-time"})
}

fn nullable_string() -> Value {
    json!({"type": ["string", "null"]})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn nullable_ref(name: &str) -> Value {
    json!({"oneOf": [schema_ref(name), {"type": "null"}]})
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn body_ref(name: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema_ref(name)}}})
}

fn id_parameter(description: &str) -> Value {
    json!({
        "name": "id", "in": "path", "required": true, "description": description,
        "schema": {"type": "integer", "format": "int64", "minimum": 1}
    })
}

/// A success response and the error responses an operation can give.
fn responses(ok: (&str, &str, Value), errors: &[&str]) -> Value {
    let mut map = Map::new();
    let (status, description, schema) = ok;
    map.insert(status.to_owned(), json_response(description, schema));
    for status in errors {
        let description = match *status {
            "400" => "Malformed: bad JSON, a wrong type, an unknown field, a bad id or query",
            "401" => "No valid bearer token (TCP only)",
            "404" => "No such request or task",
            "409" => "Not in a state that allows this",
            "413" => "Body larger than 64 KiB",
            "422" => "A value is refused (an invalid identifier, none given, an empty text)",
            "503" => "The state store failed; try again later",
            _ => "Error",
        };
        map.insert(
            (*status).to_owned(),
            json_response(description, schema_ref("Error")),
        );
    }
    map.insert(
        "default".to_owned(),
        json_response("Any other error (405, 500)", schema_ref("Error")),
    );
    Value::Object(map)
}
