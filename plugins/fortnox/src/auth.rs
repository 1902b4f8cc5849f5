//! OAuth2 client credentials for a Fortnox service account: the client id and secret in a
//! Basic header and the company's `TenantId` header, exchanged for an access token that is
//! cached until shortly before it expires (Fortnox issues them for an hour; no refresh
//! token comes with this flow — a new token is simply asked for).

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gallra_plugin_api::http::{HttpClient, Secret};
use gallra_plugin_api::ConnectorError;
use serde::Deserialize;

/// A token is renewed this long before Fortnox says it expires.
const MARGIN: Duration = Duration::from_secs(60);

/// The credentials and the cached token.
pub struct Auth {
    token_url: String,
    client_id: String,
    client_secret: Secret,
    tenant_id: String,
    cached: Mutex<Option<Token>>,
}

#[derive(Clone)]
struct Token {
    value: Secret,
    renew_at: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Auth {
    /// Credentials for the token endpoint at `token_url`.
    pub fn new(
        token_url: String,
        client_id: String,
        client_secret: Secret,
        tenant_id: String,
    ) -> Self {
        Self {
            token_url,
            client_id,
            client_secret,
            tenant_id,
            cached: Mutex::new(None),
        }
    }

    /// A token valid for at least [`MARGIN`], from the cache or the token endpoint.
    pub fn token(&self, http: &HttpClient) -> Result<Secret, ConnectorError> {
        let mut cached = self.lock();
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let token = self.fetch(http)?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// Forgets `stale` (the API refused it), so that the next [`token`](Self::token) asks
    /// for a new one. A token another thread already replaced stays.
    pub fn forget(&self, stale: &Secret) {
        let mut cached = self.lock();
        if cached.as_ref().is_some_and(|t| t.value == *stale) {
            *cached = None;
        }
    }

    fn fetch(&self, http: &HttpClient) -> Result<Token, ConnectorError> {
        let asked = Instant::now();
        let answer: TokenAnswer = http
            .post(&self.token_url)
            .endpoint("POST /oauth-v1/token")
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .secret_header("TenantId", &self.tenant_id)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .and_then(|response| {
                if response.is_not_found() {
                    Err(ConnectorError::permanent(
                        "POST /oauth-v1/token answered 404 Not Found: check token_url",
                    ))
                } else {
                    response.json()
                }
            })
            .map_err(explain)?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        Ok(Token {
            value: Secret::new(answer.access_token),
            renew_at: asked + lifetime.saturating_sub(MARGIN),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Option<Token>> {
        self.cached.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            *guard = None;
            guard
        })
    }
}

/// A refused token request is a settings problem: say which settings.
fn explain(error: ConnectorError) -> ConnectorError {
    match error {
        ConnectorError::Permanent { message } => ConnectorError::Permanent {
            message: format!(
                "{message} (Fortnox token request: check client_id, client_secret_file and \
                 tenant_id, and that the company activated the integration as a service \
                 account)"
            ),
        },
        other => other,
    }
}
