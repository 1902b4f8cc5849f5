use gallra_plugin_api::{ConnectorError, EraseOutcome, Retention};
use jiff::{SignedDuration, Timestamp};

use super::*;

const NOW: Timestamp = Timestamp::constant(1_800_000_000, 0);
const RECHECK: Timestamp = Timestamp::constant(1_800_604_800, 0);

fn read(answer: Answer) -> Next {
    next(answer, NOW, RECHECK, false)
}

fn retention(until: Option<Timestamp>) -> Retention {
    Retention {
        reason: "the contact holds a domain".into(),
        legal_basis: Some("registry rules".into()),
        until,
    }
}

fn error(error: Option<ConnectorError>, transient: bool) -> Next {
    read(Answer::Error {
        error,
        transient,
        text: "system \"crm\": erase failed".into(),
    })
}

#[test]
fn data_kept_without_an_end_date_is_asked_about_again_and_with_one_at_its_end() {
    let until = Timestamp::constant(1_900_000_000, 0);
    let recheck_of = |outcome| match read(Answer::Confirmed(outcome)) {
        Next::Kept { recheck_at, .. } => recheck_at,
        other => panic!("not kept: {other:?}"),
    };
    assert_eq!(recheck_of(EraseOutcome::Retained(retention(None))), RECHECK);
    let anonymized = EraseOutcome::Anonymized {
        records: 1,
        retained: Some(retention(None)),
        kept: Vec::new(),
    };
    assert_eq!(recheck_of(anonymized), RECHECK);
    assert_eq!(
        recheck_of(EraseOutcome::Retained(retention(Some(until)))),
        until
    );
}

#[test]
fn a_refusal_changes_nothing_and_is_asked_again() {
    let refused = ConnectorError::Refused {
        reason: "contact linked to a domain".into(),
        legal_basis: Some("registry rules".into()),
    };
    let next = error(Some(refused), false);
    assert_eq!(
        next,
        Next::Refused {
            detail: "refused: contact linked to a domain; asked again later".into(),
            law: Some("registry rules".into()),
            recheck_at: RECHECK,
        }
    );
}

#[test]
fn a_deletion_in_progress_is_asked_again_within_a_day_and_is_never_done() {
    let progress = |secs| {
        read(Answer::Confirmed(EraseOutcome::InProgress {
            reason: "job running".into(),
            check_after_secs: secs,
            resume: None,
        }))
    };
    let check_at = |next: Next| match next {
        Next::InProgress { check_at, .. } => check_at,
        other => panic!("not in progress: {other:?}"),
    };
    assert_eq!(
        check_at(progress(600)),
        NOW + SignedDuration::from_secs(600)
    );
    assert_eq!(check_at(progress(0)), NOW + SignedDuration::from_secs(1));
    assert_eq!(check_at(progress(u64::MAX)), NOW + LONGEST_PROGRESS_WAIT);
}

#[test]
fn what_a_read_back_could_not_confirm_is_tried_again_never_done() {
    let next = read(Answer::Unconfirmed(
        "the read-back still finds 1 record".into(),
    ));
    assert_eq!(
        next,
        Next::Retry("the read-back still finds 1 record".into())
    );
}

#[test]
fn a_transient_error_is_tried_again_and_any_other_fails() {
    assert!(matches!(error(None, true), Next::Retry(_)), "a timeout");
    let permanent = ConnectorError::Permanent {
        message: "no such table".into(),
    };
    assert!(matches!(error(Some(permanent), false), Next::Failed(_)));
    let unsupported = ConnectorError::Unsupported {
        operation: "erase".into(),
    };
    assert!(matches!(error(Some(unsupported), false), Next::Failed(_)));
}

#[test]
fn an_erasure_is_done_and_says_so_when_it_ends_a_legal_hold() {
    let erased = || Answer::Confirmed(EraseOutcome::Erased { records: 3 });
    assert_eq!(read(erased()), Next::Done("erased 3 records".into()));
    assert_eq!(
        next(erased(), NOW, RECHECK, true),
        Next::Done("erased 3 records after the legal hold ended".into())
    );
}
