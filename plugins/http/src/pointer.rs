//! JSON pointers (RFC 6901) into an API's answers: where the results are, where each
//! record's key is, where the next page is announced.

use serde_json::Value;

/// Checks that `pointer` is an RFC 6901 JSON pointer: empty (the whole document), or `/`
/// followed by reference tokens in which `~` appears only as `~0` (`~`) or `~1` (`/`).
///
/// The error says what is wrong, for a configuration message naming the key.
pub fn check(pointer: &str) -> Result<(), String> {
    if pointer.is_empty() {
        return Ok(());
    }
    if !pointer.starts_with('/') {
        return Err(format!(
            "\"{pointer}\" is not a JSON pointer (RFC 6901): it must be empty (the whole answer) \
             or start with /, e.g. \"/data\" or \"/meta/total_pages\""
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "\"{pointer}\" is not a JSON pointer (RFC 6901): ~ must be written ~0, and a / \
                 inside a name ~1"
            ));
        }
    }
    Ok(())
}

/// The value at `pointer`, treating JSON `null` like a missing value.
pub fn get<'v>(document: &'v Value, pointer: &str) -> Option<&'v Value> {
    document.pointer(pointer).filter(|v| !v.is_null())
}

/// A scalar at `pointer` as text: strings as they are, numbers and booleans written out.
pub fn text(document: &Value, pointer: &str) -> Option<String> {
    scalar_text(get(document, pointer)?)
}

/// A scalar as text; `None` for arrays, objects, null and the empty string.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc_6901_pointers_are_accepted() {
        for ok in ["", "/", "/data", "/meta/total_pages", "/a~1b/c~0d", "/0"] {
            check(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn other_text_is_refused() {
        for bad in ["data", "meta.total", "/a~2", "/a~", "$.data"] {
            let err = check(bad).unwrap_err();
            assert!(err.contains("RFC 6901"), "{bad}: {err}");
        }
    }

    #[test]
    fn null_counts_as_missing() {
        let doc = json!({"meta": {"next": null, "total": 3, "name": "x"}});
        assert_eq!(get(&doc, "/meta/next"), None);
        assert_eq!(text(&doc, "/meta/total").as_deref(), Some("3"));
        assert_eq!(text(&doc, "/meta/name").as_deref(), Some("x"));
        assert_eq!(text(&doc, "/meta"), None);
        assert_eq!(get(&doc, ""), Some(&doc));
    }
}
