//! Copper's developer API (`/developer_api/v1`) for the copper connector's tests: people
//! search, fetch, delete and the account, as `../shared/connectors.md` describes them.
//!
//! - Every request needs `X-PW-AccessToken` = [`TOKEN`], `X-PW-Application: developer_api`
//!   and `X-PW-UserEmail` = [`USER_EMAIL`]; else 401.
//! - `POST /people/search` takes `emails`, `phone_number`, `page_number` (from 1) and
//!   `page_size` (default 20, at most 200), answers a bare JSON array sorted by
//!   `date_created`, and announces the number of matches in `X-PW-TOTAL`. Only the first
//!   100,000 matches can be paged to ([`Options::search_cap`]). Emails match
//!   case-insensitively; a phone number matches loosely (one number's digits ending the
//!   other's, a leading `0` read as +46), as a real search may: the connector must check.
//! - `GET /people/{id}`, `DELETE /people/{id}` (`{"id":…,"is_deleted":true}`); 404 when absent.
//! - `GET /account`.
//! - An optional [`RateLimit`] in front (Copper: 180 a minute, rolling; 429).
//! - An outage on demand: [`Copper::answer_next`] serves a status (a 429 storm, with or
//!   without `Retry-After`, or 5xx) to the next requests instead of answering them, and
//!   [`Copper::injected_served`] counts how many were served.
//!
//! ```no_run
//! use gallra_testkit::copper::{Copper, NewPerson};
//! let copper = Copper::start();
//! let id = copper.add_person(NewPerson::named("Anna Svensson", "anna@example.se"));
//! // … point the connector at copper.base_url() …
//! assert!(!copper.person_exists(id));
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::rate_limit::RateLimit;
use crate::server::TestServer;

/// The API key the server accepts.
pub const TOKEN: &str = "copper-test-token";
/// The user email the server accepts.
pub const USER_EMAIL: &str = "gallra-bot@example.test";
/// Where the API lives under the server's root, as at Copper.
pub const PATH_PREFIX: &str = "/developer_api/v1";

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// A request limit in front of every route (Copper: 180 per 60 s rolling).
    pub rate_limit: Option<RateLimit>,
    /// Only this many matches of a search can be paged to (Copper: 100,000).
    pub search_cap: usize,
    /// Whether searches answer with `X-PW-TOTAL`.
    pub total_header: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rate_limit: None,
            search_cap: 100_000,
            total_header: true,
        }
    }
}

/// A person to seed.
#[derive(Debug, Clone, Default)]
pub struct NewPerson {
    /// Full name.
    pub name: String,
    /// Email addresses (category `work`).
    pub emails: Vec<String>,
    /// Phone numbers as typed into Copper (category `mobile`).
    pub phones: Vec<String>,
    /// Professional title.
    pub title: Option<String>,
    /// The company's name.
    pub company_name: Option<String>,
    /// Free-text description.
    pub details: Option<String>,
    /// Street, city, postal code, country.
    pub address: Option<(String, String, String, String)>,
    /// Unix seconds; default 1,600,000,000 plus the id.
    pub date_created: Option<i64>,
    /// Unix seconds.
    pub date_modified: Option<i64>,
    /// Unix seconds.
    pub date_last_contacted: Option<i64>,
}

impl NewPerson {
    /// A person with a name and one email.
    pub fn named(name: &str, email: &str) -> Self {
        Self {
            name: name.to_owned(),
            emails: vec![email.to_owned()],
            ..Self::default()
        }
    }
}

#[derive(Debug, Default)]
struct People {
    by_id: BTreeMap<u64, Value>,
    next_id: u64,
}

/// Answers served instead of the real ones (an outage), and how many were served.
#[derive(Debug, Default)]
struct Outage {
    /// Each: the status and the `Retry-After` seconds, if any.
    queue: VecDeque<(StatusCode, Option<u64>)>,
    served: usize,
}

#[derive(Clone)]
struct App {
    people: Arc<Mutex<People>>,
    options: Options,
    outage: Arc<Mutex<Outage>>,
}

/// A running Copper test server; stops on drop.
pub struct Copper {
    server: TestServer,
    app: App,
}

impl Copper {
    /// Starts a server with the default [`Options`] (no rate limit).
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    /// Starts a server with these options.
    pub fn start_with(options: Options) -> Self {
        let app = App {
            people: Arc::new(Mutex::new(People {
                by_id: BTreeMap::new(),
                next_id: 1000,
            })),
            options: options.clone(),
            outage: Arc::new(Mutex::new(Outage::default())),
        };
        let api = Router::new()
            .route("/people/search", post(search))
            .route("/people/{id}", get(fetch).delete(delete))
            .route("/account", get(account))
            .with_state(app.clone());
        let mut router =
            Router::new()
                .nest(PATH_PREFIX, api)
                .layer(axum::middleware::from_fn_with_state(
                    app.outage.clone(),
                    outage,
                ));
        if let Some(limit) = &options.rate_limit {
            router = limit.apply(router);
        }
        Self {
            server: TestServer::start(router),
            app,
        }
    }

    /// The connector's `base_url`: `http://127.0.0.1:PORT/developer_api/v1`.
    pub fn base_url(&self) -> String {
        format!("{}{PATH_PREFIX}", self.server.base_url())
    }

    /// Adds a person; returns its id.
    pub fn add_person(&self, person: NewPerson) -> u64 {
        let mut people = lock(&self.app.people);
        people.next_id += 1;
        let id = people.next_id;
        people.by_id.insert(id, record(id, person));
        id
    }

    /// The person's record as `GET /people/{id}` shows it.
    pub fn person(&self, id: u64) -> Option<Value> {
        lock(&self.app.people).by_id.get(&id).cloned()
    }

    /// Whether the person is still there.
    pub fn person_exists(&self, id: u64) -> bool {
        lock(&self.app.people).by_id.contains_key(&id)
    }

    /// How many people there are.
    pub fn people_count(&self) -> usize {
        lock(&self.app.people).by_id.len()
    }

    /// The rate limit in front, if any (for its request log).
    pub fn rate_limit(&self) -> Option<&RateLimit> {
        self.app.options.rate_limit.as_ref()
    }

    /// Serves `status` (with `Retry-After: retry_after` seconds if given) to the next
    /// `times` requests instead of answering them: a 429 storm or a 5xx outage. Calls add
    /// to the queue, served in order.
    pub fn answer_next(&self, times: usize, status: u16, retry_after: Option<u64>) {
        let status = StatusCode::from_u16(status).expect("a valid HTTP status");
        let mut outage = lock(&self.app.outage);
        outage
            .queue
            .extend(std::iter::repeat_n((status, retry_after), times));
    }

    /// How many injected answers ([`Copper::answer_next`]) were served so far.
    pub fn injected_served(&self) -> usize {
        lock(&self.app.outage).served
    }

    /// How many injected answers are still waiting to be served.
    pub fn injected_left(&self) -> usize {
        lock(&self.app.outage).queue.len()
    }
}

/// Serves the next injected answer, if any, in place of the route's.
async fn outage(
    State(outage): State<Arc<Mutex<Outage>>>,
    request: Request,
    next: Next,
) -> Response {
    let injected = {
        let mut outage = lock(&outage);
        let next = outage.queue.pop_front();
        outage.served += usize::from(next.is_some());
        next
    };
    let Some((status, retry_after)) = injected else {
        return next.run(request).await;
    };
    let mut response = error(status, "injected by the test");
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert("Retry-After", HeaderValue::from(secs));
    }
    response
}

fn record(id: u64, p: NewPerson) -> Value {
    let address = p.address.map(|(street, city, postal_code, country)| {
        json!({"street": street, "city": city, "state": null,
               "postal_code": postal_code, "country": country})
    });
    let (first, last) = match p.name.split_once(' ') {
        Some((first, last)) => (first.to_owned(), last.to_owned()),
        None => (p.name.clone(), String::new()),
    };
    let created = p.date_created.unwrap_or(1_600_000_000 + id as i64);
    json!({
        "id": id,
        "name": p.name,
        "prefix": null, "first_name": first, "middle_name": null, "last_name": last,
        "suffix": null,
        "address": address,
        "assignee_id": null, "company_id": null,
        "company_name": p.company_name,
        "contact_type_id": 5,
        "details": p.details,
        "emails": p.emails.iter().map(|e| json!({"email": e, "category": "work"})).collect::<Vec<_>>(),
        "phone_numbers": p.phones.iter().map(|n| json!({"number": n, "category": "mobile"})).collect::<Vec<_>>(),
        "socials": [], "tags": [],
        "title": p.title,
        "websites": [], "custom_fields": [],
        "date_created": created,
        "date_modified": p.date_modified.unwrap_or(created),
        "date_last_contacted": p.date_last_contacted,
        "interaction_count": 0,
        "leads_converted_from": [],
        "date_lead_created": null,
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"success": false, "status": status.as_u16(), "message": message});
    (status, Json(body)).into_response()
}

/// Copper's 401, unless the three headers are right.
fn denied(headers: &HeaderMap) -> Option<Response> {
    let is = |name: &str, want: &str| headers.get(name).and_then(|v| v.to_str().ok()) == Some(want);
    if is("X-PW-AccessToken", TOKEN)
        && is("X-PW-Application", "developer_api")
        && is("X-PW-UserEmail", USER_EMAIL)
    {
        None
    } else {
        Some(error(
            StatusCode::UNAUTHORIZED,
            "API Key or Email is invalid",
        ))
    }
}

#[derive(Debug, Deserialize)]
struct Search {
    #[serde(default)]
    emails: Vec<String>,
    phone_number: Option<String>,
    page_number: Option<usize>,
    page_size: Option<usize>,
}

/// Digits of a phone number, a leading `00` dropped and a leading `0` read as Sweden's 46.
fn phone_digits(number: &str) -> String {
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

fn phone_matches(stored: &str, query: &str) -> bool {
    let (a, b) = (phone_digits(stored), phone_digits(query));
    !a.is_empty() && !b.is_empty() && (a.ends_with(&b) || b.ends_with(&a))
}

fn matches(person: &Value, search: &Search) -> bool {
    let listed = |list: &str, key: &str| -> Vec<String> {
        person[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[key].as_str().map(str::to_owned))
            .collect()
    };
    // Filters combine with AND, as Copper documents.
    let email_ok = search.emails.is_empty() || {
        let held = listed("emails", "email");
        search
            .emails
            .iter()
            .any(|want| held.iter().any(|h| h.eq_ignore_ascii_case(want.trim())))
    };
    let phone_ok = search.phone_number.as_ref().is_none_or(|query| {
        listed("phone_numbers", "number")
            .iter()
            .any(|n| phone_matches(n, query))
    });
    email_ok && phone_ok
}

async fn search(
    State(app): State<App>,
    headers: HeaderMap,
    Json(search): Json<Search>,
) -> Response {
    if let Some(denied) = denied(&headers) {
        return denied;
    }
    let page_number = search.page_number.unwrap_or(1).max(1);
    let page_size = search.page_size.unwrap_or(20).clamp(1, 200);
    let people = lock(&app.people);
    let mut hits: Vec<&Value> = people
        .by_id
        .values()
        .filter(|p| matches(p, &search))
        .collect();
    hits.sort_by_key(|p| (p["date_created"].as_i64(), p["id"].as_u64()));
    let total = hits.len();
    hits.truncate(app.options.search_cap);
    let page: Vec<Value> = hits
        .into_iter()
        .skip((page_number - 1) * page_size)
        .take(page_size)
        .cloned()
        .collect();
    drop(people);
    let mut response = Json(page).into_response();
    if app.options.total_header {
        response
            .headers_mut()
            .insert("X-PW-TOTAL", HeaderValue::from(total));
    }
    response
}

async fn fetch(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = denied(&headers) {
        return denied;
    }
    let person = id
        .parse::<u64>()
        .ok()
        .and_then(|id| lock(&app.people).by_id.get(&id).cloned());
    match person {
        Some(person) => Json(person).into_response(),
        None => error(StatusCode::NOT_FOUND, "Resource not found"),
    }
}

async fn delete(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = denied(&headers) {
        return denied;
    }
    let removed = id
        .parse::<u64>()
        .ok()
        .filter(|id| lock(&app.people).by_id.remove(id).is_some());
    match removed {
        Some(id) => Json(json!({"id": id, "is_deleted": true})).into_response(),
        None => error(StatusCode::NOT_FOUND, "Resource not found"),
    }
}

async fn account(headers: HeaderMap) -> Response {
    if let Some(denied) = denied(&headers) {
        return denied;
    }
    Json(json!({"id": 1, "name": "Gallra Test AB"})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_match_loosely_like_a_search_may() {
        assert!(phone_matches("070-123 45 67", "+46701234567"));
        assert!(phone_matches("+46 70 123 45 67", "0701234567"));
        assert!(phone_matches("1234567", "+46701234567"), "a suffix matches");
        assert!(!phone_matches("070-123 45 68", "+46701234567"));
        assert!(!phone_matches("", "+46701234567"));
    }

    #[test]
    fn search_filters_combine_and_emails_ignore_case() {
        let person = record(
            1,
            NewPerson {
                phones: vec!["070-123 45 67".into()],
                ..NewPerson::named("Anna", "Anna@Example.se")
            },
        );
        let search = |emails: &[&str], phone: Option<&str>| Search {
            emails: emails.iter().map(|e| e.to_string()).collect(),
            phone_number: phone.map(str::to_owned),
            page_number: None,
            page_size: None,
        };
        assert!(matches(&person, &search(&["anna@example.se"], None)));
        assert!(matches(&person, &search(&[], Some("+46701234567"))));
        assert!(!matches(
            &person,
            &search(&["anna@example.se"], Some("+4670999"))
        ));
        assert!(!matches(&person, &search(&["bo@example.se"], None)));
    }

    /// `GET /account` over a plain socket: the status line and the `Retry-After` value.
    fn get_account(copper: &Copper) -> (String, Option<String>) {
        use std::io::{Read, Write};
        let addr = copper.server.base_url().replace("http://", "");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET {PATH_PREFIX}/account HTTP/1.1\r\nHost: test\r\nX-PW-AccessToken: {TOKEN}\r\n\
             X-PW-Application: developer_api\r\nX-PW-UserEmail: {USER_EMAIL}\r\n\
             Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let status = text.lines().next().unwrap_or_default().to_owned();
        let retry_after = text.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("retry-after: ")
                .map(str::to_owned)
        });
        (status, retry_after)
    }

    #[test]
    fn injected_answers_are_served_in_order_then_the_real_ones() {
        let copper = Copper::start();
        copper.answer_next(2, 429, Some(3));
        copper.answer_next(1, 503, None);
        let statuses: Vec<_> = (0..4).map(|_| get_account(&copper)).collect();
        assert!(statuses[0].0.contains(" 429 "), "{statuses:?}");
        assert_eq!(statuses[1].1.as_deref(), Some("3"));
        assert!(statuses[2].0.contains(" 503 ") && statuses[2].1.is_none());
        assert!(statuses[3].0.contains(" 200 "), "{statuses:?}");
        assert_eq!(copper.injected_served(), 3);
        assert_eq!(copper.injected_left(), 0);
    }
}
