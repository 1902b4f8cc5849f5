//! Three `gallra run` daemons on one PostgreSQL state store, as a company runs them on three
//! hosts: they share a purge and hundreds of requests of SQLite and of PostgreSQL systems,
//! each erasure made once by one of them. Each daemon keeps its own audit chain.

use std::time::Duration;

use gallra_e2e::nodes::checks::*;
use gallra_e2e::nodes::Nodes;
use gallra_e2e::wait::wait_until;
use gallra_e2e::{available, Backend};

fn shares_a_purge_and_500_requests(backend: Backend, test: &str) {
    if !available(Backend::Postgres, test) || !available(backend, test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = purge_scenario(dir.path(), backend, 1200);
    let before = scenario.db("panel").count("customers", None);
    // Leases long enough that a daemon slowed by a loaded machine (CI runs every test at
    // once) keeps its work: nothing is interrupted here, so nothing may be taken over.
    let mut nodes = Nodes::configure(&scenario, &NODES, "20s");
    nodes.start();

    // 500 erasure requests, submitted to the three nodes' admin APIs side by side.
    submit_erasures(&nodes, &scenario, 500);

    wait_until(
        "the purge and every request",
        Duration::from_secs(300),
        || {
            let open = nodes.store_query("SELECT count(*) FROM requests WHERE state = 'open'");
            purged_run(&nodes).is_some() && open == ["0"]
        },
    );
    let (run, state) = purged_run(&nodes).unwrap();
    assert_eq!(state, "done", "run {run}");
    let requests = nodes.store_query("SELECT count(*) FROM requests");
    assert_eq!(requests, ["500"]);
    assert_purged_exactly(&scenario, before, 500);

    // Each erasure (a task: an actor, a system, a subject) was started once, by one node.
    let chains = nodes.audit_entries();
    let (first, again) = attempts(&chains);
    let twice: Vec<_> = first.iter().filter(|(_, &n)| n > 1).collect();
    if let Some((key, _)) = twice.first() {
        panic!("erased twice: {twice:?}\n{:#?}", entries_of(&chains, key));
    }
    if let Some(first) = again.first() {
        panic!(
            "nothing was interrupted, yet repeated: {again:#?}\n{:#?}",
            entries_of(&chains, first)
        );
    }
    assert!(first.len() > scenario.expected_purged().len());
    let shared = started_per_node(&chains);
    assert!(
        shared.values().filter(|&&n| n > 0).count() >= 2,
        "the work was shared: {shared:?}"
    );
    assert_every_chain_verifies(&nodes);
}

#[test]
fn three_daemons_share_a_purge_and_500_requests_of_sqlite_systems_each_erased_once() {
    shares_a_purge_and_500_requests(Backend::Sqlite, "several_daemons::sqlite");
}

#[test]
fn three_daemons_share_a_purge_and_500_requests_of_postgres_systems_each_erased_once() {
    shares_a_purge_and_500_requests(Backend::Postgres, "several_daemons::postgres");
}
