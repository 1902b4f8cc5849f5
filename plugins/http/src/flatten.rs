//! A JSON record as flat export fields: `address.city`, `phones.0`.

use serde_json::Value;

/// Every leaf of `record` with its dotted name (array items by index); `None` for null
/// and for empty objects and arrays, so that an empty field still shows in an export.
pub fn flatten(record: &Value) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    match record {
        Value::Object(_) | Value::Array(_) => walk(record, String::new(), &mut out),
        scalar => out.push(("value".to_owned(), leaf(scalar))),
    }
    out
}

fn walk(value: &Value, name: String, out: &mut Vec<(String, Option<String>)>) {
    let child = |key: &str| {
        if name.is_empty() {
            key.to_owned()
        } else {
            format!("{name}.{key}")
        }
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, value) in map {
                walk(value, child(key), out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (index, value) in items.iter().enumerate() {
                walk(value, child(&index.to_string()), out);
            }
        }
        other => out.push((name, leaf(other))),
    }
}

fn leaf(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Object(_) | Value::Array(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_objects_become_dotted_names() {
        let record = json!({
            "id": 7, "name": "Anna", "vip": false, "note": null,
            "address": {"street": "Storgatan 1", "geo": {"lat": 63.8}},
            "phones": ["+46701234567", {"kind": "work", "number": "+4690123"}],
            "tags": [], "extra": {}
        });
        let fields = flatten(&record);
        let get = |n: &str| {
            fields
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("id"), Some(Some("7".into())));
        assert_eq!(get("vip"), Some(Some("false".into())));
        assert_eq!(get("note"), Some(None));
        assert_eq!(get("address.street"), Some(Some("Storgatan 1".into())));
        assert_eq!(get("address.geo.lat"), Some(Some("63.8".into())));
        assert_eq!(get("phones.0"), Some(Some("+46701234567".into())));
        assert_eq!(get("phones.1.number"), Some(Some("+4690123".into())));
        assert_eq!(get("tags"), Some(None));
        assert_eq!(get("extra"), Some(None));
        assert_eq!(fields.len(), 11);
    }

    #[test]
    fn a_scalar_record_is_one_value() {
        assert_eq!(
            flatten(&json!("x")),
            vec![("value".to_owned(), Some("x".to_owned()))]
        );
    }
}
