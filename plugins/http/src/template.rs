//! Request templates: a path like `/v1/users?email={email}` and a JSON body whose strings
//! may hold placeholders.
//!
//! Values only ever enter a request as data: percent-encoded into the path (every byte but
//! the unreserved `A–Z a–z 0–9 - . _ ~`, so an identifier cannot add a path segment, a query
//! parameter or a fragment), or as a JSON value built by serde_json into the body. Nothing
//! is concatenated into JSON text.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use gallra_plugin_api::http::path_segment;
use gallra_plugin_api::{ConnectorError, IdentifierKind};
use serde_json::Value;

/// The name of the placeholder for a record's key, from a lookup's results.
pub const RECORD_ID: &str = "record.id";

/// What a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Placeholder {
    /// The subject's identifier of this kind: `{email}`, `{phone}`, `{customer_id}`, …
    Identifier(IdentifierKind),
    /// The key of a record a lookup found: `{record.id}`.
    RecordId,
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Identifier(kind) => write!(f, "{{{kind}}}"),
            Self::RecordId => write!(f, "{{{RECORD_ID}}}"),
        }
    }
}

/// Why a template was refused. The text is from the configuration, never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{name}` is not a placeholder gallra knows.
    Unknown(String),
    /// A `{` without its `}`, or a lone `}`.
    Unbalanced,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(name) => write!(
                f,
                "unknown placeholder {{{name}}}: expected one of {{email}}, {{phone}}, \
                 {{customer_id}}, {{personnummer}}, {{domain}}, {{ip}}, {{{RECORD_ID}}} \
                 (write {{{{ and }}}} for literal braces)"
            ),
            Self::Unbalanced => f.write_str(
                "a { without its closing }, or a } without its {: write {{ and }} for literal braces",
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Slot(Placeholder),
}

/// A parsed template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// The values a request is rendered with: the subject's identifier for an identifier-scoped
/// request, the record's key for a record-scoped one.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    /// The identifier's kind and normalized value.
    pub identifier: Option<(IdentifierKind, String)>,
    /// The record's key as the system gave it (a JSON string or number).
    pub record_id: Option<Value>,
}

impl Bindings {
    fn json(&self, slot: Placeholder) -> Value {
        match slot {
            Placeholder::Identifier(kind) => match &self.identifier {
                Some((bound, value)) if *bound == kind => Value::String(value.clone()),
                // Validation makes every request use one scope; an unbound slot is empty.
                _ => Value::String(String::new()),
            },
            Placeholder::RecordId => self.record_id.clone().unwrap_or(Value::Null),
        }
    }

    fn text(&self, slot: Placeholder) -> String {
        match self.json(slot) {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

impl FromStr for Template {
    type Err = TemplateError;

    fn from_str(text: &str) -> Result<Self, TemplateError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(TemplateError::Unbalanced),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => return Err(TemplateError::Unbalanced),
                            Some(c) => name.push(c),
                        }
                    }
                    let slot = placeholder(name.trim()).ok_or(TemplateError::Unknown(name))?;
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Slot(slot));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self { pieces })
    }
}

fn placeholder(name: &str) -> Option<Placeholder> {
    if name == RECORD_ID {
        return Some(Placeholder::RecordId);
    }
    IdentifierKind::from_str(name)
        .ok()
        .map(Placeholder::Identifier)
}

impl Template {
    /// The placeholders it uses.
    pub fn placeholders(&self) -> impl Iterator<Item = Placeholder> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Slot(slot) => Some(*slot),
            Piece::Text(_) => None,
        })
    }

    /// Renders a path (with its query): every value percent-encoded by the kit's
    /// [`path_segment`]. Fails (permanent, quoting nothing) for a value that is `.` or `..`,
    /// which would address another path however it is encoded.
    pub fn render_path(&self, bindings: &Bindings) -> Result<String, ConnectorError> {
        self.render(bindings, |value, out| {
            out.push_str(&path_segment(value)?);
            Ok(())
        })
    }

    /// Renders as plain text (values as they are), for a string inside a JSON body.
    fn render_text(&self, bindings: &Bindings) -> String {
        let rendered = self.render(bindings, |value, out| {
            out.push_str(value);
            Ok::<(), Infallible>(())
        });
        match rendered {
            Ok(text) => text,
            Err(never) => match never {},
        }
    }

    fn render<E>(
        &self,
        bindings: &Bindings,
        put: impl Fn(&str, &mut String) -> Result<(), E>,
    ) -> Result<String, E> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Slot(slot) => put(&bindings.text(*slot), &mut out)?,
            }
        }
        Ok(out)
    }

    /// The placeholder, if the template is exactly one and nothing else.
    fn sole_placeholder(&self) -> Option<Placeholder> {
        match self.pieces.as_slice() {
            [Piece::Slot(slot)] => Some(*slot),
            _ => None,
        }
    }
}

/// A JSON body template: any JSON, whose strings are templates. A string that is exactly
/// one placeholder becomes that value (a record id that is a number stays a number);
/// otherwise the values are put into the string. Object keys are taken literally.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyTemplate {
    value: Value,
}

impl BodyTemplate {
    /// Parses every string in `value` as a template.
    pub fn new(value: Value) -> Result<Self, TemplateError> {
        check_strings(&value)?;
        Ok(Self { value })
    }

    /// The placeholders used anywhere in the body.
    pub fn placeholders(&self) -> BTreeSet<Placeholder> {
        let mut found = BTreeSet::new();
        collect(&self.value, &mut found);
        found
    }

    /// The body for these values.
    pub fn render(&self, bindings: &Bindings) -> Value {
        fill(&self.value, bindings)
    }
}

fn check_strings(value: &Value) -> Result<(), TemplateError> {
    match value {
        Value::String(s) => s.parse::<Template>().map(drop),
        Value::Array(items) => items.iter().try_for_each(check_strings),
        Value::Object(map) => map.values().try_for_each(check_strings),
        _ => Ok(()),
    }
}

fn collect(value: &Value, found: &mut BTreeSet<Placeholder>) {
    match value {
        Value::String(s) => {
            if let Ok(template) = s.parse::<Template>() {
                found.extend(template.placeholders());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, found)),
        Value::Object(map) => map.values().for_each(|v| collect(v, found)),
        _ => {}
    }
}

fn fill(value: &Value, bindings: &Bindings) -> Value {
    match value {
        Value::String(s) => match s.parse::<Template>() {
            Ok(template) => match template.sole_placeholder() {
                Some(slot) => bindings.json(slot),
                None => Value::String(template.render_text(bindings)),
            },
            // Checked in `new`; keep the text rather than guess.
            Err(_) => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, bindings)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, bindings)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn email(value: &str) -> Bindings {
        Bindings {
            identifier: Some((IdentifierKind::Email, value.to_owned())),
            record_id: None,
        }
    }

    #[test]
    fn path_values_are_percent_encoded_so_they_cannot_change_the_path() {
        let t: Template = "/v1/users?email={email}&x=1".parse().unwrap();
        assert_eq!(
            t.render_path(&email("a+b/../c?d=e&f#g@example.se"))
                .unwrap(),
            "/v1/users?email=a%2Bb%2F..%2Fc%3Fd%3De%26f%23g%40example.se&x=1"
        );
        let t: Template = "/v1/users/{record.id}".parse().unwrap();
        let b = Bindings {
            identifier: None,
            record_id: Some(json!(42)),
        };
        assert_eq!(t.render_path(&b).unwrap(), "/v1/users/42");
    }

    #[test]
    fn a_dot_segment_value_is_refused_rather_than_resolved() {
        let t: Template = "/v1/users/{record.id}/erase".parse().unwrap();
        for dots in [".", ".."] {
            let b = Bindings {
                identifier: None,
                record_id: Some(json!(dots)),
            };
            let error = t.render_path(&b).unwrap_err();
            assert!(error.to_string().contains("dot segment"), "{error}");
        }
    }

    #[test]
    fn literal_braces_and_errors() {
        let t: Template = "/a{{b}}/{ email }".parse().unwrap();
        assert_eq!(t.render_path(&email("x")).unwrap(), "/a{b}/x");
        assert_eq!(
            "/v1/{mail}".parse::<Template>().unwrap_err(),
            TemplateError::Unknown("mail".into())
        );
        assert!(TemplateError::Unknown("mail".into())
            .to_string()
            .contains("{mail}"));
        for bad in ["/v1/{email", "/v1/email}", "/{a{b}}"] {
            assert_eq!(
                bad.parse::<Template>().unwrap_err(),
                TemplateError::Unbalanced,
                "{bad}"
            );
        }
    }

    #[test]
    fn placeholders_are_listed() {
        let t: Template = "/{customer_id}/x/{record.id}".parse().unwrap();
        assert_eq!(
            t.placeholders().collect::<Vec<_>>(),
            vec![
                Placeholder::Identifier(IdentifierKind::CustomerId),
                Placeholder::RecordId
            ]
        );
    }

    #[test]
    fn body_values_are_json_values_never_spliced_text() {
        let body = BodyTemplate::new(json!({
            "query": {"email": "{email}", "note": "by {email}"},
            "emails": ["{email}"],
            "page_size": 200,
        }))
        .unwrap();
        let evil = "x\", \"admin\": true, \"y\": \"@example.se";
        let rendered = body.render(&email(evil));
        assert_eq!(rendered["query"]["email"], json!(evil));
        assert_eq!(rendered["query"]["note"], json!(format!("by {evil}")));
        assert_eq!(rendered["emails"][0], json!(evil));
        assert_eq!(rendered["page_size"], json!(200));
        assert!(rendered.get("admin").is_none());
        assert_eq!(
            body.placeholders().into_iter().collect::<Vec<_>>(),
            vec![Placeholder::Identifier(IdentifierKind::Email)]
        );
    }

    #[test]
    fn a_numeric_record_id_stays_a_number_in_the_body() {
        let body = BodyTemplate::new(json!({"ids": ["{record.id}"]})).unwrap();
        let b = Bindings {
            identifier: None,
            record_id: Some(json!(7)),
        };
        assert_eq!(body.render(&b), json!({"ids": [7]}));
    }

    #[test]
    fn body_with_unknown_placeholder_is_refused() {
        assert_eq!(
            BodyTemplate::new(json!({"a": ["{emial}"]})).unwrap_err(),
            TemplateError::Unknown("emial".into())
        );
    }
}
