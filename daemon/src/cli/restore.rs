//! `gallra restore RUN [--system S] [--dry-run] [--json]`: undoes a policy run's erasures
//! within its restore window, from what the run kept (see [`crate::restore`]). Prints counts
//! per system, never identifiers or data. Running it twice restores nothing twice.

use std::collections::{BTreeMap, BTreeSet};

use gallra_plugin_api::{Capability, Identifier, RestoreOutcome};

use super::setup::{load, lock_state, open_context, CONFIG, FAILED, OK};
use crate::audit::{Action, Actor, NewEntry, Outcome, SubjectKey};
use crate::config::Config;
use crate::plugins::Systems;
use crate::restore::{key_path, seal_context, Kept};
use crate::runner::Progress;
use std::sync::Arc;

use crate::store::{Backend, RestoreKeep, RestoreWindow, RunId};
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
    /// Subjects not brought back because they asked to be erased (the audit log holds a
    /// request's erasure of them).
    asked_to_be_erased: u64,
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
    if let Some(system) = args.system.as_deref() {
        if !config.systems.contains_key(system) {
            let known: Vec<&str> = config.systems.keys().map(String::as_str).collect();
            eprintln!(
                "gallra: --system {system:?} is not a system of {} (its systems: {})",
                args.config.config.display(),
                known.join(", ")
            );
            return CONFIG;
        }
    }
    // Even a dry run opens (and so may upgrade) the state store.
    let _lock = match lock_state(&config, "restore") {
        Ok(lock) => lock,
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
            eprintln!("gallra: the key of run {run}'s restore window cannot be read ({error}); what the run kept cannot be opened until it is put back from the machine's backup (gallra deletes it only when the window ends)");
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
        if context.audit.is_none() {
            eprintln!("gallra: nothing restored: a restore brings personal data back and must be in the audit log, which cannot be opened (see the error above)");
            return FAILED;
        }
        let opened = open_all(&key, &kept);
        let asked = match asked_to_be_erased(&config, &opened) {
            Ok(asked) => asked,
            Err(why) => {
                eprintln!("gallra: nothing restored: {why}");
                return FAILED;
            }
        };
        let progress = Progress::new(&format!("restoring (run {run})"), !args.json);
        progress.set_total(Some(kept.len() as u64));
        let entries = restore_all(&context.systems, &opened, &asked, &progress, &mut counts).await;
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
fn open_window(config: &Config, run: RunId) -> Result<(Arc<dyn Backend>, RestoreWindow), String> {
    let store = crate::statestore::open(config).map_err(|e| e.to_string())?;
    let now = crate::clock::now();
    crate::restore::prune(store.as_ref(), &config.state_dir, now).map_err(|e| e.to_string())?;
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

/// Opens each kept subject with the run's key; `None` for one that does not open.
fn open_all<'a>(
    key: &TombstoneKey,
    kept: &'a [RestoreKeep],
) -> Vec<(&'a RestoreKeep, Option<Kept>)> {
    kept.iter()
        .map(|keep| {
            let context = seal_context(keep.run, &keep.system, &keep.subject_key);
            let opened = key
                .open_bytes(&context, &keep.sealed)
                .ok()
                .and_then(|plain| serde_json::from_slice::<Kept>(&plain).ok());
            (keep, opened)
        })
        .collect()
}

/// The run's keys of the subjects among `opened` that a request asked to erase, found in
/// the audit log (any request's erase or anonymize entry, before or after the run): they
/// are not brought back. Errors when the log cannot be searched, since then nobody can be
/// restored safely.
fn asked_to_be_erased(
    config: &Config,
    opened: &[(&RestoreKeep, Option<Kept>)],
) -> Result<BTreeSet<String>, String> {
    let key_path = crate::audit::default_key_path(&config.state_dir);
    let key = SubjectKey::load(&key_path).map_err(|e| {
        format!("the audit key cannot be read to check who asked to be erased since ({e})")
    })?;
    let identifiers: Vec<Identifier> = opened
        .iter()
        .filter_map(|(_, kept)| kept.as_ref())
        .flat_map(|kept| kept.identifiers.iter().cloned())
        .collect();
    let entries = crate::audit::find_subjects(
        &crate::audit::log_dir(&config.state_dir),
        &key,
        &identifiers,
    )
    .map_err(|e| format!("the audit log cannot be searched for requests to erase ({e})"))?;
    let asked: BTreeSet<String> = entries
        .iter()
        .filter(|e| e.actor.starts_with("request:"))
        .filter(|e| matches!(e.action.as_str(), "erase" | "anonymize"))
        .flat_map(|e| e.subject.iter().cloned())
        .collect();
    Ok(opened
        .iter()
        .filter_map(|(keep, kept)| Some((keep, kept.as_ref()?)))
        .filter(|(_, kept)| {
            key.subjects(&kept.identifiers)
                .iter()
                .any(|hash| asked.contains(hash))
        })
        .map(|(keep, _)| keep.subject_key.clone())
        .collect())
}

/// Restores each kept subject in its system, one at a time, except those who asked to be
/// erased; returns the audit entries, one per subject and system.
async fn restore_all(
    systems: &Systems,
    opened: &[(&RestoreKeep, Option<Kept>)],
    asked: &BTreeSet<String>,
    progress: &Progress,
    counts: &mut BTreeMap<String, Counts>,
) -> Vec<NewEntry> {
    let mut entries = Vec::new();
    for (keep, kept) in opened {
        let count = counts.entry(keep.system.clone()).or_default();
        let entry = restore_one(systems, keep, kept.as_ref(), asked, count).await;
        entries.extend(entry);
        progress.advance(1);
    }
    entries
}

async fn restore_one(
    systems: &Systems,
    keep: &RestoreKeep,
    kept: Option<&Kept>,
    asked: &BTreeSet<String>,
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
    let Some(kept) = kept else {
        tracing::error!(run = keep.run.0, system = %keep.system, "kept data did not open with the run's key");
        count.failed += 1;
        return None;
    };
    let entry = NewEntry::new(Actor::Operator, Action::Restore, Outcome::Blocked)
        .system(keep.system.clone())
        .subject(&kept.identifiers);
    if asked.contains(&keep.subject_key) {
        count.asked_to_be_erased += 1;
        return Some(entry.detail(format!(
            "not restored from the restore window of run {}: the subject asked to be erased",
            keep.run
        )));
    }
    let data = kept.export.clone();
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
                "\"{system}\": {} subjects: {} records restored, {} already present, {} not restored because they asked to be erased, {} subjects failed",
                c.subjects, c.restored, c.already_present, c.asked_to_be_erased, c.failed
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
