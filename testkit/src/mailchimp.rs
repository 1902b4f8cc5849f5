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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::{Map, Value};

use crate::server::TestServer;

mod api;

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
        let server = TestServer::start(api::router(shared.clone()));
        Self { server, shared }
    }

    /// The API base URL, `http://127.0.0.1:PORT/3.0` (the connector's `base_url`).
    pub fn base_url(&self) -> String {
        format!("{}/3.0", self.server.base_url())
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
