//! Inactivity with a warning first (`warn_before`): nobody is deleted without having been
//! told, at least `warn_before` earlier, the date it will happen unless they log in.
//!
//! A subject is warned once their deletion date (last activity + `idle_for`) is within
//! `warn_before`. The notice names `warned_at + warn_before`, which is never earlier than
//! that deletion date: the warning is only ever due once the date is within `warn_before`
//! of the time it is sent. At deletion time everything is checked again; activity after the
//! warning voids it, and the subject is warned afresh when next due.

use gallra_plugin_api::SubjectFacts;
use jiff::{Timestamp, Zoned};

use super::{inactivity, plausible, Reason};
use crate::duration::CalendarDuration;

/// What an inactivity policy with `warn_before` does with one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarnDecision {
    /// Why the subject is selected or kept. Only [`Reason::Inactive`] selects; a subject
    /// with [`Reason::WarningDue`] is to be sent a warning.
    pub reason: Reason,
    /// Whether the subject's standing warning no longer holds (they were active after it,
    /// or their deletion date is no longer within `warn_before`) and is to be cleared.
    pub clear: bool,
}

/// Whether the subject would be inactive `warn_before` from now, all else as it is: their
/// deletion date is within the warning period, or has passed.
pub fn near_deadline(
    now: &Zoned,
    idle_for: &CalendarDuration,
    warn_before: &CalendarDuration,
    facts: &SubjectFacts,
) -> bool {
    inactivity(&warn_before.after(now), idle_for, facts) == Reason::Inactive
}

/// The instant from which a subject warned at `warned_at` may be deleted: the date the
/// notice gives.
pub fn delete_on(warned_at: &Zoned, warn_before: &CalendarDuration) -> Zoned {
    warn_before.after(warned_at)
}

/// Decides one subject under an inactivity policy that warns first.
///
/// `warned_at` is the subject's standing warning, if they were sent one; `has_address`
/// whether a warning can reach them. A subject inactive for `idle_for` is selected only if
/// it was warned at least `warn_before` ago and has not been active since; otherwise it is
/// kept, and warned if it has not been.
pub fn inactivity_with_warning(
    now: &Zoned,
    idle_for: &CalendarDuration,
    warn_before: &CalendarDuration,
    facts: &SubjectFacts,
    warned_at: Option<Timestamp>,
    has_address: bool,
) -> WarnDecision {
    // "Unless you log in": activity after the warning voids it. A broken (future) activity
    // time is no proof of a login, so it voids nothing.
    let voided = warned_at.is_some_and(|at| {
        facts
            .last_activity
            .is_some_and(|last| plausible(last, now) && last > at)
    });
    let standing = warned_at.filter(|_| !voided);
    let due_or_pending = || match standing {
        Some(_) => Reason::WarningPending,
        None if has_address => Reason::WarningDue,
        None => Reason::NoWarningAddress,
    };
    let reason = match inactivity(now, idle_for, facts) {
        Reason::Inactive => match standing {
            Some(at) if at <= warn_before.cutoff(now) => Reason::Inactive,
            _ => due_or_pending(),
        },
        Reason::RecentlyActive if near_deadline(now, idle_for, warn_before, facts) => {
            due_or_pending()
        }
        other => other,
    };
    WarnDecision {
        reason,
        clear: warned_at.is_some() && (voided || reason == Reason::RecentlyActive),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zoned(s: &str) -> Zoned {
        format!("{s}[Europe/Stockholm]").parse().unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        zoned(s).timestamp()
    }

    fn seen(last: Option<&str>, services: u64) -> SubjectFacts {
        SubjectFacts {
            last_activity: last.map(ts),
            relationship_ended: None,
            active_services: Some(services),
            unpaid_invoices: Some(0),
        }
    }

    fn decided(reason: Reason, clear: bool) -> WarnDecision {
        WarnDecision { reason, clear }
    }

    #[test]
    fn warning_decisions() {
        // Deleted when last active before 2026-05-23 12:00; warned when last active before
        // 2026-06-23 12:00 (deletion within 30 days).
        let (six, thirty) = ("6 months".parse().unwrap(), "30 days".parse().unwrap());
        let now = zoned("2026-11-23T12:00");
        let cases = [
            (
                seen(Some("2026-07-01T00:00"), 0),
                None,
                true,
                decided(Reason::RecentlyActive, false),
                "deletion more than 30 days away",
            ),
            (
                seen(Some("2026-06-23T12:00"), 0),
                None,
                true,
                decided(Reason::RecentlyActive, false),
                "deletion exactly 30 days away",
            ),
            (
                seen(Some("2026-06-23T11:59"), 0),
                None,
                true,
                decided(Reason::WarningDue, false),
                "deletion within 30 days: warned",
            ),
            (
                seen(Some("2026-06-22T00:00"), 0),
                None,
                false,
                decided(Reason::NoWarningAddress, false),
                "nowhere to send the warning",
            ),
            (
                seen(Some("2026-06-22T00:00"), 0),
                Some("2026-11-01T03:00"),
                true,
                decided(Reason::WarningPending, false),
                "warned, not yet inactive",
            ),
            (
                seen(Some("2026-01-01T00:00"), 0),
                None,
                true,
                decided(Reason::WarningDue, false),
                "inactive but never warned: warned, not deleted",
            ),
            (
                seen(Some("2026-01-01T00:00"), 0),
                None,
                false,
                decided(Reason::NoWarningAddress, false),
                "inactive, never warned, no address: kept",
            ),
            (
                seen(Some("2026-01-01T00:00"), 0),
                Some("2026-11-01T03:00"),
                true,
                decided(Reason::WarningPending, false),
                "warned 22 days ago",
            ),
            (
                seen(Some("2026-01-01T00:00"), 0),
                Some("2026-10-24T12:01"),
                true,
                decided(Reason::WarningPending, false),
                "warned a minute less than 30 days ago",
            ),
            (
                seen(Some("2026-01-01T00:00"), 0),
                Some("2026-10-24T12:00"),
                true,
                decided(Reason::Inactive, false),
                "warned exactly 30 days ago",
            ),
            (
                seen(Some("2026-01-01T00:00"), 0),
                Some("2026-10-24T12:00"),
                false,
                decided(Reason::Inactive, false),
                "warned long enough ago; the address no longer matters",
            ),
            (
                seen(Some("2026-11-20T09:00"), 0),
                Some("2026-11-01T03:00"),
                true,
                decided(Reason::RecentlyActive, true),
                "logged in after the warning: kept, warning cleared",
            ),
            (
                seen(Some("2026-06-22T00:00"), 0),
                Some("2026-06-01T03:00"),
                true,
                decided(Reason::WarningDue, true),
                "active after an old warning, near the deadline again: warned afresh",
            ),
            (
                seen(Some("2026-01-01T00:00"), 1),
                Some("2026-10-01T03:00"),
                true,
                decided(Reason::ActiveServices, false),
                "a service runs: kept, the warning stands",
            ),
            (
                seen(None, 0),
                Some("2026-10-01T03:00"),
                true,
                decided(Reason::ActivityUnknown, false),
                "activity unknown: kept",
            ),
            (
                seen(Some("2027-01-01T00:00"), 0),
                Some("2026-10-01T03:00"),
                true,
                decided(Reason::ActivityImplausible, false),
                "a future activity time voids nothing",
            ),
        ];
        for (facts, warned_at, has_address, want, why) in cases {
            let got = inactivity_with_warning(
                &now,
                &six,
                &thirty,
                &facts,
                warned_at.map(ts),
                has_address,
            );
            assert_eq!(got, want, "{why}");
        }
    }

    #[test]
    fn a_warning_no_longer_near_its_deadline_is_cleared() {
        // idle_for went from 6 months to 1 year after the warning was sent.
        let (year, thirty) = ("1 year".parse().unwrap(), "30 days".parse().unwrap());
        let got = inactivity_with_warning(
            &zoned("2026-11-23T12:00"),
            &year,
            &thirty,
            &seen(Some("2026-05-01T00:00"), 0),
            Some(ts("2026-11-01T03:00")),
            true,
        );
        assert_eq!(got, decided(Reason::RecentlyActive, true));
    }

    #[test]
    fn the_notice_gives_warned_at_plus_warn_before_on_the_calendar() {
        let thirty = "30 days".parse().unwrap();
        let cases = [
            ("2026-01-30T09:00", "2026-03-01T09:00"),
            // Stockholm moves to summer time on 29 March: 30 calendar days, not 720 hours.
            ("2026-03-15T03:00", "2026-04-14T03:00"),
            ("2026-12-15T03:00", "2027-01-14T03:00"),
        ];
        for (warned, want) in cases {
            assert_eq!(delete_on(&zoned(warned), &thirty), zoned(want), "{warned}");
        }
    }

    #[test]
    fn a_warned_subject_is_inactive_by_the_date_the_notice_gives() {
        // Daily runs at 03:00 over a year of last-activity dates, month ends included: the
        // first run that warns gives a date by which the subject really is inactive, so the
        // notice never promises more time than the policy allows, nor deletes before it.
        let six: CalendarDuration = "6 months".parse().unwrap();
        let thirty: CalendarDuration = "30 days".parse().unwrap();
        let mut last = zoned("2025-01-01T23:30");
        for _ in 0..400 {
            let facts = SubjectFacts {
                last_activity: Some(last.timestamp()),
                ..seen(None, 0)
            };
            let mut run = last
                .date()
                .at(3, 0, 0, 0)
                .to_zoned(last.time_zone().clone())
                .unwrap()
                .checked_add(jiff::Span::new().days(1))
                .unwrap();
            while !near_deadline(&run, &six, &thirty, &facts) {
                run = run.checked_add(jiff::Span::new().days(1)).unwrap();
            }
            let date = delete_on(&run, &thirty);
            assert_eq!(
                inactivity(&date, &six, &facts),
                Reason::Inactive,
                "last active {last}, warned {run}"
            );
            let day_before = date.checked_sub(jiff::Span::new().days(1)).unwrap();
            assert_ne!(
                inactivity_with_warning(
                    &day_before,
                    &six,
                    &thirty,
                    &facts,
                    Some(run.timestamp()),
                    true
                )
                .reason,
                Reason::Inactive,
                "deleted before the date the notice gave: last active {last}"
            );
            last = last.checked_add(jiff::Span::new().days(1)).unwrap();
        }
    }
}
