//! Workload 7, several daemons (issue #16): erasure requests carried by 1, 2 and 3 `gallra
//! run` daemons sharing one PostgreSQL state store, to the three REST APIs of the propagation
//! workload, now answering after 50 ms and without a limit that binds: the APIs' latency, not
//! the CPU, should bind, so three daemons should carry the requests about three times as
//! fast as one (target: ≥ 2.5×). Then failover: the leading daemon killed with SIGKILL in the
//! middle, and the time until its work is taken over (target: lease + 5 s).
//!
//! Each daemon has the same per-system `concurrency`. Every run is checked before it is
//! timed: every user deleted exactly once at every API (their own logs), the account source
//! emptied, every request done in the store.

mod cpu;
mod failover;
mod nodes;
mod setup;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use crate::machine;
use crate::plan::thousands;
use crate::postgres_db::Server;
use crate::propagation::apis::{self, NAMES};
use crate::propagation::submit;
use crate::report::{num, Figure, Section};
use crate::stats::Summary;
use crate::Harness;

use failover::{Failover, LEASE_SECS, TARGET_SECS};
use nodes::Nodes;
use setup::{World, CONCURRENCY, LATENCY, STORE_DB};

/// Erasure requests per run (`--quick`: [`QUICK_REQUESTS`]).
const REQUESTS: usize = 600;
const QUICK_REQUESTS: usize = 60;
/// The target: three daemons at least this many times as fast as one.
const MIN_SPEED_UP: f64 = 2.5;
/// Requests one daemon works at once (the engine's `IN_FLIGHT`), and the calls of one
/// erasure, made one after another: a lookup and a DELETE at each of the three APIs.
const ENGINE_IN_FLIGHT: f64 = 16.0;
const CALLS_PER_ERASURE: f64 = 6.0;
/// Longer than this for one run is a hang.
const PATIENCE: Duration = Duration::from_secs(300);

/// What one run with some daemons came to.
struct Scaling {
    secs: f64,
    submit_secs: f64,
    /// Requests each daemon carried out (its audit chain's erasures at the first API).
    per_node: Vec<usize>,
    spent: cpu::Spent,
    /// State store transactions committed per erasure (the harness's own polls left out).
    commits_per_erasure: f64,
}

pub fn run(h: &Harness) -> Result<Section> {
    h.require_plugin("http")?;
    let server = Server::new(&h.postgres);
    let n = if h.quick { QUICK_REQUESTS } else { REQUESTS };
    let result = measure(h, &server, n);
    server.drop_database(STORE_DB)?;
    let (scaling, failovers) = result?;
    let figures = figures(n, &scaling, &failovers);
    for f in &figures {
        f.print();
    }
    Ok(h.section(
        "several",
        "7. Several daemons: scaling and failover",
        &method(n, &scaling, &failovers),
        figures,
    ))
}

/// `scaling[d]`: the runs with `d + 1` daemons.
type Measured = ([Vec<Scaling>; 3], Vec<Failover>);

fn measure(h: &Harness, server: &Server, n: usize) -> Result<Measured> {
    let mut scaling: [Vec<Scaling>; 3] = Default::default();
    let mut failovers = Vec::new();
    for run in 0..h.runs {
        for daemons in 1..=3 {
            let dir = h.scratch(&format!("several-{run}-{daemons}"))?;
            let one = scaling_run(h, server, &dir, daemons, n)
                .with_context(|| format!("run {} with {daemons} daemon(s)", run + 1))?;
            h.done_with(&dir);
            println!(
                "  run {}, {daemons} daemon(s): {:.2} s ({:.0} erasures/s; submitted in {:.2} s); \
                 erasures per daemon {:?}; CPU: {:.2} of the cores busy, daemons {} s, \
                 PostgreSQL {:.1} s, harness and APIs {:.1} s; {:.0} store commits per erasure",
                run + 1,
                one.secs,
                n as f64 / one.secs,
                one.submit_secs,
                one.per_node,
                one.spent.cores_busy,
                cpu_list(&one.spent.daemons),
                one.spent.postgres,
                one.spent.harness,
                one.commits_per_erasure,
            );
            scaling[daemons - 1].push(one);
        }
        let dir = h.scratch(&format!("several-{run}-failover"))?;
        let f = failover::run(h, server, &dir, n)
            .with_context(|| format!("run {}, failover", run + 1))?;
        h.done_with(&dir);
        println!(
            "  run {}, failover: another leader after {:.2} s, the {} requests the dead leader \
             held taken over after {:.2} s (lease {LEASE_SECS} s); {} DELETEs repeated, {} \
             calls cut off by the kill",
            run + 1,
            f.leader_secs,
            f.held,
            f.takeover_secs,
            f.repeats,
            f.cut
        );
        failovers.push(f);
    }
    Ok((scaling, failovers))
}

/// `daemons` daemons started on a fresh store, `n` erasure requests submitted through their
/// admin APIs, timed from the first submission until the store has every request done.
fn scaling_run(
    h: &Harness,
    server: &Server,
    dir: &Path,
    daemons: usize,
    n: usize,
) -> Result<Scaling> {
    let world = World::prepare(server, dir, n)?;
    let lease = format!("{LEASE_SECS}s");
    let mut nodes = Nodes::start(
        &h.gallra(),
        dir,
        daemons,
        world.store_url(),
        |state, node| world.config(state, node, &lease),
    )?;
    for api in &world.apis {
        api.reset();
    }
    let pids = nodes.pids();
    // Settled, so that the count misses none of the daemons' start.
    std::thread::sleep(Duration::from_millis(1500));
    let commits_before = nodes.commits()?;
    let before = cpu::Sample::now(&pids)?;
    let started = Instant::now();
    let submit_secs = setup::submit_all(&nodes.apis(), n)?.as_secs_f64();
    let mut polls = 0;
    setup::wait_for("every request settled", PATIENCE, || {
        polls += 1;
        let (done, all) = nodes.done_of_all()?;
        Ok(done == all && all as usize == n)
    })
    .with_context(|| nodes.not_done().unwrap_or_default())?;
    let secs = started.elapsed().as_secs_f64();
    let spent = before.until(&cpu::Sample::now(&pids)?);

    apis::check_all(&world.apis, n)?;
    let left = submit::customers_left(&world.source)?;
    ensure!(left == 0, "{left} customers left in the account source");
    let per_node = nodes.erased_per_node(NAMES[0])?;
    ensure!(
        per_node.iter().sum::<usize>() == n,
        "the audit chains record {per_node:?} erasures at {} for {n} requests",
        NAMES[0]
    );
    nodes.stop()?;
    // The stopped daemons' connections have closed: their counts are in.
    std::thread::sleep(Duration::from_millis(1500));
    let commits = nodes.commits()? - commits_before - polls - 1;
    Ok(Scaling {
        secs,
        submit_secs,
        per_node,
        spent,
        commits_per_erasure: commits as f64 / n as f64,
    })
}

fn cpu_list(secs: &[f64]) -> String {
    let each: Vec<String> = secs.iter().map(|s| format!("{s:.1}")).collect();
    each.join(" + ")
}

fn figures(n: usize, scaling: &[Vec<Scaling>; 3], failovers: &[Failover]) -> Vec<Figure> {
    let secs = |d: usize| scaling[d].iter().map(|r| r.secs).collect::<Vec<_>>();
    let one = secs(0);
    let mut figures = Vec::new();
    for d in 0..3 {
        let daemons = d + 1;
        let label = format!(
            "{} erasures, {daemons} daemon{}: time",
            thousands(n as u64),
            if daemons == 1 { "" } else { "s" }
        );
        let mut figure = Figure::new(label, "s", &secs(d));
        if daemons > 1 {
            // Perfect scaling: one daemon's time over the daemons, run by run.
            let floor: Vec<f64> = one.iter().map(|t| t / daemons as f64).collect();
            let max_ratio = (daemons == 3).then_some(daemons as f64 / MIN_SPEED_UP);
            figure = figure.floor(format!("one daemon's time / {daemons}"), &floor, max_ratio);
        }
        figures.push(figure);
    }
    for d in 0..3 {
        let rates: Vec<f64> = secs(d).iter().map(|t| n as f64 / t).collect();
        figures.push(Figure::new(
            format!("throughput, {} daemon(s)", d + 1),
            "erasures/s",
            &rates,
        ));
    }
    for d in 1..3 {
        let ratios: Vec<f64> = one.iter().zip(secs(d)).map(|(a, b)| a / b).collect();
        figures.push(Figure::new(
            format!("speed-up, {} daemons over one", d + 1),
            "×",
            &ratios,
        ));
    }
    for (d, runs) in scaling.iter().enumerate() {
        let busy: Vec<f64> = runs.iter().map(|r| r.spent.cores_busy).collect();
        figures.push(Figure::new(
            format!("cores busy (whole machine), {} daemon(s)", d + 1),
            "",
            &busy,
        ));
    }
    let leader: Vec<f64> = failovers.iter().map(|f| f.leader_secs).collect();
    let takeover: Vec<f64> = failovers.iter().map(|f| f.takeover_secs).collect();
    figures.push(
        Figure::new(
            "failover: another daemon leads, after kill -9",
            "s",
            &leader,
        )
        .target(TARGET_SECS),
    );
    figures.push(
        Figure::new(
            "failover: the dead leader's requests taken over",
            "s",
            &takeover,
        )
        .target(TARGET_SECS),
    );
    figures
}

fn method(n: usize, scaling: &[Vec<Scaling>; 3], failovers: &[Failover]) -> String {
    let engine_floor = n as f64 * CALLS_PER_ERASURE * LATENCY.as_secs_f64() / ENGINE_IN_FLIGHT;
    let last = |d: usize| scaling[d].last().expect("at least one run");
    let spent = |d: usize| {
        let s = &last(d).spent;
        format!(
            "{} daemon(s): {:.2} cores busy, daemons {} s, PostgreSQL {:.1} s, harness {:.1} s, \
             erasures per daemon {:?}",
            d + 1,
            s.cores_busy,
            cpu_list(&s.daemons),
            s.postgres,
            s.harness,
            last(d).per_node
        )
    };
    let submits = Summary::of(
        &(scaling.iter().flatten())
            .map(|r| r.submit_secs)
            .collect::<Vec<_>>(),
    );
    let held: Vec<String> = failovers.iter().map(|f| f.held.to_string()).collect();
    let repeats: Vec<String> = failovers.iter().map(|f| f.repeats.to_string()).collect();
    let cut: Vec<String> = failovers.iter().map(|f| f.cut.to_string()).collect();
    let commits = Summary::of(
        &(scaling.iter().flatten())
            .map(|r| r.commits_per_erasure)
            .collect::<Vec<_>>(),
    );
    format!(
        "1, 2 and 3 `gallra run` daemons (release build), each with its own node name, state \
         directory and admin API, sharing one PostgreSQL state store (a fresh database per \
         run) with `lease = \"{LEASE_SECS}s\"`, and the first one's `audit.key`. {} erasure \
         requests are submitted through the daemons' admin APIs (`POST /v1/requests`, request \
         i to daemon i mod N, from 3 threads whatever N; {}–{} s for all), and timed from the \
         first submission until the store has every request done. Each erasure goes to the \
         three REST APIs of workload 5 ({}), each answering after {} ms and admitting far more \
         than is asked, through the `http` connector (`concurrency = {CONCURRENCY}` per system \
         on every daemon), and to the SQLite account source, last. Checked before it counts: \
         every user deleted by exactly one DELETE at each API (their logs), the account source \
         empty, every request done, and every daemon's audit chain counted. An erasure makes \
         its {CALLS_PER_ERASURE} API calls one after another and a daemon works {ENGINE_IN_FLIGHT} \
         requests at once, so one daemon cannot take less than {} s for {}: the bound the \
         latency sets. The state store committed {}–{} transactions per erasure \
         (`pg_stat_database`, the harness's polls left out). CPU, from /proc, in each last run: {}; {}; {}. Failover: 3 daemons, the \
         requests submitted, and once a tenth are done the daemon named by the store's \
         `leader` row killed with SIGKILL while it held requests ({} held); timed until the \
         `leader` row names another daemon with a current lease, and until no request the dead \
         daemon held is still open under its claim; then every request carried out and \
         checked, where a DELETE answered 404 ({} repeated) and a call the dead daemon never had \
         answered ({} cut off) are allowed for the requests it held. Target: lease + 5 s = {} s.",
        thousands(n as u64),
        num(submits.min),
        num(submits.max),
        NAMES.join(", "),
        LATENCY.as_millis(),
        num(engine_floor),
        thousands(n as u64),
        num(commits.min),
        num(commits.max),
        spent(0),
        spent(1),
        spent(2),
        held.join(", "),
        repeats.join(", "),
        cut.join(", "),
        num(TARGET_SECS),
    ) + &format!(
        " The 1-minute load average at the end was {:.1}.",
        machine::load_average().unwrap_or(0.0)
    )
}
