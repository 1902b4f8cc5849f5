//! A Zendesk Support API for the zendesk connector's tests: users and tickets with Zendesk's
//! soft and permanent deletion, compliance deletion statuses, the user search's partial
//! matching, offset and cursor pagination, API-token and OAuth authentication, and 429s.
//!
//! ```no_run
//! use gallra_testkit::zendesk::{NewUser, Zendesk};
//! let zendesk = Zendesk::start();
//! let anna = zendesk.add_user(NewUser::new("Anna Svensson", "anna@example.se"));
//! zendesk.add_ticket(anna, "Invoice question", "Why was I charged twice?");
//! // …the connector erases Anna: tickets and user deleted, then deleted permanently…
//! zendesk.finish_compliance_deletions();
//! assert!(!zendesk.holds_email("anna@example.se"));
//! ```
//!
//! What it reproduces, as `shared/connectors.md` describes Zendesk:
//! - `DELETE /users/{id}` only soft-deletes: the user leaves the search but stays in
//!   `GET /deleted_users` with their data until `DELETE /deleted_users/{id}` (which answers
//!   404 for a user that is not soft-deleted first). Permanently deleted users stay listed
//!   as "Permanently Deleted User" with no email or phone. Tickets likewise, through
//!   `DELETE /tickets/{id}` and `DELETE /deleted_tickets/{id}`.
//! - A permanent deletion logs a compliance deletion request and `started` for each product;
//!   they report `complete` only after [`Zendesk::finish_compliance_deletions`].
//! - `GET /users/search?query=email:…` matches part of an email, 100 per page at most
//!   (fewer with [`Zendesk::set_page_size`]), `next_page` as a full URL, and stops at 10,000
//!   results ([`Zendesk::set_search_cap`]).
//! - Permanent user deletion is limited (700 per 10 minutes by default) with a 429 and
//!   `Retry-After`; [`Zendesk::push_429`] queues more 429s (with or without `Retry-After`,
//!   always with `X-Rate-Limit` headers).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

// The kit's crate::server::TestServer once it lands; the same interface meanwhile.
use crate::whmcs::shim::TestServer;

/// The agent whose API token the tests use.
pub const AGENT_EMAIL: &str = "gallra-agent@example.com";
/// The API token that [`AGENT_EMAIL`] authenticates with.
pub const API_TOKEN: &str = "zd-test-token-6f1c";
/// An OAuth access token the server accepts.
pub const OAUTH_TOKEN: &str = "zd-oauth-token-93ab";

/// The products whose compliance deletion each permanent user deletion starts.
const PRODUCTS: [&str; 2] = ["support", "explore"];

/// A user to seed.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Display name.
    pub name: String,
    /// Primary email.
    pub email: String,
    /// Phone number.
    pub phone: Option<String>,
    /// The account's own id for the user.
    pub external_id: Option<String>,
    /// Last sign-in, RFC 3339.
    pub last_login_at: Option<String>,
}

impl NewUser {
    /// A user with a name and an email and nothing else.
    pub fn new(name: &str, email: &str) -> Self {
        Self {
            name: name.to_owned(),
            email: email.to_owned(),
            ..Self::default()
        }
    }
}

/// Where a user or ticket is in Zendesk's deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// Not deleted.
    Active,
    /// Deleted: out of searches and listings, data kept, restorable.
    SoftDeleted,
    /// Deleted permanently: the data is gone.
    Permanent,
}

#[derive(Debug, Clone)]
struct User {
    id: u64,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    external_id: Option<String>,
    last_login_at: Option<String>,
    created_at: String,
    deletion: Deletion,
    /// The email it was seeded with, kept for [`Zendesk::holds_email`] only.
    seeded_email: String,
}

#[derive(Debug, Clone)]
struct Ticket {
    id: u64,
    requester: u64,
    subject: String,
    description: String,
    deletion: Deletion,
}

#[derive(Debug, Clone)]
struct ComplianceEntry {
    action: &'static str,
    application: &'static str,
    created_at: String,
}

/// A 429 queued by [`Zendesk::push_429`].
#[derive(Debug, Clone, Copy)]
struct Throttle {
    retry_after: Option<u64>,
}

#[derive(Debug)]
struct Inner {
    next_id: u64,
    users: BTreeMap<u64, User>,
    tickets: BTreeMap<u64, Ticket>,
    compliance: BTreeMap<u64, Vec<ComplianceEntry>>,
    page_size: usize,
    search_cap: usize,
    throttles: VecDeque<Throttle>,
    purge_limit: (usize, Duration),
    purges: VecDeque<Instant>,
    requests: Vec<(Instant, String)>,
    base_url: String,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running Zendesk test server; stops when dropped.
pub struct Zendesk {
    server: TestServer,
    state: Shared,
}

impl Zendesk {
    /// Starts an empty account on a free local port.
    pub fn start() -> Self {
        let state: Shared = Arc::new(Mutex::new(Inner {
            next_id: 1000,
            users: BTreeMap::new(),
            tickets: BTreeMap::new(),
            compliance: BTreeMap::new(),
            page_size: 100,
            search_cap: 10_000,
            throttles: VecDeque::new(),
            purge_limit: (700, Duration::from_secs(600)),
            purges: VecDeque::new(),
            requests: Vec::new(),
            base_url: String::new(),
        }));
        let server = TestServer::start(router(state.clone()));
        lock(&state).base_url = format!("{}/api/v2", server.url().trim_end_matches('/'));
        Self { server, state }
    }

    /// The API base URL, `http://127.0.0.1:PORT/api/v2` (the connector's `base_url`).
    pub fn base_url(&self) -> String {
        lock(&self.state).base_url.clone()
    }

    /// The underlying server (its request log, its address).
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// The most records per page (Zendesk: 100), so tests can read several pages.
    pub fn set_page_size(&self, size: usize) {
        lock(&self.state).page_size = size.max(1);
    }

    /// How many results a user search returns at most (Zendesk: 10,000).
    pub fn set_search_cap(&self, cap: usize) {
        lock(&self.state).search_cap = cap;
    }

    /// How many users may be deleted permanently per window (Zendesk: 700 per 10 minutes).
    pub fn set_permanent_deletion_limit(&self, limit: usize, window: Duration) {
        let mut state = lock(&self.state);
        state.purge_limit = (limit, window);
        state.purges.clear();
    }

    /// Answers the next request (after authentication) with 429 Too Many Requests, with
    /// `Retry-After: secs` if given.
    pub fn push_429(&self, retry_after: Option<u64>) {
        lock(&self.state)
            .throttles
            .push_back(Throttle { retry_after });
    }

    /// Seeds a user; returns its id.
    pub fn add_user(&self, user: NewUser) -> u64 {
        let mut state = lock(&self.state);
        let id = state.next_id;
        state.next_id += 1;
        state.users.insert(
            id,
            User {
                id,
                name: user.name,
                email: Some(user.email.clone()),
                phone: user.phone,
                external_id: user.external_id,
                last_login_at: user.last_login_at,
                created_at: "2021-03-04T09:15:00Z".to_owned(),
                deletion: Deletion::Active,
                seeded_email: user.email.to_lowercase(),
            },
        );
        id
    }

    /// Seeds a ticket requested by user `requester`; returns its id.
    pub fn add_ticket(&self, requester: u64, subject: &str, description: &str) -> u64 {
        let mut state = lock(&self.state);
        let id = state.next_id;
        state.next_id += 1;
        state.tickets.insert(
            id,
            Ticket {
                id,
                requester,
                subject: subject.to_owned(),
                description: description.to_owned(),
                deletion: Deletion::Active,
            },
        );
        id
    }

    /// Soft-deletes a user directly (as an agent in the web interface would).
    pub fn soft_delete_user(&self, id: u64) {
        if let Some(user) = lock(&self.state).users.get_mut(&id) {
            user.deletion = Deletion::SoftDeleted;
        }
    }

    /// Where user `id` is in deletion; `None` if it never existed.
    pub fn user_deletion(&self, id: u64) -> Option<Deletion> {
        lock(&self.state).users.get(&id).map(|u| u.deletion)
    }

    /// Where ticket `id` is in deletion; `None` if it never existed or is purged.
    pub fn ticket_deletion(&self, id: u64) -> Option<Deletion> {
        lock(&self.state).tickets.get(&id).map(|t| t.deletion)
    }

    /// Whether the account still holds personal data of the person seeded with `email`:
    /// a user (active or soft-deleted) or a ticket they requested (active or soft-deleted).
    pub fn holds_email(&self, email: &str) -> bool {
        let email = email.to_lowercase();
        let state = lock(&self.state);
        let ids: Vec<u64> = state
            .users
            .values()
            .filter(|u| u.seeded_email == email)
            .map(|u| u.id)
            .collect();
        let user_held = state
            .users
            .values()
            .any(|u| u.seeded_email == email && u.deletion != Deletion::Permanent);
        user_held || state.tickets.values().any(|t| ids.contains(&t.requester))
    }

    /// Whether some product's compliance deletion of user `id` has not completed.
    pub fn compliance_running(&self, id: u64) -> bool {
        let state = lock(&self.state);
        state.compliance.get(&id).is_some_and(|log| {
            PRODUCTS.iter().any(|p| {
                log.iter()
                    .rev()
                    .find(|e| e.application == *p)
                    .is_some_and(|e| e.action != "complete")
            })
        })
    }

    /// Lets every running compliance deletion report `complete` in every product.
    pub fn finish_compliance_deletions(&self) {
        let mut state = lock(&self.state);
        for log in state.compliance.values_mut() {
            for product in PRODUCTS {
                let done = log
                    .iter()
                    .rev()
                    .find(|e| e.application == product)
                    .is_some_and(|e| e.action == "complete");
                if !done {
                    log.push(ComplianceEntry {
                        action: "complete",
                        application: product,
                        created_at: "2024-05-02T08:00:00Z".to_owned(),
                    });
                }
            }
        }
    }

    /// Every request so far as `METHOD /path` (no query), in arrival order.
    pub fn requests(&self) -> Vec<String> {
        let state = lock(&self.state);
        state.requests.iter().map(|(_, r)| r.clone()).collect()
    }

    /// When each request arrived, in arrival order (for rate assertions).
    pub fn arrivals(&self) -> Vec<Instant> {
        let state = lock(&self.state);
        state.requests.iter().map(|(at, _)| *at).collect()
    }
}

fn router(state: Shared) -> Router {
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
        state.requests.push((
            Instant::now(),
            format!("{} {}", request.method(), request.uri().path()),
        ));
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
