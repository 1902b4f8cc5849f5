use std::path::Path;

use jiff::Zoned;

use super::*;
use crate::config::{self, Config};

fn config(schedule: Option<&str>) -> Config {
    let schedule = schedule
        .map(|s| format!("schedule = \"{s}\"\n"))
        .unwrap_or_default();
    let text = format!(
        "state_dir = \"s\"\naccount_source = \"crm\"\n[systems.crm]\nplugin = \"sql\"\n\
         [policies.inactive]\nkind = \"inactivity\"\nidle_for = \"6 months\"\n{schedule}"
    );
    config::parse(&text, Path::new("/g.toml")).unwrap()
}

fn zoned(s: &str) -> Zoned {
    format!("{s}[Europe/Stockholm]").parse().unwrap()
}

/// The policy's last run a month before `now`: further than any default gap of a daily
/// schedule allows.
fn a_month_ago() -> History {
    History {
        last_clock: Some(zoned("2026-11-01T03:00").timestamp()),
        ..History::default()
    }
}

#[test]
fn a_clock_that_jumped_stops_a_run_that_would_remove_or_warn_someone_only() {
    let config = config(Some("0 0 3 * * *"));
    let policy = &config.policies["inactive"];
    let now = zoned("2026-12-01T03:00");
    let counts = |selected, to_warn| ScanTotals {
        scanned: 1000,
        selected,
        to_warn,
    };
    let stops = |totals: ScanTotals| stopping_valve(policy, &now, &totals, &a_month_ago());
    let removing = stops(counts(3, 0)).expect("a run that removes is stopped");
    assert!(removing.contains("max_clock_gap"), "{removing}");
    assert!(stops(counts(0, 2)).is_some(), "a run that warns is stopped");
    assert_eq!(
        stops(counts(0, 0)),
        None,
        "a run that acts on no one goes on"
    );
}

#[test]
fn the_default_clock_gap_is_three_schedule_intervals_and_at_least_two_weeks() {
    let now = zoned("2026-12-01T03:00");
    let gap = |schedule| default_clock_gap(&config(schedule).policies["inactive"], &now);
    assert_eq!(
        gap(Some("0 0 3 * * *")).as_str(),
        "336 hours",
        "daily: the floor"
    );
    assert_eq!(
        gap(Some("0 0 3 * * MON")).as_str(),
        "504 hours",
        "weekly: 3 weeks"
    );
    assert_eq!(gap(None).as_str(), "2208 hours", "by hand only: 92 days");
}
