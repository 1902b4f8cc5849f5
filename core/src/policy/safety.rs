//! Safety valves: a run that would remove too much, or whose account source suddenly looks
//! much smaller than before, stops before removing anything and waits for `gallra approve`.

use jiff::{Timestamp, Zoned};

use crate::config::Safety;
use crate::duration::CalendarDuration;

/// A policy's first enforcing run (no carried-out run before it) without a `max_fraction`
/// of its own stops for approval above this fraction of the subjects: a first run that
/// would remove most of them is more likely a broken clock or column than a real purge.
pub const FIRST_RUN_MAX_FRACTION: f64 = 0.5;

/// How many of a policy's last runs the median valve looks at.
pub const MEDIAN_OF_RUNS: usize = 5;

/// The median valve needs at least this many earlier runs; before that only the absolute
/// valves (`max_per_run`, `max_fraction`) apply.
pub const MEDIAN_MIN_RUNS: usize = 3;

/// A run selecting this many subjects or fewer never trips the median valve: after months of
/// quiet runs (median 0), a handful of subjects is not a sign of a broken system.
pub const MEDIAN_FLOOR: u64 = 10;

/// What a policy's earlier runs saw, for the valves that compare a run with the past.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Subjects selected by each of the policy's last carried-out runs, newest first.
    pub selected: Vec<u64>,
    /// Subjects the policy's last trusted scan left in the account source (what it saw, less
    /// what it removed), if there was one.
    pub scanned: Option<u64>,
    /// The instant the policy's last trusted run decided at, if there was one.
    pub last_clock: Option<Timestamp>,
}

impl History {
    /// The median of the last [`MEDIAN_OF_RUNS`] runs' selections, once there are at least
    /// [`MEDIAN_MIN_RUNS`] of them.
    pub fn median_selected(&self) -> Option<(u64, usize)> {
        let mut last: Vec<u64> = self.selected.iter().take(MEDIAN_OF_RUNS).copied().collect();
        if last.len() < MEDIAN_MIN_RUNS {
            return None;
        }
        last.sort_unstable();
        let mid = last.len() / 2;
        let median = match last.len() % 2 {
            1 => last[mid],
            _ => (last[mid - 1] + last[mid]).div_ceil(2),
        };
        Some((median, last.len()))
    }
}

/// Why a run stopped for approval.
#[derive(Debug, Clone, PartialEq)]
pub enum SafetyTrip {
    /// More than `max_per_run`.
    TooMany {
        /// How many the run selected.
        selected: u64,
        /// The configured limit.
        max_per_run: u64,
    },
    /// More than `max_fraction` of everything scanned.
    TooLargeFraction {
        /// How many the run selected.
        selected: u64,
        /// How many were scanned.
        total: u64,
        /// The configured limit.
        max_fraction: f64,
    },
    /// More than `max_vs_median` times the median of the policy's last runs.
    AboveMedian {
        /// How many the run selected.
        selected: u64,
        /// The median of the last runs.
        median: u64,
        /// How many runs the median is of.
        runs: usize,
        /// The configured factor.
        max_vs_median: f64,
    },
    /// The run's clock is earlier than the policy's last run's.
    ClockBehind {
        /// This run's instant.
        now: Timestamp,
        /// The last run's instant.
        last: Timestamp,
    },
    /// The run's clock is further after the policy's last run than `max_clock_gap`.
    ClockJumped {
        /// This run's instant.
        now: Timestamp,
        /// The last run's instant.
        last: Timestamp,
        /// The limit, as written or derived.
        max_gap: String,
    },
    /// The account source reports far fewer subjects than the last trusted scan.
    Shrunk {
        /// How many this scan saw.
        scanned: u64,
        /// How many the last trusted scan saw.
        before: u64,
        /// The configured limit: the fraction that may disappear between two runs.
        max_shrink: f64,
    },
}

impl SafetyTrip {
    /// The trip in words, for what the run would do to the subjects (`"remove"`, `"warn"`).
    pub fn describe(&self, verb: &str) -> String {
        match self {
            SafetyTrip::TooMany { selected, max_per_run } => {
                format!("would {verb} {selected}, more than max_per_run = {max_per_run}")
            }
            SafetyTrip::TooLargeFraction {
                selected,
                total,
                max_fraction,
            } => format!(
                "would {verb} {selected} of {total} ({:.1}%), more than max_fraction = {max_fraction}",
                percent(*selected, *total)
            ),
            SafetyTrip::AboveMedian {
                selected,
                median,
                runs,
                max_vs_median,
            } => format!(
                "would {verb} {selected}, more than max_vs_median = {max_vs_median} times the \
                 median ({median}) of the last {runs} runs"
            ),
            SafetyTrip::ClockBehind { now, last } => format!(
                "the clock reads {now}, before the policy's last run at {last}; is the system \
                 clock wrong?"
            ),
            SafetyTrip::ClockJumped { now, last, max_gap } => format!(
                "the clock reads {now}, more than max_clock_gap = \"{max_gap}\" after the policy's \
                 last run at {last}; is the system clock wrong? (a jump ahead makes everyone \
                 look inactive)"
            ),
            SafetyTrip::Shrunk {
                scanned,
                before,
                max_shrink,
            } => format!(
                "the account source reports {scanned} subjects where {before} were left after \
                 the last run ({:.1}% fewer, more than max_shrink = {max_shrink}), so it looks \
                 broken",
                100.0 - percent(*scanned, *before)
            ),
        }
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    part as f64 * 100.0 / whole.max(1) as f64
}

impl std::fmt::Display for SafetyTrip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe("remove"))
    }
}

/// Checks a run's selection against the policy's valves: the absolute ones, then the median
/// of `history` (pass an empty history where the past does not apply, e.g. for warnings).
pub fn check_safety(
    selected: u64,
    total: u64,
    safety: &Safety,
    history: &History,
) -> Option<SafetyTrip> {
    if let Some(max_per_run) = safety.max_per_run {
        if selected > max_per_run {
            return Some(SafetyTrip::TooMany {
                selected,
                max_per_run,
            });
        }
    }
    if let Some(max_fraction) = safety.max_fraction {
        if selected > 0 && selected as f64 > max_fraction * total as f64 {
            return Some(SafetyTrip::TooLargeFraction {
                selected,
                total,
                max_fraction,
            });
        }
    }
    check_median(selected, safety, history)
}

fn check_median(selected: u64, safety: &Safety, history: &History) -> Option<SafetyTrip> {
    let max_vs_median = safety.max_vs_median?;
    let (median, runs) = history.median_selected()?;
    let limit = (median as f64 * max_vs_median).max(MEDIAN_FLOOR as f64);
    (selected as f64 > limit).then_some(SafetyTrip::AboveMedian {
        selected,
        median,
        runs,
        max_vs_median,
    })
}

/// Checks a scan's size against what the last trusted scan left: a source that lost more than
/// `max_shrink` of its subjects since then (and more than [`MEDIAN_FLOOR`] of them: a handful
/// gone from a tiny source is no sign of breakage) is taken as broken, not as emptied.
pub fn check_shrink(scanned: u64, safety: &Safety, history: &History) -> Option<SafetyTrip> {
    let max_shrink = safety.max_shrink?;
    let before = history.scanned?;
    let floor = before as f64 * (1.0 - max_shrink);
    let lost = before.saturating_sub(scanned);
    (lost > MEDIAN_FLOOR && (scanned as f64) < floor).then_some(SafetyTrip::Shrunk {
        scanned,
        before,
        max_shrink,
    })
}

/// Checks a run's clock against the policy's last run: one that went backwards, or jumped
/// further ahead than `max_gap`, cannot be trusted to say who is inactive.
pub fn check_clock(
    now: &Zoned,
    history: &History,
    max_gap: &CalendarDuration,
) -> Option<SafetyTrip> {
    let last = history.last_clock?;
    let now_ts = now.timestamp();
    // Two runs started within moments of each other (a clock set by hand, a restart) may
    // differ by a little either way; only a clock an hour behind is taken as wrong.
    if now_ts < last - jiff::SignedDuration::from_hours(1) {
        return Some(SafetyTrip::ClockBehind { now: now_ts, last });
    }
    let limit = max_gap.after(&last.to_zoned(now.time_zone().clone()));
    (now_ts > limit.timestamp()).then(|| SafetyTrip::ClockJumped {
        now: now_ts,
        last,
        max_gap: max_gap.as_str().to_owned(),
    })
}

/// The valves for what a run would remove: a policy's first enforcing run without its own
/// `max_fraction` gets [`FIRST_RUN_MAX_FRACTION`].
pub fn removal_valves(safety: &Safety, history: &History) -> Safety {
    let first = history.selected.is_empty();
    Safety {
        max_fraction: safety
            .max_fraction
            .or(first.then_some(FIRST_RUN_MAX_FRACTION)),
        ..*safety
    }
}
