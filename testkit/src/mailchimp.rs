//! A Mailchimp Marketing API (3.0) for the mailchimp connector's tests: audiences and
//! members, archive versus permanent deletion, the cross-audience member search, offset
//! pagination of audiences, Basic authentication with the API key, and the limit of 10
//! simultaneous connections (429 above it, without rate-limit headers).
//!
//! ```no_run
//! use gallra_testkit::mailchimp::{Mailchimp, NewMember};
//! let mailchimp = Mailchimp::start();
//! mailchimp.add_list("news1", "Newsletter");
//! mailchimp.add_member("news1", NewMember::subscribed("anna@example.se").field("FNAME", "Anna"));
//! // …the connector erases Anna…
//! assert!(mailchimp.is_forgotten("news1", "anna@example.se"));
//! ```
//!
//! What it reproduces, as `shared/connectors.md` describes Mailchimp:
//! - `DELETE /lists/{id}/members/{hash}` only archives: the member keeps its data, status
//!   `archived`, and is still returned by `GET /lists/{id}/members/{hash}`.
//! - `POST /lists/{id}/members/{hash}/actions/delete-permanent` removes it (204; 404 when
//!   there is no such member) and forbids adding the address to that audience again: a
//!   later `POST /lists/{id}/members` or `PUT /lists/{id}/members/{hash}` answers 400
//!   "Forgotten Email Not Subscribed".
//! - `GET /search-members` returns exact and partial matches across audiences, but never
//!   archived members, nor members [`Mailchimp::hide_from_search`] hides (a lagging index).
//! - `GET /lists` pages with `count` (default 10, at most 1,000) and `offset`, and says
//!   `total_items`.
//! - More than [`Mailchimp::set_max_connections`] (10) requests at once: 429 with a problem
//!   document and no `Retry-After`. [`Mailchimp::set_delay`] makes each request take a while,
//!   so that requests overlap; [`Mailchimp::most_in_flight`] tells the most that were ever
//!   admitted at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

// The kit's crate::server::TestServer once it lands; the same interface meanwhile.
use crate::whmcs::shim::TestServer;

/// The API key the server accepts (any user name, this as the password).
pub const API_KEY: &str = "5f2b8c0e9a7d4e1fb3c6a8d0e2f4a6b8-us21";

/// A member to seed.
#[derive(Debug, Clone)]
pub struct NewMember {
    /// The email address.
    pub email: String,
    /// `subscribed`, `unsubscribed`, `cleaned`, `pending`, `transactional` or `archived`.
    pub status: String,
    /// Merge fields (FNAME, LNAME, ADDRESS, …).
    pub merge_fields: Map<String, Value>,
    /// The IP address the member signed up from.
    pub ip_signup: Option<String>,
}

impl NewMember {
    /// A subscribed member with no merge fields.
    pub fn subscribed(email: &str) -> Self {
        Self {
            email: email.to_owned(),
            status: "subscribed".to_owned(),
            merge_fields: Map::new(),
            ip_signup: None,
        }
    }

    /// With this status.
    pub fn status(mut self, status: &str) -> Self {
        self.status = status.to_owned();
        self
    }

    /// With this merge field (a string or an object such as an address).
    pub fn field(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.merge_fields.insert(name.to_owned(), value.into());
        self
    }

    /// With this sign-up IP address.
    pub fn ip(mut self, ip: &str) -> Self {
        self.ip_signup = Some(ip.to_owned());
        self
    }
}

#[derive(Debug, Clone)]
struct Member {
    email: String,
    status: String,
    merge_fields: Map<String, Value>,
    ip_signup: Option<String>,
    last_changed: String,
}

#[derive(Debug, Default)]
struct List {
    name: String,
    members: BTreeMap<String, Member>,
    /// Hashes deleted permanently: they cannot be added again.
    forgotten: BTreeSet<String>,
    hidden: BTreeSet<String>,
}

#[derive(Debug)]
struct Inner {
    lists: BTreeMap<String, List>,
    max_connections: usize,
    delay: Duration,
    requests: Vec<String>,
}

#[derive(Debug)]
struct Shared {
    inner: Mutex<Inner>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    throttled: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The subscriber hash: MD5 of the lower-cased email, in hex.
pub fn subscriber_hash(email: &str) -> String {
    Md5::digest(email.to_lowercase().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A running Mailchimp test server; stops when dropped.
pub struct Mailchimp {
    server: TestServer,
    shared: Arc<Shared>,
}

impl Mailchimp {
    /// Starts an account with no audiences on a free local port.
    pub fn start() -> Self {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                lists: BTreeMap::new(),
                max_connections: 10,
                delay: Duration::ZERO,
                requests: Vec::new(),
            }),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            throttled: AtomicUsize::new(0),
        });
        let server = TestServer::start(router(shared.clone()));
        Self { server, shared }
    }

    /// The API base URL, `http://127.0.0.1:PORT/3.0` (the connector's `base_url`).
    pub fn base_url(&self) -> String {
        format!("{}/3.0", self.server.url().trim_end_matches('/'))
    }

    /// The underlying server.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// How many requests may be under way at once before 429 (Mailchimp: 10).
    pub fn set_max_connections(&self, max: usize) {
        self.shared.lock().max_connections = max;
    }

    /// How long each admitted request takes, so that concurrent requests overlap.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.lock().delay = delay;
    }

    /// The most requests that were ever under way at once (429s not counted).
    pub fn most_in_flight(&self) -> usize {
        self.shared.most_in_flight.load(Ordering::SeqCst)
    }

    /// How many requests were answered 429.
    pub fn throttled(&self) -> usize {
        self.shared.throttled.load(Ordering::SeqCst)
    }

    /// Every request so far as `METHOD /path` (no query), in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.lock().requests.clone()
    }

    /// Creates an audience.
    pub fn add_list(&self, id: &str, name: &str) {
        self.shared.lock().lists.insert(
            id.to_owned(),
            List {
                name: name.to_owned(),
                ..List::default()
            },
        );
    }

    /// Adds a member to an audience; returns its subscriber hash.
    pub fn add_member(&self, list: &str, member: NewMember) -> String {
        let hash = subscriber_hash(&member.email);
        let mut inner = self.shared.lock();
        let list = inner.lists.get_mut(list).expect("add_list first");
        list.members.insert(
            hash.clone(),
            Member {
                email: member.email,
                status: member.status,
                merge_fields: member.merge_fields,
                ip_signup: member.ip_signup,
                last_changed: "2023-09-01T10:00:00+00:00".to_owned(),
            },
        );
        hash
    }

    /// Makes the search miss this member (as Mailchimp's index does for a while).
    pub fn hide_from_search(&self, list: &str, email: &str) {
        let mut inner = self.shared.lock();
        if let Some(list) = inner.lists.get_mut(list) {
            list.hidden.insert(subscriber_hash(email));
        }
    }

    /// The member's status in the audience (`archived` included); `None` if not a member.
    pub fn member_status(&self, list: &str, email: &str) -> Option<String> {
        let inner = self.shared.lock();
        inner
            .lists
            .get(list)?
            .members
            .get(&subscriber_hash(email))
            .map(|m| m.status.clone())
    }

    /// Whether the address was deleted permanently from the audience.
    pub fn is_forgotten(&self, list: &str, email: &str) -> bool {
        let inner = self.shared.lock();
        inner
            .lists
            .get(list)
            .is_some_and(|l| l.forgotten.contains(&subscriber_hash(email)))
    }

    /// Whether any audience still holds the address (an archived member included).
    pub fn holds_email(&self, email: &str) -> bool {
        let hash = subscriber_hash(email);
        let inner = self.shared.lock();
        inner.lists.values().any(|l| l.members.contains_key(&hash))
    }
}

fn router(shared: Arc<Shared>) -> Router {
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
