//! What a policy's earlier runs saw, read from the state store, for the safety valves that
//! compare a run with the past.

use crate::policy::History;
use crate::store::{RunRecord, RunState, Store, StoreError};

/// How far back the store is read: enough runs to find five that were carried out among
/// stopped and failed ones.
const LOOK_BACK: usize = 50;

/// The history of `policy`, leaving out the run being decided now.
pub(super) fn history(
    store: &dyn Store,
    policy: &str,
    current: Option<crate::store::RunId>,
) -> Result<History, StoreError> {
    let earlier: Vec<RunRecord> = store
        .recent_runs(Some(policy), LOOK_BACK)?
        .into_iter()
        .filter(|run| Some(run.id) != current)
        .collect();
    Ok(History {
        selected: earlier
            .iter()
            .filter(|run| carried_out(run))
            .map(|run| run.selected)
            .collect(),
        scanned: earlier
            .iter()
            .find(|run| trusted_scan(run))
            .map(left_behind),
        last_clock: earlier
            .iter()
            .filter(|run| scanned_to_the_end(run))
            .map(|run| run.scheduled_for)
            .max(),
    })
}

/// What a run left in the account source: an enforcing run removed what it selected (assumed
/// all of it: the lower yardstick trips less, never more).
fn left_behind(run: &RunRecord) -> u64 {
    match run.mode.as_str() {
        "enforce" => run.scanned.saturating_sub(run.selected),
        _ => run.scanned,
    }
}

/// A run that acted on what it selected (so its count says what a normal run removes).
fn carried_out(run: &RunRecord) -> bool {
    run.mode == "enforce" && scanned_to_the_end(run)
}

/// A run whose scan finished and was not stopped by a valve: a run awaiting approval is not
/// a baseline, or a broken source would pass on its second try.
fn trusted_scan(run: &RunRecord) -> bool {
    scanned_to_the_end(run) && run.scanned > 0
}

fn scanned_to_the_end(run: &RunRecord) -> bool {
    match run.state {
        RunState::Done | RunState::Reported | RunState::Approved | RunState::Enforcing => true,
        // A failed scan records nothing scanned; a run whose tasks failed did scan.
        RunState::Failed => run.scanned > 0,
        RunState::Planning | RunState::AwaitingApproval | RunState::Abandoned => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Safety;
    use crate::policy::{check_safety, check_shrink, SafetyTrip, MEDIAN_FLOOR};

    fn safety() -> Safety {
        Safety {
            max_per_run: None,
            max_fraction: None,
            max_vs_median: Some(Safety::DEFAULT_MAX_VS_MEDIAN),
            max_shrink: Some(Safety::DEFAULT_MAX_SHRINK),
        }
    }

    fn past(selected: &[u64], scanned: Option<u64>) -> History {
        History {
            selected: selected.to_vec(),
            scanned,
            last_clock: None,
        }
    }

    #[test]
    fn a_run_above_three_times_the_median_waits() {
        let history = past(&[20, 25, 18, 400, 22, 19], None);
        // The median of the last five is 22: 66 passes, 67 waits.
        assert_eq!(check_safety(66, 10_000, &safety(), &history), None);
        assert!(matches!(
            check_safety(67, 10_000, &safety(), &history),
            Some(SafetyTrip::AboveMedian {
                median: 22,
                runs: 5,
                ..
            })
        ));
    }

    #[test]
    fn the_median_valve_needs_three_runs_and_ignores_a_handful() {
        assert_eq!(
            check_safety(500, 10_000, &safety(), &past(&[1, 2], None)),
            None
        );
        let quiet = past(&[0, 0, 0, 0], None);
        assert_eq!(check_safety(MEDIAN_FLOOR, 10_000, &safety(), &quiet), None);
        assert!(check_safety(MEDIAN_FLOOR + 1, 10_000, &safety(), &quiet).is_some());
        let off = Safety {
            max_vs_median: None,
            ..safety()
        };
        assert_eq!(check_safety(5000, 10_000, &off, &quiet), None);
    }

    #[test]
    fn a_source_that_lost_more_than_half_its_subjects_looks_broken() {
        let history = past(&[], Some(1000));
        assert_eq!(check_shrink(500, &safety(), &history), None);
        assert!(matches!(
            check_shrink(499, &safety(), &history),
            Some(SafetyTrip::Shrunk { before: 1000, .. })
        ));
        assert_eq!(check_shrink(0, &safety(), &past(&[], None)), None);
        // A tiny source losing a handful is no sign of breakage.
        assert_eq!(
            check_shrink(1, &safety(), &past(&[], Some(MEDIAN_FLOOR))),
            None
        );
        assert!(check_shrink(1, &safety(), &past(&[], Some(MEDIAN_FLOOR + 2))).is_some());
        let off = Safety {
            max_shrink: None,
            ..safety()
        };
        assert_eq!(check_shrink(0, &off, &history), None);
    }
}
