//! Several `gallra run` daemons sharing one PostgreSQL state store, each with its own state
//! directory (audit chain, keys, exports), config file and admin API socket, as a company runs
//! them on several hosts.

pub mod checks;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::daemon::Daemon;
use crate::gallra::Gallra;
use crate::scenario::Scenario;
use crate::servers::{Backend, TestDb};
use crate::wait::wait_until;

/// One daemon of several.
pub struct Node {
    /// Its name (`[state_store] node`).
    pub name: String,
    /// Its config file.
    pub config: PathBuf,
    /// Its state directory.
    pub state: PathBuf,
    /// Its admin API socket.
    pub socket: PathBuf,
    daemon: Option<Daemon>,
}

impl Node {
    /// `gallra` with this node's config.
    pub fn gallra(&self) -> Gallra {
        Gallra::new(&self.config)
    }

    /// Whether its daemon runs.
    pub fn running(&mut self) -> bool {
        self.daemon.as_mut().is_some_and(Daemon::running)
    }
}

/// Daemons on one state store, stopped (killed) and the store dropped when it goes.
pub struct Nodes {
    /// The daemons, in the order named.
    pub nodes: Vec<Node>,
    /// The state store's URL.
    url: String,
    /// The state store's database, when made here (dropped last).
    _store: Option<TestDb>,
}

impl Nodes {
    /// Writes a config per node (`name.toml` beside the scenario's): the scenario's, with a
    /// state directory and API socket of its own and `[state_store]` on a fresh PostgreSQL
    /// database with leases of `lease`. Starts none.
    pub fn configure(scenario: &Scenario, names: &[&str], lease: &str) -> Nodes {
        let store = TestDb::create(Backend::Postgres, &scenario.dir, "state");
        let url = store.url.clone().unwrap();
        let mut nodes = Self::configure_on(scenario, names, lease, &url);
        nodes._store = Some(store);
        nodes
    }

    /// [`Nodes::configure`] with the state store in the (empty) database at `url`.
    pub fn configure_on(scenario: &Scenario, names: &[&str], lease: &str, url: &str) -> Nodes {
        let url_file = scenario.dir.join("state-store.url");
        std::fs::write(&url_file, url).unwrap();
        std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let base: toml::Table =
            toml::from_str(&std::fs::read_to_string(&scenario.config).unwrap()).unwrap();
        let nodes = names
            .iter()
            .map(|&name| {
                let mut config = base.clone();
                let state = scenario.dir.join(name);
                let socket = scenario.dir.join(format!("{name}.sock"));
                config.insert("state_dir".into(), state.display().to_string().into());
                let api = toml::toml! { socket = (socket.display().to_string()) };
                config.insert("api".into(), api.into());
                let shared = toml::toml! {
                    backend = "postgresql"
                    url_file = (url_file.display().to_string())
                    node = name
                    lease = lease
                };
                config.insert("state_store".into(), shared.into());
                let path = scenario.dir.join(format!("{name}.toml"));
                std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
                Node {
                    name: name.to_owned(),
                    config: path,
                    state,
                    socket,
                    daemon: None,
                }
            })
            .collect();
        Nodes {
            nodes,
            url: url.to_owned(),
            _store: None,
        }
    }

    /// Starts every daemon: the first alone until it has made the keys every node shares
    /// (the audit log's subject key, so that `audit show` finds a person in every chain), which
    /// are then copied to the others' state directories, as the README says to.
    pub fn start(&mut self) {
        self.start_one(0);
        let key = self.nodes[0].state.join("audit.key");
        wait_until("the first node's keys", Duration::from_secs(60), || {
            key.exists()
        });
        for node in &self.nodes[1..] {
            std::fs::create_dir_all(&node.state).unwrap();
            std::fs::set_permissions(&node.state, std::fs::Permissions::from_mode(0o700)).unwrap();
            std::fs::copy(&key, node.state.join("audit.key")).unwrap();
        }
        for i in 1..self.nodes.len() {
            self.start_one(i);
        }
        for node in &self.nodes {
            let socket = node.socket.clone();
            wait_until("every node's API", Duration::from_secs(60), || {
                socket.exists()
            });
        }
    }

    /// Starts node `i`'s daemon (again).
    pub fn start_one(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let _ = std::fs::remove_file(&node.socket);
        node.daemon = Some(Daemon::start(&node.config));
    }

    /// `kill -9` of node `i`'s daemon.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut daemon) = self.nodes[i].daemon.take() {
            daemon.signal("KILL");
            daemon.wait(Duration::from_secs(30));
        }
    }

    /// The node that leads the scheduler now, by the leader row of the store.
    pub fn leader(&self) -> Option<usize> {
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls).ok()?;
        let row = client
            .query_opt(
                "SELECT node FROM leader WHERE lease_until > extract(epoch FROM now())",
                &[],
            )
            .ok()??;
        let name: String = row.get(0);
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Runs `sql` on the state store and gives its rows' first column as text.
    pub fn store_query(&self, sql: &str) -> Vec<String> {
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
        client
            .simple_query(sql)
            .unwrap()
            .into_iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => Some(row.get(0)?.to_owned()),
                _ => None,
            })
            .collect()
    }

    /// Every node's audit entries, by node name.
    pub fn audit_entries(&self) -> BTreeMap<String, Vec<Value>> {
        self.nodes
            .iter()
            .map(|node| (node.name.clone(), entries_in(&node.state.join("audit"))))
            .collect()
    }
}

/// The entries of every audit file in `dir`.
fn entries_in(dir: &Path) -> Vec<Value> {
    let Ok(files) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    files
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .flat_map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}
