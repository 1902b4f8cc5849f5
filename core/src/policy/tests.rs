//! Table-driven tests of the decisions, with real calendar dates.

use gallra_plugin_api::SubjectFacts;
use jiff::{Timestamp, Zoned};

use super::*;
use crate::config::Safety;

fn zoned(s: &str) -> Zoned {
    format!("{s}[Europe/Stockholm]").parse().unwrap()
}

fn ts(s: &str) -> Timestamp {
    zoned(s).timestamp()
}

fn facts(last: Option<&str>, services: u64, unpaid: u64) -> SubjectFacts {
    SubjectFacts {
        last_activity: last.map(ts),
        relationship_ended: None,
        active_services: Some(services),
        unpaid_invoices: Some(unpaid),
    }
}

#[test]
fn inactivity_decisions() {
    let six = "6 months".parse().unwrap();
    let now = zoned("2026-11-23T12:00");
    let cases = [
        (
            facts(Some("2026-05-23T11:59"), 0, 0),
            Reason::Inactive,
            "6 months and a minute",
        ),
        (
            facts(Some("2026-05-23T12:00"), 0, 0),
            Reason::RecentlyActive,
            "exactly 6 months",
        ),
        (
            facts(Some("2026-05-24T12:00"), 0, 0),
            Reason::RecentlyActive,
            "5 months 29 days",
        ),
        (
            facts(Some("2020-01-01T00:00"), 1, 0),
            Reason::ActiveServices,
            "old but a service runs",
        ),
        (
            facts(Some("2020-01-01T00:00"), 0, 2),
            Reason::UnpaidInvoices,
            "old but owes money",
        ),
        (
            facts(None, 0, 0),
            Reason::ActivityUnknown,
            "no activity time at all",
        ),
        (
            facts(Some("1970-01-01T01:00"), 0, 0),
            Reason::ActivityImplausible,
            "epoch zero",
        ),
        (
            facts(Some("9999-01-01T00:00"), 0, 0),
            Reason::ActivityImplausible,
            "year 9999",
        ),
    ];
    for (f, want, why) in cases {
        assert_eq!(inactivity(&now, &six, &f), want, "{why}");
    }
}

#[test]
fn last_seen_31_august_is_purged_from_1_march_never_earlier() {
    // "6 months" is counted back from now: inactive when the last activity is before
    // now - 6 months. On 28 February that is 28 August, so a 31 August login still counts;
    // from 1 March (now - 6 months = 1 September) it does not. This never purges before a
    // full period has passed, whichever way a month-end is read.
    let six = "6 months".parse().unwrap();
    let seen = facts(Some("2025-08-31T10:00"), 0, 0);
    assert_eq!(
        inactivity(&zoned("2026-02-28T23:59"), &six, &seen),
        Reason::RecentlyActive
    );
    assert_eq!(
        inactivity(&zoned("2026-03-01T00:00"), &six, &seen),
        Reason::Inactive
    );
}

#[test]
fn a_leap_day_login_is_a_year_old_on_1_march() {
    let year = "1 year".parse().unwrap();
    let seen = facts(Some("2024-02-29T08:00"), 0, 0);
    assert_eq!(
        inactivity(&zoned("2025-02-28T23:59"), &year, &seen),
        Reason::RecentlyActive
    );
    assert_eq!(
        inactivity(&zoned("2025-03-01T00:00"), &year, &seen),
        Reason::Inactive
    );
}

#[test]
fn the_spring_daylight_saving_change_does_not_shift_the_deadline() {
    // Stockholm skips 02:00-03:00 on 2026-03-29. A login at 12:00 on 29 Sept 2025 is six
    // months old at 12:00 local time on 29 March 2026, not an hour earlier or later.
    let six = "6 months".parse().unwrap();
    let seen = facts(Some("2025-09-29T12:00"), 0, 0);
    assert_eq!(
        inactivity(&zoned("2026-03-29T11:59"), &six, &seen),
        Reason::RecentlyActive
    );
    assert_eq!(
        inactivity(&zoned("2026-03-29T12:01"), &six, &seen),
        Reason::Inactive
    );
}

#[test]
fn retention_decisions() {
    let two = "2 months".parse().unwrap();
    let now = zoned("2026-11-23T12:00");
    let ended = |when: Option<&str>, services: u64| SubjectFacts {
        relationship_ended: when.map(ts),
        active_services: Some(services),
        ..SubjectFacts::default()
    };
    let cases = [
        (
            ended(Some("2026-09-22T12:00"), 0),
            Reason::RelationshipEnded,
        ),
        (
            ended(Some("2026-09-24T12:00"), 0),
            Reason::RelationshipEndedRecently,
        ),
        (ended(None, 0), Reason::RelationshipOngoing),
        (ended(Some("2026-01-01T12:00"), 1), Reason::ActiveServices),
        (
            ended(Some("1970-01-01T12:00"), 0),
            Reason::ActivityImplausible,
        ),
    ];
    for (f, want) in cases {
        assert_eq!(retention(&now, &two, &f), want);
    }
}

#[test]
fn merged_facts_take_the_latest_activity_and_add_up_services() {
    let panel = facts(Some("2025-01-01T00:00"), 0, 0);
    let billing = SubjectFacts {
        last_activity: Some(ts("2026-10-01T00:00")),
        unpaid_invoices: Some(1),
        ..SubjectFacts::default()
    };
    let unknown = SubjectFacts::default();
    let merged = merge_facts(&merge_facts(&panel, &billing), &unknown);
    assert_eq!(merged.last_activity, Some(ts("2026-10-01T00:00")));
    assert_eq!(merged.unpaid_invoices, Some(1));
    assert_eq!(merged.active_services, Some(0));
    assert_eq!(merge_facts(&unknown, &unknown), unknown);
}

#[test]
fn safety_valves_trip_on_count_and_fraction() {
    let safety = Safety {
        max_per_run: Some(100),
        max_fraction: Some(0.1),
        max_vs_median: None,
        max_shrink: None,
    };
    let check_safety = |selected, total, safety: &Safety| {
        check_safety(selected, total, safety, &History::default())
    };
    assert_eq!(check_safety(50, 1000, &safety), None);
    assert!(matches!(
        check_safety(101, 100_000, &safety),
        Some(SafetyTrip::TooMany { .. })
    ));
    assert!(matches!(
        check_safety(11, 100, &safety),
        Some(SafetyTrip::TooLargeFraction { .. })
    ));
    // Everyone inactive (a broken activity column) trips the fraction valve.
    assert!(check_safety(
        40,
        40,
        &Safety {
            max_per_run: None,
            max_fraction: Some(0.5),
            ..safety
        }
    )
    .is_some());
    assert_eq!(check_safety(0, 0, &safety), None);
}

#[test]
fn reason_codes_round_trip() {
    for reason in Reason::ALL {
        assert_eq!(Reason::from_code(reason.code()), Some(reason));
    }
}

#[test]
fn an_implausible_activity_time_from_any_system_keeps_the_subject() {
    let now = zoned("2026-11-01T12:00");
    let idle = "6 months".parse().unwrap();
    let source = facts(Some("2025-01-01T00:00"), 0, 0);
    let zeroed = facts(Some("1970-01-01T01:00"), 0, 0);
    for merged in [merge_facts(&source, &zeroed), merge_facts(&zeroed, &source)] {
        assert_eq!(
            inactivity(&now, &idle, &merged),
            Reason::ActivityImplausible,
            "a 1970 default elsewhere must not leave the source's old date as the last word"
        );
    }
}

#[test]
fn a_clock_that_went_back_or_jumped_past_the_gap_stops_the_run() {
    let gap: crate::duration::CalendarDuration = "14 days".parse().unwrap();
    let last = History {
        last_clock: Some(ts("2026-11-01T03:00")),
        ..History::default()
    };
    let cases = [
        ("2026-11-02T03:00", None, "the next day"),
        ("2026-11-15T03:00", None, "exactly the gap"),
        ("2026-11-01T02:30", None, "moments behind (a restart)"),
        ("2026-11-15T03:01", Some("max_clock_gap"), "past the gap"),
        (
            "2031-11-01T03:00",
            Some("max_clock_gap"),
            "five years ahead",
        ),
        (
            "2026-10-31T03:00",
            Some("before the policy's last run"),
            "a day behind",
        ),
    ];
    for (now, trips, case) in cases {
        let got = check_clock(&zoned(now), &last, &gap).map(|t| t.describe("remove"));
        match trips {
            None => assert_eq!(got, None, "{case}"),
            Some(words) => assert!(
                got.as_deref().is_some_and(|g| g.contains(words)),
                "{case}: {got:?}"
            ),
        }
    }
    assert_eq!(
        check_clock(&zoned("2031-01-01T00:00"), &History::default(), &gap),
        None,
        "no past, no yardstick"
    );
}

#[test]
fn a_first_run_without_its_own_fraction_stops_above_half() {
    let none = Safety::default();
    let first = removal_valves(&none, &History::default());
    assert_eq!(first.max_fraction, Some(FIRST_RUN_MAX_FRACTION));
    assert!(check_safety(51, 100, &first, &History::default()).is_some());
    assert!(check_safety(50, 100, &first, &History::default()).is_none());
    let later = History {
        selected: vec![3],
        ..History::default()
    };
    assert_eq!(
        removal_valves(&none, &later).max_fraction,
        None,
        "later runs: as configured"
    );
    let own = Safety {
        max_fraction: Some(0.9),
        ..Safety::default()
    };
    assert_eq!(
        removal_valves(&own, &History::default()).max_fraction,
        Some(0.9)
    );
}

#[test]
fn a_request_waits_for_active_services_first_then_for_an_unpaid_invoice() {
    let cases = [
        (1, 1, Some("the customer still has active services")),
        (0, 2, Some("the final invoice is not paid")),
        (0, 0, None),
    ];
    for (services, unpaid, expected) in cases {
        let facts = facts(None, services, unpaid);
        assert_eq!(request_blocker(&facts), expected, "{services} {unpaid}");
    }
    let unknown = SubjectFacts::default();
    assert_eq!(
        request_blocker(&unknown),
        None,
        "no count reported: nothing to wait for"
    );
}
