//! What the tests of several daemons check: each erasure started once (or repeated and
//! saying so), the purge complete and exact, every node's audit chain intact.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Nodes;
use crate::http::http;
use crate::scenario::Scenario;
use crate::servers::Backend;

pub const POLICY: &str = "inactive-6-months";
pub const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];
/// Short leases, so that a takeover comes within the test's patience.
pub const LEASE_SECS: u64 = 4;

/// A scenario of `customers` in `backend` whose purge runs every 3 seconds.
pub fn purge_scenario(dir: &std::path::Path, backend: Backend, customers: usize) -> Scenario {
    let scenario = Scenario::build(backend, dir, 31, customers);
    scenario.edit_config(|config| {
        let policy = config["policies"][POLICY].as_table_mut().unwrap();
        policy.insert("schedule".into(), "*/3 * * * * *".into());
    });
    scenario
}

/// Erase and anonymize attempts in every chain: `(actor, system, subject)` → how many entries
/// say the attempt started, counting apart those that say they repeat one ("again").
pub fn attempts(chains: &BTreeMap<String, Vec<Value>>) -> (BTreeMap<String, u64>, Vec<String>) {
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
pub fn entries_of(chains: &BTreeMap<String, Vec<Value>>, line: &str) -> Vec<String> {
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
pub fn started_per_node(chains: &BTreeMap<String, Vec<Value>>) -> BTreeMap<String, usize> {
    chains
        .iter()
        .map(|(node, entries)| {
            let started = entries.iter().filter(|e| e["outcome"] == "started").count();
            (node.clone(), started)
        })
        .collect()
}

/// The policy's runs in the store, oldest first: (id, state).
pub fn runs(nodes: &Nodes) -> Vec<(String, String)> {
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
pub fn purged_run(nodes: &Nodes) -> Option<(String, String)> {
    runs(nodes)
        .into_iter()
        .find(|(_, state)| matches!(state.as_str(), "done" | "failed" | "enforcing"))
        .filter(|(_, state)| state != "enforcing")
}

/// Every expected subject of the purge is gone from the panel, and no one else.
pub fn assert_purged_exactly(scenario: &Scenario, before: u64, requested: u64) {
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

/// Each node's chain verifies on its own host (`--node`), and all of them together once
/// collected into one directory, each against its head in the state store.
pub fn assert_every_chain_verifies(nodes: &Nodes) {
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

/// Submits erasure requests for `n` customers the purge does not select, to the nodes'
/// admin APIs side by side (one thread per node, each taking every third customer).
pub fn submit_erasures(nodes: &Nodes, scenario: &Scenario, n: usize) {
    let purged = scenario.expected_purged();
    let emails: Vec<String> = (scenario.data.customers().iter())
        .filter(|c| !purged.contains(&c.panel_id()))
        .take(n)
        .map(|c| c.email().to_owned())
        .collect();
    assert_eq!(emails.len(), n, "not enough customers");
    let count = nodes.nodes.len();
    std::thread::scope(|scope| {
        for (i, node) in nodes.nodes.iter().enumerate() {
            let (socket, emails) = (&node.socket, &emails);
            scope.spawn(move || {
                for email in emails.iter().skip(i).step_by(count) {
                    let body =
                        serde_json::json!({ "kind": "erase", "identifiers": { "email": email } });
                    let (status, created) = http(socket, "POST", "/v1/requests", Some(&body));
                    assert_eq!(status, 201, "{created}");
                }
            });
        }
    });
}

/// Whether no request is open (each is done, blocked, failed or cancelled).
pub fn no_request_open(nodes: &Nodes) -> bool {
    nodes.store_query("SELECT count(*) FROM requests WHERE state = 'open'") == ["0"]
}
