//! Fortnox's REST API (`/3`) and its OAuth2 token endpoint, as the connector sees them.
//!
//! Stateful and seeded from Rust: customer cards (any fields) and invoices. It reproduces
//! what the `fortnox` connector depends on:
//!
//! - `POST /oauth-v1/token` with `grant_type=client_credentials`, the client id and secret
//!   in a Basic header and the `TenantId` header; tokens expire after
//!   [`Fortnox::set_token_lifetime`] (an hour by default) or [`Fortnox::expire_tokens`];
//!   the API answers 401 to a missing, unknown or expired bearer token;
//! - 25 requests per 5 seconds per client (a sliding window, [`Fortnox::set_rate_limit`]),
//!   429 above it, without `Retry-After` unless [`Fortnox::set_retry_after`];
//! - `GET /3/customers` (`email` as a loose, case-insensitive "contains" filter; `page`,
//!   `limit` up to 500; `MetaInformation` with `@CurrentPage`, `@TotalPages`,
//!   `@TotalResources`), `GET|PUT|DELETE /3/customers/{CustomerNumber}` (404 with
//!   `ErrorInformation` for an unknown one), `GET /3/invoices?customernumber=`;
//! - the deletion rule: a customer that invoices (or, after [`Fortnox::block_deletion`],
//!   orders, offers or contracts) refer to cannot be deleted — 400 with `ErrorInformation`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::whmcs::shim::TestServer;

/// The integration's client id the token endpoint accepts.
pub const CLIENT_ID: &str = "gallraTestClient";
/// The client secret the token endpoint accepts.
pub const CLIENT_SECRET: &str = "fortnox-test-secret-91ab";
/// The company's TenantId the token endpoint accepts.
pub const TENANT_ID: &str = "1234567";

/// One invoice, as seeded.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceData {
    /// `YYYY-MM-DD`.
    pub invoice_date: String,
    /// The final payment's date, if paid.
    pub final_pay_date: Option<String>,
    /// What is still owed.
    pub balance: f64,
    pub cancelled: bool,
}

impl InvoiceData {
    /// A paid invoice of `date`, paid the same day.
    pub fn paid(date: &str) -> Self {
        Self {
            invoice_date: date.to_owned(),
            final_pay_date: Some(date.to_owned()),
            balance: 0.0,
            cancelled: false,
        }
    }

    /// An invoice of `date` with `balance` still owed.
    pub fn unpaid(date: &str, balance: f64) -> Self {
        Self {
            invoice_date: date.to_owned(),
            final_pay_date: None,
            balance,
            cancelled: false,
        }
    }
}

/// One request to `/3`, as it arrived.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: Instant,
    pub method: String,
    /// The path template, e.g. `/3/customers/{CustomerNumber}`.
    pub endpoint: String,
    pub status: u16,
}

#[derive(Debug)]
struct Inner {
    customers: BTreeMap<String, Map<String, Value>>,
    invoices: BTreeMap<u64, (String, InvoiceData)>,
    blocked: BTreeSet<String>,
    next_invoice: u64,
    tokens: HashMap<String, Instant>,
    token_lifetime: Duration,
    token_requests: usize,
    next_token: u64,
    window: Duration,
    per_window: usize,
    admitted: VecDeque<Instant>,
    retry_after: Option<String>,
    log: Vec<Logged>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(state: &Shared) -> MutexGuard<'_, Inner> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running Fortnox.
pub struct Fortnox {
    server: TestServer,
    state: Shared,
    dir: tempfile::TempDir,
}

impl Fortnox {
    /// Starts a company with no customers.
    pub fn start() -> Self {
        let state: Shared = Arc::new(Mutex::new(Inner {
            customers: BTreeMap::new(),
            invoices: BTreeMap::new(),
            blocked: BTreeSet::new(),
            next_invoice: 1,
            tokens: HashMap::new(),
            token_lifetime: Duration::from_secs(3600),
            token_requests: 0,
            next_token: 1,
            window: Duration::from_secs(5),
            per_window: 25,
            admitted: VecDeque::new(),
            retry_after: None,
            log: Vec::new(),
        }));
        let router = Router::new()
            .route("/oauth-v1/token", post(token))
            .route("/3/customers", get(list_customers))
            .route(
                "/3/customers/{number}",
                get(get_customer).put(put_customer).delete(delete_customer),
            )
            .route("/3/invoices", get(list_invoices))
            .with_state(state.clone());
        let dir = tempfile::tempdir().expect("a temporary directory");
        write_private(&dir.path().join("client-secret"), CLIENT_SECRET);
        write_private(&dir.path().join("wrong-secret"), "not-the-secret");
        Self {
            server: TestServer::start(router),
            state,
            dir,
        }
    }

    fn root(&self) -> String {
        self.server.url().trim_end_matches('/').to_owned()
    }

    /// The API's base URL, like `https://api.fortnox.se/3`.
    pub fn base_url(&self) -> String {
        format!("{}/3", self.root())
    }

    /// The token endpoint, like `https://apps.fortnox.se/oauth-v1/token`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth-v1/token", self.root())
    }

    /// A file holding [`CLIENT_SECRET`].
    pub fn client_secret_file(&self) -> PathBuf {
        self.dir.path().join("client-secret")
    }

    /// A file holding a secret the token endpoint refuses.
    pub fn wrong_secret_file(&self) -> PathBuf {
        self.dir.path().join("wrong-secret")
    }

    /// Adds (or replaces) customer `number` with these card fields (a JSON object).
    pub fn add_customer(&self, number: &str, fields: Value) {
        let mut card = match fields {
            Value::Object(map) => map,
            _ => panic!("a customer's fields are a JSON object"),
        };
        card.insert("CustomerNumber".to_owned(), Value::from(number));
        card.entry("Active").or_insert(Value::from(true));
        lock(&self.state).customers.insert(number.to_owned(), card);
    }

    /// Adds an invoice to customer `number`; returns its DocumentNumber.
    pub fn add_invoice(&self, number: &str, invoice: InvoiceData) -> u64 {
        let mut s = lock(&self.state);
        let id = s.next_invoice;
        s.next_invoice += 1;
        s.invoices.insert(id, (number.to_owned(), invoice));
        id
    }

    /// Makes Fortnox refuse to delete customer `number`, as it does while orders, offers
    /// or contracts refer to it.
    pub fn block_deletion(&self, number: &str) {
        lock(&self.state).blocked.insert(number.to_owned());
    }

    /// The customer card as stored now.
    pub fn customer(&self, number: &str) -> Option<Map<String, Value>> {
        lock(&self.state).customers.get(number).cloned()
    }

    /// How many invoices customer `number` has.
    pub fn invoice_count(&self, number: &str) -> usize {
        lock(&self.state)
            .invoices
            .values()
            .filter(|(c, _)| c == number)
            .count()
    }

    /// How long new tokens live.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.state).token_lifetime = lifetime;
    }

    /// Invalidates every token issued so far (as if revoked or expired).
    pub fn expire_tokens(&self) {
        lock(&self.state).tokens.clear();
    }

    /// How many tokens were asked for.
    pub fn token_requests(&self) -> usize {
        lock(&self.state).token_requests
    }

    /// At most `per_window` API requests in any `window` (default 25 per 5 s).
    pub fn set_rate_limit(&self, per_window: usize, window: Duration) {
        let mut s = lock(&self.state);
        s.per_window = per_window;
        s.window = window;
    }

    /// Sends `Retry-After: value` with each 429 (Fortnox sends none by default).
    pub fn set_retry_after(&self, value: Option<&str>) {
        lock(&self.state).retry_after = value.map(str::to_owned);
    }

    /// Every API request so far (the token endpoint excluded).
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.state).log.clone()
    }
}

fn write_private(path: &Path, content: &str) {
    std::fs::write(path, format!("{content}\n")).expect("write a secret file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

/// Fortnox' error shape. The codes here are placeholders, not Fortnox's own: the connector
/// reads only the status.
fn error_information(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({ "ErrorInformation": { "error": 1, "message": message, "code": code } });
    (status, Json(body)).into_response()
}

async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let basic_ok = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        == Some(expected.as_str());
    let tenant_ok = headers.get("tenantid").and_then(|v| v.to_str().ok()) == Some(TENANT_ID);
    let grant_ok = form
        .iter()
        .any(|(k, v)| k == "grant_type" && v == "client_credentials");
    let mut s = lock(&state);
    s.token_requests += 1;
    if !grant_ok {
        let body = json!({ "error": "unsupported_grant_type" });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    if !(basic_ok && tenant_ok) {
        let body =
            json!({ "error": "invalid_client", "error_description": "Invalid client credentials" });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let value = format!("fortnox-token-{}", s.next_token);
    s.next_token += 1;
    let lifetime = s.token_lifetime;
    s.tokens.insert(value.clone(), Instant::now() + lifetime);
    Json(json!({
        "access_token": value,
        "expires_in": lifetime.as_secs(),
        "token_type": "bearer",
        "scope": "customer invoice",
    }))
    .into_response()
}

/// The checks every `/3` request passes first: the rate window, then the token. Logs the
/// request with the status it ends with.
fn admit(
    state: &Shared,
    headers: &HeaderMap,
    method: &str,
    endpoint: &str,
    handle: impl FnOnce(&mut Inner) -> Response,
) -> Response {
    let mut s = lock(state);
    let now = Instant::now();
    let window = s.window;
    while s
        .admitted
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        s.admitted.pop_front();
    }
    let response = if s.admitted.len() >= s.per_window {
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({ "message": "Too many requests" })),
        )
            .into_response();
        if let Some(wait) = s
            .retry_after
            .as_deref()
            .and_then(|w| HeaderValue::from_str(w).ok())
        {
            response.headers_mut().insert("retry-after", wait);
        }
        response
    } else {
        s.admitted.push_back(now);
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let valid = token
            .and_then(|t| s.tokens.get(t))
            .is_some_and(|expires| now < *expires);
        if valid {
            handle(&mut s)
        } else {
            let body = json!({ "message": "unauthorized" });
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
    };
    s.log.push(Logged {
        at: now,
        method: method.to_owned(),
        endpoint: endpoint.to_owned(),
        status: response.status().as_u16(),
    });
    response
}

/// `page` and `limit` (default 100, at most 500); `None` for values Fortnox refuses.
fn paging(query: &HashMap<String, String>) -> Option<(usize, usize)> {
    let read = |name: &str, default: usize| match query.get(name) {
        None => Some(default),
        Some(v) => v.parse::<usize>().ok(),
    };
    let page = read("page", 1)?;
    let limit = read("limit", 100)?;
    (page >= 1 && (1..=500).contains(&limit)).then_some((page, limit))
}

/// One page of `items` wrapped as Fortnox lists are.
fn listing(key: &str, items: Vec<Value>, page: usize, limit: usize) -> Response {
    Json(listing_body(key, items, page, limit)).into_response()
}

fn listing_body(key: &str, items: Vec<Value>, page: usize, limit: usize) -> Value {
    let total = items.len();
    let pages = total.div_ceil(limit);
    let rows: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    let mut body = Map::new();
    body.insert(
        "MetaInformation".to_owned(),
        json!({ "@TotalResources": total, "@TotalPages": pages, "@CurrentPage": page }),
    );
    body.insert(key.to_owned(), Value::Array(rows));
    Value::Object(body)
}

fn bad_paging() -> Response {
    error_information(
        StatusCode::BAD_REQUEST,
        2000588,
        "Ogiltig parameter för sidindelning.",
    )
}

fn text(card: &Map<String, Value>, key: &str) -> Value {
    card.get(key).cloned().unwrap_or(Value::Null)
}

async fn list_customers(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    admit(&state, &headers, "GET", "/3/customers", |s| {
        let Some((page, limit)) = paging(&query) else {
            return bad_paging();
        };
        let email = query.get("email").map(|e| e.to_lowercase());
        let rows = s
            .customers
            .iter()
            .filter(|(_, card)| {
                email.as_ref().is_none_or(|wanted| {
                    card.get("Email")
                        .and_then(Value::as_str)
                        .is_some_and(|e| e.to_lowercase().contains(wanted.as_str()))
                })
            })
            .map(|(number, card)| {
                json!({
                    "@url": format!("/3/customers/{number}"),
                    "Address1": text(card, "Address1"), "Address2": text(card, "Address2"),
                    "City": text(card, "City"), "CustomerNumber": number,
                    "Email": text(card, "Email"), "Name": text(card, "Name"),
                    "OrganisationNumber": text(card, "OrganisationNumber"),
                    "Phone": text(card, "Phone1"), "ZipCode": text(card, "ZipCode"),
                    "Active": text(card, "Active"),
                })
            })
            .collect();
        listing("Customers", rows, page, limit)
    })
}

fn not_found() -> Response {
    error_information(StatusCode::NOT_FOUND, 2000433, "Kan inte hitta kunden.")
}

fn card_answer(number: &str, card: &Map<String, Value>) -> Response {
    let mut card = card.clone();
    card.insert(
        "@url".to_owned(),
        Value::from(format!("/3/customers/{number}")),
    );
    Json(json!({ "Customer": card })).into_response()
}

async fn get_customer(
    State(state): State<Shared>,
    headers: HeaderMap,
    UrlPath(number): UrlPath<String>,
) -> Response {
    admit(
        &state,
        &headers,
        "GET",
        "/3/customers/{CustomerNumber}",
        |s| match s.customers.get(&number) {
            Some(card) => card_answer(&number, card),
            None => not_found(),
        },
    )
}

async fn put_customer(
    State(state): State<Shared>,
    headers: HeaderMap,
    UrlPath(number): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    admit(
        &state,
        &headers,
        "PUT",
        "/3/customers/{CustomerNumber}",
        |s| {
            let Some(card) = s.customers.get_mut(&number) else {
                return not_found();
            };
            let Some(fields) = body.get("Customer").and_then(Value::as_object) else {
                return error_information(StatusCode::BAD_REQUEST, 2000355, "Ogiltig data.");
            };
            if fields
                .get("CustomerNumber")
                .is_some_and(|n| n.as_str() != Some(number.as_str()))
            {
                return error_information(
                    StatusCode::BAD_REQUEST,
                    2000355,
                    "Kundnummer kan inte ändras.",
                );
            }
            if fields
                .get("Name")
                .is_some_and(|n| n.as_str().is_none_or(str::is_empty))
            {
                return error_information(StatusCode::BAD_REQUEST, 2000355, "Namn måste anges.");
            }
            for (key, value) in fields {
                card.insert(key.clone(), value.clone());
            }
            let card = card.clone();
            card_answer(&number, &card)
        },
    )
}

async fn delete_customer(
    State(state): State<Shared>,
    headers: HeaderMap,
    UrlPath(number): UrlPath<String>,
) -> Response {
    admit(
        &state,
        &headers,
        "DELETE",
        "/3/customers/{CustomerNumber}",
        |s| {
            if !s.customers.contains_key(&number) {
                return not_found();
            }
            let referred = s.blocked.contains(&number)
                || s.invoices.values().any(|(customer, _)| *customer == number);
            if referred {
                // Fortnox keeps a customer that business events refer to.
                return error_information(
                    StatusCode::BAD_REQUEST,
                    2000106,
                    "Kunden kan inte tas bort eftersom den används.",
                );
            }
            s.customers.remove(&number);
            StatusCode::NO_CONTENT.into_response()
        },
    )
}

async fn list_invoices(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    admit(&state, &headers, "GET", "/3/invoices", |s| {
        let Some((page, limit)) = paging(&query) else {
            return bad_paging();
        };
        let customer = query.get("customernumber");
        let rows = s
            .invoices
            .iter()
            .filter(|(_, (c, _))| customer.is_none_or(|wanted| c == wanted))
            .map(|(id, (c, i))| {
                let name = s.customers.get(c).map(|card| text(card, "Name"));
                json!({
                    "@url": format!("/3/invoices/{id}"),
                    "Balance": i.balance, "Booked": true, "Cancelled": i.cancelled,
                    "Currency": "SEK", "CustomerName": name.unwrap_or(Value::Null),
                    "CustomerNumber": c, "DocumentNumber": id.to_string(),
                    "DueDate": i.invoice_date, "InvoiceDate": i.invoice_date,
                    "FinalPayDate": i.final_pay_date, "Sent": true, "Total": 125,
                })
            })
            .collect();
        listing("Invoices", rows, page, limit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn paging_defaults_to_100_and_refuses_more_than_500() {
        assert_eq!(paging(&query(&[])), Some((1, 100)));
        assert_eq!(
            paging(&query(&[("page", "3"), ("limit", "500")])),
            Some((3, 500))
        );
        assert_eq!(paging(&query(&[("limit", "501")])), None);
        assert_eq!(paging(&query(&[("page", "0")])), None);
    }

    #[test]
    fn lists_carry_meta_information_and_one_page() {
        let items: Vec<Value> = (0..5).map(Value::from).collect();
        let body = listing_body("Customers", items.clone(), 3, 2);
        assert_eq!(body["MetaInformation"]["@TotalPages"], 3);
        assert_eq!(body["MetaInformation"]["@TotalResources"], 5);
        assert_eq!(body["Customers"], json!([4]));
        let empty = listing_body("Invoices", Vec::new(), 1, 100);
        assert_eq!(empty["MetaInformation"]["@TotalPages"], 0);
        assert_eq!(empty["Invoices"], json!([]));
    }
}
