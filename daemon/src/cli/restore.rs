//! `gallra restore RUN [--system S] [--dry-run] [--json]`: undoes a policy run's erasures
//! within its restore window, from what the run kept (see [`crate::restore`]). Prints counts
//! per system, never identifiers or data. Running it twice restores nothing twice.

use std::collections::BTreeMap;

use gallra_plugin_api::{Capability, RestoreOutcome};

use super::commands::{load, open_context, FAILED, OK};
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::config::Config;
use crate::plugins::Systems;
use crate::restore::{key_path, seal_context, Kept};
use crate::runner::Progress;
use crate::store::{RestoreKeep, RestoreStore, RestoreWindow, RunId, SqliteStore};
use crate::tombstones::TombstoneKey;

/// The arguments of `gallra restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    config: super::ConfigArg,
    /// The run whose erasures to undo, as `gallra run` or `gallra runs` printed it.
    run: i64,
    /// Only this system.
    #[arg(long)]
    system: Option<String>,
    /// Only count what would be restored.
    #[arg(long)]
    dry_run: bool,
    /// Print JSON for scripts instead of text.
    #[arg(long)]
    json: bool,
}

/// What the restore came to in one system.
#[derive(Debug, Default, Clone, serde::Serialize)]
struct Counts {
    /// Subjects kept for the run in this system.
    subjects: u64,
    /// Records put back.
    restored: u64,
    /// Records that were there already and were left as they are.
    already_present: u64,
    /// Subjects not restored: the system is unavailable or cannot restore, an error, or
    /// kept data that did not open.
    failed: u64,
    /// Why the system could not restore at all, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    cannot_restore: Option<String>,
}

/// Runs the command; returns the exit status.
pub(super) async fn restore(args: RestoreArgs) -> u8 {
    let config = match load(&args.config.config) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let run = RunId(args.run);
    let (store, window) = match open_window(&config, run) {
        Ok(opened) => opened,
        Err(why) => {
            eprintln!("gallra: {why}");
            return FAILED;
        }
    };
    let key = match TombstoneKey::load(&key_path(&config.state_dir, run)) {
        Ok(key) => key,
        Err(error) => {
            eprintln!("gallra: the key of run {run}'s restore window cannot be read ({error}); what the run kept cannot be opened");
            return FAILED;
        }
    };
    let kept = match store.kept(run, args.system.as_deref()) {
        Ok(kept) => kept,
        Err(error) => {
            eprintln!("gallra: {error}");
            return FAILED;
        }
    };
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    for keep in &kept {
        counts.entry(keep.system.clone()).or_default().subjects += 1;
    }
    let mut audit_failed = false;
    if !args.dry_run && !kept.is_empty() {
        let context = open_context(config.clone(), !args.json).await;
        let progress = Progress::new(&format!("restoring (run {run})"), !args.json);
        progress.set_total(Some(kept.len() as u64));
        let entries = restore_all(&context.systems, &key, &kept, &progress, &mut counts).await;
        progress.finish();
        if let Err(error) = record(context.audit.as_deref(), &entries) {
            eprintln!(
                "gallra: the restores were made, but the audit log does not have them: {error}"
            );
            audit_failed = true;
        }
    }
    report(run, &window, &args, &counts);
    if audit_failed || counts.values().any(|c| c.failed > 0) {
        FAILED
    } else {
        OK
    }
}

/// Writes the restores' audit entries; a restore brings personal data back, so an unwritten
/// record fails the command.
fn record(audit: Option<&crate::audit::AuditLog>, entries: &[NewEntry]) -> Result<(), String> {
    let log = audit.ok_or("the audit log could not be opened (see the error above)")?;
    crate::audit::write(log, entries).map_err(|e| e.to_string())
}

/// Opens the store, prunes ended windows, and gives the run's window if it is still open;
/// otherwise says why nothing can be restored.
fn open_window(config: &Config, run: RunId) -> Result<(SqliteStore, RestoreWindow), String> {
    let store = SqliteStore::open(&config.state_dir).map_err(|e| e.to_string())?;
    let now = crate::clock::now();
    crate::restore::prune(&store, &config.state_dir, now).map_err(|e| e.to_string())?;
    match store.restore_window(run).map_err(|e| e.to_string())? {
        None => Err(format!(
            "run {run} kept nothing to restore: its policy had no restore_window when it ran, or it erased nothing (see `gallra runs`)"
        )),
        Some(window) => match window.destroyed_at {
            Some(_) => Err(ended(&window, config)),
            None => Ok((store, window)),
        },
    }
}

/// The message for a window that has ended.
fn ended(window: &RestoreWindow, config: &Config) -> String {
    let date = window
        .kept_until
        .to_zoned(config.time_zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z");
    format!(
        "the restore window of run {} ended on {date}; its key was destroyed, so what it kept can no longer be restored",
        window.run
    )
}

/// Restores each kept subject in its system, one at a time; returns the audit entries, one
/// per subject and system.
async fn restore_all(
    systems: &Systems,
    key: &TombstoneKey,
    kept: &[RestoreKeep],
    progress: &Progress,
    counts: &mut BTreeMap<String, Counts>,
) -> Vec<NewEntry> {
    let mut entries = Vec::new();
    for keep in kept {
        let count = counts.entry(keep.system.clone()).or_default();
        let entry = restore_one(systems, key, keep, count).await;
        entries.extend(entry);
        progress.advance(1);
    }
    entries
}

async fn restore_one(
    systems: &Systems,
    key: &TombstoneKey,
    keep: &RestoreKeep,
    count: &mut Counts,
) -> Option<NewEntry> {
    let handle = match systems.get(&keep.system) {
        Ok(handle) if handle.can(Capability::Restore) => handle.clone(),
        Ok(_) => {
            count.cannot_restore = Some("its connector does not offer restore".to_owned());
            count.failed += 1;
            return None;
        }
        Err(why) => {
            count.cannot_restore = Some(why);
            count.failed += 1;
            return None;
        }
    };
    let context = seal_context(keep.run, &keep.system, &keep.subject_key);
    let opened = key
        .open_bytes(&context, &keep.sealed)
        .ok()
        .and_then(|plain| serde_json::from_slice::<Kept>(&plain).ok());
    let Some(kept) = opened else {
        tracing::error!(run = keep.run.0, system = %keep.system, "kept data did not open with the run's key");
        count.failed += 1;
        return None;
    };
    let data = kept.export;
    let result = handle.call("restore", move |i| i.restore(&data)).await;
    let entry = NewEntry::new(Actor::Operator, Action::Restore, Outcome::Done)
        .system(keep.system.clone())
        .subject(&kept.identifiers);
    Some(match result {
        Ok(RestoreOutcome {
            restored,
            already_present,
        }) => {
            count.restored += restored;
            count.already_present += already_present;
            entry
                .detail(format!(
                    "restored from the restore window of run {}",
                    keep.run
                ))
                .count("restored", restored)
                .count("already_present", already_present)
        }
        Err(error) => {
            tracing::warn!(run = keep.run.0, system = %keep.system, %error, "restoring a subject failed");
            count.failed += 1;
            NewEntry::new(Actor::Operator, Action::Restore, Outcome::Failed)
                .system(keep.system.clone())
                .subject(&kept.identifiers)
                .detail(format!(
                    "restore from the restore window of run {} failed: {error}",
                    keep.run
                ))
        }
    })
}

fn report(
    run: RunId,
    window: &RestoreWindow,
    args: &RestoreArgs,
    counts: &BTreeMap<String, Counts>,
) {
    if args.json {
        let value = serde_json::json!({
            "run": run.0,
            "kept_until": window.kept_until.to_string(),
            "dry_run": args.dry_run,
            "systems": counts,
        });
        println!("{value}");
        return;
    }
    if counts.is_empty() {
        println!("run {run} kept nothing{} to restore", system_note(args));
    }
    for (system, c) in counts {
        if args.dry_run {
            println!(
                "\"{system}\": {} subjects would be restored (dry run: nothing done)",
                c.subjects
            );
        } else if let Some(why) = &c.cannot_restore {
            println!(
                "\"{system}\": cannot restore ({why}); {} subjects not restored",
                c.subjects
            );
        } else {
            println!(
                "\"{system}\": {} subjects: {} records restored, {} already present, {} subjects failed",
                c.subjects, c.restored, c.already_present, c.failed
            );
        }
    }
    println!(
        "run {run}'s restore window is open until {}",
        window.kept_until
    );
    if counts.values().any(|c| c.failed > 0) {
        println!(
            "some subjects were not restored (see the log); running the same command again is safe"
        );
    }
}

fn system_note(args: &RestoreArgs) -> String {
    args.system
        .as_ref()
        .map(|s| format!(" in \"{s}\""))
        .unwrap_or_default()
}
