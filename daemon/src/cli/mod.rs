//! The `gallra` command line: argument parsing, and one function per subcommand.
//!
//! Exit status: 0 success; 1 a run or task failed; 2 bad configuration or usage; 3 a safety
//! valve stopped a run, which waits for `gallra approve`.

mod audit;
mod commands;
mod demo;
mod output;
mod reapply;
mod register;
mod request_output;
mod requests;
mod restore;
mod setup;
mod state;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Default configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/gallra/gallra.toml";

/// gallra enforces personal-data retention across every system that holds customer data:
/// inactivity purges, retention deadlines and erasure requests, carried through connectors.
#[derive(Debug, Parser)]
#[command(name = "gallra", version = crate::version::LONG.as_str(), propagate_version = true)]
pub struct Cli {
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Plain, global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log line formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One plain line per event (journald-friendly).
    Plain,
    /// One JSON object per event.
    Json,
}

/// The configuration file option, shared by the subcommands.
#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// The configuration file.
    #[arg(long, short = 'c', env = "GALLRA_CONFIG", default_value = DEFAULT_CONFIG, global = true)]
    pub config: PathBuf,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the configuration without touching any system: syntax, keys, durations,
    /// references, plugins (they load and their ABI matches) and plugin settings.
    Check {
        #[command(flatten)]
        config: ConfigArg,
        /// Then open every system and ask whether it answers (each connector's health
        /// check), showing what connectors warn of at open, such as an index their lookups
        /// need with the statement that adds it. Reads only; exits 1 if a system fails.
        #[arg(long)]
        connect: bool,
    },
    /// Show what a run would do, per policy and system, without changing anything.
    Plan {
        #[command(flatten)]
        config: ConfigArg,
        /// Only this policy.
        #[arg(long)]
        policy: Option<String>,
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
        /// Plan as if it were this date (2027-03-01: its start in the configured time
        /// zone), local time (2027-03-01T03:00:00, in the configured time zone) or instant
        /// (2027-03-01T03:00:00Z): "what will happen on 1 March?". Today's data is read;
        /// only the clock moves. GALLRA_NOW takes the same forms.
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
    },
    /// Enforce. With --once: carry due requests forward, finish any run a previous process
    /// left open, and run every policy (or --policy) once. Without it: stay running as a
    /// service (systemd): serve the admin API and carry requests through as their tasks come
    /// due, until SIGTERM.
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Run one pass and exit.
        #[arg(long)]
        once: bool,
        /// Only this policy.
        #[arg(long)]
        policy: Option<String>,
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Approve a run that a safety valve stopped; the next `gallra run` carries it out.
    Approve {
        #[command(flatten)]
        config: ConfigArg,
        /// The run's number, as `gallra run` or `gallra runs` printed it.
        run: i64,
    },
    /// After a system is restored from a backup: erase again every subject erased there
    /// since the backup was taken (from encrypted tombstones kept as long as its backups
    /// live). Prints counts only; running it twice is safe.
    Reapply {
        #[command(flatten)]
        config: ConfigArg,
        /// The restored system.
        #[arg(long)]
        system: String,
        /// When the backup was taken: a date (its start in the configured time zone), a
        /// local time (2027-03-01T03:00:00, in the configured time zone) or an instant
        /// (2027-03-01T03:00:00Z).
        #[arg(long, value_name = "DATE")]
        since: String,
        /// Only count what would be re-applied.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Undo a policy run's erasures within its restore window: put back, in each system,
    /// what the run kept (encrypted) before erasing. Records already there are left as they
    /// are, so running it twice is safe. After the window the run's key is destroyed and
    /// this refuses.
    Restore(restore::RestoreArgs),
    /// List recent runs and their outcomes.
    Runs {
        #[command(flatten)]
        config: ConfigArg,
        /// Only this policy.
        #[arg(long)]
        policy: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Data subjects' requests: erase, export, restrict, unrestrict, object; list, show, cancel.
    Request {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON for scripts instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: requests::RequestCommand,
    },
    /// The tamper-evident audit log: verify its chain, or find a subject's entries.
    Audit {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON for scripts instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Tasks waiting for a person, and confirming them done.
    Task {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON for scripts instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: requests::TaskCommand,
    },
    /// The state store itself: move a single daemon's SQLite state to PostgreSQL.
    State {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON for scripts instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: state::StateCommand,
    },
    /// Print the record of processing activities (GDPR Art. 30) from the configuration: per
    /// system its data categories, purpose, legal basis, processor, recipients, retention
    /// (from the policies and legal holds that name it) and backup retention.
    Register {
        #[command(flatten)]
        config: ConfigArg,
        /// Markdown (a document) or CSV (RFC 4180, for a spreadsheet).
        #[arg(long, value_enum, default_value_t = register::Format::Markdown)]
        format: register::Format,
        /// Write to this file instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Build sample control-panel, billing and CRM databases, then plan and enforce a
    /// 6-month inactivity policy on them, and show what was deleted and kept, and why.
    Demo {
        /// Where to put the databases and config (default: a new directory under /tmp).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// How many customers to generate.
        #[arg(long, default_value_t = 3000)]
        customers: usize,
        /// Seed for the generator (same seed, same data).
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

/// Entry point of the `gallra` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    // GALLRA_NOW is read once the configuration (and so its time zone) is loaded.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gallra: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let status = runtime.block_on(commands::dispatch(cli.command));
    // Everything the command did is recorded by now. A connector call that hung past its
    // timeout still holds a blocking thread; do not wait for it to return (it may never).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    ExitCode::from(status)
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("GALLRA_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour(std::io::IsTerminal::is_terminal(&std::io::stderr())))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Plain => builder.with_target(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Whether logs are coloured: only on a terminal, and never when `NO_COLOR` is set to
/// anything (<https://no-color.org>). A pipe or journald gets plain text.
fn colour(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
