//! What every subcommand starts from: exit statuses, loading the config, the state
//! directory's lock, the state store and the opened systems. Subcommand modules use this;
//! nothing here knows any subcommand, so the dependency runs one way.

use std::path::Path;
use std::sync::Arc;

use crate::config::{self, Config};
use crate::context::Context;
use crate::plugins::{PluginFinder, Systems};
use crate::runner::RunReport;
use crate::statelock::{self, LockError, StateLock};
use crate::store::Backend;

/// Exit status: success.
pub const OK: u8 = 0;
/// Exit status: a run or task failed.
pub const FAILED: u8 = 1;

/// Exit status: bad configuration or usage.
pub const CONFIG: u8 = 2;
/// Exit status: a safety valve stopped a run; it waits for approval.
pub const NEEDS_APPROVAL: u8 = 3;

/// Loads the config, or prints its errors; then moves the clock if [`crate::clock::ENV`]
/// says so, reading it in the configured time zone as `--at` is.
pub(super) fn load(path: &Path) -> Result<Config, u8> {
    let config = config::load(path).map_err(|errors| {
        eprintln!("{errors}");
        CONFIG
    })?;
    crate::clock::set_from_env(&config.time_zone).map_err(|why| {
        eprintln!("gallra: {why}");
        CONFIG
    })?;
    Ok(config)
}

/// Takes the state directory's lock for a command that changes state (`command` is its
/// name without arguments, which could be personal data), or prints who holds it: exit 2
/// when another gallra process does, 1 when the lock file cannot be made.
pub(super) fn lock_state(config: &Config, command: &str) -> Result<StateLock, u8> {
    statelock::acquire(&config.state_dir, command).map_err(|error| {
        eprintln!("gallra: {error}");
        match error {
            LockError::Held { .. } => CONFIG,
            _ => FAILED,
        }
    })
}

/// Opens the state store to read only, never creating, upgrading or writing it: `None` when
/// there is no state yet (nothing has run). For the commands that only look.
pub(super) fn read_state(config: &Config) -> Result<Option<Arc<dyn Backend>>, u8> {
    match crate::statestore::open_read_only(config) {
        Ok(Some(store)) => Ok(Some(store)),
        Ok(None) if config.state_dir.join("state.db").exists() => {
            // A service starting beside us may be creating it right now; an older gallra's
            // database is upgraded by the next `gallra run`, never by a command that looks.
            eprintln!(
                "gallra: the state database in {} is being created, or is from an older gallra and not yet upgraded (the next `gallra run` does): nothing to show yet",
                config.state_dir.display()
            );
            Ok(None)
        }
        Ok(None) => Ok(None),
        Err(error) => {
            eprintln!("gallra: {error}");
            Err(FAILED)
        }
    }
}

/// Opens the audit log and every system (on the blocking pool: plugin calls block), for a
/// command that acts. An audit log that cannot be opened is reported here, and whatever
/// would erase then refuses with an error naming its directory.
pub(super) async fn open_context(config: Config, progress: bool) -> Context {
    let audit = crate::statestore::open(&config)
        .map_err(|error| error.to_string())
        .and_then(|store| crate::audit::open(&config.state_dir, store))
        .map_err(|error| tracing::error!(%error, "the audit log cannot be opened; nothing will be erased"))
        .ok();
    Context {
        audit,
        ..open_systems(config, progress).await
    }
}

/// Opens every system on the blocking pool, without the audit log (for `plan`, which does
/// nothing).
pub(super) async fn open_systems(config: Config, progress: bool) -> Context {
    let config = Arc::new(config);
    let finder = PluginFinder::new(config.plugin_dir.as_deref());
    let for_open = Arc::clone(&config);
    let systems = tokio::task::spawn_blocking(move || Systems::open(&for_open, &finder))
        .await
        .expect("opening systems does not panic");
    Context {
        config,
        systems: Arc::new(systems),
        progress,
        audit: None,
    }
}

/// The exit status for a set of run reports.
pub(super) fn run_status(reports: &[RunReport]) -> u8 {
    if reports.iter().any(|r| r.state == "failed") {
        FAILED
    } else if reports.iter().any(|r| r.state == "awaiting_approval") {
        NEEDS_APPROVAL
    } else {
        OK
    }
}
