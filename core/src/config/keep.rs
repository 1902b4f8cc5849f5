//! How long records are kept, counted the way the rule that keeps them counts.
//!
//! Most retention is a plain calendar duration from an event: "6 months after the last
//! login", "2 months after the relationship ended". Bookkeeping is not. Bokföringslagen
//! 7 kap. 2 § keeps records *until the end of the seventh year after the calendar year in
//! which the financial year ended*: an invoice of 15 March 2023 (calendar financial year)
//! stays until 31 December 2030, and with a financial year of May–April, an invoice of
//! 1 May 2023 belongs to the year ending 30 April 2024 and stays until 31 December 2031.
//! "7 × 365 days" or "7 years after the invoice" both get that wrong, in both directions.
//!
//! [`Keep`] is that rule as configured (`keep = "7 years"`, `from = "end_of_financial_year"`,
//! `financial_year_end = "12-31"`, `round_up_to = "year"`). Its two pure functions answer the
//! only two questions gallra asks: until when does this record stay ([`Keep::until`]), and
//! which records may go now ([`Keep::cutoff`]). Both count on the configured time zone's
//! calendar: a record dated 31 December 23:59 in Stockholm belongs to that year, whatever
//! the UTC date says.

use std::fmt;

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan, Zoned};

use crate::duration::CalendarDuration;

/// How long records are kept, and from when that is counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keep {
    /// How long, e.g. `7 years`.
    pub duration: CalendarDuration,
    /// What the duration is counted from.
    pub from: CountFrom,
    /// Whether the end is moved to the end of the calendar year it falls in.
    pub round_up_to: RoundUp,
}

/// What a retention duration is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountFrom {
    /// The event's own instant: the subject's last activity in the system (a legal hold) or
    /// the record's own clock (record retention).
    Event,
    /// The end of the financial year the event falls in.
    EndOfFinancialYear(FinancialYearEnd),
}

/// Whether the end of a retention period is rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundUp {
    /// The end is exactly the counted instant.
    No,
    /// The end is the end of the calendar year the counted instant falls in (an instant
    /// that is already a year's start stays).
    Year,
}

/// The last day of a financial year, as a month: a financial year (räkenskapsår) is twelve
/// whole months, so it always ends on the last day of a month, e.g. 31 December (a
/// calendar year) or 30 April (a broken financial year, May–April).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinancialYearEnd {
    month: i8,
}

impl FinancialYearEnd {
    /// The calendar year: it ends on 31 December.
    pub const CALENDAR_YEAR: FinancialYearEnd = FinancialYearEnd { month: 12 };

    /// Reads `MM-DD`, which must be the last day of its month (`02-28` and `02-29` both
    /// mean the end of February, the 29th in a leap year).
    pub fn parse(text: &str) -> Result<FinancialYearEnd, String> {
        let bad = || {
            format!(
                "\"{text}\" is not the last day of a month as MM-DD (write e.g. \"12-31\" for a \
                 calendar year, \"04-30\" for a financial year May–April)"
            )
        };
        let (month, day) = text.trim().split_once('-').ok_or_else(bad)?;
        let (month, day): (i8, i8) = (
            month.parse().map_err(|_| bad())?,
            day.parse().map_err(|_| bad())?,
        );
        let last = match month {
            2 if day == 28 || day == 29 => return Ok(FinancialYearEnd { month }),
            4 | 6 | 9 | 11 => 30,
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            _ => return Err(bad()),
        };
        if day != last {
            return Err(bad());
        }
        Ok(FinancialYearEnd { month })
    }

    /// The first day after the financial year that `date` falls in: the instant the year
    /// ends is the start of this day.
    pub fn day_after_year_of(self, date: Date) -> Date {
        let end_year = if date.month() <= self.month {
            date.year()
        } else {
            date.year() + 1
        };
        let (year, month) = if self.month == 12 {
            (end_year + 1, 1)
        } else {
            (end_year, self.month + 1)
        };
        Date::new(year, month, 1).expect("the first of a month in range")
    }
}

impl fmt::Display for FinancialYearEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = Date::new(2023, self.month, 1)
            .expect("a month")
            .last_of_month();
        write!(f, "{:02}-{:02}", self.month, last.day())
    }
}

impl Keep {
    /// A plain duration from the event, as `keep = "7 years"` alone means.
    pub fn plain(duration: CalendarDuration) -> Keep {
        Keep {
            duration,
            from: CountFrom::Event,
            round_up_to: RoundUp::No,
        }
    }

    /// Until when something dated `event` is kept: the first instant it may go. `event` is
    /// read on its own time zone's calendar (the configured one).
    pub fn until(&self, event: &Zoned) -> Zoned {
        let start = match self.from {
            CountFrom::Event => event.clone(),
            CountFrom::EndOfFinancialYear(fye) => {
                start_of(fye.day_after_year_of(event.date()), event)
            }
        };
        self.round(self.duration.after(&start))
    }

    /// The cutoff at `now`: exactly the records whose clock is strictly before it have
    /// reached their [`Keep::until`] (for a plain duration, an instant on the boundary
    /// stays one instant longer; it never goes early).
    pub fn cutoff(&self, now: &Zoned) -> Timestamp {
        match self.from {
            // until(e) = round(e + d) ≤ now ⟺ e + d ≤ the last rounding point ≤ now.
            CountFrom::Event => self.duration.cutoff(&self.round_down(now)),
            // Every record of a financial year has the same until, and it grows with the
            // year: the cutoff is the start of the earliest year whose records still stay.
            CountFrom::EndOfFinancialYear(fye) => {
                // `start` begins the latest year known to stay (at first the current one,
                // which has not even ended); the year before it ended at `start`.
                let mut start = previous_year(fye.day_after_year_of(now.date()));
                // Bounded: each step goes back a year, so this ends within `duration`.
                for _ in 0..10_000 {
                    let previous_until = self.round(self.duration.after(&start_of(start, now)));
                    if previous_until <= *now {
                        break;
                    }
                    start = previous_year(start);
                }
                start_of(start, now).timestamp()
            }
        }
    }

    fn round(&self, t: Zoned) -> Zoned {
        match self.round_up_to {
            RoundUp::No => t,
            RoundUp::Year => {
                let year_start = start_of(Date::new(t.year(), 1, 1).expect("a year"), &t);
                if year_start == t {
                    t
                } else {
                    start_of(Date::new(t.year() + 1, 1, 1).expect("a year"), &t)
                }
            }
        }
    }

    /// The latest rounding point at or before `now` (itself when there is no rounding).
    fn round_down(&self, now: &Zoned) -> Zoned {
        match self.round_up_to {
            RoundUp::No => now.clone(),
            RoundUp::Year => start_of(Date::new(now.year(), 1, 1).expect("a year"), now),
        }
    }
}

impl fmt::Display for Keep {
    /// As the register shows it, e.g. `7 years from the end of the financial year (12-31),
    /// to the end of that calendar year`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.duration)?;
        if let CountFrom::EndOfFinancialYear(fye) = self.from {
            write!(f, " from the end of the financial year (ending {fye})")?;
        }
        if self.round_up_to == RoundUp::Year {
            write!(f, ", then to the end of that calendar year")?;
        }
        Ok(())
    }
}

fn previous_year(first_of_month: Date) -> Date {
    first_of_month
        .checked_sub(1.year())
        .expect("a date in range")
}

/// The start of `date` on the calendar of `like`.
fn start_of(date: Date, like: &Zoned) -> Zoned {
    date.to_zoned(like.time_zone().clone())
        .expect("the start of a day in range")
}

#[cfg(test)]
mod tests;
