//! How long a legal hold keeps a subject's records in one system, decided from the last
//! activity that system reports. The request engine asks the system and acts; the decision is
//! here.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::PLAUSIBLE_AFTER;
use crate::config::LegalHold;

/// What a legal hold says about erasing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEnds {
    /// No hold keeps anything now: it is over, or there is nothing dated to keep.
    Over,
    /// The hold keeps the records until this instant.
    At(Timestamp),
    /// The system's last activity is before 2000: a broken value nobody can count a hold from
    /// (a 1970 default would end it decades ago). Asked again later.
    Implausible,
}

/// The end of `hold` for a subject whose last activity in the system is `last`, seen at
/// `now` in `time_zone` (the financial year and the calendar are the configured zone's).
pub fn hold_ends(
    hold: &LegalHold,
    last: Timestamp,
    now: Timestamp,
    time_zone: &TimeZone,
) -> HoldEnds {
    if last < PLAUSIBLE_AFTER {
        return HoldEnds::Implausible;
    }
    let until = hold
        .keep
        .until(&last.to_zoned(time_zone.clone()))
        .timestamp();
    match until <= now {
        true => HoldEnds::Over,
        false => HoldEnds::At(until),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CountFrom, Keep, RoundUp};

    /// A hold of `duration` counted plainly from the last activity.
    fn hold(duration: &str) -> LegalHold {
        LegalHold {
            keep: Keep {
                duration: duration.parse().unwrap(),
                from: CountFrom::Event,
                round_up_to: RoundUp::No,
            },
            law: "Bokföringslagen 7 kap. 2 §".into(),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_hold_counts_from_the_last_activity_on_the_zones_calendar() {
        let zone = TimeZone::get("Europe/Stockholm").unwrap();
        let seven = hold("7 years");
        let last = at("2020-03-01T10:00:00Z");
        assert_eq!(
            hold_ends(&seven, last, at("2026-12-07T00:00:00Z"), &zone),
            HoldEnds::At(at("2027-03-01T10:00:00Z"))
        );
        assert_eq!(
            hold_ends(&seven, last, at("2027-03-01T10:00:00Z"), &zone),
            HoldEnds::Over,
            "over at its end"
        );
    }

    #[test]
    fn an_activity_before_2000_is_never_counted_from() {
        let zone = TimeZone::UTC;
        let epoch = Timestamp::UNIX_EPOCH;
        assert_eq!(
            hold_ends(&hold("7 years"), epoch, at("2026-12-07T00:00:00Z"), &zone),
            HoldEnds::Implausible,
            "a 1970 default would have ended the hold in 1977"
        );
    }
}
