//! The API's two kinds of error: [`ApiError`] for the sysadmin starting the API (a token file,
//! a socket), and [`HttpError`] for a client, always as
//! `{"error":{"code":"…","message":"…"}}`. Neither ever carries a submitted value: a client
//! may have put personal data anywhere in its request.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::requests::ServiceError;

/// Why the admin API could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The token file could not be read.
    #[error("cannot read API token file {path}: {source}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The token file can be read (or written) by users other than its owner.
    #[error(
        "API token file {path} is open to other users (mode {mode:04o}); run `chmod 600 {path}`"
    )]
    TokenFileOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The token file holds no token, so nobody could authenticate.
    #[error("API token file {path} holds no token (write one per line; `#` starts a comment)")]
    NoTokens {
        /// The file.
        path: PathBuf,
    },
    /// Something other than a socket sits where the socket should go.
    #[error("{path} exists and is not a socket; refusing to replace it (remove it or choose another api socket path)")]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// Another process answers on the socket.
    #[error("unix socket {path} is in use by another process (is gallra already running?)")]
    SocketInUse {
        /// The path.
        path: PathBuf,
    },
    /// The unix socket could not be created.
    #[error("cannot listen on unix socket {path}: {source} (does its directory exist and is it writable by gallra?)")]
    Socket {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The TCP address could not be bound.
    #[error("cannot listen on {addr}: {source} (is the address in use or not local?)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The server stopped with an error.
    #[error("admin API stopped: {0}")]
    Serve(#[source] io::Error),
}

/// The machine-readable part of an error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the request does not match the API (bad JSON, wrong type, unknown field, bad id).
    BadRequest,
    /// 401: no valid bearer token.
    Unauthorized,
    /// 404: no such request, task or route.
    NotFound,
    /// 405: the route does not take this method.
    MethodNotAllowed,
    /// 409: the request or task is not in a state that allows this.
    Conflict,
    /// 413: the body is larger than 64 KiB.
    PayloadTooLarge,
    /// 422: a value is refused (an invalid identifier, no identifier, an empty reason).
    Invalid,
    /// 500: a bug in gallra (a panic while serving); never caused by input alone.
    Internal,
    /// 503: gallra could not do it now (the state store failed); try again later.
    Unavailable,
}

impl ErrorCode {
    /// Every code, for the OpenAPI document.
    pub const ALL: [ErrorCode; 9] = [
        Self::BadRequest,
        Self::Unauthorized,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::Invalid,
        Self::Internal,
        Self::Unavailable,
    ];

    /// The code as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Invalid => "invalid",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
        }
    }

    /// The HTTP status that goes with it.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code for a status produced outside our handlers (a framework default).
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => Self::Unauthorized,
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::CONFLICT => Self::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNPROCESSABLE_ENTITY => Self::Invalid,
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
            s if s.is_server_error() => Self::Internal,
            _ => Self::BadRequest,
        }
    }
}

/// An error answered to a client. The message says what to fix; it never quotes a value the
/// client sent (only field names, and only when they look like field names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The machine-readable code; decides the status.
    pub code: ErrorCode,
    /// For a person.
    pub message: String,
}

impl HttpError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// 422.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }

    /// 401.
    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "a valid bearer token is required (Authorization: Bearer <token>)",
        )
    }

    /// 413.
    pub fn payload_too_large() -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the body is larger than {} KiB",
                super::MAX_BODY_BYTES / 1024
            ),
        )
    }

    /// A standard error for a status set by the framework (404, 405, 413, …).
    pub fn for_status(status: StatusCode) -> Self {
        let code = ErrorCode::for_status(status);
        let message = match code {
            ErrorCode::NotFound => "no such route (see /v1/openapi.json)".to_owned(),
            ErrorCode::MethodNotAllowed => {
                "this route does not take that method (see the Allow header)".to_owned()
            }
            ErrorCode::PayloadTooLarge => return Self::payload_too_large(),
            ErrorCode::Unauthorized => return Self::unauthorized(),
            _ => status
                .canonical_reason()
                .unwrap_or("the request was refused")
                .to_owned(),
        };
        Self::new(code, message)
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"code": self.code.as_str(), "message": self.message}})
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut response = (self.code.status(), axum::Json(self.body())).into_response();
        if self.code == ErrorCode::Unauthorized {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<ServiceError> for HttpError {
    fn from(err: ServiceError) -> Self {
        // The service promises its messages hold no personal data.
        match err {
            ServiceError::NotFound(m) => Self::new(ErrorCode::NotFound, m),
            ServiceError::Invalid(m) => Self::new(ErrorCode::Invalid, m),
            ServiceError::Conflict(m) => Self::new(ErrorCode::Conflict, m),
            ServiceError::Unavailable(m) => Self::new(ErrorCode::Unavailable, m),
        }
    }
}

/// A 400 for a body that does not parse into the expected shape, in words that never quote
/// the body: serde's messages do (`invalid type: string "anna@…"`), so only the forms known
/// to be safe pass, rewritten; anything else becomes a generic message with the position.
pub fn json_error(err: &serde_json::Error) -> HttpError {
    use serde_json::error::Category;
    let at = format!("line {} column {}", err.line(), err.column());
    let message = match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            // serde_json's syntax messages are fixed texts ("expected value", "EOF while
            // parsing a string", …) followed by the position.
            format!("malformed JSON: {err}")
        }
        Category::Data => match describe_data_error(&err.to_string()) {
            Some(what) => format!("{what} at {at}"),
            None => format!("the body does not match the schema at {at} (see /v1/openapi.json)"),
        },
    };
    HttpError::bad_request(message)
}

/// Rewrites serde's data-error messages without the values they quote.
fn describe_data_error(message: &str) -> Option<String> {
    // Drop serde_json's " at line L column C" suffix; we add our own.
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        // The name is the client's, never ours: it is not repeated, however it looks (a
        // personnummer or phone number used as a key looks like any other name).
        quoted(rest)?;
        let expected = rest.split_once(", ").map(|(_, e)| e).unwrap_or("");
        return Some(format!(
            "an unknown field ({})",
            if expected.is_empty() {
                "there are no fields"
            } else {
                expected
            }
        ));
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return Some(format!("missing field {}", safe_name(quoted(rest)?)));
    }
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        return Some(format!("duplicate field {}", safe_name(quoted(rest)?)));
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (got, expected) = rest.rsplit_once(", expected ")?;
            return Some(format!(
                "wrong type: got {}, expected {}",
                json_kind(got),
                expected_text(expected)?
            ));
        }
    }
    None
}

/// The text between the first pair of backticks.
fn quoted(s: &str) -> Option<&str> {
    let s = s.strip_prefix('`')?;
    Some(&s[..s.find('`')?])
}

/// A field name serde reports for one of our own fields (missing, given twice), if it looks
/// like one of ours: a lowercase word. A key could itself be personal data
/// (`{"anna@example.se": …}`, `{"198112189876": …}`), so anything else is not repeated.
fn safe_name(name: &str) -> String {
    let looks_like_a_name = name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if looks_like_a_name {
        format!("`{name}`")
    } else {
        "(name not shown)".to_owned()
    }
}

/// What kind of JSON value serde saw, from its "unexpected" text (`string "…"`, `integer `5``).
fn json_kind(unexpected: &str) -> &'static str {
    let first = unexpected.split([' ', '`']).next().unwrap_or("");
    match first {
        "string" | "character" => "a string",
        "integer" | "floating" => "a number",
        "boolean" => "a boolean",
        "null" | "unit" => "null",
        "sequence" => "an array",
        "map" => "an object",
        _ => "another value",
    }
}

/// serde's "expected" text comes from our own types, but an `invalid value` from a visitor
/// may carry more; accept only short plain text.
fn expected_text(expected: &str) -> Option<&str> {
    let plain = expected.len() <= 80
        && !expected.contains('"')
        && expected
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _-`,".contains(c));
    plain.then_some(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_for(body: &str) -> String {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Shape {
            reason: String,
            count: Option<u32>,
        }
        let err = serde_json::from_str::<Shape>(body).unwrap_err();
        json_error(&err).message
    }

    #[test]
    fn data_errors_never_quote_the_submitted_value() {
        let cases = [
            r#"{"reason": 19811218}"#,
            r#"{"reason": ["anna@example.se"]}"#,
            r#"{"reason": "x", "count": "anna@example.se"}"#,
            r#"{"reason": "x", "count": -198112189876}"#,
            r#"{"reason": "x", "anna@example.se": 1}"#,
            r#"{"reason": "x", "Anna Svensson": 1}"#,
            r#"{"reason": "x", "198112189876": "19811218-9876"}"#,
            r#"{"reason": "x", "r19811218": 1}"#,
            r#"{"reason": "anna@example.se""#,
            r#"["anna@example.se"]"#,
            r#""anna@example.se""#,
        ];
        for body in cases {
            let message = message_for(body);
            for secret in ["anna", "19811218", "198112189876", "Svensson"] {
                assert!(!message.contains(secret), "{body}: {message}");
            }
        }
    }

    #[test]
    fn data_errors_name_the_field_and_the_expected_type() {
        assert_eq!(
            message_for(r#"{"reason": "x", "bogus": 1}"#),
            "an unknown field (expected `reason` or `count`) at line 1 column 23"
        );
        assert_eq!(
            message_for(r#"{"reason": 5}"#),
            "wrong type: got a number, expected a string at line 1 column 12"
        );
        assert_eq!(
            message_for("{}"),
            "missing field `reason` at line 1 column 2"
        );
        assert!(message_for("{").starts_with("malformed JSON: EOF while parsing"));
    }
}
