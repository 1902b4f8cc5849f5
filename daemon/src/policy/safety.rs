//! Safety valves: a run that would remove too much stops before removing anything.

use crate::config::Safety;

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
                *selected as f64 * 100.0 / (*total).max(1) as f64
            ),
        }
    }
}

impl std::fmt::Display for SafetyTrip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe("remove"))
    }
}

/// Checks a run's selection against the policy's valves.
pub fn check_safety(selected: u64, total: u64, safety: &Safety) -> Option<SafetyTrip> {
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
    None
}
