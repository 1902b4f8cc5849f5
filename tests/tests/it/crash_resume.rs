//! A run killed with SIGKILL part-way, then run again, ends exactly where an uninterrupted
//! run ends: nothing lost, nothing erased that should stay, nothing harmful done twice.

use std::time::{Duration, Instant};

use gallra_e2e::crash::kill_after;
use gallra_e2e::{available, now, Backend, Gallra, Scenario};

/// A small seeded generator, so a failing kill schedule can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next_millis(&mut self, max: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % max
    }
}

/// Whether the state store holds a run that was stopped while erasing.
fn erasing(scenario: &Scenario) -> bool {
    let path = scenario.dir.join("state/state.db");
    let Ok(db) =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return false;
    };
    db.query_row(
        "SELECT COUNT(*) FROM runs WHERE state = 'enforcing'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .unwrap_or(false)
}

/// Waits until the child has started erasing (or has exited).
fn wait_for_erasing(scenario: &Scenario, child: &mut std::process::Child) {
    while child.try_wait().unwrap().is_none() && !erasing(scenario) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn killed_runs_end_like_an_uninterrupted_run(backend: Backend, seed: u64) {
    if !available(backend, "killed_runs_end_like_an_uninterrupted_run") {
        return;
    }
    let at = now();
    let customers = 3000;
    let calm_dir = tempfile::tempdir().unwrap();
    let calm = Scenario::build_at(backend, calm_dir.path(), 21, customers, at.clone());
    Gallra::new(&calm.config)
        .run(&["run", "--once"])
        .expect_code(0);
    let expected = calm.snapshot();

    let dir = tempfile::tempdir().unwrap();
    let crashed = Scenario::build_at(backend, dir.path(), 21, customers, at);
    let gallra = Gallra::new(&crashed.config);
    let mut rng = Lcg(seed);
    let (mut kills, mut kills_while_erasing) = (0, 0);
    for attempt in 0..20 {
        let mut child = gallra.spawn(&["run", "--once"]);
        let started = Instant::now();
        if attempt == 0 {
            // The first run scans before it erases: let it get to the erasing.
            wait_for_erasing(&crashed, &mut child);
        }
        if !kill_after(&mut child, Duration::from_millis(20 + rng.next_millis(400))) {
            break; // it finished: nothing left to interrupt
        }
        kills += 1;
        if erasing(&crashed) {
            kills_while_erasing += 1;
        }
        eprintln!("kill {kills} after {:?}", started.elapsed());
    }
    eprintln!("{kills} runs killed, {kills_while_erasing} while erasing (seed {seed})");
    assert!(
        kills_while_erasing > 0,
        "no kill landed while erasing; the schedule missed"
    );

    gallra.run(&["run", "--once"]).expect_code(0);
    assert_eq!(
        crashed.snapshot(),
        expected,
        "the killed-and-resumed systems differ from the uninterrupted ones"
    );
    gallra.run(&["run", "--once"]).expect_code(0);
    assert_eq!(
        crashed.snapshot(),
        expected,
        "a run after recovery changed data"
    );
}

#[test]
fn killed_runs_end_like_an_uninterrupted_run_in_sqlite() {
    killed_runs_end_like_an_uninterrupted_run(Backend::Sqlite, 0x5eed);
}

#[test]
fn killed_runs_end_like_an_uninterrupted_run_in_mariadb() {
    killed_runs_end_like_an_uninterrupted_run(Backend::Mysql, 0xfeed);
}

/// A run stopped after it had erased subjects everywhere, account source included, but before
/// it recorded a single outcome (a kill, a full disk) is resumed: each such subject's tasks
/// are done again ("again"), and the fresh re-check, which finds nothing left that reports an
/// activity time, carries the erasure on and records it done instead of keeping a subject
/// half-erased that no later run would find (`runner::recheck::recheck_many`, `continuing`).
#[test]
fn a_resumed_run_whose_subjects_are_already_gone_everywhere_records_them_done_not_kept() {
    let (_dir, scenario) = Scenario::sqlite(23, 200);
    let gallra = Gallra::new(&scenario.config);
    let mut child = gallra.spawn(&["run", "--once"]);
    wait_for_erasing(&scenario, &mut child);
    let _ = child.kill();
    let _ = child.wait();
    let state = rusqlite::Connection::open(scenario.dir.join("state/state.db")).unwrap();
    let open: Vec<i64> = {
        let mut stmt = state
            .prepare("SELECT DISTINCT subject_key FROM tasks WHERE state IN ('pending', 'running')")
            .unwrap();
        let keys = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        keys.map(|k| k.unwrap().parse().unwrap()).collect()
    };
    assert!(
        open.len() > 5,
        "the kill left subjects to do: {}",
        open.len()
    );
    // As the interrupted attempt would have left them: gone from every system, every task
    // still marked running under no live lease.
    for customer in scenario.data.customers() {
        if !open.contains(&customer.panel_id()) {
            continue;
        }
        let panel = customer.panel_id();
        scenario.db("panel").execute(&[
            format!("DELETE FROM services WHERE customer_id = {panel}"),
            format!("DELETE FROM customers WHERE id = {panel}"),
        ]);
        let billing = customer.billing_id();
        scenario.db("billing").execute(&[
            format!("DELETE FROM invoices WHERE client_id = {billing}"),
            format!("DELETE FROM clients WHERE id = {billing}"),
        ]);
        if let Some(crm) = customer.crm_id() {
            scenario.db("crm").execute(&[
                format!("DELETE FROM notes WHERE person_id = {crm}"),
                format!("DELETE FROM people WHERE id = {crm}"),
            ]);
        }
    }
    state
        .execute(
            "UPDATE tasks SET state = 'running', lease_node = NULL, lease_until = NULL
             WHERE state IN ('pending', 'running')",
            [],
        )
        .unwrap();
    drop(state);

    gallra.run(&["run", "--once"]).expect_code(0);
    let state = rusqlite::Connection::open(scenario.dir.join("state/state.db")).unwrap();
    let kept: i64 = state
        .query_row(
            "SELECT count(*) FROM tasks WHERE state <> 'done'
                AND subject_key IN (SELECT subject_key FROM tasks WHERE detail LIKE 'again%')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let again: i64 = state
        .query_row(
            "SELECT count(*) FROM tasks WHERE detail LIKE 'again%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(again > 5, "the resumed tasks say so: {again}");
    assert_eq!(
        kept, 0,
        "a subject already gone everywhere was kept, not recorded done"
    );
}
