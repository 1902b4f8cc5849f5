//! Sending a notice as a JSON POST to a processor's webhook.
//!
//! 2xx is delivered. 408, 429, 5xx, a timeout or a network failure is worth trying again;
//! any other status (including a redirect, which is not followed: a POST with personal data
//! goes only where it was configured to) is permanent. Plain `http://` is refused except to
//! this host, since the body and the bearer token would cross the network unencrypted.

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::{StatusCode, Url};

use super::{io_cause, is_loopback, NotifyError};

/// One client for every webhook: it keeps connections and TLS set-up between notices.
fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gallra/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| io_cause(&e).unwrap_or_else(|| "could not set up HTTPS".to_owned()))?;
    Ok(CLIENT.get_or_init(|| client))
}

/// POSTs `body` as JSON to `url`, with `Authorization: Bearer …` if `bearer` is given, and
/// waits at most `timeout` for the answer. Errors name the endpoint's host and port and the
/// HTTP status, never the URL's path or query (they may hold a token), the body or the
/// answer.
pub async fn post_webhook(
    url: &str,
    bearer: Option<&str>,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<(), NotifyError> {
    let Ok(parsed) = Url::parse(url) else {
        return Err(NotifyError::permanent(
            "webhook",
            "the URL is not valid (write e.g. https://processor.example/erasure)",
        ));
    };
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let target = match parsed.port_or_known_default() {
        Some(port) => format!("webhook {host}:{port}"),
        None => format!("webhook {host}"),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(NotifyError::permanent(
                &target,
                "plain http is allowed only to this host; use https",
            ))
        }
        _ => {
            return Err(NotifyError::permanent(
                &target,
                "the URL must start with https://",
            ))
        }
    }

    let client = client().map_err(|cause| NotifyError::permanent(&target, cause))?;
    let mut request = client.post(parsed).timeout(timeout).json(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|err| {
        if err.is_timeout() {
            NotifyError::transient(
                &target,
                format!("no answer within {}s", timeout.as_secs_f64()),
            )
        } else {
            let reason = match io_cause(&err) {
                Some(cause) => format!("could not reach the endpoint: {cause}"),
                None if err.is_connect() => "could not connect".to_owned(),
                None => "the request failed".to_owned(),
            };
            NotifyError::transient(&target, reason)
        }
    })?;
    classify_status(&target, response.status())
}

fn classify_status(target: &str, status: StatusCode) -> Result<(), NotifyError> {
    let code = status.as_u16();
    if status.is_success() {
        Ok(())
    } else if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Err(NotifyError::transient(target, format!("HTTP {code}")))
    } else if status.is_redirection() {
        Err(NotifyError::permanent(
            target,
            format!("HTTP {code}: a redirect, not followed (configure the URL it points to)"),
        ))
    } else if code == 401 || code == 403 {
        Err(NotifyError::permanent(
            target,
            format!("HTTP {code}: refused (check the bearer token)"),
        ))
    } else {
        Err(NotifyError::permanent(
            target,
            format!("HTTP {code}: the endpoint refused the notice"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_delivered_transient_or_permanent() {
        let cases = [
            (200, Some(true)),
            (202, Some(true)),
            (204, Some(true)),
            (408, Some(false)),
            (429, Some(false)),
            (500, Some(false)),
            (502, Some(false)),
            (503, Some(false)),
            (301, None),
            (400, None),
            (401, None),
            (404, None),
            (422, None),
        ];
        // Some(true) = Ok, Some(false) = transient, None = permanent.
        for (code, expected) in cases {
            let got = classify_status("webhook h:1", StatusCode::from_u16(code).unwrap());
            let got = match got {
                Ok(()) => Some(true),
                Err(e) if e.is_transient() => Some(false),
                Err(_) => None,
            };
            assert_eq!(got, expected, "HTTP {code}");
        }
    }
}
