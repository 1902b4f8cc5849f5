//! PHP's `serialize()` as WHMCS takes custom fields: base64 of `a:N:{i:ID;s:LEN:"VALUE";…}`.

use base64::Engine;

/// Reads `base64(serialize([id => "value", …]))` as PHP writes it for integer keys and
/// string values; `None` if it is anything else.
pub(super) fn parse_custom_fields(encoded: &str) -> Option<Vec<(u64, String)>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix("a:")?;
    let (count, rest) = rest.split_once(":{")?;
    let count: usize = count.parse().ok()?;
    let mut rest = rest;
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let after_key = rest.strip_prefix("i:")?;
        let (key, after) = after_key.split_once(';')?;
        let after = after.strip_prefix("s:")?;
        let (len, after) = after.split_once(":\"")?;
        let len: usize = len.parse().ok()?;
        let value = after.get(..len)?;
        rest = after.get(len..)?.strip_prefix("\";")?;
        fields.push((key.parse().ok()?, value.to_owned()));
    }
    (rest == "}").then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_serialized_custom_fields_are_read() {
        let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            parse_custom_fields(&encode("a:1:{i:7;s:0:\"\";}")),
            Some(vec![(7, String::new())])
        );
        assert_eq!(
            parse_custom_fields(&encode("a:2:{i:1;s:3:\"a;b\";i:4;s:2:\"åä\";}")),
            None,
            "lengths are bytes, as in PHP"
        );
        assert_eq!(
            parse_custom_fields(&encode("a:2:{i:1;s:3:\"a;b\";i:4;s:4:\"åä\";}")),
            Some(vec![(1, "a;b".to_owned()), (4, "åä".to_owned())])
        );
        assert_eq!(parse_custom_fields("not base64!"), None);
    }
}
