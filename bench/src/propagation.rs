//! Workload 5, propagation vs the rate limit: 5,000 erasure requests carried by `gallra run
//! --once` to three REST APIs through the generic `http` connector, each API served by
//! `gallra_testkit::rest` with 20 ms of latency and at most 200 requests in any second
//! (429 with `Retry-After` above it).
//!
//! The floor is the APIs' limit: the requests the erasures need, divided by 200/s. The
//! issue counts one request per erasure (25 s); the `http` connector needs two, a lookup by
//! email and a DELETE by id, so the floor it can reach is 50 s. Both are reported. Every
//! run is checked against the APIs' own logs before it is timed: every user deleted by
//! exactly one DELETE, none lost, and no second with more than 200 admitted.

pub(crate) mod apis;
pub(crate) mod submit;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Result};

use crate::config::{self, HttpSystem};
use crate::machine;
use crate::measure;
use crate::plan::thousands;
use crate::report::{Figure, Section};
use crate::stats::Summary;
use crate::Harness;

use apis::{Api, Tally, LATENCY, LIMIT_PER_SEC, NAMES};

/// Erasure requests per run (`--quick`: [`QUICK_REQUESTS`]).
pub const REQUESTS: usize = 5_000;
const QUICK_REQUESTS: usize = 200;
/// The target: at most this many times the floor.
const MAX_RATIO: f64 = 1.1;
/// The account source, in gallra.toml.
const SOURCE: &str = "panel";

/// Calls gallra may have in flight per API (`concurrency`): an erasure is two requests of
/// 20 ms and more, so 200/s needs at least 5 at once. `GALLRA_BENCH_HTTP_CONCURRENCY`
/// overrides it, to compare.
fn concurrency() -> u32 {
    std::env::var("GALLRA_BENCH_HTTP_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

/// What one run came to.
struct Run {
    secs: f64,
    rss_mib: f64,
    tallies: Vec<Tally>,
    /// The 1-minute load average as the run ended (other work on the same cores).
    load: f64,
}

impl Run {
    /// Requests the busiest API admitted, over its limit: the least time the run could take.
    fn floor_secs(&self) -> f64 {
        let needed = self.tallies.iter().map(Tally::admitted).max().unwrap_or(0);
        needed as f64 / LIMIT_PER_SEC as f64
    }

    fn rejected(&self) -> usize {
        self.tallies.iter().map(|t| t.rejected).sum()
    }

    fn max_per_second(&self) -> usize {
        self.tallies
            .iter()
            .map(|t| t.max_per_second)
            .max()
            .unwrap_or(0)
    }
}

pub fn run(h: &Harness) -> Result<Section> {
    h.require_plugin("http")?;
    let n = if h.quick { QUICK_REQUESTS } else { REQUESTS };
    let mut runs = Vec::new();
    for run in 0..h.runs {
        let dir = h.scratch(&format!("propagation-{run}"))?;
        let one = one_run(h, &dir, n)?;
        h.done_with(&dir);
        println!(
            "  run {}: {:.2} s (floor {:.1} s, {:.2}×), {} × 429, at most {}/s, RSS {:.1} MiB; \
             first to last request per API {}; load average {:.2}",
            run + 1,
            one.secs,
            one.floor_secs(),
            one.secs / one.floor_secs(),
            one.rejected(),
            one.max_per_second(),
            one.rss_mib,
            one.tallies
                .iter()
                .map(|t| format!("{:.1} s", t.span.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", "),
            one.load
        );
        runs.push(one);
    }
    let figures = figures(n, &runs);
    for f in &figures {
        f.print();
    }
    Ok(h.section(
        "propagation",
        "5. Propagation vs the rate limit",
        &method(n, &runs),
        figures,
    ))
}

/// Three APIs and an account source with `n` customers, `n` erasure requests submitted,
/// then `gallra run --once` timed and its work checked.
fn one_run(h: &Harness, dir: &Path, n: usize) -> Result<Run> {
    let apis = apis::start(n)?;
    let source = dir.join("panel.db");
    submit::create_account_source(&source, n)?;
    let config = write_config(dir, &apis, &source)?;
    let started = Instant::now();
    submit::erase_requests(&h.gallra(), &config, n)?;
    println!(
        "  submitted {} erasure requests in {:.1} s ({} `gallra request erase` at once; not timed)",
        thousands(n as u64),
        started.elapsed().as_secs_f64(),
        submit::WORKERS
    );
    for api in &apis {
        api.reset();
    }
    let m = measure::run(
        Command::new(h.gallra())
            .args(["run", "--once", "--json", "--config"])
            .arg(&config),
        0,
    )?;
    let tallies = apis::check_all(&apis, n)?;
    let open = submit::open_requests(&h.gallra(), &config)?;
    ensure!(
        open == 0,
        "{open} requests still open after gallra run --once"
    );
    let left = submit::customers_left(&source)?;
    ensure!(left == 0, "{left} customers left in the account source");
    Ok(Run {
        secs: m.secs(),
        rss_mib: m.rss_mib(),
        tallies,
        load: machine::load_average()?,
    })
}

fn write_config(dir: &Path, apis: &[Api], source: &Path) -> Result<std::path::PathBuf> {
    let token = dir.join("api.token");
    config::secret(&token, gallra_testkit::rest::TOKEN)?;
    let mut text = config::header(&dir.join("state"), SOURCE);
    text += &config::plain_account_source(SOURCE, source);
    for api in apis {
        text += &config::http_system(&HttpSystem {
            name: api.name,
            base_url: &api.rest.base_url(),
            token_file: &token,
            concurrency: concurrency(),
            rate_per_sec: LIMIT_PER_SEC as u32,
        });
    }
    let path = dir.join("gallra.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn figures(n: usize, runs: &[Run]) -> Vec<Figure> {
    let secs: Vec<f64> = runs.iter().map(|r| r.secs).collect();
    let floors: Vec<f64> = runs.iter().map(Run::floor_secs).collect();
    let per_erasure = runs[0].tallies[0].admitted() as f64 / n as f64;
    let one_call = n as f64 / LIMIT_PER_SEC as f64;
    let label = |against: &str| {
        format!(
            "{} erasures to 3 APIs: time ({against})",
            thousands(n as u64)
        )
    };
    let count = |f: fn(&Run) -> usize| runs.iter().map(|r| f(r) as f64).collect::<Vec<_>>();
    vec![
        Figure::new(label("lookup + DELETE"), "s", &secs).floor(
            format!("{per_erasure:.0} requests per erasure (lookup + DELETE) / {LIMIT_PER_SEC}/s"),
            &floors,
            Some(MAX_RATIO),
        ),
        Figure::new(label("the issue's floor"), "s", &secs).floor(
            format!("1 request per erasure / {LIMIT_PER_SEC}/s, as issue #7 counts"),
            &[one_call],
            Some(MAX_RATIO),
        ),
        Figure::new("429 answers received (3 APIs)", "", &count(Run::rejected)),
        Figure::new(
            "most requests admitted in any second (busiest API)",
            "",
            &count(Run::max_per_second),
        )
        .target(LIMIT_PER_SEC as f64),
        Figure::new(
            "peak RSS of gallra run",
            "MiB",
            &runs.iter().map(|r| r.rss_mib).collect::<Vec<_>>(),
        ),
    ]
}

fn method(n: usize, runs: &[Run]) -> String {
    let loads = Summary::of(&runs.iter().map(|r| r.load).collect::<Vec<_>>());
    format!(
        "`gallra run --once` (release build) carrying {} erasure requests, submitted \
         beforehand with `gallra request erase` (not timed), to three REST APIs ({}) through \
         the generic `http` connector, plus the account source (SQLite, erased last). Each \
         API is `gallra_testkit::rest` answering after {} ms and admitting at most \
         {LIMIT_PER_SEC} requests in any second, 429 with `Retry-After: 1` above it; each \
         system is configured as its documentation says, `http.rate_per_sec = \
         {LIMIT_PER_SEC}` (the connector keeps 3% under it), `concurrency = {}`. An erasure is \
         a lookup by email (`GET /v1/users?email=`, `match = \"/email\"`) and a `DELETE \
         /v1/users/{{id}}`: {} requests per API in the first run. The floor is the requests the \
         busiest API admitted over {LIMIT_PER_SEC}/s. Each run is checked against the APIs' \
         own request logs: every user gone, exactly one successful DELETE each and no 404 (a \
         repeated DELETE), no more than {LIMIT_PER_SEC} admitted in any second, and no request \
         left open in gallra. The 1-minute load average at the end of the runs was {:.1} to \
         {:.1} on the 2 cores (other builds ran beside).",
        thousands(n as u64),
        NAMES.join(", "),
        LATENCY.as_millis(),
        concurrency(),
        thousands(runs[0].tallies[0].admitted() as u64),
        loads.min,
        loads.max,
    )
}
