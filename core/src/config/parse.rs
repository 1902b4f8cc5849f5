//! TOML text to the raw structs, reporting every serde error rather than the first.
//!
//! serde stops at the first error in a struct, so the document is split first: the top
//! level, each `[systems.NAME]` and each `[policies.NAME]` are deserialized on their own. A
//! typo in one system then does not hide a bad duration in a policy.

use serde::de::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::locate::{self, Locator};
use super::raw::{RawConfig, RawPolicy, RawSystem};
use super::validate::Problem;

/// The file, deserialized as far as it would go. `None` marks a part with an error.
pub(crate) struct Parsed {
    /// The top-level keys; its `systems` and `policies` are empty (they are below).
    pub top: Option<RawConfig>,
    /// Every system in file order, with its raw table if it deserialized.
    pub systems: Vec<(String, Option<RawSystem>)>,
    /// Every policy in file order, with its raw table if it deserialized.
    pub policies: Vec<(String, Option<RawPolicy>)>,
}

/// Deserializes `text`. On a TOML syntax error returns `None` with every syntax error in
/// `problems`; otherwise returns what deserialized and pushes the rest as problems.
pub(crate) fn parse(text: &str, locator: &Locator, problems: &mut Vec<Problem>) -> Option<Parsed> {
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        problems.extend(errors.into_iter().map(|e| Problem {
            key: String::new(),
            span: e.span(),
            message: format!("invalid TOML: {}", e.message()),
        }));
        return None;
    }
    let root_span = root.span();
    let mut root = root.into_inner();
    let systems = root.remove("systems");
    let policies = root.remove("policies");

    let top = ValueDeserializer::from(Spanned::new(root_span, DeValue::Table(root)));
    let top = RawConfig::deserialize(top)
        .map_err(|e| problems.push(serde_problem(e, "", locator)))
        .ok();
    Some(Parsed {
        top,
        systems: entries(systems, "systems", locator, problems),
        policies: entries(policies, "policies", locator, problems),
    })
}

/// Deserializes each entry of the table at `base` on its own, in file order.
fn entries<T: for<'de> Deserialize<'de>>(
    table: Option<Spanned<DeValue<'_>>>,
    base: &str,
    locator: &Locator,
    problems: &mut Vec<Problem>,
) -> Vec<(String, Option<T>)> {
    let Some(table) = table else {
        return Vec::new();
    };
    let span = table.span();
    let DeValue::Table(table) = table.into_inner() else {
        problems.push(Problem {
            key: base.to_owned(),
            span: Some(span),
            message: format!("must be a table of named entries, e.g. [{base}.NAME]"),
        });
        return Vec::new();
    };
    let mut entries: Vec<_> = table.into_iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    entries
        .into_iter()
        .map(|(name, value)| {
            let name = name.into_inner().into_owned();
            let path = locate::join(base, &name);
            let raw = T::deserialize(ValueDeserializer::from(value))
                .map_err(|e| problems.push(serde_problem(e, &path, locator)))
                .ok();
            (name, raw)
        })
        .collect()
}

/// A serde error inside the table at `base`, with the key it is about.
fn serde_problem(error: toml::de::Error, base: &str, locator: &Locator) -> Problem {
    let message = error.message();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        return Problem {
            key: locate::join(base, field),
            span: error.span(),
            message: "required key is missing".to_owned(),
        };
    }
    // serde speaks of fields and variants; a sysadmin reads keys and values.
    let message = if let Some(rest) = message.strip_prefix("unknown field ") {
        format!("unknown key {rest}{}", did_you_mean(rest))
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        format!("unknown value {rest}{}", did_you_mean(rest))
    } else {
        message.to_owned()
    };
    let key = error
        .span()
        .and_then(|span| locator.path_at(span.start))
        .filter(|key| key.starts_with(base))
        .unwrap_or_else(|| base.to_owned());
    Problem {
        key,
        span: error.span(),
        message,
    }
}

/// For serde's "`idel_for`, expected one of `kind`, `idle_for`, …": "; did you mean
/// `idle_for`?" when one expected name is close to what was written (a typo, not another
/// word), else nothing.
fn did_you_mean(rest: &str) -> String {
    let mut names = rest.split('`').skip(1).step_by(2);
    let Some(written) = names.next() else {
        return String::new();
    };
    names
        .map(|name| (strsim::damerau_levenshtein(written, name), name))
        .filter(|(distance, name)| *distance <= 2.max(name.len() / 4) && *distance < name.len())
        .min()
        .map(|(_, name)| format!("; did you mean `{name}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn a_typo_gets_the_key_it_was_meant_to_be_and_another_word_gets_none() {
        let expected = "`idel_for`, expected one of `kind`, `mode`, `idle_for`, `systems`";
        assert_eq!(did_you_mean(expected), "; did you mean `idle_for`?");
        let swapped = "`ativity`, expected one of `activity`, `plugin`";
        assert_eq!(did_you_mean(swapped), "; did you mean `activity`?");
        let unrelated = "`colour`, expected one of `kind`, `mode`, `idle_for`";
        assert_eq!(did_you_mean(unrelated), "");
    }
}
