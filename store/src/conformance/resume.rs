//! A connector's resume token: kept with a request's task ([`TaskUpdate::resume`]) for as
//! long as the task is not final, replaced by a new one, forgotten when the task ends or its
//! request is cancelled; kept with a run's task and handed to the subject's next task in the
//! same system ([`crate::TaskRecord::resume`]).

use gallra_plugin_api::ResumeToken;

use super::requests::{request_with, time, update, FUTURE, NOW};
use super::runs::{finish, run_with_tasks, selected};
use super::Backend;
use crate::{Action, RequestTaskId, TaskState, TaskUpdate};

fn token(text: &str) -> Option<ResumeToken> {
    Some(ResumeToken::new(text).unwrap())
}

fn stored(store: &dyn Backend, task: RequestTaskId) -> Option<String> {
    let task = store.request_task(task).unwrap().unwrap();
    task.resume.map(String::from)
}

/// The token a step stores survives the steps that give none until the task is final.
pub fn a_resume_token_is_kept_until_the_task_is_final(store: &dyn Backend) {
    let (request, tasks) = request_with(
        store,
        FUTURE,
        &[(TaskState::Pending, None), (TaskState::Pending, None)],
    );
    let (first, second) = (tasks[0], tasks[1]);
    let step = |task, state, resume| {
        let u = TaskUpdate {
            resume,
            ..update(task, state, Some(FUTURE))
        };
        store.update_request_tasks(&[u], time(NOW)).unwrap();
    };
    assert_eq!(stored(store, first), None);
    step(first, TaskState::Pending, token("zendesk-users:17"));
    assert_eq!(stored(store, first).as_deref(), Some("zendesk-users:17"));
    // Marked running before the next call, a retry, a person's turn: the token stays.
    for state in [
        TaskState::Running,
        TaskState::Pending,
        TaskState::NeedsPerson,
    ] {
        step(first, state, None);
        assert_eq!(
            stored(store, first).as_deref(),
            Some("zendesk-users:17"),
            "{state:?}"
        );
    }
    step(first, TaskState::Pending, token("zendesk-users:18"));
    assert_eq!(stored(store, first).as_deref(), Some("zendesk-users:18"));
    step(first, TaskState::Done, None);
    assert_eq!(stored(store, first), None, "done forgets it");

    step(second, TaskState::Pending, token("job-9"));
    store
        .cancel_request(request, "withdrawn", time(NOW))
        .unwrap();
    assert_eq!(stored(store, second), None, "a cancel forgets it");
}

/// A run's task is handed the latest token kept by a task of its subject in its system: its
/// own (a task killed after the token was kept is redone with it), or an earlier run's.
pub fn a_runs_task_is_handed_the_latest_resume_token_of_its_subject_in_its_system(
    store: &dyn Backend,
) {
    let first = run_with_tasks(store);
    let tasks = store.pending_tasks(first, 100).unwrap();
    let a_crm = tasks
        .iter()
        .find(|t| (t.subject_key.as_str(), t.system.as_str()) == ("a", "crm"))
        .unwrap()
        .id;
    assert!(tasks.iter().all(|t| t.resume.is_none()));
    let kept = [(a_crm, token("zendesk-users:7").unwrap())];
    store.keep_resume_tokens(&kept).unwrap();
    let handed = |tasks: &[crate::TaskRecord]| -> Vec<(String, String, Option<String>)> {
        let mut all: Vec<_> = tasks
            .iter()
            .map(|t| {
                let resume = t.resume.clone().map(String::from);
                (t.subject_key.clone(), t.system.clone(), resume)
            })
            .collect();
        all.sort();
        all
    };
    let redone = handed(&store.pending_tasks(first, 100).unwrap());
    assert_eq!(
        redone[0],
        ("a".into(), "crm".into(), Some("zendesk-users:7".into()))
    );
    finish(store, a_crm, TaskState::Blocked, Some("in progress"));

    let next = store
        .begin_run(
            "inactive",
            "enforce",
            time("2025-03-02T03:00:00Z"),
            time(NOW),
        )
        .unwrap();
    store
        .record_decisions(next, &[selected("a"), selected("b")])
        .unwrap();
    let systems = [
        ("crm".to_owned(), Action::Erase, 1),
        ("panel".to_owned(), Action::Erase, 2),
    ];
    store.create_tasks_for_selected(next, &systems).unwrap();
    let claimed = store.claim_tasks(next, 10, time(NOW)).unwrap();
    let with_token: Vec<_> = handed(&claimed)
        .into_iter()
        .filter(|(_, _, resume)| resume.is_some())
        .collect();
    assert_eq!(
        with_token,
        [("a".into(), "crm".into(), Some("zendesk-users:7".into()))],
        "only the same subject in the same system"
    );
}
