//! Workload 3, the plugin boundary: one call across the plugin ABI (the SQL connector's
//! `.so`, loaded through gallra's host loader) against the same call made directly on the
//! connector as a Rust value. `describe` is the small message (a short JSON reply, no I/O);
//! `health` adds one `SELECT 1` on SQLite to both sides.
//!
//! Needs `target/release/libgallra_plugin_sql.so` (scripts/bench.sh builds it). The harness
//! (`--only boundary`) reads the results from target/criterion and writes them into
//! BENCHMARKS.md.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use gallra_bench::boundary;
use gallra_plugin_api::Connector;
use gallra_plugin_sql::SqlConnector;

fn plugin_dir() -> PathBuf {
    std::env::var_os("GALLRA_BENCH_BIN_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release"),
        PathBuf::from,
    )
}

fn calls(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = boundary::create_db(dir.path()).expect("the fixture database");
    let plugin = boundary::open_plugin(&plugin_dir(), &db).expect("the plugin opens");
    let settings = serde_json::from_value(boundary::settings(&db)).expect("valid settings");
    let direct = SqlConnector::open(settings, boundary::context()).expect("the connector opens");

    let mut group = c.benchmark_group("boundary");
    group.bench_function("describe/abi", |b| {
        b.iter(|| black_box(plugin.describe().expect("describe")))
    });
    group.bench_function("describe/direct", |b| {
        b.iter(|| black_box(direct.describe()))
    });
    group.bench_function("health/abi", |b| {
        b.iter(|| plugin.health().expect("health"))
    });
    group.bench_function("health/direct", |b| {
        b.iter(|| direct.health().expect("health"))
    });
    group.finish();
}

criterion_group!(benches, calls);
criterion_main!(benches);
