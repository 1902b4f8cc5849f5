//! The settings a sysadmin writes under `[systems.NAME.settings]` for `plugin = "http"`:
//! the system's REST API described as request templates.
//!
//! A complete example (the testkit's REST API):
//!
//! ```toml
//! [systems.shop]
//! plugin = "http"
//! [systems.shop.settings]
//! base_url = "https://shop.example.se/api"
//! collection = "users"
//! auth = { type = "bearer", token_file = "/run/credentials/gallra/shop-token" }
//!
//! [[systems.shop.settings.lookup]]
//! path = "/v1/users?email={email}"
//! results = "/data"
//! key = "/id"
//! match = "/email"
//! pagination = { type = "page", page_param = "page", size_param = "per_page", size = 100, total_pages = "/meta/total_pages" }
//!
//! [[systems.shop.settings.lookup]]
//! path = "/v1/users?phone={phone}"
//! results = "/data"
//! match = "/phone"
//! pagination = { type = "page", size = 100, total_pages = "/meta/total_pages" }
//!
//! [systems.shop.settings.export]
//! path = "/v1/users/{record.id}"
//!
//! [systems.shop.settings.erase]
//! method = "DELETE"
//! path = "/v1/users/{record.id}"
//!
//! [systems.shop.settings.anonymize]
//! method = "PATCH"
//! path = "/v1/users/{record.id}"
//! body = { name = "anonymized", email = "anonymized-{record.id}@invalid", phone = "" }
//!
//! [systems.shop.settings.status]
//! last_activity = "/last_login"
//!
//! [systems.shop.settings.http]
//! rate_per_sec = 10
//! ```
//!
//! Placeholders: `{email}`, `{phone}`, `{customer_id}`, `{personnummer}`, `{domain}`, `{ip}`
//! (the subject's identifier of that kind, normalized) and `{record.id}` (a record's key, as
//! a lookup found it). In a path they are percent-encoded; in a body they become JSON
//! values. Write `{{` and `}}` for literal braces.

use std::collections::BTreeMap;
use std::path::PathBuf;

use gallra_plugin_api::http::{HttpSettings, Method};
use gallra_plugin_api::{ConnectorError, IdentifierKind, SettingsProblems};
use serde::Deserialize;
use serde_json::Value;

use crate::pagination::Pagination;
use crate::pointer;
use crate::template::{BodyTemplate, Placeholder, Template};

/// The connector's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The API's base URL, e.g. `https://shop.example.se/api`; request paths are appended
    /// to it. Links the API hands out (`next_link`) must stay on this URL's origin.
    pub base_url: String,
    /// How gallra proves who it is.
    pub auth: Auth,
    /// Extra headers sent with every request, e.g. `{ Accept = "application/json" }`. Not
    /// for secrets: those go in `auth`, read from a file.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The name records are listed under in lookups and exports, e.g. `users`.
    /// Default: `records`.
    #[serde(default = "default_collection")]
    pub collection: String,
    /// How a subject's records are found: one or more requests, each using the
    /// placeholders of one identifier kind (`[[lookup]]`). Each identifier kind used is one
    /// the connector can resolve.
    pub lookup: Vec<Lookup>,
    /// How one record's full data is fetched, with `{record.id}`. Default: the export lists
    /// the fields of the records the lookup returned.
    pub export: Option<Export>,
    /// How the subject's data is deleted: per record (`{record.id}`) or per identifier.
    pub erase: Action,
    /// How the subject's data is anonymized instead, if the system allows it (optional).
    pub anonymize: Option<Action>,
    /// Where a record holds the subject's latest activity (optional; enables `status`).
    pub status: Option<Status>,
    /// A request that answers 2xx when the API is up and the credentials work, e.g.
    /// `{ path = "/v1/me" }`. Default: `GET` on `base_url`, which must answer 2xx or 404.
    pub health: Option<Request>,
    /// The most records a lookup may find for one subject; more is an error, since it
    /// usually means the API ignored the filter. Default: 100.
    #[serde(default = "default_max_records")]
    pub max_records: usize,
    /// Timeouts, retries and the request rate (`rate_per_sec`).
    #[serde(default)]
    pub http: HttpSettings,
}

/// How gallra authenticates. Secrets are read from files (`chmod 600`).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// No authentication (an API behind a private network or a proxy).
    None,
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// A file holding the token.
        token_file: PathBuf,
    },
    /// HTTP Basic authentication.
    Basic {
        /// The user name.
        user: String,
        /// A file holding the password.
        password_file: PathBuf,
    },
    /// A named header carrying an API key, e.g. `X-Api-Key`.
    Header {
        /// The header's name.
        name: String,
        /// A file holding the header's value.
        value_file: PathBuf,
    },
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl HttpMethod {
    /// The method for the HTTP client.
    pub fn method(self) -> Method {
        match self {
            Self::Get => Method::GET,
            Self::Post => Method::POST,
            Self::Put => Method::PUT,
            Self::Patch => Method::PATCH,
            Self::Delete => Method::DELETE,
        }
    }

    /// Whether sending the request twice has the effect of sending it once (RFC 9110
    /// §9.2.2): GET, PUT and DELETE are; POST and PATCH need not be.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Self::Post | Self::Patch)
    }

    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// A request that finds records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// Default: `GET`.
    #[serde(default = "get")]
    pub method: HttpMethod,
    /// The path (and query) after `base_url`, with the placeholders of one identifier
    /// kind, e.g. `/v1/users?email={email}`.
    pub path: String,
    /// A JSON body (a TOML table), e.g. `{ emails = ["{email}"] }`.
    pub body: Option<Value>,
    /// JSON pointer (RFC 6901) to the array of records in the answer; `""` (the default)
    /// when the answer is the array. An object there counts as one record; nothing there
    /// is an error, never "no records".
    #[serde(default)]
    pub results: String,
    /// JSON pointer to each record's key (a string or number), used as `{record.id}`.
    /// Default: `/id`.
    #[serde(default = "default_key")]
    pub key: String,
    /// JSON pointer to the value in each record that must equal the identifier (compared
    /// normalized: emails case-insensitively, phones in E.164); records that do not match
    /// are dropped. Strongly advised: an API that ignores an unknown filter parameter would
    /// otherwise hand back everyone. The value may also be an array of values.
    #[serde(rename = "match")]
    pub match_pointer: Option<String>,
    /// How the results are paged. Default: `{ type = "none" }`.
    #[serde(default)]
    pub pagination: Pagination,
    /// Status codes that mean "nobody with this identifier", e.g. `[404]` for an endpoint
    /// like `/people/by-email/{email}`. Default: none, so that a 404 from a mistyped path is
    /// an error rather than "this person has no data here".
    #[serde(default)]
    pub not_found: Vec<u16>,
}

/// A request that fetches one record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// Default: `GET`.
    #[serde(default = "get")]
    pub method: HttpMethod,
    /// The path with `{record.id}`, e.g. `/v1/users/{record.id}`.
    pub path: String,
    /// A JSON body, if the API wants one.
    pub body: Option<Value>,
    /// JSON pointer to the record in the answer. Default: `""`, the whole answer.
    #[serde(default)]
    pub record: String,
    /// Status codes that mean the record is gone (it is then left out). Default: `[404]`.
    #[serde(default = "default_not_found")]
    pub not_found: Vec<u16>,
}

/// A request that erases or anonymizes: once per record found (with `{record.id}`), or
/// once per identifier of one kind (with e.g. `{email}`) when the lookup found anything.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// The method, e.g. `DELETE`, `POST`, `PATCH`.
    pub method: HttpMethod,
    /// The path, e.g. `/v1/users/{record.id}`.
    pub path: String,
    /// A JSON body, e.g. `{ name = "anonymized" }`.
    pub body: Option<Value>,
    /// Status codes that mean the record is already gone, so erasing again succeeds.
    /// Default: `[404]`.
    #[serde(default = "default_not_found")]
    pub not_found: Vec<u16>,
}

/// A request without placeholders (health).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Default: `GET`.
    #[serde(default = "get")]
    pub method: HttpMethod,
    /// The path after `base_url`.
    pub path: String,
}

/// Where activity is read from the records a lookup finds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// JSON pointer in each record to the latest activity: an RFC 3339 time, a date
    /// (`2024-05-01`), or Unix seconds. The latest over all records is reported.
    pub last_activity: String,
}

fn get() -> HttpMethod {
    HttpMethod::Get
}

fn default_key() -> String {
    "/id".to_owned()
}

fn default_not_found() -> Vec<u16> {
    vec![404]
}

fn default_collection() -> String {
    "records".to_owned()
}

fn default_max_records() -> usize {
    100
}

/// Whom a request is about, from its placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// No placeholders.
    Fixed,
    /// The subject's identifiers of this kind: sent once per identifier.
    Identifier(IdentifierKind),
    /// A record a lookup found: sent once per record.
    Record,
}

/// A request's templates, parsed.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The path template.
    pub path: Template,
    /// The body template.
    pub body: Option<BodyTemplate>,
    /// Whom it is about.
    pub scope: Scope,
}

/// Parses a path and body template and works out their scope; errors name `key`.
pub fn parse_request(
    key: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Parsed, ConnectorError> {
    let mut problems = SettingsProblems::new();
    let template = problems.check(parse_path(key, path));
    let body = problems.check(
        body.map(|b| BodyTemplate::new(b.clone()))
            .transpose()
            .map_err(|e| ConnectorError::config(format!("{key}.body"), e.to_string())),
    );
    // The scope needs both; a part that did not parse left its problem behind.
    let (Some(template), Some(body)) = (template, body) else {
        return Err(problems
            .into_result()
            .expect_err("a template that failed to parse records a problem"));
    };
    let mut used: Vec<Placeholder> = template.placeholders().collect();
    if let Some(body) = &body {
        used.extend(body.placeholders());
    }
    used.sort();
    used.dedup();
    let scope = match used.as_slice() {
        [] => Scope::Fixed,
        [Placeholder::RecordId] => Scope::Record,
        [Placeholder::Identifier(kind)] => Scope::Identifier(*kind),
        several => {
            let names: Vec<String> = several.iter().map(ToString::to_string).collect();
            return Err(ConnectorError::config(
                key,
                format!(
                    "one request uses {}: a request is about one identifier kind or one record \
                     ({{record.id}}); add a request per kind instead",
                    names.join(" and ")
                ),
            ));
        }
    };
    Ok(Parsed {
        path: template,
        body,
        scope,
    })
}

fn parse_path(key: &str, path: &str) -> Result<Template, ConnectorError> {
    if !path.starts_with('/') {
        return Err(ConnectorError::config(
            format!("{key}.path"),
            "a path starts with / and is appended to base_url, e.g. \"/v1/users?email={email}\"",
        ));
    }
    path.parse::<Template>()
        .map_err(|e| ConnectorError::config(format!("{key}.path"), e.to_string()))
}

fn check_pointer(key: String, pointer: &str) -> Result<(), ConnectorError> {
    pointer::check(pointer).map_err(|e| ConnectorError::config(key, e))
}

fn check_not_found(key: String, codes: &[u16]) -> Result<(), ConnectorError> {
    // The kit hands a connector 2xx and 404 answers; every other 4xx is an error before the
    // connector sees it, so it cannot be configured to mean "not found".
    match codes
        .iter()
        .find(|c| !(**c == 404 || (200..300).contains(*c)))
    {
        Some(code) => Err(ConnectorError::config(
            key,
            format!("{code} cannot mean \"not found\": use 404 or a 2xx code"),
        )),
        None => Ok(()),
    }
}

impl Settings {
    /// Checks what serde cannot, without touching files or the network.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        let base = url::Url::parse(&self.base_url).map_err(|e| {
            ConnectorError::config(
                "base_url",
                format!("not a URL ({e}), e.g. https://api.example.se"),
            )
        });
        if let Some(base) = problems.check(base) {
            if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
                problems.add(
                    "base_url",
                    "expected an http(s) URL with a host, e.g. https://api.example.se",
                );
            }
        }
        problems.check(self.check_auth());
        for name in self.headers.keys() {
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid {
                problems.add("headers", format!("\"{name}\" is not a valid header name"));
            }
        }
        if self.collection.trim().is_empty() {
            problems.add("collection", "must not be empty");
        }
        if self.lookup.is_empty() {
            problems.add(
                "lookup",
                "at least one [[lookup]] request is needed to find a subject's records",
            );
        }
        for (n, lookup) in self.lookup.iter().enumerate() {
            problems.check(lookup.validate(&format!("lookup[{n}]")));
        }
        if let Some(export) = &self.export {
            let parsed =
                problems.check(parse_request("export", &export.path, export.body.as_ref()));
            if parsed.is_some_and(|p| p.scope != Scope::Record) {
                problems.add(
                    "export.path",
                    "export fetches one record: use {record.id} and no identifier placeholder",
                );
            }
            problems.check(check_pointer("export.record".into(), &export.record));
            problems.check(check_not_found(
                "export.not_found".into(),
                &export.not_found,
            ));
        }
        problems.check(self.erase.validate("erase"));
        if let Some(anonymize) = &self.anonymize {
            problems.check(anonymize.validate("anonymize"));
        }
        if let Some(status) = &self.status {
            problems.check(check_pointer(
                "status.last_activity".into(),
                &status.last_activity,
            ));
        }
        if let Some(health) = &self.health {
            let parsed = problems.check(parse_request("health", &health.path, None));
            if parsed.is_some_and(|p| p.scope != Scope::Fixed) {
                problems.add(
                    "health.path",
                    "a health check is about no one: no placeholders",
                );
            }
        }
        if self.max_records == 0 {
            problems.add("max_records", "must be at least 1");
        }
        problems.check(self.http.validate("http"));
        problems.into_result()
    }

    fn check_auth(&self) -> Result<(), ConnectorError> {
        match &self.auth {
            Auth::Basic { user, .. } if user.is_empty() || user.contains(':') => Err(
                ConnectorError::config("auth.user", "a Basic user name is non-empty, without ':'"),
            ),
            Auth::Header { name, .. } if name.is_empty() || name.contains([' ', ':']) => Err(
                ConnectorError::config("auth.name", "expected a header name, e.g. X-Api-Key"),
            ),
            _ => Ok(()),
        }
    }

    /// The identifier kinds the lookups resolve, in a stable order.
    pub fn identifier_kinds(&self) -> Vec<IdentifierKind> {
        let mut kinds: Vec<IdentifierKind> = self
            .lookup
            .iter()
            .filter_map(
                |l| match parse_request("lookup", &l.path, l.body.as_ref()) {
                    Ok(Parsed {
                        scope: Scope::Identifier(kind),
                        ..
                    }) => Some(kind),
                    _ => None,
                },
            )
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

impl Lookup {
    fn validate(&self, key: &str) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        let parsed = problems.check(parse_request(key, &self.path, self.body.as_ref()));
        if parsed.is_some_and(|p| !matches!(p.scope, Scope::Identifier(_))) {
            problems.add(
                format!("{key}.path"),
                "a lookup finds a subject by an identifier: use one of {email}, {phone}, \
                 {customer_id}, {personnummer}, {domain}, {ip} (and not {record.id})",
            );
        }
        problems.check(check_pointer(format!("{key}.results"), &self.results));
        problems.check(check_pointer(format!("{key}.key"), &self.key));
        if let Some(pointer) = &self.match_pointer {
            problems.check(check_pointer(format!("{key}.match"), pointer));
        }
        problems.check(self.pagination.validate(&format!("{key}.pagination")));
        problems.check(check_not_found(format!("{key}.not_found"), &self.not_found));
        problems.into_result()
    }
}

impl Action {
    fn validate(&self, key: &str) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        let parsed = problems.check(parse_request(key, &self.path, self.body.as_ref()));
        if parsed.is_some_and(|p| p.scope == Scope::Fixed) {
            problems.add(
                format!("{key}.path"),
                "say whose data: use {record.id} (once per record found) or an identifier \
                 placeholder such as {email}",
            );
        }
        problems.check(check_not_found(format!("{key}.not_found"), &self.not_found));
        problems.into_result()
    }
}
