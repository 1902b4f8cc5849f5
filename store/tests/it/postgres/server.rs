//! The test server: fresh schemas on it, dropped after each test.

use std::sync::atomic::{AtomicU64, Ordering};

use gallra_store::{Action, Decision, Lease, PostgresStore, RunId, Store};

/// The server the tests use.
pub const URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A schema of its own for one test, dropped with it.
pub struct Schema {
    pub name: String,
}

impl Schema {
    /// A new, empty schema's name; `None` (after saying why) if the server is not there and
    /// `GALLRA_REQUIRE_SERVERS` is not `1`.
    pub fn fresh() -> Option<Schema> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        if let Err(e) = admin(|_| Ok(())) {
            let why = format!("PostgreSQL at 127.0.0.1:5432 (database test) is not reachable: {e}");
            if std::env::var("GALLRA_REQUIRE_SERVERS").as_deref() == Ok("1") {
                panic!("{why} (GALLRA_REQUIRE_SERVERS=1)");
            }
            println!("SKIPPED: {why}");
            return None;
        }
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("gallra_test_{}_{n}", std::process::id());
        Some(Schema { name })
    }

    /// A store on the schema (made by the first), taking leases as `lease` says.
    pub fn open(&self, lease: Lease) -> PostgresStore {
        PostgresStore::connect_schema(URL, &self.name)
            .unwrap()
            .leasing(lease)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name);
        admin(move |client| client.batch_execute(&sql)).unwrap();
    }
}

/// Runs `f` on a connection of its own, on a thread of its own: `postgres::Client` may not
/// be used inside a tokio runtime, and some tests run in one.
pub fn admin<T: Send + 'static>(
    f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send + 'static,
) -> Result<T, postgres::Error> {
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(URL, postgres::NoTls)?;
        f(&mut client)
    })
    .join()
    .expect("the admin connection's thread")
}

/// A run (of slot `SLOT`) with `subjects` selected subjects (`0000`, `0001`, …) and one erase
/// task each in every system of `systems`, in that order.
pub fn selected_run(store: &PostgresStore, subjects: usize, systems: &[&str]) -> RunId {
    let slot = SLOT.parse().unwrap();
    let run = store.begin_run("inactive", "enforce", slot, slot).unwrap();
    let decisions: Vec<Decision> = (0..subjects)
        .map(|i| Decision {
            subject_key: format!("{i:04}"),
            selected: true,
            reason: "inactive".to_owned(),
            identifiers: Vec::new(),
        })
        .collect();
    store.record_decisions(run, &decisions).unwrap();
    let systems: Vec<(String, Action, u32)> = (systems.iter().enumerate())
        .map(|(i, s)| (s.to_string(), Action::Erase, i as u32))
        .collect();
    store.create_tasks_for_selected(run, &systems).unwrap();
    run
}

/// The schedule slot of [`selected_run`]'s runs.
pub const SLOT: &str = "2025-03-01T03:00:00Z";
