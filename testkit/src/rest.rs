//! A small generic REST API for the `http` connector's tests and the benchmark: users with
//! an id, email, name, phone (and an address and last login), behind a bearer token.
//!
//! - `GET /v1/users?email=…&phone=…` lists matching users (email case-insensitively, phone
//!   in any notation) as `{"data": […], "meta": {"total_pages", "total", "next_cursor"},
//!   "links": {"next"}}`, paged by `page` + `per_page`, or `offset` + `limit`, or `cursor`
//!   (from `meta.next_cursor` or `links.next`) + `limit`. Page size default 25, at most
//!   [`Options::max_per_page`].
//! - `POST /v1/users/search` with `{"email": …}` or `{"phone": …}`: `{"data": […]}`.
//! - `GET /v1/users/{id}`, `PATCH /v1/users/{id}` (a partial user), `DELETE /v1/users/{id}`
//!   → 204; 404 `{"error": "not found"}` when absent.
//! - Without `Authorization: Bearer` [`TOKEN`]: 401.
//! - An optional [`RateLimit`] in front (429, with or without `Retry-After`) and an
//!   optional latency: each answer waits that long first, without holding up the others,
//!   so concurrent requests overlap as at a real API.
//!
//! ```no_run
//! use std::time::Duration;
//! use gallra_testkit::rate_limit::RateLimit;
//! use gallra_testkit::rest::{Options, RestApi};
//! let limit = RateLimit::per_second(200).retry_after(Some(1));
//! let api = RestApi::start_with(Options {
//!     rate_limit: Some(limit.clone()),
//!     latency: Duration::from_millis(20),
//!     ..Options::default()
//! });
//! let ids = api.add_users(5_000);
//! assert_eq!(api.email_of(ids[0]).as_deref(), Some("user1@example.test"));
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::rate_limit::RateLimit;
use crate::server::TestServer;

/// The bearer token the API accepts.
pub const TOKEN: &str = "rest-test-token";

/// How the API behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// A request limit in front of every route.
    pub rate_limit: Option<RateLimit>,
    /// How long every answer waits before it is sent (concurrent requests wait together).
    pub latency: Duration,
    /// The page size when a request names none.
    pub default_per_page: usize,
    /// The largest page size; larger requests get this many.
    pub max_per_page: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rate_limit: None,
            latency: Duration::ZERO,
            default_per_page: 25,
            max_per_page: 100,
        }
    }
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// City.
    pub city: String,
}

/// One user as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The API's id.
    pub id: u64,
    /// Email address.
    pub email: String,
    /// Full name.
    pub name: String,
    /// Phone number as entered, or `null`.
    pub phone: Option<String>,
    /// Postal address, or `null`.
    pub address: Option<Address>,
    /// RFC 3339 time of the last login, or `null`.
    pub last_login: Option<String>,
}

/// A user to seed (the id is given by the API).
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Email address.
    pub email: String,
    /// Full name.
    pub name: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Postal address.
    pub address: Option<Address>,
    /// RFC 3339 time of the last login.
    pub last_login: Option<String>,
}

/// A partial user for `PATCH`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    email: Option<String>,
    name: Option<String>,
    phone: Option<Option<String>>,
    address: Option<Option<Address>>,
    last_login: Option<Option<String>>,
}

#[derive(Debug, Default)]
struct Users {
    by_id: BTreeMap<u64, User>,
    /// Lower-cased email → ids, so lookups stay fast with many users.
    by_email: HashMap<String, BTreeSet<u64>>,
    next_id: u64,
}

impl Users {
    fn insert(&mut self, user: User) {
        self.by_email
            .entry(user.email.to_lowercase())
            .or_default()
            .insert(user.id);
        self.by_id.insert(user.id, user);
    }

    fn remove(&mut self, id: u64) -> Option<User> {
        let user = self.by_id.remove(&id)?;
        let key = user.email.to_lowercase();
        if let Some(ids) = self.by_email.get_mut(&key) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_email.remove(&key);
            }
        }
        Some(user)
    }

    fn add(&mut self, new: NewUser) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.insert(User {
            id,
            email: new.email,
            name: new.name,
            phone: new.phone,
            address: new.address,
            last_login: new.last_login,
        });
        id
    }

    /// Users matching the filters, in id order.
    fn matching(&self, email: Option<&str>, phone: Option<&str>) -> Vec<User> {
        let phone = phone.map(normal_phone);
        let phone_ok = |u: &User| {
            phone
                .as_ref()
                .is_none_or(|want| u.phone.as_deref().map(normal_phone).as_ref() == Some(want))
        };
        match email {
            Some(email) => self
                .by_email
                .get(&email.trim().to_lowercase())
                .into_iter()
                .flatten()
                .filter_map(|id| self.by_id.get(id))
                .filter(|u| phone_ok(u))
                .cloned()
                .collect(),
            None => self
                .by_id
                .values()
                .filter(|u| phone_ok(u))
                .cloned()
                .collect(),
        }
    }
}

/// A phone number's digits in international form (a leading `0` read as Sweden's 46).
fn normal_phone(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if number.trim_start().starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("46{rest}")
    } else {
        digits
    }
}

#[derive(Clone)]
struct App {
    users: Arc<Mutex<Users>>,
    options: Options,
}

/// A running REST API; stops on drop.
pub struct RestApi {
    server: TestServer,
    app: App,
}

impl RestApi {
    /// Starts the API with the default [`Options`].
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    /// Starts the API with these options.
    pub fn start_with(options: Options) -> Self {
        let app = App {
            users: Arc::new(Mutex::new(Users::default())),
            options: options.clone(),
        };
        let mut router = Router::new()
            .route("/v1/users", get(list))
            .route("/v1/users/search", post(search))
            .route("/v1/users/{id}", get(fetch).patch(patch).delete(delete))
            .layer(axum::middleware::from_fn_with_state(app.clone(), gate))
            .with_state(app.clone());
        if let Some(limit) = &options.rate_limit {
            router = limit.apply(router);
        }
        Self {
            server: TestServer::start(router),
            app,
        }
    }

    /// `http://127.0.0.1:PORT`: the connector's `base_url`; paths start with `/v1`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Adds a user; returns its id.
    pub fn add_user(&self, user: NewUser) -> u64 {
        lock(&self.app.users).add(user)
    }

    /// Adds `n` users `user<id>@example.test`, named `User <id>`, with phone
    /// `+46 70 <id, 7 digits>`; returns their ids. Fast for hundreds of thousands.
    pub fn add_users(&self, n: usize) -> Vec<u64> {
        let mut users = lock(&self.app.users);
        (0..n)
            .map(|_| {
                let id = users.next_id + 1;
                users.add(NewUser {
                    email: format!("user{id}@example.test"),
                    name: format!("User {id}"),
                    phone: Some(format!("+4670{:07}", id % 10_000_000)),
                    address: None,
                    last_login: None,
                })
            })
            .collect()
    }

    /// The user as `GET /v1/users/{id}` shows it.
    pub fn user(&self, id: u64) -> Option<User> {
        lock(&self.app.users).by_id.get(&id).cloned()
    }

    /// Whether the user is still there.
    pub fn user_exists(&self, id: u64) -> bool {
        lock(&self.app.users).by_id.contains_key(&id)
    }

    /// The user's email.
    pub fn email_of(&self, id: u64) -> Option<String> {
        self.user(id).map(|u| u.email)
    }

    /// How many users there are.
    pub fn user_count(&self) -> usize {
        lock(&self.app.users).by_id.len()
    }

    /// The rate limit in front, if any (for its request log).
    pub fn rate_limit(&self) -> Option<&RateLimit> {
        self.app.options.rate_limit.as_ref()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response()
}

/// Authentication, then the configured latency (an async sleep: requests overlap).
async fn gate(State(app): State<App>, request: Request, next: Next) -> Response {
    let expected = format!("Bearer {TOKEN}");
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    if !app.options.latency.is_zero() {
        tokio::time::sleep(app.options.latency).await;
    }
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "unauthorized"})),
        )
            .into_response();
    }
    next.run(request).await
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    email: Option<String>,
    phone: Option<String>,
    page: Option<usize>,
    per_page: Option<usize>,
    offset: Option<usize>,
    limit: Option<usize>,
    cursor: Option<String>,
}

fn encode_cursor(offset: usize) -> String {
    format!("c{offset:x}")
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    usize::from_str_radix(cursor.strip_prefix('c')?, 16).ok()
}

async fn list(State(app): State<App>, headers: HeaderMap, Query(q): Query<ListQuery>) -> Response {
    let size = q
        .limit
        .or(q.per_page)
        .unwrap_or(app.options.default_per_page)
        .clamp(1, app.options.max_per_page);
    let start = if let Some(cursor) = &q.cursor {
        match decode_cursor(cursor) {
            Some(offset) => offset,
            None => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid cursor"})),
                )
                    .into_response()
            }
        }
    } else if let Some(offset) = q.offset {
        offset
    } else {
        (q.page.unwrap_or(1).max(1) - 1) * size
    };
    let all = lock(&app.users).matching(q.email.as_deref(), q.phone.as_deref());
    let total = all.len();
    let data: Vec<User> = all.into_iter().skip(start).take(size).collect();
    let next_cursor = (start + size < total).then(|| encode_cursor(start + size));
    let next_link = next_cursor.as_ref().map(|cursor| {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let mut query = url_query(&[("email", q.email.as_deref()), ("phone", q.phone.as_deref())]);
        query.push_str(&format!("cursor={cursor}&limit={size}"));
        format!("http://{host}/v1/users?{query}")
    });
    Json(json!({
        "data": data,
        "meta": {"total_pages": total.div_ceil(size), "total": total, "next_cursor": next_cursor},
        "links": {"next": next_link},
    }))
    .into_response()
}

/// `k=v&` pairs, values percent-encoded (all but unreserved characters).
fn url_query(pairs: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if let Some(value) = value {
            out.push_str(key);
            out.push('=');
            for byte in value.bytes() {
                if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                    out.push(byte as char);
                } else {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            out.push('&');
        }
    }
    out
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchBody {
    email: Option<String>,
    phone: Option<String>,
}

async fn search(State(app): State<App>, body: Option<Json<SearchBody>>) -> Response {
    let Some(Json(body)) = body else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "expected {\"email\": …} or {\"phone\": …}"})),
        )
            .into_response();
    };
    if body.email.is_none() && body.phone.is_none() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "a search needs email or phone"})),
        )
            .into_response();
    }
    let data = lock(&app.users).matching(body.email.as_deref(), body.phone.as_deref());
    Json(json!({ "data": data })).into_response()
}

async fn fetch(State(app): State<App>, Path(id): Path<u64>) -> Response {
    match lock(&app.users).by_id.get(&id) {
        Some(user) => Json(user.clone()).into_response(),
        None => not_found(),
    }
}

async fn patch(State(app): State<App>, Path(id): Path<u64>, body: Option<Json<Patch>>) -> Response {
    let Some(Json(patch)) = body else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": "expected a partial user"})),
        )
            .into_response();
    };
    let mut users = lock(&app.users);
    let Some(mut user) = users.remove(id) else {
        return not_found();
    };
    if let Some(email) = patch.email {
        user.email = email;
    }
    if let Some(name) = patch.name {
        user.name = name;
    }
    if let Some(phone) = patch.phone {
        user.phone = phone.filter(|p| !p.is_empty());
    }
    if let Some(address) = patch.address {
        user.address = address;
    }
    if let Some(last_login) = patch.last_login {
        user.last_login = last_login;
    }
    users.insert(user.clone());
    Json(user).into_response()
}

async fn delete(State(app): State<App>, Path(id): Path<u64>) -> Response {
    match lock(&app.users).remove(id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_index_follows_changes() {
        let mut users = Users::default();
        let a = users.add(NewUser {
            email: "Anna@Example.se".into(),
            name: "Anna".into(),
            phone: Some("070-123 45 67".into()),
            ..NewUser::default()
        });
        assert_eq!(users.matching(Some("anna@example.se"), None).len(), 1);
        assert_eq!(users.matching(None, Some("+46701234567")).len(), 1);
        assert_eq!(
            users
                .matching(Some("anna@example.se"), Some("+4670999"))
                .len(),
            0
        );
        users.remove(a);
        assert!(users.matching(Some("anna@example.se"), None).is_empty());
        assert!(users.by_email.is_empty());
    }

    #[test]
    fn cursors_round_trip_and_queries_are_encoded() {
        assert_eq!(decode_cursor(&encode_cursor(300)), Some(300));
        assert_eq!(decode_cursor("300"), None);
        assert_eq!(
            url_query(&[("email", Some("a+b@x.se")), ("phone", None)]),
            "email=a%2Bb%40x.se&"
        );
    }
}
