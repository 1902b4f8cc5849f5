//! A connector's resume token ([`TaskUpdate::resume`]): kept with a request's task for as
//! long as the task is not final, replaced by a new one, forgotten when the task ends or its
//! request is cancelled.

use gallra_plugin_api::ResumeToken;

use super::requests::{request_with, time, update, FUTURE, NOW};
use super::Backend;
use crate::{RequestTaskId, TaskState, TaskUpdate};

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
