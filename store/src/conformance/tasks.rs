//! A run's tasks ([`Store`](crate::Store)): created once, handed out in order, finished
//! atomically with their tombstones.

use gallra_plugin_api::IdentifierKind;

use super::runs::{at, finish, id, run_with_tasks, NOW, SLOT};
use super::tombstones::tombstone;
use super::Backend;
use crate::{Action, NewTask, StoreError, TaskId, TaskState};

/// Creating tasks again (a resumed run) creates none twice; a task created on its own is
/// returned again rather than doubled, and has no identifiers without a decision.
pub fn creating_tasks_for_selected_twice_creates_no_duplicates(store: &dyn Backend) {
    let run = run_with_tasks(store);
    let systems = [
        ("crm".to_owned(), Action::Erase, 1),
        ("panel".to_owned(), Action::Erase, 2),
    ];
    assert_eq!(store.create_tasks_for_selected(run, &systems).unwrap(), 0);
    assert_eq!(store.pending_tasks(run, 100).unwrap().len(), 4);

    let expire = NewTask {
        subject_key: "unconverted_signups".to_owned(),
        system: "signups".to_owned(),
        action: Action::Expire,
        order: 0,
    };
    let first = store.create_task(run, &expire).unwrap();
    assert_eq!(store.create_task(run, &expire).unwrap(), first);
    let tasks = store.pending_tasks(run, 100).unwrap();
    assert_eq!(tasks.len(), 5);
    let task = tasks.iter().find(|t| t.id == first).unwrap();
    assert!(task.identifiers.is_empty(), "no decision, no identifiers");
}

/// Pending tasks come in (subject, order) order, and a task handed to its connector (running)
/// is still listed: found so after a restart, it was interrupted.
pub fn pending_tasks_returns_interrupted_running_tasks(store: &dyn Backend) {
    let run = run_with_tasks(store);
    let tasks = store.pending_tasks(run, 100).unwrap();
    let order: Vec<_> = tasks
        .iter()
        .map(|t| (t.subject_key.as_str(), t.system.as_str()))
        .collect();
    assert_eq!(
        order,
        [("a", "crm"), ("a", "panel"), ("b", "crm"), ("b", "panel")]
    );

    // a/crm finished; a/panel handed to its connector when the process died.
    finish(store, tasks[0].id, TaskState::Done, None);
    assert_eq!(store.start_tasks(&[tasks[1].id], at(NOW)).unwrap(), 1);

    let pending = store.pending_tasks(run, 100).unwrap();
    assert_eq!(pending.len(), 3);
    assert_eq!(pending[0].id, tasks[1].id);
    assert_eq!(pending[0].state, TaskState::Running);
    assert_eq!(
        pending[0].identifiers,
        [id(IdentifierKind::Email, "a@example.se")]
    );
    assert_eq!(store.pending_tasks(run, 1).unwrap().len(), 1);
}

/// An outcome counts the attempt; a task already final is not started again, and a running
/// task is put back to pending by `release_tasks` while a final one is left alone.
pub fn finishing_a_task_counts_the_attempt_and_starting_a_final_task_changes_nothing(
    store: &dyn Backend,
) {
    let run = run_with_tasks(store);
    let tasks = store.pending_tasks(run, 2).unwrap();
    let (task, other) = (tasks[0].id, tasks[1].id);
    store.start_tasks(&[task, other], at(NOW)).unwrap();
    // A retried outcome leaves it pending, with the attempt counted.
    finish(store, task, TaskState::Pending, Some("timeout"));
    let again = &store.pending_tasks(run, 1).unwrap()[0];
    assert_eq!(
        (again.id, again.state, again.attempts),
        (task, TaskState::Pending, 1)
    );
    assert_eq!(again.detail.as_deref(), Some("timeout"));
    finish(store, task, TaskState::Failed, Some("timeout"));
    assert_eq!(store.start_tasks(&[task], at(NOW)).unwrap(), 0);
    assert_eq!(
        store.release_tasks(&[task, other], at(NOW)).unwrap(),
        1,
        "only the running one"
    );
    let counts = store.task_counts(run).unwrap();
    assert!(counts.contains(&("crm".to_owned(), TaskState::Failed, 1)));
    assert!(counts.contains(&("crm".to_owned(), TaskState::Pending, 1)));
    assert!(counts.contains(&("panel".to_owned(), TaskState::Pending, 2)));
}

/// Outcomes and their tombstones are one transaction: an unknown task refuses both.
pub fn a_batch_of_outcomes_with_an_unknown_task_changes_nothing(store: &dyn Backend) {
    let run = run_with_tasks(store);
    let first = store.pending_tasks(run, 1).unwrap()[0].id;
    let updates = [
        (first, TaskState::Done, None),
        (TaskId(9999), TaskState::Done, None),
    ];
    let err = store
        .finish_tasks_and_bury(&updates, &[tombstone("crm", NOW, NOW)], at(NOW))
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::NoSuchTask {
            task: TaskId(9999),
            ..
        }
    ));
    assert_eq!(store.pending_tasks(run, 100).unwrap().len(), 4);
    assert!(store.tombstones_since("crm", at(SLOT)).unwrap().is_empty());
}

/// Outcomes with tombstones write both: the tasks are final and the tombstones listed.
pub fn outcomes_and_their_tombstones_are_written_together(store: &dyn Backend) {
    let run = run_with_tasks(store);
    let tasks = store.pending_tasks(run, 100).unwrap();
    let updates: Vec<_> = tasks
        .iter()
        .map(|t| (t.id, TaskState::Done, Some("erased".to_owned())))
        .collect();
    let buried = [tombstone("crm", NOW, "2025-06-01T00:00:00Z")];
    store
        .finish_tasks_and_bury(&updates, &buried, at(NOW))
        .unwrap();
    assert!(store.pending_tasks(run, 100).unwrap().is_empty());
    let since = store.tombstones_since("crm", at(SLOT)).unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].tombstone, buried[0]);
    // Nothing to record is no error.
    store.finish_tasks_and_bury(&[], &[], at(NOW)).unwrap();
}
