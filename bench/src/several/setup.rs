//! What every run of the workload starts from: the three test APIs, the account source, a
//! fresh state store database, and the config each daemon runs on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::config::{self, HttpSystem};
use crate::postgres_db::{self, Server};
use crate::propagation::apis::{self, Api};
use crate::propagation::submit;
use crate::requests::admin::Api as AdminApi;

/// How long each test API takes to answer: what binds, far above gallra's own cost.
pub const LATENCY: Duration = Duration::from_millis(50);
/// Requests each API admits in a second: far above what three daemons ask, so it never binds.
pub const LIMIT_PER_SEC: usize = 10_000;
/// Calls each daemon may have in flight per system (`concurrency`), the same on every daemon:
/// as many as the requests one daemon works at once, so that it does not bind either.
pub const CONCURRENCY: u32 = 16;
/// The state store's database on the server given with `--postgres`.
pub const STORE_DB: &str = "gallra_bench_several";
/// The account source, in gallra.toml.
const SOURCE: &str = "panel";
/// Threads submitting requests, the same whatever the number of daemons.
const SUBMITTERS: usize = 3;

/// One run's world.
pub struct World {
    pub apis: Vec<Api>,
    pub source: PathBuf,
    store_url: String,
    url_file: PathBuf,
    token: PathBuf,
}

impl World {
    /// Three APIs and an account source with `n` customers, and an empty state store.
    pub fn prepare(server: &Server, dir: &Path, n: usize) -> Result<World> {
        let apis = apis::start_with(n, LATENCY, LIMIT_PER_SEC)?;
        let source = dir.join("panel.db");
        submit::create_account_source(&source, n)?;
        server.create_empty(STORE_DB)?;
        let store_url = server.url_of(STORE_DB);
        let url_file = dir.join("state-store.url");
        postgres_db::write_url_file(&url_file, &store_url)?;
        let token = dir.join("api.token");
        config::secret(&token, gallra_testkit::rest::TOKEN)?;
        Ok(World {
            apis,
            source,
            store_url,
            url_file,
            token,
        })
    }

    pub fn store_url(&self) -> &str {
        &self.store_url
    }

    /// The config of daemon `node`, keeping its state in `state_dir` and leases of `lease`.
    pub fn config(&self, state_dir: &Path, node: &str, lease: &str) -> String {
        let mut text = config::header(state_dir, SOURCE);
        text += &config::plain_account_source(SOURCE, &self.source);
        for api in &self.apis {
            text += &config::http_system(&HttpSystem {
                name: api.name,
                base_url: &api.rest.base_url(),
                token_file: &self.token,
                concurrency: CONCURRENCY,
                rate_per_sec: LIMIT_PER_SEC as u32,
            });
        }
        text + &config::state_store(&self.url_file, node, lease)
    }
}

/// Submits an erasure request for customers 1 to `n` through the admin APIs, request `i` to
/// daemon `i mod daemons`, from [`SUBMITTERS`] threads whatever the number of daemons.
/// Returns how long it took.
pub fn submit_all(daemons: &[AdminApi], n: usize) -> Result<Duration> {
    let started = Instant::now();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..SUBMITTERS)
            .map(|t| {
                scope.spawn(move || -> Result<()> {
                    for id in (1..=n).skip(t).step_by(SUBMITTERS) {
                        daemons[id % daemons.len()]
                            .submit("erase", &submit::email(id))
                            .with_context(|| format!("submitting customer {id}'s erasure"))?;
                    }
                    Ok(())
                })
            })
            .collect();
        threads
            .into_iter()
            .try_for_each(|t| t.join().expect("a submitting thread panicked"))
    })?;
    Ok(started.elapsed())
}

/// Polls until `done` says so, at most `patience`.
pub fn wait_for(
    what: &str,
    patience: Duration,
    mut done: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let started = Instant::now();
    while !done()? {
        if started.elapsed() > patience {
            bail!("{what}: not within {} s", patience.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
