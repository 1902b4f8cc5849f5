//! The one clock every time decision reads: deadlines, inactivity, retention, schedules,
//! reminders and the timestamps in the state store and the audit log.
//!
//! It is the system clock, unless it was moved: `gallra plan --at DATE` asks "what would
//! happen then?", and tests let months pass without sleeping by starting the binary with
//! [`ENV`] set. A moved clock keeps ticking from the time it was set to, so a daemon started
//! with it still sleeps real seconds between its scheduled slots.

use std::sync::atomic::{AtomicI64, Ordering};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

/// The environment variable that moves the clock at start: an RFC 3339 instant
/// (`2027-03-01T03:00:00Z`) or a date (`2027-03-01`, midnight in the configured time zone
/// is not known yet at start, so a bare date means midnight UTC). For tests and rehearsals;
/// gallra logs a warning whenever the clock is moved.
pub const ENV: &str = "GALLRA_NOW";

/// How far the clock is moved from the system clock, in milliseconds.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

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

/// Moves the clock to the instant in [`ENV`], if it is set.
pub fn set_from_env() -> Result<(), String> {
    let Ok(text) = std::env::var(ENV) else {
        return Ok(());
    };
    let at = parse_instant(&text, &TimeZone::UTC).map_err(|e| format!("{ENV}: {e}"))?;
    set(at);
    Ok(())
}

/// Reads an instant written as RFC 3339 (`2027-03-01T03:00:00Z`) or as a date
/// (`2027-03-01`: its start in `tz`).
pub fn parse_instant(text: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let date: Date = text.parse().map_err(|_| {
        format!("\"{text}\" is neither a date (2027-03-01) nor an RFC 3339 instant (2027-03-01T03:00:00Z)")
    })?;
    date.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| format!("\"{text}\" has no start in the time zone: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_its_midnight_in_the_zone_and_an_instant_is_itself() {
        let tz = TimeZone::get("Europe/Stockholm").unwrap();
        let midnight = parse_instant("2027-03-01", &tz).unwrap();
        assert_eq!(midnight.to_string(), "2027-02-28T23:00:00Z");
        let instant = parse_instant("2027-03-01T03:00:00Z", &tz).unwrap();
        assert_eq!(instant.to_string(), "2027-03-01T03:00:00Z");
        let err = parse_instant("1 March", &tz).unwrap_err();
        assert!(err.contains("neither a date"), "{err}");
    }
}
