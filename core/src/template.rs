//! Notice templates from configuration: plain text with `{name}` placeholders.
//!
//! `{{` and `}}` write a literal brace, as in Rust's `format!`. A placeholder name is
//! letters, digits and `_`. A value is inserted as it is, never expanded again, so a value
//! holding `{date}` stays `{date}`. Check a template at configuration time with
//! [`placeholders`] against the names the notice will provide; [`render`] refuses an
//! unknown name too, naming it.

use std::collections::BTreeMap;

/// The placeholders a request's notice to a processor may use (config validation checks
/// templates against this list; the daemon's request steps provide exactly these).
pub const NOTICE_PLACEHOLDERS: [&str; 9] = [
    "request",
    "kind",
    "system",
    "due_date",
    "email",
    "personnummer",
    "customer_id",
    "phone",
    "domain",
];

/// The placeholders an inactivity warning's subject line and text may use.
pub const WARNING_PLACEHOLDERS: [&str; 4] = ["delete_on", "email", "policy", "idle_for"];

/// Why a template was refused. Names the placeholder or the position, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A placeholder that this notice does not provide.
    #[error("unknown placeholder {{{name}}} (this notice knows: {known})")]
    Unknown {
        /// The placeholder's name.
        name: String,
        /// The names that are provided, as `{a}, {b}`.
        known: String,
    },
    /// A `{` without its `}`.
    #[error("line {line}, column {column}: `{{` is not closed (write `{{{{` for a literal brace)")]
    Unclosed {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
    /// A `}` without its `{`.
    #[error(
        "line {line}, column {column}: `}}` has no opening `{{` (write `}}}}` for a literal brace)"
    )]
    Unopened {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
    /// `{}` or a name with other characters than letters, digits and `_`.
    #[error("line {line}, column {column}: a placeholder is a name of letters, digits and `_`, e.g. {{date}}")]
    BadName {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
}

/// One piece of a parsed template.
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Splits a template into text and placeholders, checking its syntax.
fn parse(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut chars = template.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' | '}' if chars.peek().map(|&(_, next)| next) == Some(c) => {
                // A doubled brace: keep the first one as text, skip the second.
                pieces.push(Piece::Text(&template[text_start..at + 1]));
                chars.next();
                text_start = at + 2;
            }
            '}' => {
                let (line, column) = position(template, at);
                return Err(TemplateError::Unopened { line, column });
            }
            '{' => {
                pieces.push(Piece::Text(&template[text_start..at]));
                let Some(len) = template[at + 1..].find('}') else {
                    let (line, column) = position(template, at);
                    return Err(TemplateError::Unclosed { line, column });
                };
                let name = &template[at + 1..at + 1 + len];
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    let (line, column) = position(template, at);
                    return Err(TemplateError::BadName { line, column });
                }
                pieces.push(Piece::Placeholder(name));
                // Skip the name and the closing brace.
                for _ in 0..=name.len() {
                    chars.next();
                }
                text_start = at + len + 2;
            }
            _ => {}
        }
    }
    pieces.push(Piece::Text(&template[text_start..]));
    Ok(pieces)
}

/// 1-based line and column (in characters) of a byte offset.
fn position(template: &str, at: usize) -> (usize, usize) {
    let before = &template[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The placeholder names in a template, each once, in order of first use.
pub fn placeholders(template: &str) -> Result<Vec<String>, TemplateError> {
    let mut names: Vec<String> = Vec::new();
    for piece in parse(template)? {
        if let Piece::Placeholder(name) = piece {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    Ok(names)
}

/// Fills a template's placeholders from `vars`. Every placeholder must be in `vars`.
pub fn render(template: &str, vars: &BTreeMap<&str, String>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    for piece in parse(template)? {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Placeholder(name) => match vars.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    let known = vars
                        .keys()
                        .map(|k| format!("{{{k}}}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(TemplateError::Unknown {
                        name: name.to_owned(),
                        known: if known.is_empty() {
                            "no placeholders".to_owned()
                        } else {
                            known
                        },
                    });
                }
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        pairs.iter().map(|&(k, v)| (k, v.to_owned())).collect()
    }

    #[test]
    fn fills_placeholders_and_unescapes_doubled_braces() {
        let v = vars(&[("date", "2026-05-01"), ("system", "crm")]);
        let cases = [
            ("Deleted on {date}.", "Deleted on 2026-05-01."),
            ("{system}: {date}, {date}", "crm: 2026-05-01, 2026-05-01"),
            ("{{date}} is {date}", "{date} is 2026-05-01"),
            ("a }} b {{ c", "a } b { c"),
            ("{{{date}}}", "{2026-05-01}"),
            ("Hej då, åäö ÅÄÖ {date}", "Hej då, åäö ÅÄÖ 2026-05-01"),
            ("", ""),
            ("no placeholders", "no placeholders"),
        ];
        for (template, expected) in cases {
            assert_eq!(render(template, &v).unwrap(), expected, "{template:?}");
        }
    }

    #[test]
    fn a_value_is_inserted_literally_never_expanded_again() {
        let v = vars(&[("name", "{date} }} {{"), ("date", "x")]);
        assert_eq!(render("{name}", &v).unwrap(), "{date} }} {{");
    }

    #[test]
    fn an_unknown_placeholder_is_an_error_naming_it_not_the_values() {
        let v = vars(&[("date", "secret@example.com")]);
        let err = render("Hello {name}, on {date}", &v).unwrap_err();
        assert_eq!(
            err,
            TemplateError::Unknown {
                name: "name".into(),
                known: "{date}".into()
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("{name}"), "{msg}");
        assert!(!msg.contains("secret@example.com"), "{msg}");
    }

    #[test]
    fn syntax_errors_say_where() {
        let cases = [
            ("abc {date", TemplateError::Unclosed { line: 1, column: 5 }),
            ("line\nå }", TemplateError::Unopened { line: 2, column: 3 }),
            ("x {} y", TemplateError::BadName { line: 1, column: 3 }),
            ("{a b}", TemplateError::BadName { line: 1, column: 1 }),
            ("{å}", TemplateError::BadName { line: 1, column: 1 }),
        ];
        for (template, expected) in cases {
            assert_eq!(
                placeholders(template).unwrap_err(),
                expected,
                "{template:?}"
            );
            assert_eq!(
                render(template, &BTreeMap::new()).unwrap_err(),
                expected,
                "{template:?}"
            );
        }
    }

    #[test]
    fn placeholders_lists_each_name_once_in_order_of_first_use() {
        assert_eq!(
            placeholders("{b} {a} {{c}} {b}").unwrap(),
            vec!["b".to_owned(), "a".to_owned()]
        );
        assert!(placeholders("plain").unwrap().is_empty());
    }
}
