//! Reading timestamps that come out of the database as text.
//!
//! Every timestamp column is read with a SQL `CAST(… AS TEXT)`, so one parser serves all
//! backends and column types: RFC 3339 with an offset, `YYYY-MM-DD HH:MM:SS[.fff][offset]`,
//! `YYYY-MM-DD`, or integer Unix seconds. A value without an offset is wall-clock time in the
//! configured time zone. NULL and MySQL's zero dates mean "none"; anything else that does not
//! parse is "unknown". Both are `None` — a policy never reads an unknown time as inactivity.

use gallra_plugin_api::jiff::civil::{Date, DateTime};
use gallra_plugin_api::jiff::tz::TimeZone;
use gallra_plugin_api::jiff::Timestamp;

/// Parses timestamps in one time zone and counts the values it could not read.
pub struct Reader {
    zone: TimeZone,
    unreadable: u64,
}

impl Reader {
    /// A reader for values stored without a zone in `zone`.
    pub fn new(zone: TimeZone) -> Self {
        Self {
            zone,
            unreadable: 0,
        }
    }

    /// The instant `value` stands for, or `None` for NULL, a zero date, or an unreadable value
    /// (counted, never logged: it could be anything).
    pub fn read(&mut self, value: Option<&str>) -> Option<Timestamp> {
        match parse(value?, &self.zone) {
            Parsed::At(t) => Some(t),
            Parsed::Empty => None,
            Parsed::Unreadable => {
                self.unreadable += 1;
                None
            }
        }
    }

    /// How many values could not be read so far.
    pub fn unreadable(&self) -> u64 {
        self.unreadable
    }

    /// Logs the count of unreadable values, if any.
    pub fn report(&self, system: &str, operation: &str) {
        if self.unreadable() > 0 {
            tracing::warn!(
                system,
                operation,
                count = self.unreadable(),
                "timestamps that could not be read were treated as unknown"
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
        assert_eq!(reader.read(None), None);
        assert_eq!(reader.read(Some("0000-00-00 00:00:00")), None);
        assert_eq!(reader.read(Some("garbage")), None);
        assert!(reader.read(Some("2024-01-01")).is_some());
        assert_eq!(reader.unreadable(), 1);
    }
}
