//! gallra's clock, as seen from a plugin: the system clock, moved by `GALLRA_NOW` when the
//! daemon was started with it (tests and rehearsals let years pass that way), so that "has
//! the bookkeeping period ended?" is answered on the same clock as the daemon's decisions.

use jiff::{SignedDuration, Timestamp};

/// The daemon's variable: an RFC 3339 instant or a date (its midnight, UTC).
const ENV: &str = "GALLRA_NOW";

/// A clock moved by a fixed offset from the system clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    offset: SignedDuration,
}

impl Clock {
    /// The clock as `GALLRA_NOW` sets it at this moment; the system clock if it is unset
    /// or unreadable (the daemon refuses to start with an unreadable one).
    pub fn from_env() -> Self {
        let moved = std::env::var(ENV).ok().and_then(|text| parse(&text));
        Self {
            offset: moved.map_or(SignedDuration::ZERO, |at| {
                at.duration_since(Timestamp::now())
            }),
        }
    }

    /// The current instant on this clock.
    pub fn now(&self) -> Timestamp {
        Timestamp::now()
            .checked_add(self.offset)
            .unwrap_or(Timestamp::MAX)
    }
}

fn parse(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(at);
    }
    let date: jiff::civil::Date = text.parse().ok()?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_dates_are_read_like_the_daemon_reads_them() {
        assert_eq!(
            parse("2033-01-01T00:00:00Z"),
            Some("2033-01-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(
            parse("2033-01-01"),
            Some("2033-01-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(parse("soon"), None);
    }
}
