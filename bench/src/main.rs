//! gallra's benchmark harness: generates its own data, runs the real `gallra` binary and
//! plugins against it, prints each figure with its target and its ratio to the floor, and
//! writes the sections of BENCHMARKS.md.
//!
//! ```sh
//! scripts/bench.sh                 # everything, 5 runs each, writes BENCHMARKS.md
//! scripts/bench.sh --only plan     # one workload
//! cargo run -p gallra-bench -- --quick   # reduced sizes, one run, sanity checks only (CI)
//! ```
//!
//! These are benchmarks, not tests: a missed target is reported, never an error. What fails
//! the harness is a wrong answer (gallra deleting other rows than the floor did, requests
//! lost or repeated) or a workload that cannot run.

use gallra_bench::boundary;

mod abi;
mod config;
mod footprint;
mod machine;
mod measure;
mod people;
mod plan;
mod postgres_db;
mod propagation;
mod purge;
mod report;
mod requests;
mod several;
mod stats;
mod systems;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::report::{Figure, Section};

/// Workloads, in the order they run.
const WORKLOADS: &[&str] = &[
    "plan",
    "purge-sqlite",
    "purge-postgres",
    "boundary",
    "footprint",
    "propagation",
    "requests",
    "several",
];

#[derive(Parser, Debug)]
#[command(about = "Benchmarks of gallra against the limits that matter (see BENCHMARKS.md)")]
struct Args {
    /// Reduced sizes and one run: checks that the harness works end to end and that its
    /// numbers are sane, in under a minute. Writes nothing unless --output is given.
    #[arg(long)]
    quick: bool,
    /// Runs per figure (default 5; 1 with --quick).
    #[arg(long)]
    runs: Option<usize>,
    /// Only these workloads (comma-separated): plan, purge-sqlite, purge-postgres,
    /// boundary, footprint, propagation, requests, several.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where `gallra` and the plugin libraries are (default: beside this program, i.e. the
    /// same cargo profile).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// The file whose sections are rewritten (default: BENCHMARKS.md at the workspace root;
    /// none with --quick).
    #[arg(long)]
    output: Option<PathBuf>,
    /// PostgreSQL server for purge-postgres, requests and several (a superuser: the harness creates
    /// databases).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// Generate the data here and keep it afterwards (to profile a run by hand).
    #[arg(long)]
    keep_data: Option<PathBuf>,
}

/// What every workload shares.
pub struct Harness {
    pub quick: bool,
    pub runs: usize,
    pub bin_dir: PathBuf,
    pub postgres: String,
    scratch: Scratch,
    command: String,
    machine: String,
    date: String,
}

impl Harness {
    /// The gallra binary under test.
    pub fn gallra(&self) -> PathBuf {
        self.bin_dir.join("gallra")
    }

    /// A plugin library the workload loads, which must have been built beside `gallra`.
    pub fn require_plugin(&self, plugin: &str) -> Result<PathBuf> {
        let lib = self.bin_dir.join(format!("libgallra_plugin_{plugin}.so"));
        if !lib.is_file() {
            bail!(
                "{} is missing: build it (scripts/bench.sh builds every plugin the workloads load)",
                lib.display()
            );
        }
        Ok(lib)
    }

    /// A fresh directory for one workload's data, removed when the harness ends.
    pub fn scratch(&self, name: &str) -> Result<PathBuf> {
        let dir = self.scratch.path().join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Done with a scratch directory: removed, unless the data is to be kept.
    pub fn done_with(&self, dir: &Path) {
        if let Scratch::Temp(_) = self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    pub fn section(
        &self,
        key: &'static str,
        title: &str,
        method: &str,
        figures: Vec<Figure>,
    ) -> Section {
        Section {
            key,
            title: title.to_owned(),
            command: self.command.clone(),
            date: self.date.clone(),
            machine: self.machine.clone(),
            method: method.to_owned(),
            figures,
            not_measured: None,
        }
    }
}

/// Where generated data goes.
enum Scratch {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Scratch {
    fn path(&self) -> &Path {
        match self {
            Scratch::Temp(t) => t.path(),
            Scratch::Kept(p) => p,
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    for name in &args.only {
        if !WORKLOADS.contains(&name.as_str()) {
            bail!(
                "unknown workload {name:?}; the workloads are {}",
                WORKLOADS.join(", ")
            );
        }
    }
    let bin_dir = match args.bin_dir {
        Some(dir) => dir,
        None => std::env::current_exe()?
            .parent()
            .context("the harness has no directory")?
            .to_owned(),
    };
    if !bin_dir.join("gallra").is_file() || !bin_dir.join("libgallra_plugin_sql.so").is_file() {
        bail!(
            "no gallra and libgallra_plugin_sql.so in {}: build them first (scripts/bench.sh does)",
            bin_dir.display()
        );
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the bench crate is in the workspace");
    let output = match (args.output, args.quick) {
        (Some(path), _) => Some(path),
        (None, false) => Some(workspace.join("BENCHMARKS.md")),
        (None, true) => None,
    };
    // scripts/bench.sh passes the command the person typed.
    let command = std::env::var("GALLRA_BENCH_COMMAND").unwrap_or_else(|_| {
        let args: Vec<String> = std::env::args().skip(1).collect();
        format!("cargo run --release -p gallra-bench -- {}", args.join(" "))
    });
    let harness = Harness {
        quick: args.quick,
        runs: args.runs.unwrap_or(if args.quick { 1 } else { 5 }).max(1),
        bin_dir,
        postgres: args.postgres,
        scratch: match args.keep_data {
            Some(dir) => Scratch::Kept(dir),
            None => Scratch::Temp(tempfile::Builder::new().prefix("gallra-bench-").tempdir()?),
        },
        command: command.trim().to_owned(),
        machine: machine::describe(),
        date: machine::date(),
    };
    println!("gallra benchmarks on {}", harness.machine);
    println!(
        "binaries from {}; {} run(s) per figure{}",
        harness.bin_dir.display(),
        harness.runs,
        if harness.quick { "; quick mode" } else { "" }
    );
    if harness.quick {
        println!(
            "quick mode checks answers, not speed: targets hold for release builds at full size"
        );
    }
    let started = std::time::Instant::now();
    let mut sections = Vec::new();
    let mut failures = Vec::new();
    for &name in WORKLOADS {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        println!("\n== {name}");
        let result = match name {
            "plan" => plan::run(&harness),
            "purge-sqlite" => purge::run_sqlite(&harness),
            "purge-postgres" => purge::run_postgres(&harness),
            "boundary" => abi::run(&harness),
            "footprint" => footprint::run(&harness),
            "requests" => requests::run(&harness),
            "several" => several::run(&harness),
            _ => propagation::run(&harness),
        };
        match result {
            Ok(section) => sections.push(section),
            Err(error) => {
                println!("  FAILED: {error:#}");
                failures.push(name);
            }
        }
    }
    if let Some(path) = output {
        report::write_sections(&path, &sections)?;
        println!(
            "\nwrote {} section(s) of {}",
            sections.len(),
            path.display()
        );
    }
    println!("\ndone in {:.1} s", started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        bail!("workloads failed: {}", failures.join(", "));
    }
    Ok(())
}
