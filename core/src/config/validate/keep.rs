//! A retention period with what it is counted from (`keep`/`after`, `from`,
//! `financial_year_end`, `round_up_to`), shared by legal holds and record retention.

use super::Problems;
use crate::config::keep::{CountFrom, FinancialYearEnd, Keep, RoundUp};
use crate::config::locate::join;
use crate::duration::CalendarDuration;

/// The keys of one retention period as written, in the table at `base`.
pub(super) struct KeepKeys<'a> {
    /// The duration's key (`keep` or `after`) and its text, if present.
    pub duration: (&'a str, Option<&'a str>),
    /// `from`.
    pub from: Option<&'a str>,
    /// `financial_year_end`.
    pub financial_year_end: Option<&'a str>,
    /// `round_up_to`.
    pub round_up_to: Option<&'a str>,
    /// What `from` is called when it is the event itself (`last_activity`, `record`).
    pub event: &'static str,
}

/// Validates the keys; `None` after reporting what is wrong (or when the duration is
/// absent, which the caller reports).
pub(super) fn keep(base: &str, keys: &KeepKeys, p: &mut Problems) -> Option<Keep> {
    let before = p.count();
    let (duration_key, duration_text) = keys.duration;
    let duration = duration_text
        .and_then(|text| p.ok(&join(base, duration_key), text.parse::<CalendarDuration>()));
    let fye = match keys.financial_year_end {
        None => Some(FinancialYearEnd::CALENDAR_YEAR),
        Some(text) => p.ok(
            &join(base, "financial_year_end"),
            FinancialYearEnd::parse(text),
        ),
    };
    let from = match keys.from.map(str::trim) {
        None => Some(CountFrom::Event),
        Some(name) if name == keys.event => Some(CountFrom::Event),
        Some("end_of_financial_year") => fye.map(CountFrom::EndOfFinancialYear),
        Some(other) => {
            p.at(
                join(base, "from"),
                format!(
                    "unknown value \"{other}\" (write \"{}\" (the default) or \"end_of_financial_year\")",
                    keys.event
                ),
            );
            None
        }
    };
    if keys.financial_year_end.is_some() && from == Some(CountFrom::Event) {
        p.at(
            join(base, "financial_year_end"),
            "only counts with from = \"end_of_financial_year\"; add that, or remove this key",
        );
    }
    let round_up_to = match keys.round_up_to.map(str::trim) {
        None => Some(RoundUp::No),
        Some("year") => Some(RoundUp::Year),
        Some(other) => {
            p.at(
                join(base, "round_up_to"),
                format!(
                    "unknown value \"{other}\" (write \"year\": keep to the end of the calendar year)"
                ),
            );
            None
        }
    };
    if p.count() > before {
        return None;
    }
    Some(Keep {
        duration: duration?,
        from: from?,
        round_up_to: round_up_to?,
    })
}
