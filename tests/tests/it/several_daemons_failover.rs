//! Three `gallra run` daemons on one PostgreSQL state store, when one of them dies or the
//! store restarts: the others take the work over, repeating only what may have been left
//! half-done (and saying so: "again"); nothing is lost, every audit chain stays intact.

use std::time::{Duration, Instant};

use gallra_e2e::crash::{skip, PgCluster};
use gallra_e2e::nodes::checks::*;
use gallra_e2e::nodes::Nodes;
use gallra_e2e::requests::slow_erase;
use gallra_e2e::wait::wait_until;
use gallra_e2e::{available, Backend};

/// Kills the leader (or, `leader` false, a node that follows) with SIGKILL in the middle of a
/// purge, and checks that the others finish it: a new leader within a lease and a tick, every
/// subject erased, repeats only where the dead node may have left off, every chain intact.
fn survives_a_kill(kill_leader: bool, test: &str) {
    if !available(Backend::Postgres, test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = purge_scenario(dir.path(), Backend::Sqlite, 900);
    slow_erase(&scenario, "crm", 60);
    let before = scenario.db("panel").count("customers", None);
    let mut nodes = Nodes::configure(&scenario, &NODES, &format!("{LEASE_SECS}s"));
    nodes.start();

    wait_until(
        "the purge to be under way",
        Duration::from_secs(120),
        || {
            let done = nodes.store_query("SELECT count(*) FROM tasks WHERE state = 'done'");
            done.first().and_then(|n| n.parse::<u64>().ok()) > Some(30)
        },
    );
    let leader = nodes.leader().expect("a leader");
    let victim = match kill_leader {
        true => leader,
        false => (leader + 1) % NODES.len(),
    };
    let killed = Instant::now();
    nodes.kill(victim);

    if victim == leader {
        wait_until("another leader", Duration::from_secs(60), || {
            nodes.leader().is_some_and(|l| l != victim)
        });
        let took = killed.elapsed();
        eprintln!("failover after {took:?} (lease {LEASE_SECS} s)");
        assert!(
            took <= Duration::from_secs(LEASE_SECS + 10),
            "took {took:?}"
        );
    }
    wait_until("the purge to finish", Duration::from_secs(300), || {
        purged_run(&nodes).is_some()
    });
    let (run, state) = purged_run(&nodes).unwrap();
    assert_eq!(state, "done", "run {run}");
    let open =
        nodes.store_query("SELECT count(*) FROM tasks WHERE state IN ('pending', 'running')");
    assert_eq!(open, ["0"]);
    assert_purged_exactly(&scenario, before, 0);

    // Repeats only as "again", of what the dead node had in hand.
    let (first, _) = attempts(&nodes.audit_entries());
    let twice: Vec<_> = first.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        twice.is_empty(),
        "erased twice without saying so: {twice:?}"
    );

    nodes.start_one(victim);
    assert!(nodes.nodes[victim].running());
    assert_every_chain_verifies(&nodes);
}

#[test]
fn the_leader_killed_in_a_purge_another_daemon_takes_over_and_finishes_it() {
    survives_a_kill(true, "several_daemons::leader_killed");
}

#[test]
fn a_follower_killed_in_a_purge_the_others_finish_its_subjects() {
    survives_a_kill(false, "several_daemons::follower_killed");
}

/// Restarts the state store's PostgreSQL server (`pg_ctl restart -m MODE`) in the middle of
/// a purge and of requests: the daemons wait while it is down and go on when it is back; the
/// purge finishes, every request is carried through, nothing is erased twice unsaid.
fn survives_a_store_restart(mode: &str, test: &str) {
    let cluster = match PgCluster::start() {
        Ok(cluster) => cluster,
        Err(why) => return skip(test, &why),
    };
    cluster.create_database("state");
    let dir = tempfile::tempdir().unwrap();
    let scenario = purge_scenario(dir.path(), Backend::Sqlite, 900);
    slow_erase(&scenario, "crm", 60);
    let before = scenario.db("panel").count("customers", None);
    let lease = format!("{LEASE_SECS}s");
    let mut nodes = Nodes::configure_on(&scenario, &NODES, &lease, &cluster.url("state"));
    nodes.start();
    submit_erasures(&nodes, &scenario, 90);

    wait_until(
        "the purge to be under way",
        Duration::from_secs(120),
        || {
            let done = nodes.store_query("SELECT count(*) FROM tasks WHERE state = 'done'");
            done.first().and_then(|n| n.parse::<u64>().ok()) > Some(30)
        },
    );
    cluster.restart(mode);

    wait_until(
        "the purge and the requests",
        Duration::from_secs(300),
        || purged_run(&nodes).is_some() && no_request_open(&nodes),
    );
    let (run, state) = purged_run(&nodes).unwrap();
    assert_eq!(state, "done", "run {run}");
    assert_purged_exactly(&scenario, before, 90);
    for node in &mut nodes.nodes {
        assert!(
            node.running(),
            "{} stopped when the store restarted",
            node.name
        );
    }
    let (first, _) = attempts(&nodes.audit_entries());
    let twice: Vec<_> = first.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        twice.is_empty(),
        "erased twice without saying so: {twice:?}"
    );
    assert_every_chain_verifies(&nodes);
}

#[test]
fn the_state_store_restarted_fast_mid_purge_the_daemons_wait_and_finish_it() {
    survives_a_store_restart("fast", "several_daemons_failover::restart_fast");
}

#[test]
fn the_state_store_restarted_immediately_mid_purge_the_daemons_wait_and_finish_it() {
    survives_a_store_restart("immediate", "several_daemons_failover::restart_immediate");
}
