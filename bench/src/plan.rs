//! Workload 1, plan at scale: `gallra plan` over a SQLite account source of 10k, 100k and
//! 1M subjects (5% inactive). Time and peak RSS per size, so linear time and flat memory
//! show; the floor is one SQL query reading everything the plan must read.

use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use rusqlite::Connection;

use crate::config::{self, Backend};
use crate::measure;
use crate::report::{Figure, Section};
use crate::systems::{self, Population, PANEL};
use crate::Harness;

pub fn run(h: &Harness) -> Result<Section> {
    let sizes: &[u64] = if h.quick {
        &[10_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    let mut figures = Vec::new();
    for &subjects in sizes {
        let population = Population {
            subjects,
            inactive_per_mille: 50,
        };
        let dir = h.scratch(&format!("plan-{subjects}"))?;
        let db = dir.join("panel.db");
        let started = Instant::now();
        systems::create_sqlite(&db, PANEL, population)?;
        println!(
            "  generated {subjects} subjects in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let config_path = dir.join("gallra.toml");
        let config = config::header(&dir.join("state"), "panel")
            + &config::system(PANEL, Backend::Sqlite(&db), 4)
            + &config::inactivity_policy("report", &["panel"]);
        std::fs::write(&config_path, config)?;
        let expected = population.inactive_ids().len() as u64;

        let (mut secs, mut rss, mut floor) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..h.runs {
            let m = measure::run(
                Command::new(h.gallra())
                    .arg("plan")
                    .arg("--json")
                    .arg("--config")
                    .arg(&config_path),
                0,
            )?;
            let plan: serde_json::Value =
                serde_json::from_str(&m.stdout).context("gallra plan --json printed no JSON")?;
            let (scanned, selected) = (find_u64(&plan, "scanned"), find_u64(&plan, "selected"));
            ensure!(
                scanned == Some(subjects) && selected == Some(expected),
                "gallra plan scanned {scanned:?} and selected {selected:?}; the data has {subjects} subjects of which {expected} inactive"
            );
            secs.push(m.secs());
            rss.push(m.rss_mib());
            floor.push(read_everything(&db)?);
        }
        let size = thousands(subjects);
        let mut time = Figure::new(format!("plan, {size} subjects: time"), "s", &secs).floor(
            "one SQL query reading it all",
            &floor,
            None,
        );
        let mut memory = Figure::new(format!("plan, {size} subjects: peak RSS"), "MiB", &rss);
        if subjects == 1_000_000 {
            time = time.target(3.0);
            memory = memory.target(100.0);
        }
        time.print();
        memory.print();
        figures.extend([time, memory]);
        h.done_with(&dir);
    }
    Ok(h.section(
        "plan",
        "1. Plan at scale",
        "`gallra plan --json` (release build) over a SQLite account source: `customers` plus two \
         `services` rows each, 5% inactive for over a year, indexes as the application would have \
         them. Wall time from spawn to exit and peak RSS from `wait4` (ru_maxrss). The floor is \
         one `SELECT … LEFT JOIN services … GROUP BY` in the harness that reads every column the \
         plan reads; it decides nothing and keeps nothing.",
        figures,
    ))
}

/// Reads every subject with its children's activity, as the plan must; returns seconds.
fn read_everything(db: &std::path::Path) -> Result<f64> {
    let started = Instant::now();
    let conn = Connection::open(db)?;
    let mut stmt = conn.prepare(
        "SELECT c.id, c.email, c.name, c.personnummer, c.phone, c.created_at, c.last_login,
                c.closed_at, max(s.ended_at), sum(s.status = 'active')
         FROM customers c LEFT JOIN services s ON s.customer_id = c.id
         GROUP BY c.id ORDER BY c.id",
    )?;
    let mut rows = stmt.query([])?;
    let mut bytes = 0usize;
    while let Some(row) = rows.next()? {
        for i in 1..9 {
            if let rusqlite::types::ValueRef::Text(t) = row.get_ref(i)? {
                bytes += t.len();
            }
        }
    }
    std::hint::black_box(bytes);
    Ok(started.elapsed().as_secs_f64())
}

/// The first number under `key` anywhere in `value`.
pub fn find_u64(value: &serde_json::Value, key: &str) -> Option<u64> {
    match value {
        serde_json::Value::Object(map) => map
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .or_else(|| map.values().find_map(|v| find_u64(v, key))),
        serde_json::Value::Array(items) => items.iter().find_map(|v| find_u64(v, key)),
        _ => None,
    }
}

pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
