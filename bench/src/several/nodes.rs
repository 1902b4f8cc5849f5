//! Several `gallra run` daemons on one PostgreSQL state store, as a company runs them on
//! several hosts (README, "Running several daemons"): each with its own node name, state
//! directory and admin API, all with the first one's `audit.key`, and what the store says
//! about them (who leads, who holds which request, how many are done).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use postgres::{Client, NoTls};
use serde_json::Value;

use crate::requests::admin::{Api, Daemon};

/// One daemon; `None` once it was killed or stopped.
pub struct Node {
    pub name: String,
    state: PathBuf,
    daemon: Option<Daemon>,
}

/// The daemons and a connection to their store. The daemons are killed when it is dropped.
pub struct Nodes {
    pub nodes: Vec<Node>,
    store: Client,
}

/// The name of daemon `i` (`[state_store] node`).
pub fn node_name(i: usize) -> String {
    format!("node-{}", i + 1)
}

impl Nodes {
    /// Starts `n` daemons in `dir/node-I/`, each on `config(state_dir, node)`: the first alone
    /// until it has made its `audit.key`, which is copied into the others' state directories
    /// before they start, as the README says to.
    pub fn start(
        gallra: &Path,
        dir: &Path,
        n: usize,
        store_url: &str,
        config: impl Fn(&Path, &str) -> String,
    ) -> Result<Nodes> {
        let mut nodes = Vec::new();
        for i in 0..n {
            let name = node_name(i);
            let home = dir.join(&name);
            let state = home.join("state");
            std::fs::create_dir_all(&state)?;
            std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700))?;
            if i > 0 {
                let key = nodes_key(&nodes)?;
                std::fs::copy(&key, state.join("audit.key"))
                    .with_context(|| format!("copying {} to {name}", key.display()))?;
            }
            let daemon = Daemon::start(gallra, &home, &config(&state, &name))
                .with_context(|| format!("starting daemon {name}"))?;
            nodes.push(Node {
                name,
                state,
                daemon: Some(daemon),
            });
        }
        let store = Client::connect(store_url, NoTls).context("connecting to the state store")?;
        Ok(Nodes { nodes, store })
    }

    /// The admin APIs of the daemons that run.
    pub fn apis(&self) -> Vec<Api> {
        let running = self.nodes.iter().filter_map(|n| n.daemon.as_ref());
        running.map(|d| d.api.clone()).collect()
    }

    /// The process ids of the daemons that run.
    pub fn pids(&self) -> Vec<u32> {
        let running = self.nodes.iter().filter_map(|n| n.daemon.as_ref());
        running.map(Daemon::pid).collect()
    }

    /// `kill -9` of daemon `i`.
    pub fn kill(&mut self, i: usize) -> Result<()> {
        match self.nodes[i].daemon.take() {
            Some(daemon) => daemon.kill(),
            None => Ok(()),
        }
    }

    /// SIGTERM to every daemon that runs; each must stop cleanly.
    pub fn stop(&mut self) -> Result<()> {
        for node in &mut self.nodes {
            if let Some(daemon) = node.daemon.take() {
                daemon
                    .stop()
                    .with_context(|| format!("stopping {}", node.name))?;
            }
        }
        Ok(())
    }

    /// Transactions committed in the store's database so far (`pg_stat_database`, which the
    /// server updates about once a second and when a connection closes).
    pub fn commits(&mut self) -> Result<i64> {
        let row = self.store.query_one(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )?;
        Ok(row.get(0))
    }

    /// Requests in the store by state: (done, all).
    pub fn done_of_all(&mut self) -> Result<(i64, i64)> {
        let row = self.store.query_one(
            "SELECT count(*) FILTER (WHERE state = 'done'), count(*) FROM requests",
            &[],
        )?;
        Ok((row.get(0), row.get(1)))
    }

    /// Requests not done, by state (e.g. `failed: 2`), for a message.
    pub fn not_done(&mut self) -> Result<String> {
        let rows = self.store.query(
            "SELECT state, count(*) FROM requests WHERE state <> 'done' GROUP BY state",
            &[],
        )?;
        let states: Vec<String> = (rows.iter())
            .map(|r| format!("{}: {}", r.get::<_, String>(0), r.get::<_, i64>(1)))
            .collect();
        Ok(states.join(", "))
    }

    /// The node whose leadership lease is current, by the store's `leader` row.
    pub fn leader(&mut self) -> Result<Option<String>> {
        let row = self.store.query_opt(
            "SELECT node FROM leader WHERE lease_until > extract(epoch FROM now())",
            &[],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The open requests `node` holds a claim on.
    pub fn held_by(&mut self, node: &str) -> Result<Vec<i64>> {
        let rows = self.store.query(
            "SELECT id FROM requests WHERE state = 'open' AND lease_node = $1",
            &[&node],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// How many of `ids` are still open under `node`'s claim (neither done nor taken over).
    pub fn still_held(&mut self, ids: &[i64], node: &str) -> Result<i64> {
        let row = self.store.query_one(
            "SELECT count(*) FROM requests WHERE id = ANY($1) AND state = 'open' AND lease_node = $2",
            &[&ids, &node],
        )?;
        Ok(row.get(0))
    }

    /// Erasures each node's audit chain records done on `system`, in node order: who worked
    /// how many requests.
    pub fn erased_per_node(&self, system: &str) -> Result<Vec<usize>> {
        self.nodes
            .iter()
            .map(|node| {
                let entries = audit_entries(&node.state.join("audit"))?;
                Ok(entries
                    .iter()
                    .filter(|e| {
                        e["system"] == system && e["action"] == "erase" && e["outcome"] == "done"
                    })
                    .count())
            })
            .collect()
    }
}

/// The first node's `audit.key`, once it exists.
fn nodes_key(nodes: &[Node]) -> Result<PathBuf> {
    let key = nodes[0].state.join("audit.key");
    let started = Instant::now();
    while !key.exists() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("{} did not appear within 30 s", key.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(key)
}

/// The entries of every audit file in `dir`.
fn audit_entries(dir: &Path) -> Result<Vec<Value>> {
    let mut entries = Vec::new();
    for file in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = file?.path();
        if path.extension().is_some_and(|e| e == "log") {
            for line in std::fs::read_to_string(&path)?.lines() {
                entries.push(
                    serde_json::from_str(line)
                        .with_context(|| format!("an entry of {}", path.display()))?,
                );
            }
        }
    }
    Ok(entries)
}
