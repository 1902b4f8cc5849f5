//! The pieces of IMAP commands built from data: search strings, search keys, UID sets and
//! dates. An identifier only ever reaches the server through [`string`], which quotes it so
//! that no value can end the command or add one of its own.

use gallra_plugin_api::jiff::civil::Date;
use gallra_plugin_api::jiff::{Timestamp, ToSpan};

/// Why a value cannot be put into a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unsafe {
    /// CR, LF and NUL cannot be sent inside any IMAP string.
    #[error("an email identifier holds CR, LF or NUL, which cannot be searched for over IMAP")]
    LineBreak,
    /// Non-ASCII needs a literal, and without LITERAL+ a literal needs a round trip the
    /// client library cannot make inside a search.
    #[error(
        "an email identifier holds non-ASCII characters, and the server does not offer \
         LITERAL+ (RFC 7888), which searching for them needs"
    )]
    NeedsLiteral,
}

/// `value` as an IMAP string: quoted (with `\` and `"` escaped) when it is ASCII, else a
/// non-synchronizing literal (`{n+}` CRLF bytes) when the server allows them.
pub fn string(value: &str, literal_plus: bool) -> Result<String, Unsafe> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(Unsafe::LineBreak);
    }
    if value.is_ascii() {
        let mut quoted = String::with_capacity(value.len() + 2);
        quoted.push('"');
        for c in value.chars() {
            if c == '"' || c == '\\' {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        Ok(quoted)
    } else if literal_plus {
        Ok(format!("{{{}+}}\r\n{value}", value.len()))
    } else {
        Err(Unsafe::NeedsLiteral)
    }
}

/// The `UID SEARCH` criteria for messages that have any of `emails` in From, To, Cc or Bcc.
///
/// IMAP matches substrings (`FROM "anna@example.se"` also finds `joanna@example.se`), so
/// these are candidates: the caller keeps only messages whose parsed addresses are equal.
pub fn addressed_to_or_from(emails: &[String], literal_plus: bool) -> Result<String, Unsafe> {
    let mut criteria = Vec::with_capacity(emails.len());
    for email in emails {
        let s = string(email, literal_plus)?;
        criteria.push(format!("OR OR FROM {s} TO {s} OR CC {s} BCC {s}"));
    }
    // OR takes two keys: nest them, parenthesized, for more than one address.
    let mut query = criteria.pop().unwrap_or_else(|| "NOT ALL".to_owned());
    while let Some(next) = criteria.pop() {
        query = format!("OR ({next}) ({query})");
    }
    if emails.iter().any(|e| !e.is_ascii()) {
        query = format!("CHARSET UTF-8 {query}");
    }
    Ok(query)
}

/// A day in IMAP's `date` form, e.g. `5-Feb-2024`.
pub fn date(day: Date) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[usize::try_from(day.month() - 1).unwrap_or(0)];
    format!("{}-{month}-{}", day.day(), day.year())
}

/// The day to search `BEFORE` (or `SENTBEFORE`) so that every message earlier than `cutoff`
/// is among the results. IMAP compares days in each message's own time zone, which can be
/// up to 14 hours from UTC, so the day is two past the cutoff's UTC day; the caller then
/// keeps only messages strictly before `cutoff` itself.
pub fn candidate_day(cutoff: Timestamp) -> Date {
    let day = cutoff
        .to_zoned(gallra_plugin_api::jiff::tz::TimeZone::UTC)
        .date();
    day.checked_add(2.days()).unwrap_or(day)
}

/// A UID set (`1:3,7,9:10`) covering exactly `uids`: a range only where every UID in it is
/// one of them. Splits into several sets of at most `max_parts` parts, to keep each command
/// short.
pub fn uid_sets(uids: &[u32], max_parts: usize) -> Vec<String> {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut iter = sorted.into_iter().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
    }
    parts
        .chunks(max_parts.max(1))
        .map(|chunk| chunk.join(","))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_so_no_value_escapes() {
        let cases = [
            ("anna@example.se", r#""anna@example.se""#),
            (r#"a"b@example.se"#, r#""a\"b@example.se""#),
            (r"a\b@example.se", r#""a\\b@example.se""#),
            (r#"x@y.se" OR ALL ""#, r#""x@y.se\" OR ALL \"""#),
            (r#"\"#, r#""\\""#),
        ];
        for (value, want) in cases {
            assert_eq!(string(value, false).as_deref(), Ok(want), "{value}");
        }
    }

    #[test]
    fn line_breaks_are_refused_even_with_literals() {
        for value in ["a@b.se\r\nA1 DELETE INBOX", "a@b.se\n", "a\0@b.se"] {
            assert_eq!(string(value, true), Err(Unsafe::LineBreak));
        }
    }

    #[test]
    fn non_ascii_goes_as_a_literal_or_not_at_all() {
        assert_eq!(
            string("åsa@exempel.se", true).as_deref(),
            Ok("{15+}\r\nåsa@exempel.se")
        );
        assert_eq!(string("åsa@exempel.se", false), Err(Unsafe::NeedsLiteral));
    }

    #[test]
    fn one_address_searches_four_headers() {
        assert_eq!(
            addressed_to_or_from(&["a@b.se".into()], false).unwrap(),
            r#"OR OR FROM "a@b.se" TO "a@b.se" OR CC "a@b.se" BCC "a@b.se""#
        );
    }

    #[test]
    fn several_addresses_nest_in_pairs() {
        let q = addressed_to_or_from(&["a@b.se".into(), "c@d.se".into(), "é@f.se".into()], true)
            .unwrap();
        assert!(
            q.starts_with("CHARSET UTF-8 OR (OR OR FROM \"a@b.se\""),
            "{q}"
        );
        assert!(q.contains(") (OR (OR OR FROM \"c@d.se\""), "{q}");
        assert!(q.contains("FROM {7+}\r\né@f.se TO"), "{q}");
        assert_eq!(q.matches('(').count(), q.matches(')').count());
    }

    #[test]
    fn no_address_matches_nothing() {
        assert_eq!(addressed_to_or_from(&[], false).unwrap(), "NOT ALL");
    }

    #[test]
    fn dates_in_imap_form() {
        assert_eq!(date(Date::constant(2024, 2, 5)), "5-Feb-2024");
        assert_eq!(date(Date::constant(1999, 12, 31)), "31-Dec-1999");
    }

    #[test]
    fn candidate_day_is_two_past_the_utc_day() {
        let cases = [
            ("2024-01-01T00:00:00Z", Date::constant(2024, 1, 3)),
            ("2024-01-01T23:59:59Z", Date::constant(2024, 1, 3)),
            ("2024-02-28T12:00:00Z", Date::constant(2024, 3, 1)),
        ];
        for (cutoff, want) in cases {
            assert_eq!(candidate_day(cutoff.parse().unwrap()), want, "{cutoff}");
        }
    }

    #[test]
    fn uid_sets_cover_exactly_the_uids() {
        assert_eq!(uid_sets(&[9, 1, 2, 3, 7, 10, 3], 10), vec!["1:3,7,9:10"]);
        assert_eq!(uid_sets(&[1, 3, 5, 6], 2), vec!["1,3", "5:6"]);
        assert!(uid_sets(&[], 10).is_empty());
    }
}
