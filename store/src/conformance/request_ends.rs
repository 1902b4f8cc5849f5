//! How a request ends and comes back: forgetting its subject, a person's retry, a cancel
//! (final), and a notify task's notice.

use super::requests::{anna, request_with, time, update, FUTURE, NOW, PAST};
use super::Backend;
use crate::{Cancel, RequestId, RequestState, RequestTaskId, StoreError, TaskState, TaskUpdate};

/// A request's identifiers are not forgotten while a task needs them (pending, running, with a
/// person, or under a hold that has not ended), and are empty once forgotten.
pub fn forget_refuses_while_a_task_needs_the_identifiers_and_empties_them_otherwise(
    store: &dyn Backend,
) {
    let (id, tasks) = request_with(
        store,
        NOW,
        &[
            (TaskState::Retained, Some("2032-12-31T00:00:00Z")),
            (TaskState::Retained, None),
            (TaskState::Done, None),
            (TaskState::Failed, None),
        ],
    );
    let err = store.forget_request_identifiers(id).unwrap_err();
    assert!(
        matches!(err, StoreError::RequestTasksOpen { request, open: 1 } if request == id),
        "{err:?}"
    );
    assert!(!err.to_string().to_lowercase().contains("anna"), "{err}");
    assert_eq!(store.request(id).unwrap().unwrap().identifiers, anna());

    for state in [
        TaskState::Pending,
        TaskState::Running,
        TaskState::NeedsPerson,
    ] {
        store
            .update_request_tasks(&[update(tasks[0], state, None)], time(NOW))
            .unwrap();
        let err = store.forget_request_identifiers(id).unwrap_err();
        assert!(
            matches!(err, StoreError::RequestTasksOpen { open: 1, .. }),
            "{state}"
        );
    }

    // The hold ended and the rest was erased.
    store
        .update_request_tasks(&[update(tasks[0], TaskState::Done, None)], time(NOW))
        .unwrap();
    store.forget_request_identifiers(id).unwrap();
    assert!(store.request(id).unwrap().unwrap().identifiers.is_empty());
    let err = store
        .forget_request_identifiers(RequestId(999))
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRequest { .. }), "{err:?}");
}

/// Only a failed task or one waiting for a person is put back to pending, due at once with
/// its attempts from zero; never a task of a cancelled request, and an unknown task is refused.
pub fn only_a_failed_task_or_one_waiting_for_a_person_is_tried_again(store: &dyn Backend) {
    use TaskState::*;
    let (id, tasks) = request_with(
        store,
        NOW,
        &[
            (NeedsPerson, None),
            (Failed, None),
            (Done, None),
            (Pending, Some(FUTURE)),
        ],
    );
    let attempted = TaskUpdate {
        attempted: true,
        ..update(tasks[1], Failed, None)
    };
    store
        .update_request_tasks(&[attempted], time(PAST))
        .unwrap();
    assert!(store
        .retry_request_task(tasks[0], "again", time(NOW))
        .unwrap());
    assert!(store
        .retry_request_task(tasks[1], "again", time(NOW))
        .unwrap());
    assert!(!store
        .retry_request_task(tasks[2], "again", time(NOW))
        .unwrap());
    assert!(!store
        .retry_request_task(tasks[3], "again", time(NOW))
        .unwrap());
    assert_eq!(
        store.due_requests(time(NOW), 10).unwrap(),
        [id],
        "due at once"
    );
    let states: Vec<_> = store
        .request_tasks(id)
        .unwrap()
        .into_iter()
        .map(|t| (t.state, t.attempts, t.not_before, t.finished_at, t.detail))
        .collect();
    assert_eq!(states[1], (Pending, 0, None, None, Some("again".into())));
    assert_eq!(states[2].0, Done);
    assert_eq!(states[3].2, Some(time(FUTURE)), "left as it was");

    store
        .update_request_tasks(&[update(tasks[0], Failed, None)], time(NOW))
        .unwrap();
    store
        .cancel_request(id, "cancelled: withdrawn", time(NOW))
        .unwrap();
    let err = store
        .retry_request_task(tasks[0], "again", time(NOW))
        .unwrap_err();
    assert!(matches!(err, StoreError::RequestCancelled { request } if request == id));
    let err = store
        .retry_request_task(RequestTaskId(999_999), "again", time(NOW))
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRequestTask { .. }), "{err}");
}

/// A cancel fails the waiting tasks (saying so of a running one), calls a hold's erasure off,
/// forgets the identifiers, and is final: nothing is recorded over it, cancelling again
/// changes nothing, and it is handed to the audit log until recorded there once.
pub fn a_cancel_is_final_forgets_the_subject_and_is_audited_once(store: &dyn Backend) {
    use TaskState::*;
    let hold_end = "2032-12-31T00:00:00Z";
    let (id, tasks) = request_with(
        store,
        NOW,
        &[
            (Pending, None),
            (Running, None),
            (Retained, Some(hold_end)),
            (Done, None),
        ],
    );
    let (done, _) = request_with(store, NOW, &[(Done, None)]);
    store
        .set_request_state(done, RequestState::Done, None, time(PAST))
        .unwrap();

    let cancelled_at = time(NOW);
    assert_eq!(
        store
            .cancel_request(id, "cancelled: withdrawn", cancelled_at)
            .unwrap(),
        Cancel::Cancelled
    );
    let request = store.request(id).unwrap().unwrap();
    assert_eq!(request.state, RequestState::Cancelled);
    assert_eq!(request.detail.as_deref(), Some("cancelled: withdrawn"));
    assert_eq!(request.completed_at, Some(cancelled_at));
    assert!(request.identifiers.is_empty(), "forgotten");
    let after = store.request_tasks(id).unwrap();
    assert_eq!(
        (after[0].state, after[0].detail.as_deref()),
        (Failed, Some("cancelled"))
    );
    assert_eq!(after[1].state, Failed);
    assert_ne!(
        after[1].detail.as_deref(),
        Some("cancelled"),
        "its step was under way"
    );
    assert_eq!(
        (after[2].state, after[2].not_before),
        (Retained, None),
        "the hold's erasure is off"
    );
    assert_eq!(after[3].state, Done);
    assert!(store.due_requests(time(hold_end), 10).unwrap().is_empty());
    assert_eq!(store.next_wakeup().unwrap(), None);

    // Final: nothing more is recorded for it.
    assert_eq!(
        store.cancel_request(id, "again", time(FUTURE)).unwrap(),
        Cancel::NotOpen(RequestState::Cancelled)
    );
    let err = store
        .update_request_tasks(&[update(tasks[0], Done, None)], time(FUTURE))
        .unwrap_err();
    assert!(matches!(err, StoreError::RequestCancelled { request } if request == id));
    let err = store
        .set_request_state(id, RequestState::Open, None, time(FUTURE))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::RequestCancelled { .. }),
        "{err:?}"
    );
    assert_eq!(
        store.cancel_request(done, "late", time(FUTURE)).unwrap(),
        Cancel::NotOpen(RequestState::Done)
    );
    let err = store
        .cancel_request(RequestId(999_999), "x", time(NOW))
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRequest { .. }), "{err:?}");

    let to_audit: Vec<RequestId> = store
        .cancels_to_audit()
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(to_audit, [id]);
    store.cancel_audited(id).unwrap();
    assert!(store.cancels_to_audit().unwrap().is_empty());
}

/// A notify task's notice records its first sending, counts every later one as a reminder,
/// and keeps the first escalation.
pub fn a_notice_counts_its_reminders_and_records_its_escalation(store: &dyn Backend) {
    let (_, tasks) = request_with(store, NOW, &[(TaskState::NeedsPerson, None)]);
    let task = tasks[0];
    assert_eq!(store.notice(task).unwrap(), None);
    let first = store.notice_sent(task, time(PAST)).unwrap();
    assert_eq!(
        (first.first_sent_at, first.last_sent_at),
        (time(PAST), time(PAST))
    );
    assert_eq!((first.reminders, first.escalated_at), (0, None));
    let reminded = store.notice_sent(task, time(NOW)).unwrap();
    assert_eq!(
        (reminded.first_sent_at, reminded.last_sent_at),
        (time(PAST), time(NOW))
    );
    assert_eq!(reminded.reminders, 1);
    store.notice_escalated(task, time(NOW)).unwrap();
    store.notice_escalated(task, time(FUTURE)).unwrap();
    let notice = store.notice(task).unwrap().unwrap();
    assert_eq!(
        notice.escalated_at,
        Some(time(NOW)),
        "the first escalation stands"
    );
    assert_eq!(notice.reminders, 1);
}
