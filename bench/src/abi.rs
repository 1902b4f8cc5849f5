//! Workload 3 in the report: reads what `cargo bench -p gallra-bench --bench boundary`
//! measured (criterion's samples in target/criterion) and reports it. In quick mode it
//! times a few thousand calls itself, to check the boundary works and costs microseconds.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};

use crate::boundary;
use crate::report::{Figure, Section};
use crate::Harness;

const METHOD: &str = "criterion (`cargo bench -p gallra-bench --bench boundary`, 100 samples): \
    the SQL connector's `.so` loaded through `gallra_plugin_api::host` as gallra loads it, against \
    the same connector called directly as a Rust value. `describe` is a small message with no \
    I/O (its reply is ~150 bytes of JSON); `health` adds one `SELECT 1` on SQLite to both sides. \
    Per-call time of each sample (min, median, max over the samples); the floor is the direct \
    call, so the ratio shows what crossing the ABI costs.";

pub fn run(h: &Harness) -> Result<Section> {
    if h.quick {
        return quick(h);
    }
    let results = target_dir().join("criterion/boundary");
    let mut figures = Vec::new();
    for call in ["describe", "health"] {
        let abi = samples(&results, &format!("{call}/abi"))?;
        let direct = samples(&results, &format!("{call}/direct"))?;
        let figure = Figure::new(format!("one `{call}` call across the ABI"), "µs", &abi)
            .target(2.0)
            .floor("direct trait call", &direct, None);
        figure.print();
        figures.push(figure);
    }
    Ok(h.section("boundary", "3. Plugin boundary", METHOD, figures))
}

/// Per-call times in µs of criterion's samples of `boundary/<id>`.
fn samples(results: &Path, id: &str) -> Result<Vec<f64>> {
    let mut found = None;
    for entry in std::fs::read_dir(results).with_context(|| {
        format!(
            "no criterion results in {} (run cargo bench -p gallra-bench --bench boundary first; scripts/bench.sh does)",
            results.display()
        )
    })? {
        let dir = entry?.path();
        let Ok(text) = std::fs::read_to_string(dir.join("new/benchmark.json")) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_str(&text)?;
        if meta["function_id"].as_str() == Some(id) {
            found = Some(dir);
        }
    }
    let Some(dir) = found else {
        bail!(
            "criterion has no results for boundary/{id} in {}",
            results.display()
        );
    };
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("new/sample.json"))?)?;
    let (iters, times) = (&sample["iters"], &sample["times"]);
    let per_call: Vec<f64> = iters
        .as_array()
        .into_iter()
        .flatten()
        .zip(times.as_array().into_iter().flatten())
        .filter_map(|(n, t)| Some(t.as_f64()? / n.as_f64()? / 1000.0))
        .collect();
    ensure!(!per_call.is_empty(), "no samples for boundary/{id}");
    Ok(per_call)
}

fn quick(h: &Harness) -> Result<Section> {
    let dir = h.scratch("boundary")?;
    let db = boundary::create_db(&dir)?;
    let plugin = boundary::open_plugin(&h.bin_dir, &db)?;
    let calls = 5_000;
    let mut runs = Vec::new();
    for _ in 0..h.runs {
        let started = Instant::now();
        for _ in 0..calls {
            std::hint::black_box(plugin.describe()?);
        }
        runs.push(started.elapsed().as_secs_f64() * 1e6 / f64::from(calls));
    }
    let figure = Figure::new("one `describe` call across the ABI (loop)", "µs", &runs).target(2.0);
    figure.print();
    ensure!(
        figure.value.median < 200.0,
        "a describe call across the ABI took {} µs: something is badly wrong",
        figure.value.median
    );
    h.done_with(&dir);
    Ok(h.section("boundary", "3. Plugin boundary", METHOD, vec![figure]))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}
