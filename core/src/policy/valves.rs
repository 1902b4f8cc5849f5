//! Which safety valve stops a run, decided from what its scan counted, the policy's past runs
//! and the clock: the runner asks, and stops before removing or warning anyone if told to.

use jiff::Zoned;

use super::{check_clock, check_safety, check_shrink, removal_valves, History};
use crate::config::{Policy, Safety};
use crate::duration::CalendarDuration;
use crate::schedule::Schedule;

/// What a finished scan counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanTotals {
    /// Subjects seen.
    pub scanned: u64,
    /// Subjects selected.
    pub selected: u64,
    /// Subjects due a warning.
    pub to_warn: u64,
}

/// The valve that stops a run of `policy` at `now`, in words, or `None` to go on. A clock
/// that moved (see [`clock_trip`]) stops only a run that would remove or warn someone: one
/// that selects no one has nothing to stop, and a sysadmin should not have to approve it.
/// Otherwise the first valve the scan trips ([`scan_trip`]).
pub fn stopping_valve(
    policy: &Policy,
    now: &Zoned,
    totals: &ScanTotals,
    history: &History,
) -> Option<String> {
    let acts = totals.selected > 0 || totals.to_warn > 0;
    clock_trip(policy, now, history)
        .filter(|_| acts)
        .or_else(|| scan_trip(&policy.safety, totals, history))
}

/// The first safety valve a run's scan trips, in words: a source that shrank first (nothing
/// it says can be trusted), then what the run would remove, then whom it would warn.
pub fn scan_trip(safety: &Safety, totals: &ScanTotals, history: &History) -> Option<String> {
    check_shrink(totals.scanned, safety, history)
        .map(|trip| trip.describe("remove"))
        .or_else(|| {
            let valves = removal_valves(safety, history);
            check_safety(totals.selected, totals.scanned, &valves, history)
                .map(|trip| trip.describe("remove"))
        })
        .or_else(|| {
            check_safety(totals.to_warn, totals.scanned, safety, &History::default())
                .map(|trip| trip.describe("warn"))
        })
}

/// A clock that went back, or jumped further ahead than the policy's `max_clock_gap`
/// ([`default_clock_gap`] if unset), since the policy's last run.
pub fn clock_trip(policy: &Policy, now: &Zoned, history: &History) -> Option<String> {
    let derived;
    let max_gap = match &policy.max_clock_gap {
        Some(gap) => gap,
        None => {
            derived = default_clock_gap(policy, now);
            &derived
        }
    };
    check_clock(now, history, max_gap).map(|trip| trip.describe("remove"))
}

/// Three intervals of the policy's schedule, and at least 14 days (a daemon down for a week
/// catches up without a person); 92 days for a policy run only by hand.
pub fn default_clock_gap(policy: &Policy, now: &Zoned) -> CalendarDuration {
    const FLOOR_HOURS: i64 = 14 * 24;
    let hours = policy
        .schedule
        .as_deref()
        .and_then(|text| Schedule::parse(text).ok())
        .and_then(|schedule| {
            let first = schedule.next_after(now)?;
            let second = schedule.next_after(&first)?;
            Some(first.duration_until(&second).as_hours() * 3)
        })
        .map_or(92 * 24, |hours| hours.max(FLOOR_HOURS));
    format!("{hours} hours")
        .parse()
        .expect("a positive number of hours is a duration")
}

#[cfg(test)]
mod tests;
