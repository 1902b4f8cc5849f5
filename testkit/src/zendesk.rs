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

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::rate_limit::RateLimit;
use crate::server::TestServer;

mod api;

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
    requests: Vec<String>,
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
        Self::start_with(None)
    }

    /// Starts an empty account behind a plan's request limit (Zendesk answers 429 with
    /// `Retry-After`; build the limit with `.retry_after(Some(secs))`). Keep a clone of
    /// `limit` to read its arrival log.
    pub fn start_rate_limited(limit: RateLimit) -> Self {
        Self::start_with(Some(limit))
    }

    fn start_with(limit: Option<RateLimit>) -> Self {
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
        let router = api::router(state.clone());
        let router = match limit {
            Some(limit) => limit.apply(router),
            None => router,
        };
        let server = TestServer::start(router);
        lock(&state).base_url = format!("{}/api/v2", server.base_url());
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
        lock(&self.state).requests.clone()
    }
}
