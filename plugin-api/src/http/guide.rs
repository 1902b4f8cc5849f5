//! # A complete HTTP connector, tested
//!
//! A connector for a small help desk API: users found by email, erased with `DELETE`. It
//! shows the parts every SaaS connector has — settings with an `http` table and a secret
//! file, one [`HttpClient`](super::HttpClient), endpoint labels, a paged search, 404 as
//! "already gone", a `health` that really calls the system — and the test that runs the
//! [conformance suite](crate::conformance) against a stateful test server.
//!
//! In a plugin crate this is three files: `src/config.rs` (the settings), `src/lib.rs` (the
//! connector and `export_connector!`) and `tests/it/conformance.rs` (the last part, a module
//! of the crate's one test binary, `tests/it/main.rs`); the test server belongs in the
//! `gallra-testkit` crate, so that the end-to-end tests can use it too.
//!
//! ```
//! use std::path::PathBuf;
//!
//! use gallra_plugin_api::http::{by_offset, join_url, HttpClient, HttpSettings, OffsetPage, Secret};
//! use gallra_plugin_api::{
//!     Capability, Connector, ConnectorError, Description, EraseOutcome, ExportField,
//!     ExportResult, IdentifierKind, LookupResult, OpenContext, RecordRef, Subject,
//! };
//! use serde::Deserialize;
//!
//! // ---- src/config.rs ----
//!
//! /// `[systems.NAME.settings]` of a help desk.
//! #[derive(Debug, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! pub struct Settings {
//!     /// The API root, e.g. `https://acme.helpdesk.example/api/v2`.
//!     pub base_url: String,
//!     /// A file holding the API token (mode 600), e.g. `/etc/gallra/helpdesk.token`.
//!     pub token_file: PathBuf,
//!     /// Timeouts, retries and the request rate.
//!     #[serde(default)]
//!     pub http: HttpSettings,
//! }
//!
//! // ---- src/lib.rs ----
//!
//! /// One user as the API lists it.
//! #[derive(Debug, Deserialize)]
//! struct User {
//!     id: u64,
//!     email: String,
//!     name: String,
//! }
//!
//! /// One page of `GET /users/search`.
//! #[derive(Debug, Deserialize)]
//! struct Search {
//!     users: Vec<User>,
//!     count: u64,
//! }
//!
//! pub struct Helpdesk {
//!     base_url: String,
//!     token: Secret,
//!     client: HttpClient,
//! }
//!
//! impl Helpdesk {
//!     /// Every user with one of the subject's emails, over all pages.
//!     fn users(&self, subject: &Subject) -> Result<Vec<User>, ConnectorError> {
//!         let url = join_url(&self.base_url, &["users", "search"])?;
//!         let label = "GET /users/search";
//!         let mut found = Vec::new();
//!         for email in subject.of_kind(IdentifierKind::Email) {
//!             let email = email.value();
//!             for user in by_offset(label, 100, |offset, limit| {
//!                 let page: Search = self
//!                     .client
//!                     .get(&url)
//!                     .endpoint("GET /users/search")
//!                     .bearer(self.token.expose())
//!                     .query(&[("query", email.as_str())])
//!                     .query(&[("offset", offset), ("limit", limit)])
//!                     .send()?
//!                     .json()?;
//!                 Ok(OffsetPage { items: page.users, total: page.count })
//!             }) {
//!                 found.push(user?);
//!             }
//!         }
//!         Ok(found)
//!     }
//! }
//!
//! impl Connector for Helpdesk {
//!     type Settings = Settings;
//!
//!     fn validate(settings: &Settings) -> Result<(), ConnectorError> {
//!         settings.http.validate("http")
//!     }
//!
//!     fn open(settings: Settings, context: OpenContext) -> Result<Self, ConnectorError> {
//!         Ok(Helpdesk {
//!             token: Secret::from_file(&settings.token_file)?,
//!             client: HttpClient::new(&context.system, &settings.http)?,
//!             base_url: settings.base_url,
//!         })
//!     }
//!
//!     fn describe(&self) -> Description {
//!         Description {
//!             name: "helpdesk".into(),
//!             version: env!("CARGO_PKG_VERSION").into(),
//!             capabilities: vec![Capability::Lookup, Capability::Export, Capability::Erase],
//!             identifier_kinds: vec![IdentifierKind::Email],
//!             record_kinds: vec![],
//!             activity_bearing: false,
//!         }
//!     }
//!
//!     fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
//!         let records = self.users(subject)?.into_iter()
//!             .map(|u| RecordRef { collection: "users".into(), key: u.id.to_string() })
//!             .collect();
//!         Ok(LookupResult { records })
//!     }
//!
//!     fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
//!         let mut fields = Vec::new();
//!         for user in self.users(subject)? {
//!             for (field, value) in [("email", user.email), ("name", user.name)] {
//!                 fields.push(ExportField {
//!                     collection: "users".into(),
//!                     record: user.id.to_string(),
//!                     field: field.into(),
//!                     value: Some(value),
//!                 });
//!             }
//!         }
//!         Ok(ExportResult { fields })
//!     }
//!
//!     fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
//!         let mut records = 0;
//!         for user in self.users(subject)? {
//!             let url = join_url(&self.base_url, &["users", &user.id.to_string()])?;
//!             let response = self.client.delete(&url)
//!                 .endpoint("DELETE /users/{id}")
//!                 .bearer(self.token.expose())
//!                 .send()?;
//!             // 404: someone else deleted it meanwhile. Erase is idempotent.
//!             if !response.is_not_found() {
//!                 records += 1;
//!             }
//!         }
//!         Ok(EraseOutcome::Erased { records })
//!     }
//!
//!     fn health(&self) -> Result<(), ConnectorError> {
//!         let url = join_url(&self.base_url, &["me"])?;
//!         self.client.get(&url).endpoint("GET /me").bearer(self.token.expose()).send()?;
//!         Ok(())
//!     }
//! }
//!
//! // In the plugin crate's lib.rs:
//! // gallra_plugin_api::export_connector!(Helpdesk);
//!
//! // ---- the test server (in gallra-testkit) ----
//!
//! use std::collections::BTreeMap;
//! use std::sync::{Arc, Mutex};
//!
//! use axum::extract::{Path, Query, State};
//! use axum::http::StatusCode;
//! use axum::routing::{delete, get};
//! use axum::{Json, Router};
//! use gallra_testkit::server::{unreachable_url, TestServer};
//!
//! type Users = Arc<Mutex<BTreeMap<u64, (String, String)>>>;
//!
//! #[derive(Deserialize)]
//! struct SearchQuery { query: String, offset: usize, limit: usize }
//!
//! fn helpdesk_server(users: Users) -> TestServer {
//!     let router = Router::new()
//!         .route("/api/v2/me", get(|| async { "{}" }))
//!         .route("/api/v2/users/search", get(|State(users): State<Users>, Query(q): Query<SearchQuery>| async move {
//!             let users = users.lock().unwrap();
//!             let hits: Vec<_> = users.iter().filter(|(_, (email, _))| *email == q.query)
//!                 .map(|(id, (email, name))| serde_json::json!({"id": id, "email": email, "name": name}))
//!                 .collect();
//!             let page: Vec<_> = hits.iter().skip(q.offset).take(q.limit).cloned().collect();
//!             Json(serde_json::json!({"users": page, "count": hits.len()}))
//!         }))
//!         .route("/api/v2/users/{id}", delete(|State(users): State<Users>, Path(id): Path<u64>| async move {
//!             match users.lock().unwrap().remove(&id) {
//!                 Some(_) => StatusCode::NO_CONTENT,
//!                 None => StatusCode::NOT_FOUND,
//!             }
//!         }))
//!         .with_state(users);
//!     TestServer::start(router)
//! }
//!
//! // ---- tests/it/conformance.rs ----
//!
//! use gallra_plugin_api::conformance::{self, ConformanceSystem};
//! use gallra_plugin_api::Identifier;
//!
//! struct SeededHelpdesk {
//!     users: Users,
//!     server: TestServer,
//!     dir: tempfile::TempDir,
//! }
//!
//! impl SeededHelpdesk {
//!     fn start() -> Self {
//!         let users: Users = Arc::default();
//!         users.lock().unwrap().extend([
//!             (1, ("anna@example.se".to_owned(), "Anna Andersson".to_owned())),
//!             (2, ("bengt@example.se".to_owned(), "Bengt Berg".to_owned())),
//!         ]);
//!         let dir = tempfile::tempdir().unwrap();
//!         std::fs::write(dir.path().join("token"), "t0ken\n").unwrap();
//!         SeededHelpdesk { server: helpdesk_server(users.clone()), users, dir }
//!     }
//!
//!     fn settings(&self, base: &str) -> Settings {
//!         Settings {
//!             base_url: format!("{base}/api/v2"),
//!             token_file: self.dir.path().join("token"),
//!             http: HttpSettings { max_retries: 1, backoff_initial_ms: 10, ..HttpSettings::default() },
//!         }
//!     }
//! }
//!
//! fn email(value: &str) -> Subject {
//!     Subject::new(vec![Identifier::parse(IdentifierKind::Email, value).unwrap()])
//! }
//!
//! impl ConformanceSystem for SeededHelpdesk {
//!     type Connector = Helpdesk;
//!
//!     fn open(&mut self) -> Result<Helpdesk, ConnectorError> {
//!         let context = OpenContext { system: "helpdesk".into(), time_zone: "UTC".into() };
//!         Helpdesk::open(self.settings(&self.server.base_url()), context)
//!     }
//!
//!     fn open_unreachable(&mut self) -> Result<Helpdesk, ConnectorError> {
//!         let context = OpenContext { system: "helpdesk".into(), time_zone: "UTC".into() };
//!         Helpdesk::open(self.settings(&unreachable_url()), context)
//!     }
//!
//!     fn subject(&self) -> Subject { email("anna@example.se") }
//!
//!     fn expected_export(&self) -> Vec<String> {
//!         vec!["anna@example.se".into(), "Anna Andersson".into()]
//!     }
//!
//!     fn bystander(&self) -> Subject { email("bengt@example.se") }
//!
//!     fn holds(&mut self, subject: &Subject) -> bool {
//!         let wanted = subject.identifiers[0].value();
//!         self.users.lock().unwrap().values().any(|(email, _)| *email == wanted)
//!     }
//! }
//!
//! // #[test] fn the_helpdesk_connector_passes_the_conformance_suite() {
//! conformance::run(&mut SeededHelpdesk::start());
//! // }
//! ```
