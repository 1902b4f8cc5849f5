//! The OpenAPI document lists every route and describes what the routes answer.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;

use super::{app, bearer, call, get, post, send, ERASE_ANNA};
use crate::api::ROUTES;
use crate::requests::ReceiptOutcome;

async fn fetch_document() -> Value {
    let (app, _) = app(bearer());
    let answer = send(
        &app,
        Request::get("/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "served without a token");
    assert_eq!(answer.headers["content-type"], "application/json");
    serde_json::from_str(&answer.text).expect("the document is JSON")
}

#[tokio::test]
async fn openapi_document_parses_and_lists_every_route() {
    let doc = fetch_document().await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in ROUTES {
        let op =
            &paths.get(*path).unwrap_or_else(|| panic!("{path} missing"))[method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} missing");
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no responses"
        );
        if path.contains("{id}") {
            assert_eq!(paths[*path]["parameters"][0]["name"], "id", "{path}");
        }
    }
    let listed: usize = paths
        .values()
        .map(|item| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "parameters")
                .count()
        })
        .sum();
    assert_eq!(
        listed,
        ROUTES.len(),
        "the document lists no route the API lacks"
    );
    // Every $ref resolves.
    let text = doc.to_string();
    for piece in text.split("\"#/components/schemas/").skip(1) {
        let name = &piece[..piece.find('"').unwrap()];
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{name} is not defined"
        );
    }
}

#[tokio::test]
async fn every_listed_route_is_answered_by_the_router() {
    let (app, _) = app(bearer());
    post(&app, "/v1/requests", ERASE_ANNA).await;
    for (method, path) in ROUTES {
        // Request 1 has tasks 1 (automatic) and 2 (manual).
        let id = if path.starts_with("/v1/tasks/") {
            "2"
        } else {
            "1"
        };
        let uri = path.replace("{id}", id);
        let body = match *path {
            "/v1/requests" => Some(ERASE_ANNA),
            "/v1/requests/{id}/cancel" => Some(r#"{"reason":"test"}"#),
            "/v1/tasks/{id}/done" => Some(r#"{"note":"test"}"#),
            "/v1/tasks/{id}/retry" => Some(r#"{"reason":"test"}"#),
            _ => None,
        };
        let body = body.filter(|_| *method == "POST");
        let answer = call(&app, method, &uri, body).await;
        assert!(
            answer.status.is_success(),
            "{method} {uri}: {} {}",
            answer.status,
            answer.text
        );
    }
}

#[tokio::test]
async fn responses_match_their_schemas() {
    let doc = fetch_document().await;
    let (app, _) = app(bearer());
    let submitted = post(&app, "/v1/requests", ERASE_ANNA).await.json;
    conforms(&doc, &schema("RequestView"), &submitted, "submit");
    let list = get(&app, "/v1/requests").await.json;
    for item in list.as_array().unwrap() {
        conforms(&doc, &schema("RequestSummary"), item, "list");
    }
    let tasks = get(&app, "/v1/tasks").await.json;
    conforms(&doc, &schema("TaskView"), &tasks[0], "tasks");
    let cancelled = post(&app, "/v1/requests/1/cancel", r#"{"reason":"x"}"#).await;
    assert!(cancelled.json["receipt"].is_object());
    conforms(&doc, &schema("RequestView"), &cancelled.json, "cancelled");
    let error = get(&app, "/v1/requests/9").await.json;
    conforms(&doc, &schema("Error"), &error, "error");

    // The checker itself notices a difference.
    let mut extra = submitted.clone();
    extra["surprise"] = Value::Bool(true);
    assert!(check(&doc, &schema("RequestView"), &extra, "x").is_err());
}

#[tokio::test]
async fn every_receipt_outcome_is_in_the_document() {
    use ReceiptOutcome::*;
    let all = [
        Erased,
        Anonymized,
        Retained,
        DoneByPerson,
        Notified,
        Done,
        NotDone,
        Cancelled,
    ];
    for outcome in all {
        // Exhaustive: a new outcome fails to compile here until it is listed above.
        match outcome {
            Erased | Anonymized | Retained | DoneByPerson | Notified | Done | NotDone
            | Cancelled => {}
        }
    }
    let doc = fetch_document().await;
    let listed = &doc["components"]["schemas"]["ReceiptLine"]["properties"]["outcome"]["enum"];
    let serialized: Vec<Value> = all
        .iter()
        .map(|o| serde_json::to_value(o).unwrap())
        .collect();
    assert_eq!(listed, &Value::Array(serialized));
}

fn schema(name: &str) -> Value {
    serde_json::json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Checks `value` against the subset of JSON Schema the document uses.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    if let Err(problem) = check(doc, schema, value, at) {
        panic!("{problem}");
    }
}

fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return check(doc, &doc["components"]["schemas"][name], value, at);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let matching = options
            .iter()
            .filter(|s| check(doc, s, value, at).is_ok())
            .count();
        return match matching {
            1 => Ok(()),
            n => Err(format!("{at}: {value} matches {n} of oneOf")),
        };
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} not in {allowed:?}"));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !(types.contains(&actual) || (actual == "integer" && types.contains(&"number"))) {
            return Err(format!("{at}: {value} is {actual}, expected {types:?}"));
        }
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object())
    {
        for required in schema["required"].as_array().into_iter().flatten() {
            let key = required.as_str().unwrap_or_default();
            if !object.contains_key(key) {
                return Err(format!("{at}: missing {key}"));
            }
        }
        for (key, item) in object {
            match properties.get(key) {
                Some(property) => check(doc, property, item, &format!("{at}.{key}"))?,
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    return Err(format!("{at}: {key} is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(item_schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(doc, item_schema, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}
