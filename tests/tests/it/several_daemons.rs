//! Three `gallra run` daemons on one PostgreSQL state store, as a company runs them on three
//! hosts: they share a purge and hundreds of requests so that each erasure is made once, and
//! when one of them is killed the others take its work over, repeating only what it may have
//! left half-done (and saying so: "again"). Each daemon keeps its own audit chain.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gallra_e2e::http::http;
use gallra_e2e::nodes::Nodes;
use gallra_e2e::requests::slow_erase;
use gallra_e2e::wait::wait_until;
use gallra_e2e::{available, Backend, Scenario};
use serde_json::Value;

const POLICY: &str = "inactive-6-months";
const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];
/// Short leases, so that a takeover comes within the test's patience.
const LEASE_SECS: u64 = 4;

/// A scenario of `customers` in `backend` whose purge runs every 3 seconds.
fn scenario(dir: &std::path::Path, backend: Backend, customers: usize) -> Scenario {
    let scenario = Scenario::build(backend, dir, 31, customers);
    scenario.edit_config(|config| {
        let policy = config["policies"][POLICY].as_table_mut().unwrap();
        policy.insert("schedule".into(), "*/3 * * * * *".into());
    });
    scenario
}

/// Erase and anonymize attempts in every chain: `(actor, system, subject)` → how many entries
/// say the attempt started, counting apart those that say they repeat one ("again").
fn attempts(chains: &BTreeMap<String, Vec<Value>>) -> (BTreeMap<String, u64>, Vec<String>) {
    let (mut first, mut again) = (BTreeMap::new(), Vec::new());
    for (node, entry) in chains
        .iter()
        .flat_map(|(n, es)| es.iter().map(move |e| (n, e)))
    {
        let text = |field: &str| entry[field].as_str().unwrap_or("").to_owned();
        let erasing = matches!(text("action").as_str(), "erase" | "anonymize");
        if !erasing || text("outcome") != "started" {
            continue;
        }
        if text("detail").contains("again") {
            again.push(format!(
                "{node}: {} {} {}",
                text("actor"),
                text("system"),
                text("at")
            ));
            continue;
        }
        let key = format!("{} {} {}", text("actor"), text("system"), entry["subject"]);
        *first.entry(key).or_insert(0) += 1;
    }
    (first, again)
}

/// Every node's entries of the actor that `line` (a key or a repeat of [`attempts`]) names.
fn entries_of(chains: &BTreeMap<String, Vec<Value>>, line: &str) -> Vec<String> {
    let actor = line
        .split(' ')
        .find(|w| w.contains(':') && !w.starts_with("node"))
        .unwrap_or("");
    chains
        .iter()
        .flat_map(|(node, entries)| entries.iter().map(move |e| (node, e)))
        .filter(|(_, e)| e["actor"] == actor)
        .map(|(node, e)| format!("{node} {e}"))
        .collect()
}

/// How many erasures each node's chain records starting.
fn started_per_node(chains: &BTreeMap<String, Vec<Value>>) -> BTreeMap<String, usize> {
    chains
        .iter()
        .map(|(node, entries)| {
            let started = entries.iter().filter(|e| e["outcome"] == "started").count();
            (node.clone(), started)
        })
        .collect()
}

/// The policy's runs in the store, oldest first: (id, state).
fn runs(nodes: &Nodes) -> Vec<(String, String)> {
    nodes
        .store_query(&format!(
            "SELECT id || ' ' || state FROM runs WHERE policy = '{POLICY}' ORDER BY id"
        ))
        .into_iter()
        .map(|row| {
            let (id, state) = row.split_once(' ').unwrap();
            (id.to_owned(), state.to_owned())
        })
        .collect()
}

/// The first run that erased anything, once it finished.
fn purged_run(nodes: &Nodes) -> Option<(String, String)> {
    runs(nodes)
        .into_iter()
        .find(|(_, state)| matches!(state.as_str(), "done" | "failed" | "enforcing"))
        .filter(|(_, state)| state != "enforcing")
}

/// Every expected subject of the purge is gone from the panel, and no one else.
fn assert_purged_exactly(scenario: &Scenario, before: u64, requested: u64) {
    let purged = scenario.expected_purged();
    let expected = purged.len() as u64;
    let ids: Vec<String> = purged.iter().map(i64::to_string).collect();
    let panel = scenario.db("panel");
    let left = panel.count("customers", Some(&format!("id IN ({})", ids.join(","))));
    assert_eq!(left, 0, "purged customers left in the panel");
    let remaining = panel.count("customers", None);
    assert!(
        remaining + expected + requested >= before && remaining + expected <= before,
        "{remaining} customers left of {before}: {expected} purged, {requested} asked for erasure"
    );
}

fn shares_a_purge_and_500_requests(backend: Backend, test: &str) {
    if !available(Backend::Postgres, test) || !available(backend, test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), backend, 1200);
    let before = scenario.db("panel").count("customers", None);
    let mut nodes = Nodes::configure(&scenario, &NODES, &format!("{LEASE_SECS}s"));
    nodes.start();

    // 500 erasure requests, submitted to the three nodes' admin APIs side by side.
    let emails: Vec<String> = (scenario.data.customers().iter())
        .filter(|c| !scenario.expected_purged().contains(&c.panel_id()))
        .take(500)
        .map(|c| c.email().to_owned())
        .collect();
    assert_eq!(emails.len(), 500);
    std::thread::scope(|scope| {
        for (i, node) in nodes.nodes.iter().enumerate() {
            let (socket, emails) = (&node.socket, &emails);
            scope.spawn(move || {
                for email in emails.iter().skip(i).step_by(NODES.len()) {
                    let body =
                        serde_json::json!({ "kind": "erase", "identifiers": { "email": email } });
                    let (status, created) = http(socket, "POST", "/v1/requests", Some(&body));
                    assert_eq!(status, 201, "{created}");
                }
            });
        }
    });

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

/// Each node's chain verifies on its own host (`--node`), and all of them together once
/// collected into one directory, each against its head in the state store.
fn assert_every_chain_verifies(nodes: &Nodes) {
    for node in &nodes.nodes {
        node.gallra()
            .run(&["audit", "verify", "--node", &node.name])
            .expect_code(0);
    }
    let first = nodes.nodes[0].state.join("audit");
    for node in &nodes.nodes[1..] {
        for file in std::fs::read_dir(node.state.join("audit")).unwrap() {
            let file = file.unwrap().path();
            std::fs::copy(&file, first.join(file.file_name().unwrap())).unwrap();
        }
    }
    let all = nodes.nodes[0].gallra().run(&["audit", "verify", "--json"]);
    let report = all.expect_code(0).json();
    assert_eq!(
        report["chains"].as_array().map(Vec::len),
        Some(nodes.nodes.len()),
        "{report}"
    );
}

#[test]
fn three_daemons_share_a_purge_and_500_requests_of_sqlite_systems_each_erased_once() {
    shares_a_purge_and_500_requests(Backend::Sqlite, "several_daemons::sqlite");
}

#[test]
fn three_daemons_share_a_purge_and_500_requests_of_postgres_systems_each_erased_once() {
    shares_a_purge_and_500_requests(Backend::Postgres, "several_daemons::postgres");
}

/// Kills the leader (or, `leader` false, a node that follows) with SIGKILL in the middle of a
/// purge, and checks that the others finish it: a new leader within a lease and a tick, every
/// subject erased, repeats only where the dead node may have left off, every chain intact.
fn survives_a_kill(kill_leader: bool, test: &str) {
    if !available(Backend::Postgres, test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), Backend::Sqlite, 900);
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
