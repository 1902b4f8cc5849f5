//! What only a shared server shows: nodes racing for one run's tasks, a caller inside a tokio
//! runtime, and a connection the server ended.

use std::sync::Arc;

use gallra_store::{Lease, LeaseStore, PostgresStore, RunId, Store, StoreError, TaskId};

use super::server::{admin, selected_run, Schema, SLOT, URL};

/// A run with `subjects` selected subjects and one task each; their ids.
fn run_with(store: &PostgresStore, subjects: usize) -> (RunId, Vec<TaskId>) {
    let run = selected_run(store, subjects, &["crm"]);
    let tasks = store.pending_tasks(run, usize::MAX).unwrap();
    (run, tasks.into_iter().map(|t| t.id).collect())
}

/// Three nodes, each with its own connections, claim the same tasks at once in batches, each
/// going through them once in its own order: every task is taken by exactly one of them.
#[test]
fn nodes_racing_for_the_same_tasks_take_each_exactly_once() {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    let nodes: Vec<PostgresStore> = ["node-a", "node-b", "node-c"]
        .into_iter()
        .map(|node| schema.open(Lease::new(node)))
        .collect();
    let (run, tasks) = run_with(&nodes[0], 300);
    let now = SLOT.parse().unwrap();
    let claimed: Vec<u64> = std::thread::scope(|scope| {
        let racers: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(n, node)| {
                let mut order = tasks.clone();
                // Each starts a third further on, so that they run into each other.
                order.rotate_left(n * tasks.len() / 3);
                scope.spawn(move || {
                    let batches = order.chunks(4);
                    batches
                        .map(|batch| node.start_tasks(batch, now).unwrap())
                        .sum()
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    // Each node saw each task once, so a task taken twice would count twice.
    assert_eq!(
        claimed.iter().sum::<u64>(),
        tasks.len() as u64,
        "{claimed:?}"
    );
    assert!(
        claimed.iter().filter(|&&n| n > 0).count() > 1,
        "a race: {claimed:?}"
    );
    let other = schema.open(Lease::new("node-d"));
    assert!(
        other.pending_tasks(run, 10).unwrap().is_empty(),
        "all taken"
    );
    let held: u64 = nodes.iter().map(|n| n.renew_leases().unwrap()).sum();
    assert_eq!(held, tasks.len() as u64, "each held by one node");
}

/// The daemon calls the store from async fns and blocking threads of its runtime:
/// `postgres::Client` would panic there, the store's own threads do not.
#[tokio::test(flavor = "multi_thread")]
async fn the_store_may_be_called_from_inside_a_tokio_runtime() {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    let store = Arc::new(schema.open(Lease::new("node-a")));
    let (run, tasks) = run_with(&store, 3);
    assert_eq!(tasks.len(), 3);
    let blocking = store.clone();
    let runs = tokio::task::spawn_blocking(move || blocking.recent_runs(None, 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(runs[0].id, run);
    drop(store);
}

/// A connection the server ended (a restart, an administrator) fails one call at most, with
/// what to check; the next call connects anew and works.
#[test]
fn a_broken_connection_fails_one_call_and_the_next_reconnects() {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    let app = format!("gallra-{}", schema.name);
    let url = format!("{URL}?application_name={app}");
    let store = PostgresStore::connect_schema(&url, &schema.name).unwrap();
    for _ in 0..8 {
        store.recent_runs(None, 1).unwrap();
    }
    let ended = admin(move |client| {
        let sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                   WHERE application_name = $1";
        Ok(client.query_one(sql, &[&app])?.get::<_, i64>(0))
    })
    .unwrap();
    assert!(ended > 0, "the store's connections were found");

    // A worker that had not connected yet answers at once; the first that finds its
    // connection ended fails, and has every other worker connect anew.
    let mut failed = 0;
    for _ in 0..12 {
        if let Err(e) = store.recent_runs(None, 1) {
            failed += 1;
            assert!(matches!(e, StoreError::Unreachable { .. }), "{e:?}");
            assert!(e.is_transient(), "a service waits and goes on: {e:?}");
            assert!(e.to_string().contains("127.0.0.1:5432/test"), "{e}");
            assert!(e.to_string().contains("tries again"), "{e}");
        }
    }
    assert!(failed <= 1, "{failed} calls failed");
}

/// A schema written by a newer gallra is refused, named, and left as it is.
#[test]
fn a_schema_from_a_newer_gallra_is_refused() {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    drop(schema.open(Lease::default()));
    let name = schema.name.clone();
    admin(move |client| {
        let sql = format!("UPDATE \"{name}\".gallra_schema SET version = version + 1");
        client.batch_execute(&sql)
    })
    .unwrap();
    let Err(err) = PostgresStore::connect_schema(URL, &schema.name) else {
        panic!("a newer schema was opened");
    };
    assert!(matches!(err, StoreError::TooNew { .. }), "{err:?}");
    assert!(err.to_string().contains(&schema.name), "{err}");
}

/// Daemons starting at once on a new schema migrate it once, whoever comes first.
#[test]
fn daemons_starting_at_once_migrate_once() {
    let Some(schema) = Schema::fresh() else {
        return;
    };
    std::thread::scope(|scope| {
        let starts: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| PostgresStore::connect_schema(URL, &schema.name)))
            .collect();
        for start in starts {
            start.join().unwrap().unwrap();
        }
    });
}
