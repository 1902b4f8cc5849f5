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

mod api;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::Router;
use serde_json::{Map, Value};

use crate::secrets::write_private;
use crate::server::TestServer;

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
            .route("/oauth-v1/token", post(api::token))
            .route("/3/customers", get(api::list_customers))
            .route(
                "/3/customers/{number}",
                get(api::get_customer)
                    .put(api::put_customer)
                    .delete(api::delete_customer),
            )
            .route("/3/invoices", get(api::list_invoices))
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
