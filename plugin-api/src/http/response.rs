//! [`Response`]: a finished answer, body read, ready to decode.

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ConnectorError;

/// A successful (2xx) or not-found (404) answer, or one with a status the request
/// [accepted](super::RequestBuilder::accept), with its body already read.
///
/// Decoding errors are permanent — the system answers in a shape the connector does not
/// expect — and, like every error of the kit, name the endpoint label (gallra adds the
/// system's name) but quote nothing from the body.
#[derive(Debug)]
pub struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) endpoint: String,
}

impl Response {
    /// The status: a 2xx, 404 (decide what "not found" means for the call at hand), or one
    /// the request [accepted](super::RequestBuilder::accept).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Whether the system answered 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }

    /// `None` for a 404, else the response: `send()?.found()` reads as "if it exists".
    pub fn found(self) -> Option<Self> {
        (!self.is_not_found()).then_some(self)
    }

    /// A header's value, if present and valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// All headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The endpoint label the request was sent with.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The raw body.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str, ConnectorError> {
        std::str::from_utf8(&self.body).map_err(|_| {
            ConnectorError::permanent(format!(
                "{} answered with a body that is not UTF-8 text",
                self.endpoint
            ))
        })
    }

    /// Decodes the JSON body into `T`.
    ///
    /// The error says where in the document decoding failed (`users[3].id`) and why
    /// (`missing field`, `wrong type`), never the value it found there.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = redacted_path(e.path());
            let why = describe_json_error(e.inner());
            ConnectorError::permanent(format!(
                "{} answered JSON the connector cannot read{path}: {why} \
                 (has the API changed?)",
                self.endpoint
            ))
        })
    }
}

/// The path to the failing value. Struct fields and map keys look the same to
/// serde_path_to_error, and a map keyed by email, phone or customer number would leak one,
/// so only keys that look like field names (letters, `_`, `-`, an optional leading `@`;
/// no digits, dots or inner `@`) are shown.
fn redacted_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if looks_like_field_name(key) => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Map { .. } => out.push_str(".{key}"),
            Segment::Enum { variant } => out.push_str(&format!("::{variant}")),
            Segment::Unknown => out.push_str(".?"),
        }
    }
    if out.is_empty() {
        String::new()
    } else {
        format!(" at `{}`", out.trim_start_matches('.'))
    }
}

fn looks_like_field_name(key: &str) -> bool {
    let name = key.strip_prefix('@').unwrap_or(key);
    !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-')
}

/// serde_json's messages quote the offending value (`invalid type: string "a@b.se"`); keep
/// only messages that name schema (fields, variants), and the category otherwise.
fn describe_json_error(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(head, _)| head);
    let safe_prefixes = ["missing field", "duplicate field", "unknown variant"];
    if safe_prefixes.iter().any(|p| message.starts_with(p)) {
        // Unknown variant quotes the value first: "unknown variant `x`, expected ...".
        if message.starts_with("unknown variant") {
            return "a value that is not one of the expected variants".to_owned();
        }
        return message.to_owned();
    }
    match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            "the body is not complete, valid JSON".to_owned()
        }
        serde_json::error::Category::Data => "a value of the wrong type or range".to_owned(),
        serde_json::error::Category::Io => "the body could not be read".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &str) -> Response {
        Response {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
            endpoint: "GET /users/{id}".to_owned(),
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct User {
        id: u64,
        email: String,
    }

    #[test]
    fn json_error_names_the_place_not_the_value() {
        let err =
            response(r#"[{"id": 1, "email": "a@x.se"}, {"id": "anna@example.se", "email": "b"}]"#)
                .json::<Vec<User>>()
                .unwrap_err()
                .to_string();
        assert!(!err.contains("anna"), "{err}");
        assert!(!err.contains("crm"), "gallra names the system: {err}");
        assert!(err.contains("GET /users/{id}"), "{err}");
        assert!(err.contains("`[1].id`"), "{err}");
        assert!(err.contains("wrong type"), "{err}");
    }

    #[test]
    fn json_error_keeps_missing_field_names() {
        let err = response(r#"{"id": 1}"#)
            .json::<User>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `email`"), "{err}");
    }

    #[test]
    fn json_error_hides_map_keys() {
        let err = response(r#"{"anna@example.se": {"id": "x", "email": "y"}}"#)
            .json::<std::collections::BTreeMap<String, User>>()
            .unwrap_err()
            .to_string();
        assert!(!err.contains("anna"), "{err}");
    }

    #[test]
    fn found_is_none_for_404() {
        assert!(response("").found().is_some());
        let mut r = response("");
        r.status = StatusCode::NOT_FOUND;
        assert!(r.found().is_none());
    }
}
