//! A WHMCS installation's API (`POST /includes/api.php`), as the connector sees it.
//!
//! Stateful and seeded from Rust: clients with their custom fields, products, domains and
//! last login, and invoices. It reproduces what the `whmcs` connector depends on:
//!
//! - form-encoded requests authenticated by `identifier` + `secret` (or `username` +
//!   `password`); anything else is `{"result":"error","message":"Authentication Failed"}`
//!   — with HTTP 200 by default, or 403 after [`Whmcs::auth_failure_as_403`];
//! - errors as `{"result":"error","message":…}` with HTTP 200 ("Client Not Found", "Client
//!   ID Not Found", "Command Not Found");
//! - `GetClients` (`limitstart`, `limitnum` capped at [`Whmcs::set_max_page`], `orderby`,
//!   `sorting`, `search` as a prefix of email or names, `status`; `totalresults`),
//!   `GetClientsDetails` (`clientid` or `email`, `stats`; numbers as strings, as PHP writes
//!   them; `lastlogin` as the HTML fragment), `GetInvoices` (`userid`, `status`, paging),
//!   `UpdateClient` (custom fields as a base64 PHP-serialized array; emails unique),
//!   `DeleteClient` (removes the client and its invoices: WHMCS has no bookkeeping guard);
//! - answers injected with [`Whmcs::answer_next`] (429 with or without `Retry-After`, 5xx),
//!   and a request log with arrival times for rate assertions.

mod api;
mod php;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::routing::post;
use axum::Router;

use crate::secrets::write_private;
use crate::server::TestServer;

/// The API credential's identifier the server accepts.
pub const IDENTIFIER: &str = "gallra-test-identifier";
/// The API credential's secret the server accepts.
pub const SECRET: &str = "whmcs-test-secret-5f2c";

/// One client, as seeded and as inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientData {
    pub firstname: String,
    pub lastname: String,
    pub companyname: String,
    pub email: String,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub phonecc: u32,
    pub phonenumber: String,
    pub tax_id: String,
    pub notes: String,
    pub status: String,
    /// As WHMCS writes it: `Date: 03/10/2016 10:26<br>IP Address: …<br>Host: …`, or
    /// `No Login Logged`.
    pub lastlogin: String,
    /// Custom field id → value.
    pub customfields: BTreeMap<u64, String>,
    pub active_products: u64,
    pub active_domains: u64,
    /// Whether a card is stored (cleared by `clearcreditcard`).
    pub has_card: bool,
}

impl ClientData {
    /// An active Swedish client with a name, an email and an address, who never logged in.
    pub fn person(firstname: &str, lastname: &str, email: &str) -> Self {
        Self {
            firstname: firstname.to_owned(),
            lastname: lastname.to_owned(),
            companyname: String::new(),
            email: email.to_owned(),
            address1: "Storgatan 1".to_owned(),
            address2: String::new(),
            city: "Stockholm".to_owned(),
            state: "Stockholms län".to_owned(),
            postcode: "111 22".to_owned(),
            country: "SE".to_owned(),
            phonecc: 46,
            phonenumber: String::new(),
            tax_id: String::new(),
            notes: String::new(),
            status: "Active".to_owned(),
            lastlogin: "No Login Logged".to_owned(),
            customfields: BTreeMap::new(),
            active_products: 0,
            active_domains: 0,
            has_card: false,
        }
    }
}

/// One invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceData {
    /// `Y-m-d`.
    pub date: String,
    /// `Paid`, `Unpaid`, `Cancelled`, `Draft`, …
    pub status: String,
}

/// An answer served instead of the real one.
#[derive(Debug, Clone)]
struct Injected {
    status: u16,
    retry_after: Option<String>,
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Logged {
    /// When it arrived.
    pub at: Instant,
    /// Its `action`.
    pub action: String,
    /// The HTTP status it got.
    pub status: u16,
}

#[derive(Debug)]
struct Inner {
    clients: BTreeMap<u64, ClientData>,
    invoices: BTreeMap<u64, (u64, InvoiceData)>,
    next_client: u64,
    next_invoice: u64,
    max_page: u64,
    auth_403: bool,
    injected: Vec<Injected>,
    log: Vec<Logged>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(state: &Shared) -> MutexGuard<'_, Inner> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running WHMCS API.
pub struct Whmcs {
    server: TestServer,
    state: Shared,
    dir: tempfile::TempDir,
}

impl Whmcs {
    /// Starts an empty installation.
    pub fn start() -> Self {
        let state: Shared = Arc::new(Mutex::new(Inner {
            clients: BTreeMap::new(),
            invoices: BTreeMap::new(),
            next_client: 1,
            next_invoice: 1,
            max_page: 250,
            auth_403: false,
            injected: Vec::new(),
            log: Vec::new(),
        }));
        let router = Router::new()
            .route("/includes/api.php", post(api::api))
            .with_state(state.clone());
        let dir = tempfile::tempdir().expect("a temporary directory");
        write_private(&dir.path().join("secret"), SECRET);
        write_private(&dir.path().join("wrong-secret"), "not-the-secret");
        Self {
            server: TestServer::start(router),
            state,
            dir,
        }
    }

    /// The installation's address (the API is at `/includes/api.php` under it).
    pub fn base_url(&self) -> String {
        self.server.url().trim_end_matches('/').to_owned()
    }

    /// A file holding [`SECRET`], readable by its owner only.
    pub fn secret_file(&self) -> PathBuf {
        self.dir.path().join("secret")
    }

    /// A file holding a secret the server refuses.
    pub fn wrong_secret_file(&self) -> PathBuf {
        self.dir.path().join("wrong-secret")
    }

    /// Adds a client; returns its id (1, 2, 3, …).
    pub fn add_client(&self, client: ClientData) -> u64 {
        let mut s = lock(&self.state);
        let id = s.next_client;
        s.next_client += 1;
        s.clients.insert(id, client);
        id
    }

    /// Adds an invoice of `client` dated `date` (`Y-m-d`) with `status`; returns its id.
    pub fn add_invoice(&self, client: u64, date: &str, status: &str) -> u64 {
        let mut s = lock(&self.state);
        let id = s.next_invoice;
        s.next_invoice += 1;
        let invoice = InvoiceData {
            date: date.to_owned(),
            status: status.to_owned(),
        };
        s.invoices.insert(id, (client, invoice));
        id
    }

    /// The client as stored now.
    pub fn client(&self, id: u64) -> Option<ClientData> {
        lock(&self.state).clients.get(&id).cloned()
    }

    /// How many invoices `client` has.
    pub fn invoice_count(&self, client: u64) -> usize {
        lock(&self.state)
            .invoices
            .values()
            .filter(|(c, _)| *c == client)
            .count()
    }

    /// The largest `limitnum` honoured (WHMCS sites cap it; tests use small pages).
    pub fn set_max_page(&self, max: u64) {
        lock(&self.state).max_page = max.max(1);
    }

    /// Answers a failed authentication with HTTP 403 instead of 200.
    pub fn auth_failure_as_403(&self) {
        lock(&self.state).auth_403 = true;
    }

    /// Serves `status` (with `Retry-After: retry_after` if given) to the next `times`
    /// requests instead of answering them.
    pub fn answer_next(&self, times: usize, status: u16, retry_after: Option<&str>) {
        let mut s = lock(&self.state);
        for _ in 0..times {
            s.injected.push(Injected {
                status,
                retry_after: retry_after.map(str::to_owned),
            });
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.state).log.clone()
    }
}
