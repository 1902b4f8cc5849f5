//! `gallra state copy-to-postgresql --url-file FILE [--json]`: moves a single daemon's SQLite
//! state into a new, empty PostgreSQL database, so that it (and more daemons) can carry on
//! there. Run with the service stopped and the config still naming SQLite; it prints counts
//! per table and the steps that follow, never a row (rows hold personal data).

use std::path::{Path, PathBuf};

use super::setup::{load, lock_state, CONFIG, FAILED, OK};
use crate::config::{Config, StateBackend};
use crate::store::{copy_sqlite_state, CopyReport, PostgresStore};

/// What to do with the state store.
#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// Copy this daemon's SQLite state (state_dir/state.db) into a new, empty PostgreSQL
    /// database, in one transaction, before switching the config to it. Stop the service
    /// first; run it with the config that still says SQLite. A database that already holds
    /// rows is refused, so running it twice never mixes two states. The SQLite file is only
    /// read.
    CopyToPostgresql {
        /// A file (mode 0600) holding the PostgreSQL database's URL, one line, e.g.
        /// postgres://gallra@db.example/gallra: the file `[state_store] url_file` will name.
        #[arg(long, value_name = "FILE")]
        url_file: PathBuf,
    },
}

/// Runs `gallra state …`; returns the exit status.
pub(super) fn state(config: &Path, command: StateCommand, json: bool) -> u8 {
    match command {
        StateCommand::CopyToPostgresql { url_file } => copy(config, &url_file, json),
    }
}

/// What `--json` prints.
#[derive(serde::Serialize)]
struct Copied<'a> {
    from: &'a Path,
    to: &'a str,
    #[serde(flatten)]
    report: &'a CopyReport,
    total_rows: u64,
    next_steps: Vec<String>,
}

fn copy(config_path: &Path, url_file: &Path, json: bool) -> u8 {
    let config = match load(config_path) {
        Ok(config) => config,
        Err(status) => return status,
    };
    if let StateBackend::Postgresql { .. } = config.state_store.backend {
        eprintln!(
            "gallra: {} already says [state_store] backend = \"postgresql\": run this command with the config the SQLite daemon used, before switching it",
            config_path.display()
        );
        return CONFIG;
    }
    let _lock = match lock_state(&config, "state copy-to-postgresql") {
        Ok(lock) => lock,
        Err(status) => {
            eprintln!("gallra: stop the gallra service (systemctl stop gallra) and every gallra command on this state before copying it");
            return status;
        }
    };
    let result = crate::statestore::read_url_file(url_file)
        .and_then(|url| PostgresStore::connect(&url))
        .and_then(|to| copy_sqlite_state(&config.state_dir, &to).map(|report| (to, report)));
    let (to, report) = match result {
        Ok(done) => done,
        Err(error) => {
            eprintln!("gallra: {error}");
            eprintln!("gallra: nothing was copied; the SQLite state is unchanged");
            return FAILED;
        }
    };
    let from = config.state_dir.join("state.db");
    let copied = Copied {
        from: &from,
        to: to.database(),
        report: &report,
        total_rows: report.tables.iter().map(|t| t.rows).sum(),
        next_steps: next_steps(&config, config_path, url_file),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&copied).expect("plain data serializes")
        );
    } else {
        print_text(&copied);
    }
    OK
}

fn print_text(copied: &Copied<'_>) {
    println!(
        "Copied the SQLite state {} into the PostgreSQL store {}:",
        copied.from.display(),
        copied.to
    );
    for table in &copied.report.tables {
        println!("  {:<16} {:>9} rows", table.table, table.rows);
    }
    println!(
        "  {:<16} {:>9} rows in {} tables, each count checked",
        "total",
        copied.total_rows,
        copied.report.tables.len()
    );
    println!();
    println!("Next:");
    for (n, step) in copied.next_steps.iter().enumerate() {
        println!("  {}. {step}", n + 1);
    }
}

/// What the sysadmin does after the copy, in order.
fn next_steps(config: &Config, config_path: &Path, url_file: &Path) -> Vec<String> {
    let node = crate::statestore::lease(config).node;
    let state_dir = config.state_dir.display();
    vec![
        format!(
            "in {}, set [state_store] backend = \"postgresql\" and url_file = \"{}\", and keep this daemon's node name \"{node}\" (node = \"{node}\"), under which its audit chain goes on",
            config_path.display(),
            url_file.display()
        ),
        "start the daemon (systemctl start gallra), and check that `gallra runs` and `gallra request list` show what they showed before".to_owned(),
        format!(
            "keep {state_dir}/state.db until the new store is verified; then delete it (it holds personal data)"
        ),
        format!(
            "copy {state_dir}/audit.key, {state_dir}/tombstone.key and {state_dir}/restore/ (mode 0600, owned by the gallra user) to the state_dir of every node that will share the store"
        ),
    ]
}
