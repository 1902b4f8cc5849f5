//! Nodes racing to claim a run's subjects and due requests: each goes to one node, whole.

use std::collections::BTreeMap;

use gallra_store::conformance::requests::update;
use gallra_store::{
    Lease, NewRequestTask, PostgresStore, RequestAction, RequestKind, RequestStore, RunId, Store,
    TaskRecord, TaskState,
};

use super::server::{selected_run, Schema, SLOT};

fn nodes(schema: &Schema) -> Vec<PostgresStore> {
    ["node-a", "node-b", "node-c"]
        .into_iter()
        .map(|node| schema.open(Lease::new(node)))
        .collect()
}

/// A run of `subjects` selected subjects with a task in each of three systems.
fn run_of(store: &PostgresStore, subjects: usize) -> RunId {
    selected_run(store, subjects, &["crm", "billing", "panel"])
}

/// Claims batches of 7 subjects, carrying each out (done) before the next claim as the
/// daemon does, until nothing is left; what it claimed.
fn work_run(node: &PostgresStore, run: RunId) -> Vec<TaskRecord> {
    let now = SLOT.parse().unwrap();
    let mut mine = Vec::new();
    loop {
        let batch = node.claim_tasks(run, 7, now).unwrap();
        if batch.is_empty() {
            return mine;
        }
        let done: Vec<_> = batch
            .iter()
            .map(|t| (t.id, TaskState::Done, None))
            .collect();
        node.finish_tasks_and_bury(&done, &[], now).unwrap();
        mine.extend(batch);
    }
}

/// Three nodes work one run of 200 subjects, three tasks each, at once: every task is
/// claimed exactly once, and all of a subject's tasks by one node.
#[test]
fn nodes_claiming_a_run_at_once_take_each_subject_whole_and_once() {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    let nodes = nodes(&schema);
    let run = run_of(&nodes[0], 200);
    let claims: Vec<Vec<TaskRecord>> = std::thread::scope(|scope| {
        let racers: Vec<_> = (nodes.iter())
            .map(|node| scope.spawn(move || work_run(node, run)))
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    for (node, claimed) in claims.iter().enumerate() {
        for task in claimed {
            let first = *owner.entry(&task.subject_key).or_insert(node);
            assert_eq!(first, node, "subject {} split", task.subject_key);
        }
    }
    let sizes: Vec<usize> = claims.iter().map(Vec::len).collect();
    assert_eq!(
        sizes.iter().sum::<usize>(),
        600,
        "each task once: {sizes:?}"
    );
    assert_eq!(owner.len(), 200);
    assert!(
        sizes.iter().filter(|&&n| n > 0).count() > 1,
        "a race: {sizes:?}"
    );
}

/// Claims 5 due requests at a time, carrying each out (its task done) and releasing them,
/// until none is due; the requests it claimed.
fn work_requests(node: &PostgresStore) -> Vec<i64> {
    let now = SLOT.parse().unwrap();
    let mut mine = Vec::new();
    loop {
        let batch = node.claim_requests(now, 5).unwrap();
        if batch.is_empty() {
            return mine;
        }
        for &request in &batch {
            let task = node.request_tasks(request).unwrap()[0].id;
            let done = update(task, TaskState::Done, None);
            node.update_request_tasks(&[done], now).unwrap();
        }
        node.release_requests(&batch).unwrap();
        mine.extend(batch.iter().map(|r| r.0));
    }
}

/// Three nodes work 120 due requests at once: each request is claimed by one node, once.
#[test]
fn nodes_claiming_due_requests_at_once_take_each_once() {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    let nodes = nodes(&schema);
    let (received, due) = (
        SLOT.parse().unwrap(),
        "2025-04-01T00:00:00Z".parse().unwrap(),
    );
    let task = NewRequestTask {
        system: "crm".to_owned(),
        action: RequestAction::Erase,
        order: 0,
    };
    for _ in 0..120 {
        let tasks = std::slice::from_ref(&task);
        (nodes[0].create_request(RequestKind::Erase, &[], received, due, None, tasks)).unwrap();
    }
    let claims: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let racers: Vec<_> = (nodes.iter())
            .map(|node| scope.spawn(move || work_requests(node)))
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut all = claims.concat();
    all.sort_unstable();
    let total = all.len();
    all.dedup();
    assert_eq!((total, all.len()), (120, 120), "each request once");
    assert!(
        claims.iter().filter(|c| !c.is_empty()).count() > 1,
        "a race"
    );
}
