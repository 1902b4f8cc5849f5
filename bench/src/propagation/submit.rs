//! Before the timed run: the account source's customers, and their erasure requests
//! submitted the way a person (or a web form's script) submits them, `gallra request erase`.
//!
//! gallra has no bulk intake, and the admin API exists only in daemon mode, whose engine
//! starts each request the moment it arrives, so it could not separate submitting from
//! carrying out. The CLI goes through the same request service as the API; spawning it
//! 5,000 times takes long (~20 ms each, mostly the state store's commit). They run one at a
//! time ([`WORKERS`]): a command that changes the state takes the state directory's lock
//! (README, "One gallra at a time"), and a second one at once exits 2. None of this is timed.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, ensure, Context, Result};
use rusqlite::{params, Connection};

/// `gallra request erase` processes at once: one, as the state directory's lock allows.
pub const WORKERS: usize = 1;

/// The email of customer `id`, as the account source and every API hold it.
pub fn email(id: usize) -> String {
    format!("user{id}@example.test")
}

/// `customers (id, email)` with ids 1 to `n`, indexed as the application would have it.
pub fn create_account_source(db: &Path, n: usize) -> Result<()> {
    let mut conn = Connection::open(db)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL);",
    )?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO customers (id, email) VALUES (?1, ?2)")?;
        for id in 1..=n {
            insert.execute(params![id as i64, email(id)])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("CREATE INDEX customers_email ON customers (lower(trim(email)));")?;
    Ok(())
}

/// Customers still in the account source.
pub fn customers_left(db: &Path) -> Result<u64> {
    let conn = Connection::open(db)?;
    Ok(conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?)
}

/// Submits one erasure request per customer 1 to `n`.
pub fn erase_requests(gallra: &Path, config: &Path, n: usize) -> Result<()> {
    let next = AtomicUsize::new(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let id = next.fetch_add(1, Ordering::Relaxed);
                        if id > n {
                            return Ok(());
                        }
                        submit(gallra, config, id)?;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("a submitting thread panicked"))
    })
}

fn submit(gallra: &Path, config: &Path, id: usize) -> Result<()> {
    let output = Command::new(gallra)
        .args(["request", "erase", "--json", "--config"])
        .arg(config)
        .args(["--email", &email(id)])
        .stdin(Stdio::null())
        .output()
        .context("starting gallra request erase")?;
    if !output.status.success() {
        // Customer numbers only: the address is personal data, even a made-up one.
        bail!(
            "gallra request erase for customer {id} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Requests gallra still has open (`gallra request list`): none, once all are carried out.
pub fn open_requests(gallra: &Path, config: &Path) -> Result<usize> {
    let output = Command::new(gallra)
        .args(["request", "list", "--json", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .output()?;
    ensure!(
        output.status.success(),
        "gallra request list failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("gallra request list --json printed no JSON")?;
    listed
        .as_array()
        .map(Vec::len)
        .context("gallra request list --json printed no list")
}
