//! The scheduler's promises, with a controlled clock: the four problems reported against
//! tokio-cron-scheduler, written as tests of ours.

use jiff::Zoned;

use super::*;

fn at(s: &str) -> Zoned {
    format!("{s}[Europe/Stockholm]").parse().unwrap()
}

fn daily_03() -> Schedule {
    Schedule::parse("0 0 3 * * *").unwrap()
}

/// Drives the pure loop over a sequence of wake-ups, as the daemon would, and returns the
/// slots it ran. `run_takes` is how long each run lasts (the clock advances by it).
fn simulate(schedule: &Schedule, started: &Zoned, wakes: &[Zoned]) -> Vec<Zoned> {
    let mut last = started.timestamp();
    let mut ran = Vec::new();
    for now in wakes {
        if let Some(slot) = due_slot(schedule, last, now) {
            last = slot.timestamp();
            ran.push(slot);
        }
    }
    ran
}

// tokio-cron-scheduler #107: jobs an hour off after a DST change.
#[test]
fn a_daily_slot_stays_at_its_wall_clock_time_across_both_dst_changes() {
    let s = daily_03();
    // Spring forward: 2026-03-29 02:00 → 03:00 in Stockholm.
    assert_eq!(
        s.next_after(&at("2026-03-28T12:00")).unwrap(),
        at("2026-03-29T03:00")
    );
    assert_eq!(
        s.next_after(&at("2026-03-29T12:00")).unwrap(),
        at("2026-03-30T03:00")
    );
    // Fall back: 2026-10-25 03:00 → 02:00.
    assert_eq!(
        s.next_after(&at("2026-10-24T12:00")).unwrap(),
        at("2026-10-25T03:00")
    );
    assert_eq!(
        s.next_after(&at("2026-10-25T12:00")).unwrap(),
        at("2026-10-26T03:00")
    );
}

#[test]
fn a_slot_in_the_repeated_hour_runs_once_and_one_in_the_skipped_hour_is_not_lost() {
    let half_past_two = Schedule::parse("0 30 2 * * *").unwrap();
    // 2026-10-25 02:30 happens twice in Stockholm; the loop runs it once.
    let wakes: Vec<Zoned> = (0..8)
        .map(|i| {
            at("2026-10-25T01:45")
                .checked_add(jiff::Span::new().minutes(i * 15))
                .unwrap()
        })
        .collect();
    let ran = simulate(&half_past_two, &at("2026-10-25T01:00"), &wakes);
    assert_eq!(ran.len(), 1, "ran {ran:?}");
    // 2026-03-29 02:30 does not exist in Stockholm: the day still gets its run, not nothing
    // until the next day.
    let next = half_past_two.next_after(&at("2026-03-29T01:00")).unwrap();
    assert_eq!(
        next.date(),
        jiff::civil::date(2026, 3, 29),
        "next was {next}"
    );
}

// tokio-cron-scheduler #113: repeated jobs that stop firing under load. Here nothing holds a
// timer that can be lost: each wake-up decides from the last recorded slot, so even wake-ups
// that come late and irregularly still run every slot that came due.
#[test]
fn late_and_irregular_wake_ups_still_run_every_slot() {
    let every_minute = Schedule::parse("0 * * * * *").unwrap();
    let start = at("2026-11-23T10:00:30");
    let wakes: Vec<Zoned> = [40, 95, 150, 170, 260, 299]
        .iter()
        .map(|s| start.checked_add(jiff::Span::new().seconds(*s)).unwrap())
        .collect();
    let ran = simulate(&every_minute, &start, &wakes);
    let minutes: Vec<i8> = ran.iter().map(|z| z.minute()).collect();
    assert_eq!(minutes, [1, 2, 3, 4, 5]);
}

// tokio-cron-scheduler #83: no overlap control. A run that overruns several slots is
// followed by a single run for the latest slot, never a pile of them.
#[test]
fn a_run_that_overruns_its_interval_is_followed_by_one_run_not_a_burst() {
    let every_minute = Schedule::parse("0 * * * * *").unwrap();
    let start = at("2026-11-23T10:00:30");
    // Runs at 10:01, which takes until 10:05:10; the next wake-up is then.
    let ran = simulate(
        &every_minute,
        &start,
        &[at("2026-11-23T10:01:00"), at("2026-11-23T10:05:10")],
    );
    assert_eq!(ran, [at("2026-11-23T10:01:00"), at("2026-11-23T10:05:00")]);
}

// No catch-up in tokio-cron-scheduler: a run missed while the daemon was down is caught up
// once at start — not once per missed slot, and not at all for a policy that never ran.
#[test]
fn slots_missed_while_down_are_caught_up_once_at_start() {
    let s = daily_03();
    let last_ran = at("2026-11-20T03:00").timestamp();
    let restarted = at("2026-11-23T10:00");
    assert_eq!(
        due_slot(&s, last_ran, &restarted),
        Some(at("2026-11-23T03:00"))
    );
    assert_eq!(
        due_slot(&s, at("2026-11-23T03:00").timestamp(), &restarted),
        None
    );
    // A new policy (never ran; `last` is the start time) waits for its first slot.
    assert_eq!(due_slot(&s, restarted.timestamp(), &restarted), None);
    assert_eq!(s.next_after(&restarted), Some(at("2026-11-24T03:00")));
}

#[test]
fn a_schedule_without_seconds_or_with_nonsense_is_refused() {
    assert!(Schedule::parse("0 3 * * *").is_err(), "five fields");
    assert!(Schedule::parse("0 0 25 * * *").is_err(), "hour 25");
    assert!(Schedule::parse("every day").is_err());
    assert!(Schedule::parse("0 0 3 * * MON-FRI").is_ok());
}
