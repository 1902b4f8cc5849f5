//! When policies run: cron schedules in the configured time zone, and which slot is due.
//!
//! The decisions here are pure functions of (schedule, last recorded slot, now), so they are
//! tested with any clock. The loop that sleeps and runs lives in the daemon's `serve` module; every run
//! is recorded in the state store under its unique (policy, slot) before it starts, so a slot
//! is never run twice — not after a crash, not by a second daemon.
//!
//! Why not tokio-cron-scheduler: gallra needs four things its tracker reports missing or
//! broken — jobs an hour off after a DST change (#107), repeated jobs that stop firing under
//! load (#113), no overlap control (#83) and no catch-up of missed runs. Its timers read the
//! system clock inside the crate, so none of these can be tested with a controlled clock.
//! croner (the cron engine it is built on) computes occurrences on jiff's zoned calendar,
//! and the durable state decides the rest; `tests.rs` proves the four properties.

use std::fmt;

use croner::parser::{CronParser, Seconds};
use croner::Cron;
use jiff::{Timestamp, Zoned};

/// A policy's schedule: six-field cron (with seconds), counted on the calendar of a zone.
#[derive(Clone)]
pub struct Schedule {
    cron: Cron,
    text: String,
}

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cron schedule ({reason}); write six fields, e.g. \"0 0 3 * * *\" for 03:00 daily")]
pub struct ScheduleError {
    reason: String,
}

impl Schedule {
    /// Parses a six-field cron expression: second, minute, hour, day of month, month, weekday.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .build()
            .parse(text.trim())
            .map_err(|e| ScheduleError {
                reason: e.to_string(),
            })?;
        Ok(Self {
            cron,
            text: text.trim().to_owned(),
        })
    }

    /// The first slot strictly after `after`, on `after`'s calendar.
    pub fn next_after(&self, after: &Zoned) -> Option<Zoned> {
        self.cron.find_next_occurrence(after, false).ok()
    }

    /// The latest slot at or before `at`.
    pub fn latest_until(&self, at: &Zoned) -> Option<Zoned> {
        self.cron.find_previous_occurrence(at, true).ok()
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?})", self.text)
    }
}

/// The slot a policy should run for now, if any.
///
/// `last` is the latest slot already recorded for the policy, or — for a policy that has
/// never run — the instant the daemon started, so that a new policy waits for its first slot
/// instead of running at once. Several missed slots collapse into the latest one: a daemon
/// that was down for a week catches up once, not seven times, and a run that overran its
/// interval is followed by one run, not a burst.
pub fn due_slot(schedule: &Schedule, last: Timestamp, now: &Zoned) -> Option<Zoned> {
    let latest = schedule.latest_until(now)?;
    (latest.timestamp() > last).then_some(latest)
}

#[cfg(test)]
mod tests;
