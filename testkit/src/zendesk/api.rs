//! The Zendesk test server's routes: what each endpoint answers, given the account's state.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

use super::{
    lock, ComplianceEntry, Deletion, Shared, Ticket, User, AGENT_EMAIL, API_TOKEN, OAUTH_TOKEN,
    PRODUCTS,
};

pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v2/users/me", get(me))
        .route("/api/v2/users/me.json", get(me))
        .route("/api/v2/users/search", get(search))
        .route("/api/v2/users/search.json", get(search))
        .route("/api/v2/users/{id}", delete(delete_user))
        .route("/api/v2/users/{id}/tickets/requested", get(requested))
        .route("/api/v2/users/{id}/tickets/requested.json", get(requested))
        .route(
            "/api/v2/users/{id}/compliance_deletion_statuses",
            get(compliance),
        )
        .route("/api/v2/deleted_users", get(deleted_users))
        .route("/api/v2/deleted_users.json", get(deleted_users))
        .route("/api/v2/deleted_users/{id}", delete(purge_user))
        .route("/api/v2/tickets/{id}", delete(delete_ticket))
        .route("/api/v2/deleted_tickets/{id}", delete(purge_ticket))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "RecordNotFound", "description": "Not found"})),
    )
        .into_response()
}

fn too_many(retry_after: Option<u64>) -> Response {
    let mut response = (StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded").into_response();
    let headers = response.headers_mut();
    headers.insert("X-Rate-Limit", HeaderValue::from_static("700"));
    headers.insert("X-Rate-Limit-Remaining", HeaderValue::from_static("0"));
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

fn authorized(headers: &HeaderMap) -> bool {
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{AGENT_EMAIL}/token:{API_TOKEN}"));
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Basic {basic}") || v == format!("Bearer {OAUTH_TOKEN}"))
}

/// Logs the request, checks the credentials, serves queued 429s.
async fn gate(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let throttle = {
        let mut state = lock(&state);
        state
            .requests
            .push(format!("{} {}", request.method(), request.uri().path()));
        if !authorized(request.headers()) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "Couldn't authenticate you"})),
            )
                .into_response();
        }
        state.throttles.pop_front()
    };
    if let Some(throttle) = throttle {
        return too_many(throttle.retry_after);
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert("X-Rate-Limit", HeaderValue::from_static("700"));
    headers.insert("X-Rate-Limit-Remaining", HeaderValue::from_static("699"));
    response
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "url": format!("/api/v2/users/{}.json", user.id),
        "name": user.name,
        "email": user.email,
        "phone": user.phone,
        "external_id": user.external_id,
        "created_at": user.created_at,
        "updated_at": user.created_at,
        "last_login_at": user.last_login_at,
        "active": user.deletion == Deletion::Active,
        "role": "end-user",
    })
}

fn ticket_json(ticket: &Ticket) -> Value {
    json!({
        "id": ticket.id,
        "subject": ticket.subject,
        "raw_subject": ticket.subject,
        "description": ticket.description,
        "requester_id": ticket.requester,
        "status": "open",
    })
}

async fn me() -> Response {
    Json(json!({"user": {"id": 1, "name": "gallra", "email": AGENT_EMAIL, "role": "admin"}}))
        .into_response()
}

fn number(query: &HashMap<String, String>, key: &str, default: usize) -> usize {
    query
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `GET /users/search`: offset pages with `next_page` and `count`, partial matching.
async fn search(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let state = lock(&state);
    let text = query
        .get("query")
        .cloned()
        .unwrap_or_default()
        .to_lowercase();
    let (field, needle) = match text.split_once(':') {
        Some(("email", value)) => ("email", value.trim_matches('"').to_owned()),
        _ => ("any", text.clone()),
    };
    let mut matches: Vec<&User> = state
        .users
        .values()
        .filter(|u| u.deletion == Deletion::Active)
        .filter(|u| {
            let email = u.email.clone().unwrap_or_default().to_lowercase();
            match field {
                "email" => email.contains(&needle),
                _ => email.contains(&needle) || u.name.to_lowercase().contains(&needle),
            }
        })
        .collect();
    matches.truncate(state.search_cap);
    let per_page = number(&query, "per_page", 100)
        .clamp(1, 100)
        .min(state.page_size);
    let page = number(&query, "page", 1).max(1);
    let start = (page - 1) * per_page;
    let users: Vec<Value> = matches
        .iter()
        .skip(start)
        .take(per_page)
        .map(|u| user_json(u))
        .collect();
    let link = |page: usize| {
        format!(
            "{}/users/search.json?page={page}&per_page={per_page}&query={}",
            state.base_url,
            encode(query.get("query").map_or("", String::as_str))
        )
    };
    let next = (start + per_page < matches.len()).then(|| link(page + 1));
    let previous = (page > 1).then(|| link(page - 1));
    Json(json!({
        "users": users,
        "next_page": next,
        "previous_page": previous,
        "count": matches.len(),
    }))
    .into_response()
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A cursor page of `items` (sorted by id) after `page[after]`, Zendesk style.
fn cursor_page(
    base: &str,
    path: &str,
    key: &str,
    items: Vec<(u64, Value)>,
    query: &HashMap<String, String>,
    page_size: usize,
) -> Response {
    let size = number(query, "page[size]", 100)
        .clamp(1, 100)
        .min(page_size);
    let after: u64 = query
        .get("page[after]")
        .and_then(|c| c.strip_prefix('c'))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let rest: Vec<(u64, Value)> = items.into_iter().filter(|(id, _)| *id > after).collect();
    let has_more = rest.len() > size;
    let page: Vec<(u64, Value)> = rest.into_iter().take(size).collect();
    let after_cursor = page.last().map(|(id, _)| format!("c{id}"));
    let next = match (&after_cursor, has_more) {
        (Some(cursor), true) => Some(format!(
            "{base}{path}?page%5Bafter%5D={cursor}&page%5Bsize%5D={size}"
        )),
        _ => None,
    };
    let values: Vec<Value> = page.into_iter().map(|(_, v)| v).collect();
    Json(json!({
        key: values,
        "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": null},
        "links": {"next": next, "prev": null},
    }))
    .into_response()
}

async fn requested(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let state = lock(&state);
    let Some(id) = id.parse::<u64>().ok() else {
        return not_found();
    };
    if state.users.get(&id).map(|u| u.deletion) != Some(Deletion::Active) {
        return not_found();
    }
    let tickets = state
        .tickets
        .values()
        .filter(|t| t.requester == id && t.deletion == Deletion::Active)
        .map(|t| (t.id, ticket_json(t)))
        .collect();
    let path = format!("/users/{id}/tickets/requested.json");
    cursor_page(
        &state.base_url,
        &path,
        "tickets",
        tickets,
        &query,
        state.page_size,
    )
}

async fn deleted_users(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let state = lock(&state);
    let users = state
        .users
        .values()
        .filter(|u| u.deletion != Deletion::Active)
        .map(|u| (u.id, user_json(u)))
        .collect();
    cursor_page(
        &state.base_url,
        "/deleted_users.json",
        "deleted_users",
        users,
        &query,
        state.page_size,
    )
}

async fn compliance(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
    let state = lock(&state);
    if !state.users.contains_key(&id) {
        return not_found();
    }
    let log: Vec<Value> = state
        .compliance
        .get(&id)
        .map(|log| {
            log.iter()
                .map(|e| {
                    json!({
                        "account_subdomain": "gallra-test",
                        "action": e.action,
                        "application": e.application,
                        "created_at": e.created_at,
                        "executer_id": if e.action == "request_deletion" { json!(1) } else { Value::Null },
                        "user_id": id,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Json(json!({"compliance_deletion_statuses": log})).into_response()
}

async fn delete_user(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
    let mut state = lock(&state);
    match state.users.get_mut(&id) {
        Some(user) if user.deletion == Deletion::Active => {
            user.deletion = Deletion::SoftDeleted;
            Json(json!({"user": user_json(user)})).into_response()
        }
        _ => not_found(),
    }
}

async fn purge_user(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
    let mut state = lock(&state);
    if state.users.get(&id).map(|u| u.deletion) != Some(Deletion::SoftDeleted) {
        return not_found();
    }
    let (limit, window) = state.purge_limit;
    let now = Instant::now();
    while state
        .purges
        .front()
        .is_some_and(|at| now.duration_since(*at) >= window)
    {
        state.purges.pop_front();
    }
    if state.purges.len() >= limit {
        let oldest = *state.purges.front().expect("limit reached, so not empty");
        let wait = window.saturating_sub(now.duration_since(oldest));
        return too_many(Some(wait.as_secs_f64().ceil() as u64));
    }
    state.purges.push_back(now);
    let user = state.users.get_mut(&id).expect("checked above");
    user.deletion = Deletion::Permanent;
    user.name = "Permanently Deleted User".to_owned();
    user.email = None;
    user.phone = None;
    user.external_id = None;
    user.last_login_at = None;
    let body = json!({"deleted_user": user_json(user)});
    let mut log = vec![ComplianceEntry {
        action: "request_deletion",
        application: "all",
        created_at: "2024-05-01T12:00:00Z".to_owned(),
    }];
    log.extend(PRODUCTS.map(|product| ComplianceEntry {
        action: "started",
        application: product,
        created_at: "2024-05-01T12:00:05Z".to_owned(),
    }));
    state.compliance.entry(id).or_default().extend(log);
    Json(body).into_response()
}

async fn delete_ticket(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
    let mut state = lock(&state);
    match state.tickets.get_mut(&id) {
        Some(ticket) if ticket.deletion == Deletion::Active => {
            ticket.deletion = Deletion::SoftDeleted;
            StatusCode::NO_CONTENT.into_response()
        }
        _ => not_found(),
    }
}

async fn purge_ticket(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
    let mut state = lock(&state);
    match state.tickets.get(&id) {
        Some(ticket) if ticket.deletion == Deletion::SoftDeleted => {
            state.tickets.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => not_found(),
    }
}
