//! The configured API: base URL, authentication, static headers, and sending one request.

use gallra_plugin_api::http::{HttpClient, Response, Secret};
use gallra_plugin_api::ConnectorError;
use serde_json::Value;
use url::Url;

use crate::config::{Auth, HttpMethod, Settings};

/// What a request does, which decides whether it may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// It reads: a lookup, an export, a health check.
    Read,
    /// It changes data: an erase, an anonymize.
    Change,
}

/// Where a request goes.
pub enum Target {
    /// A rendered path (and query) after the base URL, with extra query parameters.
    Path(String, Vec<(String, String)>),
    /// A URL (absolute, or relative to the base URL) the API handed out.
    Link(String),
}

enum Credentials {
    None,
    Bearer(Secret),
    Basic(String, Secret),
    Header(String, Secret),
}

/// The API of one configured system.
pub struct Api {
    http: HttpClient,
    base: Url,
    base_text: String,
    credentials: Credentials,
    headers: Vec<(String, String)>,
}

impl Api {
    /// Reads the secret files and sets up the client; does not connect.
    pub fn new(system: &str, settings: &Settings) -> Result<Self, ConnectorError> {
        let secret = |key: &str, path: &std::path::Path| {
            Secret::from_file(path)
                .map_err(|e| ConnectorError::permanent(format!("auth.{key}: {e}")))
        };
        let credentials = match &settings.auth {
            Auth::None => Credentials::None,
            Auth::Bearer { token_file } => Credentials::Bearer(secret("token_file", token_file)?),
            Auth::Basic {
                user,
                password_file,
            } => Credentials::Basic(user.clone(), secret("password_file", password_file)?),
            Auth::Header { name, value_file } => {
                Credentials::Header(name.clone(), secret("value_file", value_file)?)
            }
        };
        let base = Url::parse(&settings.base_url)
            .map_err(|e| ConnectorError::config("base_url", format!("not a URL ({e})")))?;
        Ok(Self {
            http: HttpClient::new(system, &settings.http)?,
            base,
            base_text: settings.base_url.trim_end_matches('/').to_owned(),
            credentials,
            headers: settings
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    /// The prefix of this connector's own errors: the endpoint's label (gallra adds the
    /// system's name).
    pub fn label(&self, endpoint: &str) -> String {
        endpoint.to_owned()
    }

    /// Sends one request. `endpoint` is its PII-free label (method and path template).
    /// Returns `None` when the answer's status is one of `not_found`; a 404 that is not
    /// listed there is an error. Transient failures are retried, except for a
    /// [`Effect::Change`] by POST or PATCH, which the API need not treat as idempotent:
    /// after a 5xx or a timeout it fails transiently at once, and gallra retries the whole
    /// erase later, looking the subject up afresh first.
    pub fn send(
        &self,
        method: HttpMethod,
        endpoint: &str,
        target: Target,
        body: Option<&Value>,
        not_found: &[u16],
        effect: Effect,
    ) -> Result<Option<Response>, ConnectorError> {
        let (url, query) = match target {
            Target::Path(path, query) => (format!("{}{path}", self.base_text), query),
            Target::Link(link) => (self.resolve(endpoint, &link)?, Vec::new()),
        };
        let mut request = self.http.request(method.method(), &url).endpoint(endpoint);
        if !query.is_empty() {
            request = request.query(&query);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request = match &self.credentials {
            Credentials::None => request,
            Credentials::Bearer(token) => request.bearer(token.expose()),
            Credentials::Basic(user, password) => request.basic_auth(user, Some(password.expose())),
            Credentials::Header(name, value) => request.secret_header(name, value.expose()),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        if effect == Effect::Change && !method.is_idempotent() {
            request = request.no_retry();
        }
        let response = request.send()?;
        let status = response.status().as_u16();
        if not_found.contains(&status) {
            return Ok(None);
        }
        if response.is_not_found() {
            return Err(ConnectorError::permanent(format!(
                "{}: answered 404 Not Found (check base_url and the path, or list 404 in \
                 not_found if it means \"no such record\")",
                self.label(endpoint)
            )));
        }
        Ok(Some(response))
    }

    /// A next-page link as a URL on the base URL's origin: credentials go nowhere else.
    fn resolve(&self, endpoint: &str, link: &str) -> Result<String, ConnectorError> {
        let url = self.base.join(link).map_err(|_| {
            ConnectorError::permanent(format!(
                "{}: the next-page link is not a URL (check next_link)",
                self.label(endpoint)
            ))
        })?;
        if url.origin() != self.base.origin() {
            return Err(ConnectorError::permanent(format!(
                "{}: the next-page link leads away from base_url's host; gallra does not send \
                 the credentials there",
                self.label(endpoint)
            )));
        }
        Ok(url.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(base_url: &str) -> Api {
        let settings: Settings = serde_json::from_value(serde_json::json!({
            "base_url": base_url,
            "auth": {"type": "none"},
            "lookup": [{"path": "/u?email={email}"}],
            "erase": {"method": "DELETE", "path": "/u/{record.id}"},
        }))
        .unwrap();
        Api::new("shop", &settings).unwrap()
    }

    #[test]
    fn next_links_stay_on_the_base_url_origin() {
        let api = api("https://shop.example.se/api");
        assert_eq!(
            api.resolve("GET /u", "/api/u?cursor=c1").unwrap(),
            "https://shop.example.se/api/u?cursor=c1"
        );
        assert_eq!(
            api.resolve("GET /u", "https://shop.example.se/api/u?page=2")
                .unwrap(),
            "https://shop.example.se/api/u?page=2"
        );
        for elsewhere in [
            "https://evil.example/api/u?page=2",
            "http://shop.example.se/api/u?page=2",
            "https://shop.example.se:8443/api/u",
            "//evil.example/u",
        ] {
            let err = api.resolve("GET /u", elsewhere).unwrap_err();
            assert!(
                err.to_string().contains("credentials"),
                "{elsewhere}: {err}"
            );
            assert!(!err.to_string().contains("evil"), "{err}");
        }
    }
}
