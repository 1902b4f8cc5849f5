//! Workload 5, propagation vs the rate limit: 5,000 erasure requests carried to three HTTP
//! systems (the generic `http` connector) served by `gallra_testkit::rest` with 20 ms of
//! latency and 200 requests/s each, answering 429 with Retry-After above it. The floor is
//! 5,000 / 200 = 25 s; the server counts what it received, so that a request lost or
//! repeated shows.
//!
//! Not measured yet: the `http` connector and the testkit's REST server are being written.
//! Until both are in, this workload reports why instead of a figure.

use anyhow::Result;

use crate::report::Section;
use crate::Harness;

/// Requests per run, and the limit each system enforces.
pub const REQUESTS: u64 = 5_000;
pub const RATE_PER_SEC: u64 = 200;

pub fn run(h: &Harness) -> Result<Section> {
    let floor = REQUESTS as f64 / RATE_PER_SEC as f64;
    let why = format!(
        "the generic `http` connector (plugins/http) and the REST test server \
         (testkit/src/rest.rs) it would run against are still being written, so there is \
         nothing to measure yet. When they land, this workload submits {REQUESTS} erasure \
         requests (`gallra request erase`), runs `gallra run --once` against three servers \
         with 20 ms latency and {RATE_PER_SEC} requests/s each, times it against the floor of \
         {floor:.0} s (target ≤ 1.1×, {:.1} s) and compares the servers' own count of DELETE \
         requests per subject with exactly one.",
        floor * 1.1
    );
    println!("  not measured: {why}");
    let mut section = h.section(
        "propagation",
        "5. Propagation vs the rate limit",
        "5,000 erasures to three HTTP systems at 200 requests/s each (floor 25 s, target ≤ 1.1×).",
        Vec::new(),
    );
    section.not_measured = Some(why);
    Ok(section)
}
