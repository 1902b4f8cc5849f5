//! Workload 6, requests through the admin API: erasure and export requests submitted to
//! `gallra run` (daemon mode) with `POST /v1/requests`, as a control panel submits them,
//! and followed with `GET` until done, on a shop in PostgreSQL with 100,000 customers and
//! 300,000 invoices. An erasure nulls the customer's personal columns and the billing fields
//! of their invoices (`on_erase = "anonymize"` on both tables); an export writes
//! everything the shop holds about the customer.
//!
//! Measured with the recommended index on `lower(trim(email))` (the expression the sql
//! connector matches on) and without it (the shop's own `UNIQUE (email)` only): one request
//! at a time, 100 submitted at once, and the daemon's RSS after each of 20 bursts of 100.
//! Every answer is checked before it counts: each request reached `done`, each erased
//! customer's rows hold no personal data and nobody else's changed, each export holds the
//! customer's rows.

pub(crate) mod admin;
mod shop;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::config;
use crate::machine;
use crate::plan::thousands;
use crate::postgres_db::{self, Server};
use crate::purge::concurrency;
use crate::report::{Figure, Section};
use crate::stats::Summary;
use crate::systems::{Population, INVOICES_PER_SUBJECT, SHOP};
use crate::Harness;

use admin::{Api, Daemon};
use shop::Customers;

/// How much of everything, full size or `--quick`.
struct Sizes {
    customers: u64,
    /// Requests timed one at a time, per kind.
    singles: usize,
    /// Requests submitted at once, per kind.
    at_once: usize,
    bursts: usize,
    /// Requests per burst, half erasures and half exports.
    burst: usize,
}

impl Sizes {
    fn of(h: &Harness) -> Sizes {
        if h.quick {
            Sizes {
                customers: 2_000,
                singles: 3,
                at_once: 20,
                bursts: 3,
                burst: 20,
            }
        } else {
            Sizes {
                customers: 100_000,
                singles: 15,
                at_once: 100,
                bursts: 20,
                burst: 100,
            }
        }
    }
}

/// The targets of issue 15, for the recommended index at full size.
const ONE_ERASURE_MS: f64 = 10.0;
const ERASURES_AT_ONCE_S: f64 = 0.8;
const EXPORTS_AT_ONCE_S: f64 = 0.4;
const RSS_SPREAD_MIB: f64 = 2.0;

/// How often the harness asks whether a request is done: each ask is an API call that
/// competes with gallra for the cores, so one request is asked about every millisecond
/// (its time is to the millisecond) and a burst, with one list call, every 5 ms.
const POLL_ONE: Duration = Duration::from_millis(1);
const POLL_MANY: Duration = Duration::from_millis(5);
/// Longer than this for one phase is a hang, not a slow answer.
const PATIENCE: Duration = Duration::from_secs(600);

/// With or without the recommended index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Index {
    With,
    Without,
}

impl Index {
    fn label(self) -> &'static str {
        match self {
            Index::With => "with the index",
            Index::Without => "without the index",
        }
    }

    fn dir_name(self) -> &'static str {
        match self {
            Index::With => "indexed",
            Index::Without => "plain",
        }
    }
}

/// What one run with one index came to.
#[derive(Default)]
struct Run {
    erase_ms: Vec<f64>,
    export_ms: Vec<f64>,
    floor_ms: Vec<f64>,
    erase_at_once_s: f64,
    export_at_once_s: f64,
    /// Daemon RSS after each burst (with the index only).
    burst_rss: Vec<f64>,
    warned: bool,
}

pub fn run(h: &Harness) -> Result<Section> {
    h.require_plugin("sql")?;
    let sizes = Sizes::of(h);
    let server = Server::new(&h.postgres);
    let started = Instant::now();
    server.create_template(
        SHOP,
        Population {
            subjects: sizes.customers,
            inactive_per_mille: 0,
        },
    )?;
    println!(
        "  generated {} customers and {} invoices in {:.1} s",
        thousands(sizes.customers),
        thousands(sizes.customers * INVOICES_PER_SUBJECT),
        started.elapsed().as_secs_f64()
    );
    let mut runs: Vec<(Index, Run)> = Vec::new();
    let mut loads = Vec::new();
    let result = (|| -> Result<()> {
        for run in 0..h.runs {
            for index in [Index::With, Index::Without] {
                let one = one_run(h, &server, &sizes, index, run)?;
                print_run(run, index, &sizes, &one);
                runs.push((index, one));
                loads.push(machine::load_average()?);
            }
        }
        Ok(())
    })();
    server.drop_all(&[SHOP])?;
    result?;
    let figures = figures(h, &sizes, &runs);
    for f in &figures {
        f.print();
    }
    Ok(h.section(
        "requests",
        "6. Requests through the admin API",
        &method(&sizes, &runs, &loads),
        figures,
    ))
}

/// A fresh copy of the shop, a daemon on it, and every phase timed and checked.
fn one_run(h: &Harness, server: &Server, sizes: &Sizes, index: Index, run: usize) -> Result<Run> {
    let dir = h.scratch(&format!("requests-{run}-{}", index.dir_name()))?;
    let database = server.clone_fresh(SHOP)?;
    let mut db = server.connect(&database)?;
    if index == Index::Without {
        shop::drop_index(&mut db)?;
    }
    let url_file = dir.join("shop.url");
    postgres_db::write_url_file(&url_file, &server.url_of(&database))?;
    let config = config::header(&dir.join("state"), SHOP.name)
        + &config::shop_system(&url_file, concurrency());
    let daemon = Daemon::start(&h.gallra(), &dir, &config)?;
    let exports = dir.join("state").join("exports");
    let mut customers = Customers::new();
    let mut out = Run {
        warned: daemon.log().contains("CREATE INDEX"),
        ..Run::default()
    };
    let api = &daemon.api;

    // One of each first, untimed: connections opened, plugin warmed.
    for kind in ["erase", "export"] {
        let ids = customers.take(1, kind == "erase");
        one_request(api, kind, ids[0], &exports)?;
    }
    for _ in 0..sizes.singles {
        let ids = customers.take(1, true);
        out.erase_ms
            .push(one_request(api, "erase", ids[0], &exports)?);
        let ids = customers.take(1, false);
        out.export_ms
            .push(one_request(api, "export", ids[0], &exports)?);
    }
    let erased = customers.take(sizes.at_once, true);
    out.erase_at_once_s = at_once(api, &erased, &[], &exports)?;
    shop::check_erased(&mut db, &erased)?;
    let exported = customers.take(sizes.at_once, false);
    out.export_at_once_s = at_once(api, &[], &exported, &exports)?;

    if index == Index::With {
        for _ in 0..sizes.bursts {
            let erased = customers.take(sizes.burst / 2, true);
            let exported = customers.take(sizes.burst - sizes.burst / 2, false);
            at_once(api, &erased, &exported, &exports)?;
            out.burst_rss.push(daemon.rss_mib()?);
        }
    }
    daemon.stop()?;

    out.floor_ms = shop::floor_erasures(&mut db, &customers.take(sizes.singles, true))?;
    shop::check_rest(&mut db, &customers, sizes.customers)?;
    drop(db);
    h.done_with(&dir);
    Ok(out)
}

/// Submits one request for customer `id` and follows it to done: its time in milliseconds,
/// after its answer is checked.
fn one_request(api: &Api, kind: &str, id: i64, exports: &Path) -> Result<f64> {
    let started = Instant::now();
    let request = api.submit(kind, &shop::email(id))?;
    loop {
        let view = api.show(request)?;
        match view["state"].as_str() {
            Some("open") | Some("blocked") => {}
            Some("done") => break,
            other => bail!("{kind} request {request} ended {other:?}: {view}"),
        }
        ensure!(
            started.elapsed() < PATIENCE,
            "{kind} request {request} not done after {} s",
            PATIENCE.as_secs()
        );
        std::thread::sleep(POLL_ONE);
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if kind == "export" {
        check_export(exports, request, id)?;
    }
    Ok(ms)
}

/// Submits an erasure for each of `erase` and an export for each of `export`, all at once
/// (one connection each), and waits until none is open: the seconds from the first
/// submission to the last request done, after every answer is checked.
fn at_once(api: &Api, erase: &[i64], export: &[i64], exports: &Path) -> Result<f64> {
    let started = Instant::now();
    let requests: Vec<(&str, i64, i64)> = std::thread::scope(|scope| {
        let submitting: Vec<_> = erase
            .iter()
            .map(|&id| ("erase", id))
            .chain(export.iter().map(|&id| ("export", id)))
            .map(|(kind, id)| {
                scope.spawn(move || -> Result<(&str, i64, i64)> {
                    Ok((kind, id, api.submit(kind, &shop::email(id))?))
                })
            })
            .collect();
        submitting
            .into_iter()
            .map(|s| s.join().expect("a submitting thread panicked"))
            .collect::<Result<_>>()
    })?;
    loop {
        let open = api.open()?;
        if let Some(failed) = open.iter().find(|r| r["state"] == "failed") {
            bail!("a request failed: {failed}");
        }
        if open.is_empty() {
            break;
        }
        ensure!(
            started.elapsed() < PATIENCE,
            "{} requests still open after {} s",
            open.len(),
            PATIENCE.as_secs()
        );
        std::thread::sleep(POLL_MANY);
    }
    let secs = started.elapsed().as_secs_f64();
    for &(kind, id, request) in &requests {
        let view = api.show(request)?;
        ensure!(
            view["state"] == "done",
            "{kind} request {request} is not done: {view}"
        );
        if kind == "export" {
            check_export(exports, request, id)?;
        }
    }
    Ok(secs)
}

/// The export of `request` holds customer `id`'s row and their invoices, and their email.
fn check_export(dir: &Path, request: i64, id: i64) -> Result<()> {
    let path = dir.join(format!("request-{request}.json"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the export {}", path.display()))?;
    let export: Value = serde_json::from_str(&text)
        .with_context(|| format!("the export {} is no JSON", path.display()))?;
    let fields: Vec<&Value> = export["systems"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["fields"].as_array().into_iter().flatten())
        .collect();
    let mut records: Vec<(String, String)> = fields
        .iter()
        .map(|f| (f["collection"].to_string(), f["record"].to_string()))
        .collect();
    records.sort();
    records.dedup();
    let email = shop::email(id);
    ensure!(
        records.len() == 1 + INVOICES_PER_SUBJECT as usize
            && fields.iter().any(|f| f["value"] == email.as_str()),
        "the export of request {request} (customer {id}) holds {} records, not 1 customer and \
         {INVOICES_PER_SUBJECT} invoices, or not their email",
        records.len()
    );
    Ok(())
}

fn print_run(run: usize, index: Index, sizes: &Sizes, r: &Run) {
    let median = |v: &[f64]| Summary::of(v).median;
    let mut line = format!(
        "  run {} {}: one erasure {:.1} ms (floor {:.2} ms), one export {:.1} ms, {} erasures \
         at once {:.2} s, {} exports at once {:.2} s",
        run + 1,
        index.label(),
        median(&r.erase_ms),
        median(&r.floor_ms),
        median(&r.export_ms),
        sizes.at_once,
        r.erase_at_once_s,
        sizes.at_once,
        r.export_at_once_s
    );
    if !r.burst_rss.is_empty() {
        line += &format!(
            "; RSS after each burst {} MiB",
            r.burst_rss
                .iter()
                .map(|m| format!("{m:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if index == Index::Without {
        line += &format!(
            "; warned at start about the index: {}",
            if r.warned { "yes" } else { "no" }
        );
    }
    println!("{line}");
}

fn figures(h: &Harness, sizes: &Sizes, runs: &[(Index, Run)]) -> Vec<Figure> {
    // Targets hold for the recommended index at full size; the rest is for comparison.
    let target = |index: Index, f: Figure, at_most: f64| {
        if index == Index::With && !h.quick {
            f.target(at_most)
        } else {
            f
        }
    };
    let medians = |index: Index, of: fn(&Run) -> &[f64]| -> Vec<f64> {
        runs.iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, r)| Summary::of(of(r)).median)
            .collect()
    };
    let each = |index: Index, of: fn(&Run) -> f64| -> Vec<f64> {
        runs.iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, r)| of(r))
            .collect()
    };
    let n = sizes.at_once;
    let mut figures = Vec::new();
    for index in [Index::With, Index::Without] {
        let label = index.label();
        figures.push(target(
            index,
            Figure::new(
                format!("one erasure end to end, {label}"),
                "ms",
                &medians(index, |r| &r.erase_ms),
            )
            .floor(
                "the same UPDATEs by email, 1 tx",
                &medians(index, |r| &r.floor_ms),
                None,
            ),
            ONE_ERASURE_MS,
        ));
        figures.push(target(
            index,
            Figure::new(
                format!("{n} erasures submitted at once, {label}"),
                "s",
                &each(index, |r| r.erase_at_once_s),
            ),
            ERASURES_AT_ONCE_S,
        ));
        figures.push(Figure::new(
            format!("one export end to end, {label}"),
            "ms",
            &medians(index, |r| &r.export_ms),
        ));
        figures.push(target(
            index,
            Figure::new(
                format!("{n} exports submitted at once, {label}"),
                "s",
                &each(index, |r| r.export_at_once_s),
            ),
            EXPORTS_AT_ONCE_S,
        ));
    }
    let spread: Vec<f64> = runs
        .iter()
        .filter(|(i, _)| *i == Index::With)
        .map(|(_, r)| {
            let s = Summary::of(&r.burst_rss);
            s.max - s.min
        })
        .collect();
    let last: Vec<f64> = each(Index::With, |r| *r.burst_rss.last().unwrap_or(&0.0));
    let what = format!(
        "daemon RSS over {} bursts of {}: max − min",
        sizes.bursts, sizes.burst
    );
    figures.push(if h.quick {
        Figure::new(what, "MiB", &spread)
    } else {
        Figure::new(what, "MiB", &spread).target(RSS_SPREAD_MIB)
    });
    figures.push(Figure::new("daemon RSS after the last burst", "MiB", &last));
    figures
}

fn method(sizes: &Sizes, runs: &[(Index, Run)], loads: &[f64]) -> String {
    let warned = runs
        .iter()
        .filter(|(i, _)| *i == Index::Without)
        .all(|(_, r)| r.warned);
    let loads = Summary::of(loads);
    format!(
        "`gallra run` (daemon mode, release build) with the admin API on loopback TCP (bearer \
         token) and one system, `shop`: PostgreSQL on the same machine, {} customers and {} \
         invoices (3 each, all paid), the account source, through the `sql` connector \
         (`concurrency = {}`). An erasure nulls the customer's email, name, personnummer, \
         phone and address and the billing name, address and email on their invoices \
         (`on_erase = \"anonymize\"` on both tables); an export writes every row the shop holds \
         about the customer to `state_dir/exports`. Each request is `POST /v1/requests` with \
         the customer's email, one new connection per call, and is timed until the harness \
         sees it `done`: one at a time by `GET /v1/requests/{{id}}` every {} ms ({} erasures \
         and {} exports per run, after one of each untimed), {} at once by \
         `GET /v1/requests?open=true` every {} ms. The floor of one erasure is the same two \
         `UPDATE`s (the customer by `lower(trim(email))`, then their invoices) in one \
         transaction on an open connection. Each run starts from a fresh copy of the \
         database and a new state directory, once with the index the connector's match can \
         use (`CREATE INDEX {} ON customers (lower(trim(email)))`) and once without it (the \
         shop's own `UNIQUE (email)` only, which that match cannot use); the targets are for \
         the former. Memory: with the index, {} bursts of {} requests (half erasures, half \
         exports, each burst waited for), the daemon's VmRSS after each. Checked before any \
         figure counts: every request `done`, every erased customer's personal columns and \
         billing fields NULL with all rows kept, every other customer and invoice untouched \
         (counts of intact rows), every export holding the customer's row, 3 invoices and \
         email. Without the index, gallra {} at start. The 1-minute load average after each \
         run was {:.1} to {:.1} on the 2 cores: other builds and benchmarks ran beside, so \
         the times are noisy.",
        thousands(sizes.customers),
        thousands(sizes.customers * INVOICES_PER_SUBJECT),
        concurrency(),
        POLL_ONE.as_millis(),
        sizes.singles,
        sizes.singles,
        sizes.at_once,
        POLL_MANY.as_millis(),
        shop::INDEX,
        sizes.bursts,
        sizes.burst,
        if warned {
            "logged the `CREATE INDEX` statement to run"
        } else {
            "did not log a `CREATE INDEX` statement"
        },
        loads.min,
        loads.max,
    )
}
