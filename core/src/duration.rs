//! Calendar durations such as `6 months` or `7 years`, counted on the calendar of a time zone.
//!
//! "6 months before 31 August" is 28 or 29 February, not "180 days": a month is never 30
//! days here. The arithmetic is jiff's, which clamps to the end of a shorter month and
//! accounts for daylight-saving changes.

use std::fmt;
use std::str::FromStr;

use jiff::{Span, Timestamp, Zoned};
use serde::Deserialize;

/// A calendar duration from configuration, e.g. `6 months`, `7 years`, `90 days`, `2 weeks`.
#[derive(Clone)]
pub struct CalendarDuration {
    span: Span,
    text: String,
}

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a duration jiff understands.
    #[error("not a duration (write e.g. \"6 months\", \"7 years\", \"90 days\", \"2 weeks\")")]
    Syntax,
    /// Negative or zero.
    #[error("a duration must be longer than zero")]
    NotPositive,
}

impl CalendarDuration {
    /// The instant this long before `now`, counted on `now`'s calendar (its time zone).
    pub fn before(&self, now: &Zoned) -> Zoned {
        now.checked_sub(self.span)
            .unwrap_or_else(|_| now.with_time_zone(now.time_zone().clone()))
    }

    /// The instant this long after `start`, counted on `start`'s calendar.
    pub fn after(&self, start: &Zoned) -> Zoned {
        start
            .checked_add(self.span)
            .unwrap_or_else(|_| start.with_time_zone(start.time_zone().clone()))
    }

    /// The cutoff for "older than this duration" as an instant: anything strictly before it
    /// is older. Counted back from `now`, so at a month's end it errs late, never early:
    /// on 28 February, "6 months ago" is 28 August, and a 31 August login is not yet old.
    pub fn cutoff(&self, now: &Zoned) -> Timestamp {
        self.before(now).timestamp()
    }

    /// The duration as jiff's span.
    pub fn span(&self) -> Span {
        self.span
    }

    /// The text the user wrote.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for CalendarDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let span: Span = s.trim().parse().map_err(|_| DurationError::Syntax)?;
        if span.is_negative() || span.is_zero() {
            return Err(DurationError::NotPositive);
        }
        Ok(Self {
            span,
            text: s.trim().to_owned(),
        })
    }
}

impl<'de> Deserialize<'de> for CalendarDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl PartialEq for CalendarDuration {
    /// Equal when written with the same units: `12 months` and `1 year` differ, as they do
    /// on a calendar only by accident.
    fn eq(&self, other: &Self) -> bool {
        self.span.fieldwise() == other.span.fieldwise()
    }
}

impl Eq for CalendarDuration {}

impl fmt::Display for CalendarDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for CalendarDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CalendarDuration({:?})", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Zoned {
        format!("{s}[Europe/Stockholm]").parse().unwrap()
    }

    fn d(s: &str) -> CalendarDuration {
        s.parse().unwrap()
    }

    #[test]
    fn months_are_calendar_months_not_thirty_days() {
        // 31 August + 6 months clamps to the end of February.
        assert_eq!(
            d("6 months").after(&at("2025-08-31T12:00")),
            at("2026-02-28T12:00")
        );
        assert_eq!(
            d("6 months").after(&at("2023-08-31T12:00")),
            at("2024-02-29T12:00")
        );
        // And 6 months before 31 August is 28/29 February, not 3 March.
        assert_eq!(
            d("6 months").before(&at("2024-08-31T12:00")),
            at("2024-02-29T12:00")
        );
    }

    #[test]
    fn leap_day_plus_a_year_is_the_last_of_february() {
        assert_eq!(
            d("1 year").after(&at("2024-02-29T10:00")),
            at("2025-02-28T10:00")
        );
        assert_eq!(
            d("7 years").after(&at("2024-02-29T10:00")),
            at("2031-02-28T10:00")
        );
    }

    #[test]
    fn days_keep_the_wall_clock_across_daylight_saving() {
        // Sweden springs forward on 2026-03-29: a calendar day is then 23 hours long.
        let before = at("2026-03-28T12:00");
        let after = d("1 day").after(&before);
        assert_eq!(after, at("2026-03-29T12:00"));
        assert_eq!(
            after.timestamp().as_second() - before.timestamp().as_second(),
            23 * 3600
        );
    }

    #[test]
    fn refuses_nonsense_and_non_positive() {
        assert_eq!(
            "soon".parse::<CalendarDuration>(),
            Err(DurationError::Syntax)
        );
        assert_eq!(
            "0 days".parse::<CalendarDuration>(),
            Err(DurationError::NotPositive)
        );
        assert_eq!(
            "-3 months".parse::<CalendarDuration>(),
            Err(DurationError::NotPositive)
        );
    }
}
