//! The store's connections, each owned by a worker thread of its own.
//!
//! Why threads: `postgres::Client` is a synchronous wrapper that drives its connection with a
//! small tokio runtime of its own, and it panics ("Cannot start a runtime from within a
//! runtime") when called on a thread that is inside another runtime. The daemon calls the
//! store synchronously from async fns and from `spawn_blocking` threads, i.e. from inside its
//! runtime. So no caller's thread ever touches a `Client`: each connection lives on a plain
//! std thread, which takes jobs (a boxed `FnOnce(&mut Connection)`) from one shared channel
//! and answers each on a one-shot channel of the caller's. A caller blocks on that answer,
//! which is what a synchronous store call does anyway.
//!
//! Why hand-written: the sync pool crates (r2d2 and its `r2d2_postgres`) hand the `Client` to
//! the caller's thread, which is exactly what panics inside a runtime, and are barely kept up;
//! the async ones (deadpool, bb8) would make every store call async. Forty lines of channels
//! do what is needed.
//!
//! A connection is opened on its worker's first job and opened again after it broke (the
//! server restarted, an administrator ended the session): the job that found it broken
//! fails, and every worker opens a new connection before its next job, since a restarted
//! server broke theirs too. So one call fails, and the next works.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use postgres::{Client, Config, NoTls};

/// One unit of work for a worker: it answers its caller itself.
pub(super) type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// How each worker opens its connection.
pub(super) struct Setup {
    /// The server and user, from the URL.
    pub config: Config,
    /// The schema every statement works in (`search_path`), if not the server's default.
    pub schema: Option<String>,
    /// Counts the broken connections found: a worker whose connection is older opens anew.
    pub generation: AtomicU64,
}

/// A worker's connection, open or to be opened.
pub(super) struct Connection {
    setup: Arc<Setup>,
    client: Option<Client>,
    /// The [`Setup::generation`] when it was opened.
    generation: u64,
}

impl Connection {
    /// The open connection, opening it first if there is none.
    pub(super) fn client(&mut self) -> Result<&mut Client, postgres::Error> {
        let now = self.setup.generation.load(Ordering::Acquire);
        if self.generation != now || self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        if self.client.is_none() {
            self.generation = now;
            self.client = Some(open(&self.setup)?);
        }
        Ok(self.client.as_mut().expect("opened above"))
    }

    /// Drops the connection (a job found it broken), so that the next job opens a new one.
    /// The other workers' connections are taken to be broken too.
    pub(super) fn reset(&mut self) {
        if self.client.take().is_some() {
            tracing::warn!(
                "PostgreSQL state store: a connection broke; the next call opens a new one"
            );
            // Once per breakage, not once per worker that notices it.
            let (was, next) = (self.generation, self.generation + 1);
            let _ = self.setup.generation.compare_exchange(
                was,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// Forgets a connection found closed, so that the next job opens a new one.
    fn check(&mut self) {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.reset();
        }
    }
}

fn open(setup: &Setup) -> Result<Client, postgres::Error> {
    let mut client = setup.config.connect(NoTls)?;
    if let Some(schema) = &setup.schema {
        client.batch_execute(&format!("SET search_path TO {}", quote(schema)))?;
    }
    Ok(client)
}

/// `name` as an SQL identifier.
pub(super) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The worker threads and the channel that feeds them.
pub(super) struct Pool {
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `size` workers, none connected yet.
    pub(super) fn start(setup: Setup, size: usize) -> std::io::Result<Pool> {
        let setup = Arc::new(setup);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut workers = Vec::with_capacity(size);
        for n in 0..size.max(1) {
            let (setup, queue) = (setup.clone(), queue.clone());
            let worker = std::thread::Builder::new()
                .name(format!("gallra-pg-{n}"))
                .spawn(move || work(setup, &queue))?;
            workers.push(worker);
        }
        Ok(Pool {
            jobs: Some(jobs),
            workers,
        })
    }

    /// Runs `job` on a worker and waits for its answer; `None` if no worker is left.
    pub(super) fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Connection) -> T + Send + 'static,
    ) -> Option<T> {
        let (answer, answered) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn| {
            let _ = answer.send(job(conn));
        });
        self.jobs.as_ref()?.send(job).ok()?;
        answered.recv().ok()
    }
}

impl Drop for Pool {
    /// Closing the channel stops the workers once their jobs are done; waiting for them
    /// closes every connection before the store is gone.
    fn drop(&mut self) {
        self.jobs = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn work(setup: Arc<Setup>, queue: &Mutex<Receiver<Job>>) {
    let mut conn = Connection {
        setup,
        client: None,
        generation: 0,
    };
    loop {
        // The lock is held only while waiting: whoever gets the next job lets go at once.
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else {
            return;
        };
        // A job that panicked dropped its answer, so its caller hears of it. The connection
        // may be mid-transaction: start again with a new one.
        if catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
            conn.client = None;
        }
        conn.check();
    }
}
