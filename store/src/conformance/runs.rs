//! Runs, their decisions and tasks ([`Store`]): a slot is run once, outcomes are atomic,
//! identifiers are kept only while a task needs them.

use gallra_plugin_api::{Identifier, IdentifierKind};
use jiff::Timestamp;

use super::Backend;
use crate::{
    Action, Decision, DecisionFilter, NewRequestTask, RequestAction, RunId, RunState, StoreError,
    TaskId, TaskState,
};

/// When the cases' runs record what they do.
pub const NOW: &str = "2025-03-01T03:00:05Z";
/// The schedule slot of the cases' runs.
pub const SLOT: &str = "2025-03-01T03:00:00Z";

/// An instant from its RFC 3339 text.
pub fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// An identifier, which must parse.
pub fn id(kind: IdentifierKind, value: &str) -> Identifier {
    Identifier::parse(kind, value).unwrap()
}

/// A decision selecting `key` as inactive, with an email address.
pub fn selected(key: &str) -> Decision {
    Decision {
        subject_key: key.to_owned(),
        selected: true,
        reason: "inactive".to_owned(),
        identifiers: vec![id(IdentifierKind::Email, &format!("{key}@example.se"))],
    }
}

/// A decision keeping `key` for its active services (without identifiers, as the daemon
/// records it: nothing needs them).
pub fn kept(key: &str) -> Decision {
    Decision {
        subject_key: key.to_owned(),
        selected: false,
        reason: "active_services".to_owned(),
        identifiers: Vec::new(),
    }
}

/// A run with subjects `a`, `b` selected and `c` kept, and tasks in `crm` (order 1) and
/// `panel` (order 2) for each selected subject.
pub fn run_with_tasks(store: &dyn Backend) -> RunId {
    let run = store
        .begin_run("inactive", "enforce", at(SLOT), at(NOW))
        .unwrap();
    store
        .record_decisions(run, &[selected("b"), selected("a"), kept("c")])
        .unwrap();
    let systems = [
        ("panel".to_owned(), Action::Erase, 2),
        ("crm".to_owned(), Action::Erase, 1),
    ];
    assert_eq!(store.create_tasks_for_selected(run, &systems).unwrap(), 4);
    run
}

/// Records one outcome, without tombstones.
pub fn finish(store: &dyn Backend, task: TaskId, state: TaskState, detail: Option<&str>) {
    store
        .finish_tasks_and_bury(&[(task, state, detail.map(str::to_owned))], &[], at(NOW))
        .unwrap();
}

/// Runs are found by state oldest first, and the latest ones newest first.
pub fn runs_in_state_are_oldest_first_and_recent_runs_newest_first(store: &dyn Backend) {
    let slots = [
        "2025-03-01T03:00:00Z",
        "2025-03-02T03:00:00Z",
        "2025-03-03T03:00:00Z",
    ];
    let runs: Vec<RunId> = slots
        .iter()
        .map(|slot| {
            store
                .begin_run("inactive", "enforce", at(slot), at(slot))
                .unwrap()
        })
        .collect();
    store
        .set_run_state(runs[1], RunState::Enforcing, 0, 0, None, at(NOW))
        .unwrap();
    let ids = |records: Vec<crate::RunRecord>| -> Vec<RunId> {
        records.into_iter().map(|r| r.id).collect()
    };
    let planning = store.runs_in_state(&[RunState::Planning]).unwrap();
    assert_eq!(ids(planning), [runs[0], runs[2]]);
    let open = store
        .runs_in_state(&[RunState::Enforcing, RunState::Planning])
        .unwrap();
    assert_eq!(ids(open), runs);
    assert!(store.runs_in_state(&[]).unwrap().is_empty());
    assert!(store.runs_in_state(&[RunState::Done]).unwrap().is_empty());
    let recent = store.recent_runs(None, 2).unwrap();
    assert_eq!(ids(recent), [runs[2], runs[1]]);
}

/// Paging through a run's selected decisions sees each once, in key order, with its
/// identifiers; the counts say how many there are per reason.
pub fn selected_decisions_page_through_each_subject_once_in_key_order(store: &dyn Backend) {
    let run = store
        .begin_run("inactive", "enforce", at(SLOT), at(NOW))
        .unwrap();
    let all: Vec<Decision> = (0..300)
        .map(|i| {
            let key = format!("{i:03}");
            if i % 3 == 0 {
                selected(&key)
            } else {
                kept(&key)
            }
        })
        .collect();
    for batch in all.chunks(70) {
        store.record_decisions(run, batch).unwrap();
    }
    let counts = store.decision_counts(run).unwrap();
    assert_eq!(
        counts,
        [
            ("active_services".to_owned(), false, 200),
            ("inactive".to_owned(), true, 100),
        ]
    );
    let mut seen: Vec<Decision> = Vec::new();
    loop {
        let after = seen.last().map(|d| d.subject_key.clone());
        let page = store
            .decisions(run, DecisionFilter::Selected, after.as_deref(), 30)
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 30);
        seen.extend(page);
    }
    let expected: Vec<Decision> = all.into_iter().filter(|d| d.selected).collect();
    assert_eq!(seen, expected);
}

/// A deselected subject is no longer selected and its identifiers are gone, with the reason
/// given; a task made before stays (it is decided again before it erases).
pub fn deselected_subjects_lose_their_selection_and_identifiers_but_keep_their_tasks(
    store: &dyn Backend,
) {
    let run = run_with_tasks(store);
    store.deselect(run, &[]).unwrap();
    store
        .deselect(run, &[("a".to_owned(), "recently_active".to_owned())])
        .unwrap();
    let keys: Vec<String> = store
        .decisions(run, DecisionFilter::Selected, None, 10)
        .unwrap()
        .into_iter()
        .map(|d| d.subject_key)
        .collect();
    assert_eq!(keys, ["b"]);
    let counts = store.decision_counts(run).unwrap();
    assert!(
        counts.contains(&("recently_active".to_owned(), false, 1)),
        "{counts:?}"
    );
    let tasks = store.pending_tasks(run, 10).unwrap();
    assert_eq!(tasks.len(), 4);
    let a = tasks.iter().find(|t| t.subject_key == "a").unwrap();
    assert!(a.identifiers.is_empty(), "forgotten with the selection");
    let err = store
        .deselect(RunId(9999), &[("a".to_owned(), "x".to_owned())])
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRun { .. }), "{err:?}");
}

/// Identifiers come back exactly as recorded, with the decision and on each task, are not
/// forgotten while a task still needs them, and are gone once forgotten.
pub fn identifiers_round_trip_and_are_forgotten_only_once_no_task_needs_them(store: &dyn Backend) {
    let run = store
        .begin_run("inactive", "enforce", at(SLOT), at(NOW))
        .unwrap();
    let identifiers = vec![
        id(IdentifierKind::Email, "Anna.Svensson@Example.SE"),
        id(IdentifierKind::Personnummer, "811218-9876"),
        id(IdentifierKind::Phone, "070-123 45 67"),
        id(IdentifierKind::CustomerId, "C-1001"),
        id(IdentifierKind::Ip, "2001:db8::1"),
    ];
    let decision = Decision {
        identifiers: identifiers.clone(),
        ..selected("1001")
    };
    store
        .record_decisions(run, &[decision.clone(), kept("1002")])
        .unwrap();
    assert_eq!(
        store
            .decisions(run, DecisionFilter::Selected, None, 10)
            .unwrap(),
        [decision]
    );
    let systems = [("crm".to_owned(), Action::Erase, 1)];
    store.create_tasks_for_selected(run, &systems).unwrap();
    let task = &store.pending_tasks(run, 10).unwrap()[0];
    assert_eq!(task.identifiers, identifiers);

    for state in [TaskState::Pending, TaskState::Running] {
        if state == TaskState::Running {
            store.start_tasks(&[task.id], at(NOW)).unwrap();
        }
        let err = store.forget_identifiers(run).unwrap_err();
        assert!(
            matches!(err, StoreError::TasksOpen { open: 1, .. }),
            "{state}"
        );
    }

    finish(store, task.id, TaskState::Done, None);
    store.forget_identifiers(run).unwrap();
    store.forget_identifiers(run).unwrap();
    let left = store
        .decisions(run, DecisionFilter::Selected, None, 10)
        .unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].identifiers.is_empty());
}

/// A schedule slot of a policy has one run: beginning it again gives `RunExists` with that run.
pub fn a_runs_slot_cannot_be_taken_twice(store: &dyn Backend) {
    let first = store
        .begin_run("inactive", "report", at(SLOT), at(NOW))
        .unwrap();
    let again = store.begin_run("inactive", "enforce", at(SLOT), at(NOW));
    assert!(matches!(again, Err(StoreError::RunExists { run }) if run == first));

    // Another slot, or another policy in the same slot, is a different run.
    let next_day = store
        .begin_run("inactive", "report", at("2025-03-02T03:00:00Z"), at(NOW))
        .unwrap();
    let other = store
        .begin_run("signups", "report", at(SLOT), at(NOW))
        .unwrap();
    assert!(next_day != first && other != first && other != next_day);
    assert_eq!(store.recent_runs(None, 10).unwrap().len(), 3);
}

/// Recording a subject again replaces its decision (a resumed plan sees it twice).
pub fn recording_a_subject_again_replaces_its_decision(store: &dyn Backend) {
    let run = store
        .begin_run("inactive", "report", at(SLOT), at(NOW))
        .unwrap();
    store.record_decisions(run, &[selected("1001")]).unwrap();
    store.record_decisions(run, &[kept("1001")]).unwrap();
    let counts = store.decision_counts(run).unwrap();
    assert_eq!(counts, [("active_services".to_owned(), false, 1)]);
    assert!(store
        .decisions(run, DecisionFilter::Selected, None, 10)
        .unwrap()
        .is_empty());
}

/// A run moves through its states with its counts and detail; a final state sets `finished_at`,
/// and an unknown run is refused.
pub fn run_state_moves_are_kept_and_a_final_state_sets_finished_at(store: &dyn Backend) {
    let run = store
        .begin_run("inactive", "enforce", at(SLOT), at(NOW))
        .unwrap();
    let record = store.run(run).unwrap().unwrap();
    assert_eq!(record.state, RunState::Planning);
    assert_eq!(record.scheduled_for, at(SLOT));
    assert_eq!(record.started_at, at(NOW));
    assert_eq!(record.finished_at, None);

    let valve = "would erase 600 subjects, max_per_run is 500";
    store
        .set_run_state(
            run,
            RunState::AwaitingApproval,
            1000,
            600,
            Some(valve),
            at(NOW),
        )
        .unwrap();
    let waiting = store.runs_in_state(&[RunState::AwaitingApproval]).unwrap();
    assert_eq!(waiting[0].detail.as_deref(), Some(valve));
    assert_eq!(waiting[0].finished_at, None);

    let end = at("2025-03-01T04:00:00.5Z");
    store
        .set_run_state(run, RunState::Done, 1000, 600, None, end)
        .unwrap();
    let done = store.run(run).unwrap().unwrap();
    assert_eq!((done.state, done.finished_at), (RunState::Done, Some(end)));
    assert!(store
        .runs_in_state(&[RunState::AwaitingApproval])
        .unwrap()
        .is_empty());
    assert!(store.run(RunId(9999)).unwrap().is_none());
    let err = store.set_run_state(RunId(9999), RunState::Done, 0, 0, None, end);
    assert!(matches!(err, Err(StoreError::NoSuchRun { .. })));
}

/// The latest runs come newest first, of one policy or of all.
pub fn recent_runs_are_newest_first_and_filter_by_policy(store: &dyn Backend) {
    let slots = [
        "2025-03-01T03:00:00Z",
        "2025-03-02T03:00:00Z",
        "2025-03-03T03:00:00Z",
    ];
    for slot in slots {
        store
            .begin_run("inactive", "report", at(slot), at(slot))
            .unwrap();
    }
    store
        .begin_run("signups", "report", at(SLOT), at(NOW))
        .unwrap();
    let recent = store.recent_runs(Some("inactive"), 2).unwrap();
    let when: Vec<_> = recent.iter().map(|r| r.scheduled_for).collect();
    assert_eq!(when, [at(slots[2]), at(slots[1])]);
    assert_eq!(store.recent_runs(None, usize::MAX).unwrap().len(), 4);
}

/// Writing to a run that does not exist is refused with `NoSuchRun`.
pub fn writing_to_an_unknown_run_is_refused(store: &dyn Backend) {
    let err = store
        .record_decisions(RunId(42), &[selected("1")])
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRun { run: RunId(42), .. }));
    let err = store.create_tasks_for_selected(RunId(42), &[]).unwrap_err();
    assert!(matches!(err, StoreError::NoSuchRun { .. }));
}

/// A run hands the subjects it selected to erasure requests for the systems it does not erase
/// itself: once per subject, however often the (resumed) run asks, and never again for a
/// subject a run filed for before.
/// A run files one erasure request per subject it selected (for the systems it does not
/// erase itself): once per subject, however often a resumed run asks, and never again for a
/// subject a run filed for before.
pub fn a_run_files_one_erasure_request_per_selected_subject_once(store: &dyn Backend) {
    let run = run_with_tasks(store);
    let tasks = [
        NewRequestTask {
            system: "binders".to_owned(),
            action: RequestAction::Manual,
            order: 0,
        },
        NewRequestTask {
            system: "registry".to_owned(),
            action: RequestAction::Notify,
            order: 1,
        },
    ];
    let file = |run| {
        store
            .file_requests_for_selected(run, "policy inactive, run 1", at(NOW), at(NOW), &tasks)
            .unwrap()
    };
    assert_eq!(file(run), 2, "a and b, not the kept c");
    assert_eq!(file(run), 0, "a resumed run files none twice");
    let requests = store.list_requests(false, 100).unwrap();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.origin.as_deref(), Some("policy inactive, run 1"));
        assert_eq!(request.identifiers.len(), 1, "the subject's identifiers");
        let systems: Vec<String> = store
            .request_tasks(request.id)
            .unwrap()
            .into_iter()
            .map(|t| t.system)
            .collect();
        assert_eq!(systems, ["binders", "registry"]);
    }
    // The next night's run selects them again (say the account source keeps them under a
    // legal hold): nothing new is filed.
    let next = store
        .begin_run("inactive", "enforce", at("2025-03-02T03:00:00Z"), at(NOW))
        .unwrap();
    store
        .record_decisions(next, &[selected("a"), selected("d")])
        .unwrap();
    assert_eq!(file(next), 1, "only d is new");
}
