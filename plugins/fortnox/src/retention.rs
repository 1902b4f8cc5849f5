//! How long Bokföringslagen keeps an invoice, as a pure function of its date.
//!
//! 7 kap. 2 §: accounting records are kept "until the end of the seventh year after the end
//! of the calendar year in which the financial year ended". An invoice dated 10 March 2025
//! with a financial year July–June belongs to the year ending 30 June 2025, so it stays
//! through 31 December 2032: it may go from the start of 1 January 2033 in the configured
//! time zone, which is the `until` this connector reports. gallra's own `legal_hold` with
//! `from = "end_of_financial_year"` and `round_up_to = "year"` counts the same instant.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer};

/// The last day of the financial year, as its month: a räkenskapsår is twelve whole months,
/// so it ends on the last day of a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinancialYearEnd {
    month: i8,
}

impl FinancialYearEnd {
    /// The calendar year, ending 31 December.
    pub const CALENDAR_YEAR: FinancialYearEnd = FinancialYearEnd { month: 12 };

    /// The last day of the financial year that `date` falls in.
    pub fn end_of_year_of(self, date: Date) -> Date {
        let this_year = last_day(date.year(), self.month);
        if date <= this_year {
            this_year
        } else {
            last_day(date.year() + 1, self.month)
        }
    }
}

fn last_day(year: i16, month: i8) -> Date {
    Date::new(year, month, 1)
        .expect("a month of a year in range")
        .last_of_month()
}

impl Default for FinancialYearEnd {
    fn default() -> Self {
        Self::CALENDAR_YEAR
    }
}

impl FromStr for FinancialYearEnd {
    type Err = String;

    /// `MM-DD`, the last day of its month; `02-28` and `02-29` both mean the end of
    /// February (the 29th in a leap year).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{text:?} is not the last day of a month as MM-DD (write \"12-31\" for a \
                 calendar year, \"06-30\" for a financial year July–June)"
            )
        };
        let (month, day) = text.trim().split_once('-').ok_or_else(bad)?;
        let month: i8 = month.parse().map_err(|_| bad())?;
        let day: i8 = day.parse().map_err(|_| bad())?;
        let ok = match month {
            2 => day == 28 || day == 29,
            1..=12 => day == last_day(2023, month).day(),
            _ => false,
        };
        if ok {
            Ok(Self { month })
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for FinancialYearEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}-{:02}",
            self.month,
            last_day(2023, self.month).day()
        )
    }
}

impl<'de> Deserialize<'de> for FinancialYearEnd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The first instant a record dated `date` may be destroyed: the start of 1 January of the
/// eighth year after the calendar year in which its financial year ended, in `tz`.
pub fn keep_until(date: Date, year_end: FinancialYearEnd, tz: &TimeZone) -> Timestamp {
    let ended = year_end.end_of_year_of(date);
    let free = Date::new(ended.year() + 8, 1, 1).expect("a year in range");
    tz.to_ambiguous_timestamp(free.to_datetime(Time::midnight()))
        .compatible()
        .expect("the start of a day in range")
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn fye(s: &str) -> FinancialYearEnd {
        s.parse().unwrap()
    }

    fn stockholm() -> TimeZone {
        TimeZone::get("Europe/Stockholm").unwrap()
    }

    #[test]
    fn the_record_stays_through_the_seventh_year_after_its_financial_year_ended() {
        // (invoice date, financial year end, first day it may go)
        let cases = [
            // Calendar year.
            (date(2025, 3, 10), "12-31", date(2033, 1, 1)),
            (date(2025, 1, 1), "12-31", date(2033, 1, 1)),
            (date(2025, 12, 31), "12-31", date(2033, 1, 1)),
            (date(2026, 1, 1), "12-31", date(2034, 1, 1)),
            (date(2023, 3, 15), "12-31", date(2031, 1, 1)),
            // Broken year July–June: the year ends in the invoice's year or the next.
            (date(2025, 3, 10), "06-30", date(2033, 1, 1)),
            (date(2025, 6, 30), "06-30", date(2033, 1, 1)),
            (date(2025, 7, 1), "06-30", date(2034, 1, 1)),
            (date(2025, 12, 31), "06-30", date(2034, 1, 1)),
            // Broken year May–April.
            (date(2023, 5, 1), "04-30", date(2032, 1, 1)),
            (date(2023, 4, 30), "04-30", date(2031, 1, 1)),
            // A year ending with February: leap days.
            (date(2024, 2, 29), "02-28", date(2032, 1, 1)),
            (date(2024, 2, 29), "02-29", date(2032, 1, 1)),
            (date(2023, 3, 1), "02-28", date(2032, 1, 1)),
            (date(2024, 3, 1), "02-29", date(2033, 1, 1)),
            (date(2023, 2, 28), "02-28", date(2031, 1, 1)),
            // A year ending with January.
            (date(2024, 1, 31), "01-31", date(2032, 1, 1)),
            (date(2024, 2, 1), "01-31", date(2033, 1, 1)),
        ];
        for (invoice, end, free) in cases {
            let tz = TimeZone::UTC;
            let expected = free.to_zoned(tz.clone()).unwrap().timestamp();
            assert_eq!(
                keep_until(invoice, fye(end), &tz),
                expected,
                "invoice {invoice}, year ending {end}"
            );
        }
    }

    #[test]
    fn until_is_midnight_on_new_years_day_in_the_configured_zone() {
        let until = keep_until(date(2025, 3, 10), fye("06-30"), &stockholm());
        // 2033-01-01T00:00 in Stockholm (CET, UTC+1).
        assert_eq!(until, "2032-12-31T23:00:00Z".parse::<Timestamp>().unwrap());
    }

    #[test]
    fn the_year_end_of_february_is_the_29th_in_leap_years() {
        let feb = fye("02-28");
        assert_eq!(feb.end_of_year_of(date(2024, 2, 10)), date(2024, 2, 29));
        assert_eq!(feb.end_of_year_of(date(2024, 3, 1)), date(2025, 2, 28));
        assert_eq!(feb.end_of_year_of(date(2027, 12, 1)), date(2028, 2, 29));
        assert_eq!(feb.to_string(), "02-28");
    }

    #[test]
    fn a_year_end_must_be_the_last_day_of_a_month() {
        for good in ["12-31", "06-30", "02-28", "02-29", "4-30", "01-31"] {
            assert!(good.parse::<FinancialYearEnd>().is_ok(), "{good}");
        }
        for bad in [
            "12-30", "06-31", "02-27", "13-31", "00-31", "1231", "", "12/31",
        ] {
            let err = bad.parse::<FinancialYearEnd>().unwrap_err();
            assert!(err.contains("last day of a month"), "{bad}: {err}");
        }
        assert_eq!(fye("4-30").to_string(), "04-30");
    }
}
