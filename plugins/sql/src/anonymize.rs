//! Anonymization rules (`column = "null" | "hash" | { value = "…" }`) and the hash they use.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// What to write into one column when a subject is anonymized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnonymizeRule {
    /// `"null"`: set the column to NULL.
    Null,
    /// `"hash"`: replace the value with the lower-case hex SHA-256 of a per-system salt and
    /// the value. The same value always gives the same hash within a system, so unique
    /// columns stay unique and joins on the column keep working. This is pseudonymization:
    /// whoever knows the system name and a candidate value can confirm a match, so use `null`
    /// or a fixed value for columns where that matters.
    Hash,
    /// `{ value = "…" }`: write this fixed text.
    Value(String),
}

impl<'de> Deserialize<'de> for AnonymizeRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RuleVisitor)
    }
}

struct RuleVisitor;

const EXPECTED: &str = "\"null\", \"hash\" or { value = \"…\" }";

impl<'de> Visitor<'de> for RuleVisitor {
    type Value = AnonymizeRule;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v {
            "null" => Ok(AnonymizeRule::Null),
            "hash" => Ok(AnonymizeRule::Hash),
            _ => Err(E::custom(format!(
                "unknown anonymize rule (expected {EXPECTED})"
            ))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut value = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "value" || value.is_some() {
                return Err(de::Error::custom(format!(
                    "unknown key `{key}` in anonymize rule (expected {EXPECTED})"
                )));
            }
            value = Some(map.next_value::<String>()?);
        }
        value
            .map(AnonymizeRule::Value)
            .ok_or_else(|| de::Error::custom(format!("expected {EXPECTED}")))
    }
}

/// Hashes column values with a salt fixed for one system.
#[derive(Clone)]
pub struct Hasher {
    salt: String,
}

impl Hasher {
    /// The hasher of the system named `system`.
    pub fn for_system(system: &str) -> Self {
        Self {
            salt: format!("gallra-sql-anonymize\0{system}\0"),
        }
    }

    /// The hex SHA-256 of the salt and `value`.
    pub fn hash(&self, value: &str) -> String {
        let digest = Sha256::new()
            .chain_update(self.salt.as_bytes())
            .chain_update(value.as_bytes())
            .finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Whether `value` already is one of our hashes, so a second anonymize leaves it alone
/// (anonymizing twice must change nothing).
pub fn is_hashed(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_from_their_three_spellings() {
        let rules: std::collections::BTreeMap<String, AnonymizeRule> =
            serde_json::from_str(r#"{"a":"null","b":"hash","c":{"value":""},"d":{"value":"x"}}"#)
                .unwrap();
        assert_eq!(rules["a"], AnonymizeRule::Null);
        assert_eq!(rules["b"], AnonymizeRule::Hash);
        assert_eq!(rules["c"], AnonymizeRule::Value(String::new()));
        assert_eq!(rules["d"], AnonymizeRule::Value("x".into()));
        assert!(serde_json::from_str::<AnonymizeRule>(r#""blank""#).is_err());
        assert!(serde_json::from_str::<AnonymizeRule>(r#"{"valeu":"x"}"#).is_err());
    }

    #[test]
    fn hash_is_stable_per_system_and_recognized() {
        let a = Hasher::for_system("panel");
        assert_eq!(a.hash("x@example.se"), a.hash("x@example.se"));
        assert_ne!(
            a.hash("x@example.se"),
            Hasher::for_system("crm").hash("x@example.se")
        );
        assert!(is_hashed(&a.hash("x@example.se")));
        assert!(!is_hashed("x@example.se"));
    }
}
