//! The one clock every time decision reads: deadlines, inactivity, retention, schedules,
//! reminders and the timestamps in the state store and the audit log.
//!
//! It is the system clock, unless it was moved: `gallra plan --at DATE` asks "what would
//! happen then?", and tests let months pass without sleeping by starting the binary with
//! [`ENV`] set. A moved clock keeps ticking from the time it was set to, so a daemon started
//! with it still sleeps real seconds between its scheduled slots.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

/// The environment variable that moves the clock at start, in any form [`parse_instant`]
/// reads (read in the configured time zone once the configuration is loaded). For tests and
/// rehearsals; gallra logs a warning whenever the clock is moved.
pub const ENV: &str = "GALLRA_NOW";

/// How far the clock is moved from the system clock, in milliseconds.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// Whether [`ENV`] has been applied (it is, once per process).
static FROM_ENV: AtomicBool = AtomicBool::new(false);

/// The current instant on gallra's clock.
pub fn now() -> Timestamp {
    let offset = SignedDuration::from_millis(OFFSET_MS.load(Ordering::Relaxed));
    Timestamp::now()
        .checked_add(offset)
        .unwrap_or(Timestamp::MAX)
}

/// The current instant on gallra's clock, in `tz`.
pub fn now_in(tz: &TimeZone) -> Zoned {
    now().to_zoned(tz.clone())
}

/// Moves the clock so that it reads `at` now, and ticks on from there.
pub fn set(at: Timestamp) {
    let offset = at.duration_since(Timestamp::now());
    let millis = i64::try_from(offset.as_millis()).unwrap_or(i64::MAX);
    OFFSET_MS.store(millis, Ordering::Relaxed);
    tracing::warn!(now = %at, "the clock is moved: time decisions are made as if it were now {at}");
}

/// Moves the clock to the instant in [`ENV`], if it is set, reading a time without an
/// offset in `tz` (the configured time zone). Only the first call in a process moves it, so
/// that the clock keeps ticking from there.
pub fn set_from_env(tz: &TimeZone) -> Result<(), String> {
    let Ok(text) = std::env::var(ENV) else {
        return Ok(());
    };
    if FROM_ENV.swap(true, Ordering::Relaxed) {
        return Ok(());
    }
    let at = parse_instant(&text, tz).map_err(|e| format!("{ENV}: {e}"))?;
    set(at);
    Ok(())
}

/// Reads an instant, the one way for every place a person gives one (`--at`, `--since`,
/// [`ENV`]):
/// - RFC 3339 with an offset (`2027-03-01T03:00:00Z`, `2027-03-01T04:00:00+01:00`): itself;
/// - with a zone in brackets (`2027-03-01T04:00:00[Europe/Stockholm]`): that time there;
/// - a date and time without an offset (`2027-03-01T04:00:00`, `2027-03-01T04:00`): that
///   time of day in `tz`, refused if the clocks change then so that it names no single
///   instant;
/// - a date (`2027-03-01`): the start of that day in `tz`.
pub fn parse_instant(text: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    if text.contains('[') {
        return text
            .parse::<Zoned>()
            .map(|z| z.timestamp())
            .map_err(|e| format!("\"{text}\" is not a time in a named zone: {e}"));
    }
    let unreadable = || {
        format!("\"{text}\" is neither a date (2027-03-01), a local time (2027-03-01T03:00:00) nor an RFC 3339 instant (2027-03-01T03:00:00Z)")
    };
    if text.len() > "2027-03-01".len() {
        let local: DateTime = text.parse().map_err(|_| unreadable())?;
        return tz
            .to_ambiguous_zoned(local)
            .unambiguous()
            .map(|z| z.timestamp())
            .map_err(|_| {
                format!("\"{text}\" is not one instant in the time zone (the clocks change then): give its offset, e.g. {text}+01:00")
            });
    }
    let date: Date = text.parse().map_err(|_| unreadable())?;
    date.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| format!("\"{text}\" has no start in the time zone: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_instant_reads_as_the_person_meant() {
        let cases = [
            // (text, zone, instant)
            (
                "2027-03-01T03:00:00Z",
                "Europe/Stockholm",
                "2027-03-01T03:00:00Z",
            ),
            ("2027-03-01T04:00:00+01:00", "UTC", "2027-03-01T03:00:00Z"),
            (
                "2026-12-01T12:00:00",
                "Europe/Stockholm",
                "2026-12-01T11:00:00Z",
            ),
            (
                "2026-07-01T12:00:00",
                "Europe/Stockholm",
                "2026-07-01T10:00:00Z",
            ),
            (
                "2026-12-01T12:00",
                "Europe/Stockholm",
                "2026-12-01T11:00:00Z",
            ),
            (
                "2026-12-01 12:00:00",
                "Europe/Stockholm",
                "2026-12-01T11:00:00Z",
            ),
            ("2026-12-01T12:00:00", "UTC", "2026-12-01T12:00:00Z"),
            ("2026-12-01", "Europe/Stockholm", "2026-11-30T23:00:00Z"),
            (" 2026-12-01 ", "UTC", "2026-12-01T00:00:00Z"),
            (
                "2026-12-01T12:00:00[America/New_York]",
                "Europe/Stockholm",
                "2026-12-01T17:00:00Z",
            ),
        ];
        for (text, zone, want) in cases {
            let tz = TimeZone::get(zone).unwrap();
            let got = parse_instant(text, &tz).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(got.to_string(), want, "{text} in {zone}");
        }
    }

    #[test]
    fn what_names_no_single_instant_is_refused_with_what_to_write() {
        let tz = TimeZone::get("Europe/Stockholm").unwrap();
        let cases = [
            ("1 March", "neither a date"),
            ("2026-12-01T25:00:00", "neither a date"),
            (
                "2026-12-01T12:00:00[Nowhere/Land]",
                "not a time in a named zone",
            ),
            // Clocks go forward: 02:30 never happens.
            ("2026-03-29T02:30:00", "give its offset"),
            // Clocks go back: 02:30 happens twice.
            ("2026-10-25T02:30:00", "give its offset"),
        ];
        for (text, want) in cases {
            let err = parse_instant(text, &tz).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
