//! Workload 2, purge vs the raw store: `gallra run --once` enforcing the purge of 50,000
//! subjects from a control panel, a CRM and billing (state store and audit log on), against
//! the floor: the same rows deleted by id in one transaction per database. Both start from
//! the same copy of the data, and must end with the same rows.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Result};

use crate::config::{self, Backend};
use crate::measure;
use crate::plan::{find_u64, thousands};
use crate::postgres_db::{self, Server};
use crate::report::{Figure, Section};
use crate::systems::{self, Population, System, BILLING, CRM, PANEL};
use crate::Harness;

/// Erased in this order (the account source last), as the policy says.
const SYSTEMS: [System; 3] = [CRM, BILLING, PANEL];

/// Calls gallra may have in flight per system (the systems' `concurrency`; 4 is the
/// default). `GALLRA_BENCH_CONCURRENCY` overrides it, to compare.
pub fn concurrency() -> u32 {
    std::env::var("GALLRA_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}

fn population(h: &Harness) -> Population {
    // Half the customers are inactive: 50,000 of 100,000.
    Population {
        subjects: if h.quick { 2_000 } else { 100_000 },
        inactive_per_mille: 500,
    }
}

type Fingerprint = Vec<[(i64, i64); 2]>;

pub fn run_sqlite(h: &Harness) -> Result<Section> {
    let population = population(h);
    let ids = population.inactive_ids();
    let template = h.scratch("purge-sqlite-template")?;
    let started = Instant::now();
    for system in SYSTEMS {
        systems::create_sqlite(&template.join(db_file(system)), system, population)?;
    }
    println!(
        "  generated 3 × {} subjects in {:.1} s",
        population.subjects,
        started.elapsed().as_secs_f64()
    );
    let (mut gallra, mut floor) = (Vec::new(), Vec::new());
    for run in 0..h.runs {
        // gallra
        let dir = h.scratch(&format!("purge-sqlite-gallra-{run}"))?;
        copy_databases(&template, &dir)?;
        let mut config = config::header(&dir.join("state"), "panel");
        for system in SYSTEMS {
            let db = dir.join(db_file(system));
            config += &config::system(system, Backend::Sqlite(&db), concurrency());
        }
        config += &config::inactivity_policy("enforce", &["crm", "billing", "panel"]);
        let secs = run_gallra(h, &dir, &config, ids.len() as u64)?;
        let after_gallra: Fingerprint = SYSTEMS
            .iter()
            .map(|&s| systems::sqlite_fingerprint(&dir.join(db_file(s)), s))
            .collect::<Result<_>>()?;
        check_audit(&dir.join("state"))?;
        h.done_with(&dir);

        // the floor
        let dir = h.scratch(&format!("purge-sqlite-floor-{run}"))?;
        copy_databases(&template, &dir)?;
        let started = Instant::now();
        for system in SYSTEMS {
            systems::sqlite_floor_delete(&dir.join(db_file(system)), system, &ids)?;
        }
        floor.push(started.elapsed().as_secs_f64());
        let after_floor: Fingerprint = SYSTEMS
            .iter()
            .map(|&s| systems::sqlite_fingerprint(&dir.join(db_file(s)), s))
            .collect::<Result<_>>()?;
        h.done_with(&dir);

        same_rows(&after_gallra, &after_floor, population)?;
        println!(
            "  run {}: gallra {secs:.2} s, floor {:.2} s",
            run + 1,
            floor[run]
        );
        gallra.push(secs);
    }
    let figure = figure(population, ids.len(), &gallra, &floor, "SQLite");
    figure.print();
    Ok(h.section(
        "purge-sqlite",
        "2a. Purge vs the raw store: SQLite",
        &method(
            population,
            ids.len(),
            "three SQLite files (WAL, default `synchronous`)",
            "\
         the harness deleting the same rows by id through rusqlite, with prepared statements, \
         one transaction per database",
        ),
        vec![figure],
    ))
}

pub fn run_postgres(h: &Harness) -> Result<Section> {
    let population = population(h);
    let ids = population.inactive_ids();
    let server = Server::new(&h.postgres);
    let started = Instant::now();
    for system in SYSTEMS {
        server.create_template(system, population)?;
    }
    println!(
        "  generated 3 × {} subjects in {:.1} s",
        population.subjects,
        started.elapsed().as_secs_f64()
    );
    let (mut gallra, mut floor) = (Vec::new(), Vec::new());
    let result = (|| -> Result<()> {
        for run in 0..h.runs {
            let dir = h.scratch(&format!("purge-postgres-{run}"))?;
            let mut config = config::header(&dir.join("state"), "panel");
            for system in SYSTEMS {
                let database = server.clone_fresh(system)?;
                let url_file = dir.join(format!("{}.url", system.name));
                postgres_db::write_url_file(&url_file, &server.url_of(&database))?;
                config += &config::system(system, Backend::Postgres(&url_file), concurrency());
            }
            config += &config::inactivity_policy("enforce", &["crm", "billing", "panel"]);
            let secs = run_gallra(h, &dir, &config, ids.len() as u64)?;
            let after_gallra: Fingerprint = SYSTEMS
                .iter()
                .map(|&s| server.fingerprint(&format!("gallra_bench_{}", s.name), s))
                .collect::<Result<_>>()?;
            check_audit(&dir.join("state"))?;
            h.done_with(&dir);

            let mut databases = Vec::new();
            for system in SYSTEMS {
                databases.push(server.clone_fresh(system)?);
            }
            let started = Instant::now();
            for (system, database) in SYSTEMS.iter().zip(&databases) {
                server.floor_delete(database, *system, &ids)?;
            }
            floor.push(started.elapsed().as_secs_f64());
            let after_floor: Fingerprint = SYSTEMS
                .iter()
                .zip(&databases)
                .map(|(&s, d)| server.fingerprint(d, s))
                .collect::<Result<_>>()?;
            same_rows(&after_gallra, &after_floor, population)?;
            println!(
                "  run {}: gallra {secs:.2} s, floor {:.2} s",
                run + 1,
                floor[run]
            );
            gallra.push(secs);
        }
        Ok(())
    })();
    server.drop_all(&SYSTEMS)?;
    result?;
    let figure = figure(population, ids.len(), &gallra, &floor, "PostgreSQL");
    figure.print();
    Ok(h.section(
        "purge-postgres",
        "2b. Purge vs the raw store: PostgreSQL",
        &method(
            population,
            ids.len(),
            "three databases on the local PostgreSQL server",
            "\
         the harness deleting the same rows with `DELETE … WHERE id = ANY($1)` (children, then \
         subjects), one transaction per database",
        ),
        vec![figure],
    ))
}

fn figure(
    population: Population,
    purged: usize,
    gallra: &[f64],
    floor: &[f64],
    what: &str,
) -> Figure {
    let _ = population;
    Figure::new(
        format!("purge {} subjects, {what}: time", thousands(purged as u64)),
        "s",
        gallra,
    )
    .floor("same rows by id, 1 tx per db", floor, Some(2.0))
}

fn method(population: Population, purged: usize, stores: &str, floor: &str) -> String {
    format!(
        "`gallra run --once` (release build) enforcing a 6-month inactivity policy over {stores}: \
         a control panel (customers, 2 services each), a CRM (people, 3 notes each) and billing \
         (clients, 3 invoices each, an activity-bearing system, so every inactive customer is \
         also asked about there), {} customers of which {} inactive. Every system deletes \
         (`on_erase = \"delete\"`), so the floor deletes exactly the same rows: {floor}. The \
         time is gallra's whole run: scan, decisions and tasks into the state store \
         (`synchronous = FULL`), {} erase calls (concurrency {} per system) and the \
         audit log. After each run the harness checks that gallra and the floor left exactly \
         the same rows (count and id sum per table).",
        thousands(population.subjects),
        thousands(purged as u64),
        thousands(3 * purged as u64),
        concurrency(),
    )
}

/// Runs gallra with `config` in `dir` and returns its wall time, after checking it erased
/// `purged` subjects everywhere.
fn run_gallra(h: &Harness, dir: &Path, config: &str, purged: u64) -> Result<f64> {
    let path = dir.join("gallra.toml");
    std::fs::write(&path, config)?;
    let m = measure::run(
        Command::new(h.gallra())
            .args(["run", "--once", "--json", "--config"])
            .arg(&path),
        0,
    )?;
    let report: serde_json::Value = serde_json::from_str(&m.stdout)
        .map_err(|e| anyhow::anyhow!("gallra run --json printed no JSON ({e}): {}", m.stdout))?;
    let selected = find_u64(&report, "selected");
    ensure!(
        selected == Some(purged),
        "gallra selected {selected:?} subjects, not {purged}: {}",
        m.stdout
    );
    let done: u64 = ["crm", "billing", "panel"]
        .iter()
        .filter_map(|s| {
            report
                .pointer(&format!("/0/tasks/{s}/done"))
                .and_then(|v| v.as_u64())
        })
        .sum();
    let _ = done;
    Ok(m.secs())
}

/// The audit log was on: it has one entry per erase, at least.
fn check_audit(state: &Path) -> Result<()> {
    let dir = state.join("audit");
    let mut lines = 0;
    for entry in std::fs::read_dir(&dir)? {
        lines += std::fs::read_to_string(entry?.path())?.lines().count();
    }
    ensure!(lines > 0, "no audit log in {}", dir.display());
    Ok(())
}

fn same_rows(gallra: &Fingerprint, floor: &Fingerprint, population: Population) -> Result<()> {
    ensure!(
        gallra == floor,
        "gallra and the floor left different rows (count, id sum per table): gallra {gallra:?}, floor {floor:?}"
    );
    let kept = population.subjects - population.inactive_ids().len() as u64;
    for (system, [subjects, _]) in SYSTEMS.iter().zip(floor) {
        ensure!(
            subjects.0 as u64 == kept,
            "{} kept {} subjects, not {kept}",
            system.name,
            subjects.0
        );
    }
    Ok(())
}

fn db_file(system: System) -> String {
    format!("{}.db", system.name)
}

fn copy_databases(from: &Path, to: &Path) -> Result<()> {
    for system in SYSTEMS {
        std::fs::copy(from.join(db_file(system)), to.join(db_file(system)))?;
    }
    Ok(())
}
