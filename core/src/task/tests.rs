use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::policy::retry::{MAX_ATTEMPTS, MAX_BACKOFF};

const NOW: Timestamp = Timestamp::constant(1_800_000_000, 0);
const BASE: Duration = Duration::from_secs(30);
const REQUEST: Maker = Maker::Request { notice: false };
const NOTICE: Maker = Maker::Request { notice: true };

fn taken(attempts: u32) -> Taken<'static> {
    Taken {
        task: 1,
        request: 1,
        attempts,
        detail: None,
    }
}

/// A request's task after `next`, with the jitter in the middle (no change to the wait).
fn request(attempts: u32, next: Next) -> Step {
    after(REQUEST, &taken(attempts), next, NOW, BASE, 0.5)
}

fn run(next: Next) -> TaskState {
    after(Maker::Run, &taken(0), next, NOW, BASE, 0.5).state
}

fn waited(step: &Step) -> i64 {
    step.not_before.unwrap().as_second() - NOW.as_second()
}

fn timeout() -> Next {
    Next::Retry("timeout".into())
}

#[test]
fn a_transient_failure_is_retried_later_and_handed_to_a_person_after_the_last_attempt() {
    let retry = request(0, timeout());
    assert_eq!((retry.state, waited(&retry)), (TaskState::Pending, 30));
    assert_eq!(waited(&request(3, timeout())), 240, "doubles per attempt");
    let last = request(MAX_ATTEMPTS - 1, timeout());
    assert_eq!(
        last.state,
        TaskState::NeedsPerson,
        "attempts alone never make a transient error final"
    );
    assert!(
        last.detail.starts_with("not done after 10 attempts: timeout; `gallra task retry 1` tries again, `gallra task done 1` confirms"),
        "{}",
        last.detail
    );
    assert!(last
        .detail
        .contains("`gallra request cancel 1` stops the request"));
    assert!(!last.detail.contains("gave up"), "{}", last.detail);
}

#[test]
fn a_notice_the_relay_keeps_refusing_is_tried_again_at_the_longest_wait_and_says_since_when() {
    let error = "SMTP relay 127.0.0.1:25: connection refused (temporary; will be tried again)";
    let refused = || Next::Retry(error.into());
    let last = after(NOTICE, &taken(MAX_ATTEMPTS - 1), refused(), NOW, BASE, 0.5);
    assert_eq!(last.state, TaskState::Pending, "still tried, never failed");
    assert_eq!(
        waited(&last),
        MAX_BACKOFF.as_secs() as i64,
        "the capped wait"
    );
    let since = format!("not sent in 10 attempts (the 10th failed at {NOW})");
    assert!(last.detail.starts_with(&since), "{}", last.detail);
    assert!(!last.detail.contains("gave up"), "{}", last.detail);

    let later = Taken {
        detail: Some(&last.detail),
        ..taken(MAX_ATTEMPTS + 4)
    };
    let now = NOW + SignedDuration::from_hours(30);
    let again = after(NOTICE, &later, refused(), now, BASE, 0.5);
    assert_eq!(again.state, TaskState::Pending);
    assert!(
        again.detail.starts_with(&format!(
            "not sent in 15 attempts (the 10th failed at {NOW})"
        )),
        "the time it got stuck is kept: {}",
        again.detail
    );
}

#[test]
fn a_deletion_in_progress_is_asked_again_and_never_counted_done() {
    let check_at = NOW + SignedDuration::from_secs(600);
    let in_progress = || Next::InProgress {
        detail: "in progress: job running".into(),
        check_at,
        resume: Some(ResumeToken::new("[17,18]").unwrap()),
    };
    let waiting = request(9, in_progress());
    assert_eq!(
        (waiting.state, waiting.not_before),
        (TaskState::Pending, Some(check_at)),
        "not failed even after many checks"
    );
    assert_eq!(
        waiting.resume.as_ref().map(ResumeToken::as_str),
        Some("[17,18]"),
        "kept with the task, to be handed back on the next erase"
    );
    assert_eq!(
        run(in_progress()),
        TaskState::Blocked,
        "the next run asks again"
    );
}

#[test]
fn a_legal_hold_is_retained_until_its_end_and_acted_on_then() {
    let until = NOW + SignedDuration::from_hours(24 * 365 * 7);
    let law = "Bokföringslagen 7 kap. 2 §";
    let kept = Next::Kept {
        detail: "anonymized 1 records; kept: bookkeeping".into(),
        until: Some(until),
        law: Some(law.into()),
        recheck_at: until,
    };
    let held = request(0, kept.clone());
    assert_eq!(held.state, TaskState::Retained);
    assert_eq!(
        (held.retained_until, held.not_before),
        (Some(until), Some(until))
    );
    assert_eq!(held.legal_basis.as_deref(), Some(law));
    let in_run = after(Maker::Run, &taken(0), kept, NOW, BASE, 0.5);
    assert_eq!(in_run.state, TaskState::Retained);
    assert!(
        in_run.detail.contains(law) && in_run.detail.contains(&until.to_string()),
        "a run keeps no dates, so its detail says them: {}",
        in_run.detail
    );
}

#[test]
fn a_refusal_keeps_the_data_a_request_asks_again_and_a_run_leaves_it_to_the_next_run() {
    let recheck_at = NOW + SignedDuration::from_hours(24 * 7);
    let refused = || Next::Refused {
        detail: "refused: contact linked to a domain; asked again later".into(),
        law: None,
        recheck_at,
    };
    let step = request(0, refused());
    assert_eq!(
        (step.state, step.not_before),
        (TaskState::Retained, Some(recheck_at))
    );
    assert_eq!(
        run(refused()),
        TaskState::Blocked,
        "the source keeps the subject"
    );
}

#[test]
fn what_no_retry_mends_fails_and_a_run_fails_what_its_own_attempts_did_not_mend() {
    assert_eq!(
        request(0, Next::Failed("no such table".into())).state,
        TaskState::Failed
    );
    assert_eq!(run(timeout()), TaskState::Failed);
    assert_eq!(run(Next::Done("erased 1 records".into())), TaskState::Done);
    assert_eq!(
        run(Next::NeedsPerson("unmatched".into())),
        TaskState::NeedsPerson
    );
}
