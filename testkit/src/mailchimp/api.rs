//! The Mailchimp test server's routes: what each endpoint answers, given the account's state.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

use super::{subscriber_hash, Member, Shared, API_KEY};

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/3.0/ping", get(ping))
        .route("/3.0/search-members", get(search))
        .route("/3.0/lists", get(lists))
        .route("/3.0/lists/{list}/members", post(add))
        .route(
            "/3.0/lists/{list}/members/{hash}",
            get(member).patch(patch).put(put).delete(archive),
        )
        .route(
            "/3.0/lists/{list}/members/{hash}/actions/delete-permanent",
            post(delete_permanent),
        )
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// A Mailchimp error: an RFC 7807 problem document.
fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "instance": "00000000-0000-0000-0000-000000000000",
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json; charset=utf-8"),
    );
    response
}

fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Resource Not Found",
        "The requested resource could not be found.",
    )
}

fn authorized(headers: &HeaderMap) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.split_once(':').map(|(_, key)| key == API_KEY))
        .unwrap_or(false)
}

/// Counts the connection, refuses it above the limit, checks the key.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let (limit, delay) = {
        let mut inner = shared.lock();
        inner
            .requests
            .push(format!("{} {}", request.method(), request.uri().path()));
        (inner.max_connections, inner.delay)
    };
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    if now > limit {
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        shared.throttled.fetch_add(1, Ordering::SeqCst);
        return problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            "You have exceeded the limit of 10 simultaneous connections.",
        );
    }
    shared.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let response = if authorized(request.headers()) {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        next.run(request).await
    } else {
        problem(
            StatusCode::UNAUTHORIZED,
            "API Key Invalid",
            "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        )
    };
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

fn member_json(list: &str, hash: &str, member: &Member) -> Value {
    let full_name = ["FNAME", "LNAME"]
        .iter()
        .filter_map(|k| member.merge_fields.get(*k).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "id": hash,
        "email_address": member.email,
        "unique_email_id": &hash[..10],
        "full_name": full_name,
        "email_type": "html",
        "status": member.status,
        "merge_fields": member.merge_fields,
        "ip_signup": member.ip_signup.clone().unwrap_or_default(),
        "timestamp_signup": "2022-02-14T08:30:00+00:00",
        "ip_opt": "",
        "timestamp_opt": "2022-02-14T08:31:00+00:00",
        "language": "sv",
        "last_changed": member.last_changed,
        "list_id": list,
    })
}

async fn ping() -> Response {
    Json(json!({"health_status": "Everything's Chimpy!"})).into_response()
}

async fn search(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let needle = query
        .get("query")
        .cloned()
        .unwrap_or_default()
        .to_lowercase();
    let inner = shared.lock();
    let mut exact = Vec::new();
    let mut partial = Vec::new();
    for (id, list) in &inner.lists {
        for (hash, member) in &list.members {
            if member.status == "archived" || list.hidden.contains(hash) {
                continue;
            }
            let email = member.email.to_lowercase();
            if email == needle {
                exact.push(member_json(id, hash, member));
            } else if !needle.is_empty() && email.contains(&needle) {
                partial.push(member_json(id, hash, member));
            }
        }
    }
    Json(json!({
        "exact_matches": {"members": exact, "total_items": exact.len()},
        "full_search": {"members": partial, "total_items": partial.len()},
    }))
    .into_response()
}

async fn lists(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let number = |key: &str, default: usize| {
        query
            .get(key)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let count = number("count", 10).min(1000);
    let offset = number("offset", 0);
    let inner = shared.lock();
    let page: Vec<Value> = inner
        .lists
        .iter()
        .skip(offset)
        .take(count)
        .map(|(id, list)| {
            json!({"id": id, "name": list.name, "stats": {"member_count": list.members.len()}})
        })
        .collect();
    Json(json!({"lists": page, "total_items": inner.lists.len()})).into_response()
}

async fn member(
    State(shared): State<Arc<Shared>>,
    Path((list, hash)): Path<(String, String)>,
) -> Response {
    let inner = shared.lock();
    match inner.lists.get(&list).and_then(|l| l.members.get(&hash)) {
        Some(member) => Json(member_json(&list, &hash, member)).into_response(),
        None => not_found(),
    }
}

async fn patch(
    State(shared): State<Arc<Shared>>,
    Path((list, hash)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = shared.lock();
    let Some(member) = inner
        .lists
        .get_mut(&list)
        .and_then(|l| l.members.get_mut(&hash))
    else {
        return not_found();
    };
    if let Some(status) = body.get("status").and_then(Value::as_str) {
        member.status = status.to_owned();
        member.last_changed = "2024-06-01T12:00:00+00:00".to_owned();
    }
    Json(member_json(&list, &hash, member)).into_response()
}

fn forgotten() -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "Forgotten Email Not Subscribed",
        "This contact was permanently deleted and cannot be re-imported. The contact must \
         re-subscribe to get back on the list.",
    )
}

/// Adds `email` to `list` (POST) or adds/updates it (PUT).
fn upsert(shared: &Shared, list: &str, body: &Value, update: bool) -> Response {
    let Some(email) = body.get("email_address").and_then(Value::as_str) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Invalid Resource",
            "email_address is required",
        );
    };
    let hash = subscriber_hash(email);
    let mut inner = shared.lock();
    let Some(audience) = inner.lists.get_mut(list) else {
        return not_found();
    };
    if audience.forgotten.contains(&hash) {
        return forgotten();
    }
    let status = body
        .get("status")
        .or_else(|| body.get("status_if_new"))
        .and_then(Value::as_str)
        .unwrap_or("subscribed")
        .to_owned();
    match audience.members.get_mut(&hash) {
        Some(_) if !update => problem(
            StatusCode::BAD_REQUEST,
            "Member Exists",
            "This address is already a list member.",
        ),
        Some(member) => {
            member.status = status;
            Json(member_json(list, &hash, member)).into_response()
        }
        None => {
            let member = Member {
                email: email.to_owned(),
                status,
                merge_fields: body
                    .get("merge_fields")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
                ip_signup: None,
                last_changed: "2024-06-01T12:00:00+00:00".to_owned(),
            };
            let json = member_json(list, &hash, &member);
            audience.members.insert(hash, member);
            Json(json).into_response()
        }
    }
}

async fn add(
    State(shared): State<Arc<Shared>>,
    Path(list): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    upsert(&shared, &list, &body, false)
}

async fn put(
    State(shared): State<Arc<Shared>>,
    Path((list, _hash)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    upsert(&shared, &list, &body, true)
}

/// `DELETE` archives: the member and its data stay.
async fn archive(
    State(shared): State<Arc<Shared>>,
    Path((list, hash)): Path<(String, String)>,
) -> Response {
    let mut inner = shared.lock();
    match inner
        .lists
        .get_mut(&list)
        .and_then(|l| l.members.get_mut(&hash))
    {
        Some(member) => {
            member.status = "archived".to_owned();
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found(),
    }
}

async fn delete_permanent(
    State(shared): State<Arc<Shared>>,
    Path((list, hash)): Path<(String, String)>,
) -> Response {
    let mut inner = shared.lock();
    let Some(audience) = inner.lists.get_mut(&list) else {
        return not_found();
    };
    if audience.members.remove(&hash).is_none() {
        return not_found();
    }
    audience.forgotten.insert(hash);
    StatusCode::NO_CONTENT.into_response()
}
