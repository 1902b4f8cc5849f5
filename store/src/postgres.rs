//! The PostgreSQL backend: the same tables as SQLite's, in one schema of one database, which
//! several daemons (nodes) may share.
//!
//! Calls: each store call is a job for one of a few worker threads, each owning a connection
//! (see [`pool`] for why: `postgres::Client` panics inside a tokio runtime). A call blocks
//! until its job is done, as a synchronous store call does; up to [`CONNECTIONS`] run at once.
//!
//! Concurrency: SQLite lets one writer in at a time; PostgreSQL does not, and several nodes
//! write at once. Every write is one transaction at READ COMMITTED, and each one that reads
//! before it writes locks what it read: a task is claimed with `FOR UPDATE SKIP LOCKED`, so
//! that two nodes never both take it; a request is locked before its tasks change, so that a
//! cancel is never written over; a run is locked before its identifiers are forgotten, so
//! that no task is made meanwhile. A transaction that deadlocks runs again.
//!
//! Privacy: identifiers dropped by `forget_identifiers` and its siblings are set to NULL; the
//! old row versions stay in the table's pages until VACUUM (autovacuum, soon after) reclaims
//! them. Errors and logs name the server, database and schema, never the password, and never
//! quote a value.

use std::sync::Arc;
use std::time::Duration;

use postgres::config::Host;
use postgres::{Client, Config, GenericClient, Transaction};

use self::fail::{is_broken, is_retryable, store_error, Fail, Step};
use self::pool::{Pool, Setup};
use crate::{Lease, Result, RunId, StoreError};

/// How many connections (and worker threads) one store handle opens at most.
pub const CONNECTIONS: usize = 4;

/// Used when the URL sets no `connect_timeout`: an unreachable server must fail fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a transaction that lost a race (deadlock, serialization) runs again.
const RETRIES: u32 = 5;

/// The state store in a PostgreSQL database. Cheap to call from any thread, also from inside
/// a tokio runtime: the connections live on threads of their own.
pub struct PostgresStore {
    ctx: Arc<Ctx>,
    pool: Pool,
}

/// What every job may need besides its connection.
pub(super) struct Ctx {
    /// `host:port/dbname` and the schema, for messages.
    database: String,
    /// The leases this handle takes on the tasks it starts.
    lease: Lease,
}

impl Ctx {
    fn no_such_run(&self, run: RunId) -> Fail {
        Fail::Store(StoreError::NoSuchRun {
            path: self.database.clone().into(),
            run,
        })
    }

    /// Fails with [`StoreError::NoSuchRun`] unless `run` exists; `lock` also locks it
    /// against changes (and against new tasks) until the transaction ends.
    fn ensure_run(&self, tx: &mut impl GenericClient, run: RunId, lock: bool) -> Step<()> {
        let sql = match lock {
            true => "SELECT 1 FROM runs WHERE id = $1 FOR UPDATE",
            false => "SELECT 1 FROM runs WHERE id = $1",
        };
        match tx.query_opt(sql, &[&run.0])? {
            Some(_) => Ok(()),
            None => Err(self.no_such_run(run)),
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:5432/db`, or the key=value
    /// form `host=… user=… dbname=…`), in the schema the server's `search_path` gives, and
    /// brings its tables up to date. A schema written by a newer gallra is refused with
    /// [`StoreError::TooNew`].
    pub fn connect(url: &str) -> Result<PostgresStore> {
        Self::open(url, None)
    }

    /// The same, in `schema`, which is made if missing; every connection works in it (its
    /// `search_path`). One database can so hold several stores.
    pub fn connect_schema(url: &str, schema: &str) -> Result<PostgresStore> {
        Self::open(url, Some(schema))
    }

    fn open(url: &str, schema: Option<&str>) -> Result<PostgresStore> {
        let (config, database) = parse_url(url, schema)?;
        let setup = Setup {
            config,
            schema: schema.map(str::to_owned),
            generation: Default::default(),
        };
        let pool = Pool::start(setup, CONNECTIONS).map_err(|e| StoreError::Postgres {
            database: database.clone(),
            reason: format!("cannot start the store's connection threads: {e}"),
            check: "is the process out of threads or memory?",
        })?;
        let store = PostgresStore {
            ctx: Arc::new(Ctx {
                database,
                lease: Lease::default(),
            }),
            pool,
        };
        let schema = schema.map(str::to_owned);
        store.call(move |client, ctx| migrations::migrate(client, ctx, schema.as_deref()))?;
        tracing::debug!(database = %store.ctx.database, "PostgreSQL state store open");
        Ok(store)
    }

    /// The same store, taking leases as `lease` says (a node id of its own, a length); by
    /// default this host's name and [`crate::DEFAULT_LEASE`].
    pub fn leasing(self, lease: Lease) -> Self {
        let database = self.ctx.database.clone();
        Self {
            ctx: Arc::new(Ctx { database, lease }),
            ..self
        }
    }

    /// The server, database and schema, as messages name them (never with the password).
    pub fn database(&self) -> &str {
        &self.ctx.database
    }

    /// Runs `job` on a worker's connection. A connection found broken is dropped, so that
    /// this call fails and the next one connects anew.
    fn call<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Client, &Ctx) -> Step<T> + Send + 'static,
    ) -> Result<T> {
        let ctx = self.ctx.clone();
        let answer = self.pool.run(move |conn| {
            let result = conn.client().map_err(Fail::Sql).and_then(|c| job(c, &ctx));
            if matches!(&result, Err(Fail::Sql(e)) if is_broken(e)) {
                conn.reset();
            }
            result
        });
        let database = &self.ctx.database;
        match answer {
            Some(result) => result.map_err(|fail| store_error(database, fail)),
            None => Err(StoreError::Postgres {
                database: database.clone(),
                reason: "the call stopped before it was answered".to_owned(),
                check: "see the log for a panic in a gallra-pg thread",
            }),
        }
    }

    /// Runs `f` in one transaction and commits; runs it again (up to [`RETRIES`] times) if it
    /// lost a race with another transaction, so `f` must do nothing outside it.
    fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&mut Transaction<'_>, &Ctx) -> Step<T> + Send + 'static,
    ) -> Result<T> {
        self.call(move |client, ctx| {
            let mut tries = 0;
            loop {
                let result = client.transaction().map_err(Fail::Sql).and_then(|mut tx| {
                    let value = f(&mut tx, ctx)?;
                    tx.commit()?;
                    Ok(value)
                });
                match result {
                    Err(fail) if is_retryable(&fail) && tries < RETRIES => tries += 1,
                    result => return result,
                }
            }
        })
    }

    /// Runs `f`, a read, on a connection of its own: each statement sees what was committed
    /// when it began.
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client, &Ctx) -> Step<T> + Send + 'static,
    ) -> Result<T> {
        self.call(f)
    }
}

/// Parses the URL; the label names the server, database and schema, without user or password.
fn parse_url(url: &str, schema: Option<&str>) -> Result<(Config, String)> {
    // The parser's message could quote the URL, password and all: leave it out.
    let mut config: Config = url.parse().map_err(|_| StoreError::Postgres {
        database: "(unreadable URL)".to_owned(),
        reason: "the URL is not a PostgreSQL URL or key=value string".to_owned(),
        check: "write it as postgres://user@host:5432/dbname",
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("gallra");
    }
    // The server's notices (`relation … already exists, skipping` from the migrations'
    // IF NOT EXISTS) would reach every command's stderr as log lines: only warnings.
    if config.get_options().is_none() {
        config.options("-c client_min_messages=warning");
    }
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or_default();
    let label = match schema {
        Some(schema) => format!("{host}:{port}/{db}, schema {schema}"),
        None => format!("{host}:{port}/{db}"),
    };
    Ok((config, label))
}

mod audit_head;
pub(crate) mod copy;
mod fail;
mod migrations;
mod nodes;
mod pool;
mod requests;
mod restore;
mod runs;
mod tasks;
mod tombstones;
mod warnings;
