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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::{json, Value};

use shim::TestServer;

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
            .route("/includes/api.php", post(api))
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

fn write_private(path: &Path, content: &str) {
    std::fs::write(path, format!("{content}\n")).expect("write a secret file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

/// The request's parameters; the last of a repeated name wins, as in PHP.
struct Params(BTreeMap<String, String>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn number(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1" | "on" | "yes"))
    }
}

async fn api(State(state): State<Shared>, Form(form): Form<Vec<(String, String)>>) -> Response {
    let params = Params(form.into_iter().collect());
    let action = params.get("action").unwrap_or("").to_owned();
    let mut s = lock(&state);
    let (status, response) = if !s.injected.is_empty() {
        let injected = s.injected.remove(0);
        let status =
            StatusCode::from_u16(injected.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, "injected").into_response();
        if let Some(wait) = injected
            .retry_after
            .and_then(|w| HeaderValue::from_str(&w).ok())
        {
            response.headers_mut().insert("retry-after", wait);
        }
        (status, response)
    } else if !authenticated(&params) {
        let status = if s.auth_403 {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        };
        (
            status,
            (status, Json(error("Authentication Failed"))).into_response(),
        )
    } else {
        let body = s.dispatch(&action, &params);
        (StatusCode::OK, Json(body).into_response())
    };
    s.log.push(Logged {
        at: Instant::now(),
        action,
        status: status.as_u16(),
    });
    response
}

fn authenticated(params: &Params) -> bool {
    let pair = |id: &str, secret: &str| {
        params.get(id) == Some(IDENTIFIER) && params.get(secret) == Some(SECRET)
    };
    pair("identifier", "secret") || pair("username", "password")
}

fn error(message: &str) -> Value {
    json!({ "result": "error", "message": message })
}

impl Inner {
    fn dispatch(&mut self, action: &str, p: &Params) -> Value {
        match action.to_ascii_lowercase().as_str() {
            "getclients" => self.get_clients(p),
            "getclientsdetails" => self.get_clients_details(p),
            "getinvoices" => self.get_invoices(p),
            "updateclient" => self.update_client(p),
            "deleteclient" => self.delete_client(p),
            _ => error("Command Not Found"),
        }
    }

    /// `limitstart`/`limitnum` with WHMCS' default of 25 and the site's cap.
    fn window(&self, p: &Params) -> (usize, usize) {
        let start = p.number("limitstart").unwrap_or(0) as usize;
        let num = p.number("limitnum").unwrap_or(25).clamp(1, self.max_page) as usize;
        (start, num)
    }

    fn get_clients(&self, p: &Params) -> Value {
        let search = p.get("search").unwrap_or("").to_lowercase();
        let status = p.get("status").filter(|s| !s.is_empty());
        let mut rows: Vec<(&u64, &ClientData)> = self
            .clients
            .iter()
            .filter(|(_, c)| {
                search.is_empty()
                    || [&c.email, &c.firstname, &c.lastname, &c.companyname]
                        .iter()
                        .any(|f| f.to_lowercase().starts_with(&search))
                    || format!("{} {}", c.firstname, c.lastname)
                        .to_lowercase()
                        .starts_with(&search)
            })
            .filter(|(_, c)| status.is_none_or(|s| c.status.eq_ignore_ascii_case(s)))
            .collect();
        match p.get("orderby").unwrap_or("id") {
            "email" => rows.sort_by(|a, b| a.1.email.cmp(&b.1.email)),
            "lastname" => rows.sort_by(|a, b| a.1.lastname.cmp(&b.1.lastname)),
            _ => rows.sort_by_key(|(id, _)| **id),
        }
        if p.get("sorting")
            .is_some_and(|s| s.eq_ignore_ascii_case("desc"))
        {
            rows.reverse();
        }
        let (start, num) = self.window(p);
        let page: Vec<Value> = rows
            .iter()
            .skip(start)
            .take(num)
            .map(|(id, c)| {
                json!({
                    "id": id, "firstname": c.firstname, "lastname": c.lastname,
                    "companyname": c.companyname, "email": c.email,
                    "datecreated": "2020-01-01", "groupid": 0, "status": c.status,
                })
            })
            .collect();
        let mut answer = json!({
            "result": "success",
            "totalresults": rows.len(),
            "startnumber": start,
            "numreturned": page.len(),
        });
        // PHP leaves the key out when there is no row.
        if !page.is_empty() {
            answer["clients"] = json!({ "client": page });
        }
        answer
    }

    fn find(&self, p: &Params) -> Option<u64> {
        if let Some(id) = p.number("clientid") {
            return self.clients.contains_key(&id).then_some(id);
        }
        let email = p.get("email")?.trim().to_lowercase();
        self.clients
            .iter()
            .find(|(_, c)| c.email.to_lowercase() == email)
            .map(|(id, _)| *id)
    }

    fn invoices_of(&self, client: u64) -> impl Iterator<Item = (&u64, &InvoiceData)> {
        self.invoices
            .iter()
            .filter(move |(_, (c, _))| *c == client)
            .map(|(id, (_, invoice))| (id, invoice))
    }

    fn get_clients_details(&self, p: &Params) -> Value {
        let Some(id) = self.find(p) else {
            return error("Client Not Found");
        };
        let c = &self.clients[&id];
        let formatted = if c.phonenumber.is_empty() {
            String::new()
        } else {
            format!("+{}.{}", c.phonecc, c.phonenumber.trim_start_matches('0'))
        };
        let customfields: Vec<Value> = c
            .customfields
            .iter()
            .map(|(id, value)| json!({ "id": id, "value": value }))
            .collect();
        let client = json!({
            "userid": id, "client_id": id, "id": id,
            "uuid": format!("00000000-0000-4000-8000-{id:012}"),
            "firstname": c.firstname, "lastname": c.lastname,
            "fullname": format!("{} {}", c.firstname, c.lastname),
            "companyname": c.companyname, "email": c.email,
            "address1": c.address1, "address2": c.address2, "city": c.city,
            "fullstate": c.state, "state": c.state, "postcode": c.postcode,
            "countrycode": c.country, "country": c.country,
            "phonecc": c.phonecc, "phonenumber": c.phonenumber,
            "phonenumberformatted": formatted, "tax_id": c.tax_id,
            "notes": c.notes, "status": c.status, "lastlogin": c.lastlogin,
            "customfields": customfields, "currency_code": "SEK", "credit": "0.00",
            "cctype": if c.has_card { json!("Visa") } else { Value::Null },
            "cclastfour": if c.has_card { json!("4242") } else { Value::Null },
        });
        let count = |status: &str| {
            self.invoices_of(id)
                .filter(|(_, i)| i.status.eq_ignore_ascii_case(status))
                .count()
                .to_string()
        };
        let mut answer = json!({ "result": "success", "client": client });
        if p.flag("stats") {
            answer["stats"] = json!({
                "numunpaidinvoices": count("Unpaid"),
                "unpaidinvoicesamount": "0.00 SEK",
                "numpaidinvoices": count("Paid"),
                "productsnumactive": c.active_products.to_string(),
                "productsnumtotal": c.active_products.to_string(),
                "numactivedomains": c.active_domains.to_string(),
                "numdomains": c.active_domains.to_string(),
                "income": "0.00 SEK",
            });
        }
        answer
    }

    fn get_invoices(&self, p: &Params) -> Value {
        let status = p.get("status").filter(|s| !s.is_empty());
        let rows: Vec<(&u64, &(u64, InvoiceData))> = self
            .invoices
            .iter()
            .filter(|(_, (c, _))| p.number("userid").is_none_or(|u| u == *c))
            .filter(|(_, (_, i))| status.is_none_or(|s| i.status.eq_ignore_ascii_case(s)))
            .collect();
        let (start, num) = self.window(p);
        let page: Vec<Value> = rows
            .iter()
            .skip(start)
            .take(num)
            .map(|(id, (client, i))| {
                json!({
                    "id": id.to_string(), "userid": client.to_string(), "invoicenum": "",
                    "date": i.date, "duedate": i.date, "datepaid": "0000-00-00 00:00:00",
                    "subtotal": "100.00", "credit": "0.00", "tax": "25.00", "total": "125.00",
                    "status": i.status, "paymentmethod": "banktransfer", "currencycode": "SEK",
                })
            })
            .collect();
        json!({
            "result": "success",
            "totalresults": rows.len().to_string(),
            "startnumber": start,
            "numreturned": page.len(),
            "invoices": { "invoice": page },
        })
    }

    fn update_client(&mut self, p: &Params) -> Value {
        let Some(id) = p
            .number("clientid")
            .filter(|id| self.clients.contains_key(id))
        else {
            return error("Client ID Not Found");
        };
        if let Some(email) = p.get("email") {
            let taken = self
                .clients
                .iter()
                .any(|(other, c)| *other != id && c.email.eq_ignore_ascii_case(email));
            if taken {
                return error("Duplicate Email Address");
            }
        }
        let customfields = match p.get("customfields").map(parse_custom_fields) {
            Some(None) => return error("Invalid custom fields"),
            Some(Some(fields)) => fields,
            None => Vec::new(),
        };
        let c = self.clients.get_mut(&id).expect("checked above");
        let text_fields: [(&str, &mut String); 13] = [
            ("firstname", &mut c.firstname),
            ("lastname", &mut c.lastname),
            ("companyname", &mut c.companyname),
            ("email", &mut c.email),
            ("address1", &mut c.address1),
            ("address2", &mut c.address2),
            ("city", &mut c.city),
            ("state", &mut c.state),
            ("postcode", &mut c.postcode),
            ("country", &mut c.country),
            ("phonenumber", &mut c.phonenumber),
            ("tax_id", &mut c.tax_id),
            ("notes", &mut c.notes),
        ];
        for (name, field) in text_fields {
            if let Some(value) = p.get(name) {
                *field = value.to_owned();
            }
        }
        if let Some(status) = p.get("status") {
            c.status = status.to_owned();
        }
        if p.flag("clearcreditcard") {
            c.has_card = false;
        }
        for (field, value) in customfields {
            c.customfields.insert(field, value);
        }
        json!({ "result": "success", "clientid": id })
    }

    fn delete_client(&mut self, p: &Params) -> Value {
        let Some(id) = p
            .number("clientid")
            .filter(|id| self.clients.contains_key(id))
        else {
            return error("Client ID Not Found");
        };
        self.clients.remove(&id);
        self.invoices.retain(|_, (client, _)| *client != id);
        json!({ "result": "success", "clientid": id })
    }
}

/// Reads `base64(serialize([id => "value", …]))` as PHP writes it for integer keys and
/// string values; `None` if it is anything else.
fn parse_custom_fields(encoded: &str) -> Option<Vec<(u64, String)>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix("a:")?;
    let (count, rest) = rest.split_once(":{")?;
    let count: usize = count.parse().ok()?;
    let mut rest = rest;
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let after_key = rest.strip_prefix("i:")?;
        let (key, after) = after_key.split_once(';')?;
        let after = after.strip_prefix("s:")?;
        let (len, after) = after.split_once(":\"")?;
        let len: usize = len.parse().ok()?;
        let value = after.get(..len)?;
        rest = after.get(len..)?.strip_prefix("\";")?;
        fields.push((key.parse().ok()?, value.to_owned()));
    }
    (rest == "}").then_some(fields)
}

/// A stand-in for `crate::server::TestServer` until the kit's lands. (Temporary.)
pub(crate) mod shim {
    use axum::Router;

    pub struct TestServer {
        url: String,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl TestServer {
        pub fn start(router: Router) -> Self {
            let (url_tx, url_rx) = std::sync::mpsc::channel();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let thread = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind");
                    let addr = listener.local_addr().expect("address");
                    url_tx.send(format!("http://{addr}")).expect("send url");
                    axum::serve(listener, router)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await
                        .expect("serve");
                });
            });
            let url = url_rx.recv().expect("the server starts");
            Self {
                url,
                stop: Some(stop),
                thread: Some(thread),
            }
        }

        pub fn url(&self) -> String {
            self.url.clone()
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_serialized_custom_fields_are_read() {
        let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            parse_custom_fields(&encode("a:1:{i:7;s:0:\"\";}")),
            Some(vec![(7, String::new())])
        );
        assert_eq!(
            parse_custom_fields(&encode("a:2:{i:1;s:3:\"a;b\";i:4;s:2:\"åä\";}")),
            None,
            "lengths are bytes, as in PHP"
        );
        assert_eq!(
            parse_custom_fields(&encode("a:2:{i:1;s:3:\"a;b\";i:4;s:4:\"åä\";}")),
            Some(vec![(1, "a;b".to_owned()), (4, "åä".to_owned())])
        );
        assert_eq!(parse_custom_fields("not base64!"), None);
    }
}
