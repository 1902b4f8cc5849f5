//! Reading timestamps that come out of the database as text.
//!
//! Every timestamp column is read with a SQL `CAST(… AS TEXT)`, so one parser serves all
//! backends and column types: RFC 3339 with an offset, `YYYY-MM-DD HH:MM:SS[.fff][offset]`,
//! `YYYY-MM-DD`, or integer Unix seconds. A value without an offset is wall-clock time in the
//! configured time zone. NULL and MySQL's zero dates mean "none"; anything else that does not
//! parse is "unreadable".
//!
//! Unknown is never old. An unreadable relationship end is no end, and an unreadable record
//! clock never expires. An unreadable *activity* time must not simply drop out of the
//! latest-of: an older readable column would then make an active subject look inactive. It
//! wins over every date instead ([`Activity`]), and the subject's activity is reported as
//! [`UNREADABLE_ACTIVITY`], a 1970 time the daemon takes as a broken value in any system and
//! keeps the subject for.

use std::collections::BTreeSet;

use gallra_plugin_api::jiff::civil::{Date, DateTime};
use gallra_plugin_api::jiff::tz::TimeZone;
use gallra_plugin_api::jiff::Timestamp;

/// The last activity reported for a subject one of whose activity values is present but
/// unreadable: 1970-01-01, before the year 2000 from which the daemon believes activity
/// times. It keeps the subject (reason `activity_implausible`) whatever other systems or
/// columns say, and a legal hold counted from it is asked again rather than lifted.
pub const UNREADABLE_ACTIVITY: Timestamp = Timestamp::UNIX_EPOCH;

/// A subject's activity over several values: the latest date, unless one value could not be
/// read, which wins over every date (it might have been the latest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Activity {
    /// No value: NULL, empty or a zero date everywhere.
    #[default]
    None,
    /// The latest of the values, all readable.
    At(Timestamp),
    /// At least one value is present but no timestamp we know.
    Unreadable,
}

impl Activity {
    /// The activity over both: unreadable if either is, else the later date.
    #[must_use]
    pub fn max(self, other: Self) -> Self {
        match (self, other) {
            (Self::Unreadable, _) | (_, Self::Unreadable) => Self::Unreadable,
            (Self::At(a), Self::At(b)) => Self::At(a.max(b)),
            (Self::At(t), Self::None) | (Self::None, Self::At(t)) => Self::At(t),
            (Self::None, Self::None) => Self::None,
        }
    }

    /// What the facts say: `None` for no value, [`UNREADABLE_ACTIVITY`] for an unreadable one.
    pub fn reported(self) -> Option<Timestamp> {
        match self {
            Self::None => None,
            Self::At(t) => Some(t),
            Self::Unreadable => Some(UNREADABLE_ACTIVITY),
        }
    }
}

/// Parses timestamps in one time zone and counts the values it could not read, by column.
pub struct Reader {
    zone: TimeZone,
    unreadable: u64,
    columns: BTreeSet<String>,
}

impl Reader {
    /// A reader for values stored without a zone in `zone`.
    pub fn new(zone: TimeZone) -> Self {
        Self {
            zone,
            unreadable: 0,
            columns: BTreeSet::new(),
        }
    }

    /// The instant `value` of `table.column` stands for, or `None` for NULL, a zero date, or
    /// an unreadable value (counted, never logged: it could be anything).
    pub fn read(&mut self, value: Option<&str>, table: &str, column: &str) -> Option<Timestamp> {
        match self.activity(value, table, column) {
            Activity::At(t) => Some(t),
            Activity::None | Activity::Unreadable => None,
        }
    }

    /// `value` of the activity column `table.column`; an unreadable value is counted as in
    /// [`Reader::read`] and comes back as [`Activity::Unreadable`].
    pub fn activity(&mut self, value: Option<&str>, table: &str, column: &str) -> Activity {
        let Some(value) = value else {
            return Activity::None;
        };
        match parse(value, &self.zone) {
            Parsed::At(t) => Activity::At(t),
            Parsed::Empty => Activity::None,
            Parsed::Unreadable => {
                self.unreadable += 1;
                self.columns.insert(format!("{table}.{column}"));
                Activity::Unreadable
            }
        }
    }

    /// How many values could not be read so far.
    pub fn unreadable(&self) -> u64 {
        self.unreadable
    }

    /// The `table.column`s that held them, comma-separated.
    pub fn unreadable_columns(&self) -> String {
        self.columns
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Logs the count of unreadable values and their columns, if any; never a value or key.
    pub fn report(&self, system: &str, operation: &str) {
        if self.unreadable() > 0 {
            tracing::warn!(
                system,
                operation,
                count = self.unreadable(),
                columns = %self.unreadable_columns(),
                "timestamps that could not be read: a subject with an unreadable activity time \
                 is kept (reported as 1970, an implausible time), an unreadable relationship \
                 end counts as not ended, an unreadable record clock never expires; fix: store \
                 timestamps in these columns in a form the sql connector reads (RFC 3339, \
                 YYYY-MM-DD HH:MM:SS, YYYY-MM-DD or Unix seconds)"
            );
        }
    }
}

/// What a text value turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A point in time.
    At(Timestamp),
    /// Empty or a zero date: no time.
    Empty,
    /// Text that is no timestamp we know.
    Unreadable,
}

/// Parses one value; see the module docs for the forms.
pub fn parse(value: &str, zone: &TimeZone) -> Parsed {
    let value = value.trim();
    if value.is_empty() || value.starts_with("0000-00-00") {
        return Parsed::Empty;
    }
    let digits = value.strip_prefix('-').unwrap_or(value);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return value
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .map_or(Parsed::Unreadable, Parsed::At);
    }
    if let Ok(t) = value.parse::<Timestamp>() {
        return Parsed::At(t);
    }
    let local = value.parse::<DateTime>().or_else(|_| {
        value
            .parse::<Date>()
            .map(|d| d.to_datetime(gallra_plugin_api::jiff::civil::time(0, 0, 0, 0)))
    });
    match local.and_then(|dt| dt.to_zoned(zone.clone())) {
        Ok(zoned) => Parsed::At(zoned.timestamp()),
        Err(_) => Parsed::Unreadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Parsed {
        Parsed::At(s.parse().unwrap())
    }

    #[test]
    fn reads_every_documented_form() {
        let zone = TimeZone::get("Europe/Stockholm").unwrap();
        let cases = [
            ("2024-03-01T12:00:00Z", at("2024-03-01T12:00:00Z")),
            ("2024-03-01T12:00:00+02:00", at("2024-03-01T10:00:00Z")),
            ("2024-03-01 12:00:00+00", at("2024-03-01T12:00:00Z")),
            ("2024-03-01 12:00:00.250+01", at("2024-03-01T11:00:00.25Z")),
            // Naive values are Stockholm wall-clock time: CET in winter, CEST in summer.
            ("2024-03-01 12:00:00", at("2024-03-01T11:00:00Z")),
            (
                "2024-07-01 12:00:00.123456",
                at("2024-07-01T10:00:00.123456Z"),
            ),
            ("2024-07-01", at("2024-06-30T22:00:00Z")),
            ("1700000000", at("2023-11-14T22:13:20Z")),
            ("0000-00-00", Parsed::Empty),
            ("0000-00-00 00:00:00", Parsed::Empty),
            ("", Parsed::Empty),
            ("yesterday", Parsed::Unreadable),
            ("2024-13-45", Parsed::Unreadable),
            ("infinity", Parsed::Unreadable),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input, &zone), want, "{input:?}");
        }
    }

    #[test]
    fn reader_counts_unreadable_values_and_returns_none() {
        let mut reader = Reader::new(TimeZone::UTC);
        assert_eq!(reader.read(None, "t", "a"), None);
        assert_eq!(reader.read(Some("0000-00-00 00:00:00"), "t", "a"), None);
        assert_eq!(reader.read(Some("garbage"), "t", "b"), None);
        assert!(reader.read(Some("2024-01-01"), "t", "a").is_some());
        assert_eq!(reader.unreadable(), 1);
        assert_eq!(reader.unreadable_columns(), "t.b");
    }

    #[test]
    fn an_unreadable_activity_value_wins_over_every_date() {
        let mut reader = Reader::new(TimeZone::UTC);
        let old = reader.activity(Some("2015-01-01"), "customers", "created_at");
        let bad = reader.activity(Some("last Tuesday"), "customers", "last_login");
        let none = reader.activity(None, "customers", "last_login");
        let zero = reader.activity(Some("0000-00-00"), "customers", "last_login");
        assert_eq!(bad, Activity::Unreadable);
        assert_eq!((none, zero), (Activity::None, Activity::None));
        for (a, b) in [(old, bad), (bad, old), (bad, none), (none, bad)] {
            assert_eq!(a.max(b), Activity::Unreadable, "{a:?} and {b:?}");
            assert_eq!(a.max(b).reported(), Some(UNREADABLE_ACTIVITY));
        }
        assert_eq!(
            old.max(none).reported(),
            Some("2015-01-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(none.max(zero).reported(), None);
        assert_eq!(reader.unreadable(), 1);
        assert_eq!(reader.unreadable_columns(), "customers.last_login");
    }

    /// The daemon keeps any subject whose activity is before 2000 (`policy::PLAUSIBLE_AFTER`).
    #[test]
    fn the_unreadable_marker_is_an_implausible_time_to_the_daemon() {
        assert!(UNREADABLE_ACTIVITY < "2000-01-01T00:00:00Z".parse().unwrap());
    }
}
