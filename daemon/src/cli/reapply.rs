//! `gallra reapply --system S --since DATE`: after a system is restored from a backup, erase
//! again every subject erased there since DATE, from the encrypted tombstones gallra keeps
//! for as long as that system's backups live. Prints counts, never identifiers.

use std::path::Path;

use gallra_plugin_api::EraseOutcome;
use jiff::Timestamp;

use super::setup::{load, lock_state, open_context, CONFIG, FAILED, OK};
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::config::Config;
use crate::plugins::SystemHandle;
use crate::runner::Progress;
use std::sync::Arc;

use crate::store::{Backend, TombstoneRecord};
use crate::tombstones::{key_path, TombstoneKey};

/// What a re-application came to.
#[derive(Debug, Default, Clone, serde::Serialize)]
struct Counts {
    /// Tombstones found for the system since the date.
    tombstones: u64,
    /// The connector found the subject again and erased it.
    erased_again: u64,
    /// Nothing left to erase.
    already_gone: u64,
    /// The system keeps the data under a rule of its own.
    kept: u64,
    /// Not done: an error, a deletion still in progress, or a tombstone that did not open.
    failed: u64,
    /// Tombstones past their system's backup retention, removed before starting.
    pruned: u64,
}

/// Runs the command; returns the exit status.
pub(super) async fn reapply(
    path: &Path,
    system: &str,
    since: &str,
    dry_run: bool,
    json: bool,
) -> u8 {
    let config = match load(path) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let now = crate::clock::now();
    let since = match check(&config, system, since, now) {
        Ok(since) => since,
        Err(why) => {
            eprintln!("gallra: {why}");
            return CONFIG;
        }
    };
    // Even a dry run prunes expired tombstones, so it changes state too.
    let _lock = match lock_state(&config, "reapply") {
        Ok(lock) => lock,
        Err(status) => return status,
    };
    let (store, key) = match open_state(&config) {
        Ok(opened) => opened,
        Err(why) => {
            eprintln!("gallra: {why}");
            return FAILED;
        }
    };
    let mut counts = Counts::default();
    let tombstones = match crate::tombstones::prune(store.as_ref(), now).and_then(|pruned| {
        counts.pruned = pruned;
        store.tombstones_since(system, since)
    }) {
        Ok(tombstones) => tombstones,
        Err(error) => {
            eprintln!("gallra: {error}");
            return FAILED;
        }
    };
    counts.tombstones = tombstones.len() as u64;
    if !dry_run && !tombstones.is_empty() {
        let context = open_context(config.clone(), !json).await;
        let handle = match context.systems.get(system) {
            Ok(handle) => handle.clone(),
            Err(why) => {
                eprintln!("gallra: system \"{system}\" is unavailable: {why}");
                return FAILED;
            }
        };
        let progress = Progress::new(&format!("re-applying ({system})"), !json);
        progress.set_total(Some(counts.tombstones));
        erase_all(&handle, &key, &tombstones, &progress, &mut counts).await;
        progress.finish();
        record(&config, system, &counts);
    }
    report(&config, system, since, now, dry_run, json, &counts);
    if counts.failed > 0 {
        FAILED
    } else {
        OK
    }
}

/// Refuses an unknown system, one without a connector, and a date that is not a date or is
/// in the future. Returns the date as an instant.
fn check(config: &Config, system: &str, since: &str, now: Timestamp) -> Result<Timestamp, String> {
    let Some(found) = config.systems.get(system) else {
        let known: Vec<&str> = config.systems.keys().map(String::as_str).collect();
        return Err(format!(
            "no system \"{system}\" in {} (systems: {})",
            config.path.display(),
            known.join(", ")
        ));
    };
    if found.connector().is_none() {
        return Err(format!(
            "system \"{system}\" has no connector: gallra does not erase there itself, so there is nothing to re-apply (its erasures were requests to a person or processor; ask them again)"
        ));
    }
    let since = crate::clock::parse_instant(since, &config.time_zone)
        .map_err(|e| format!("--since: {e}"))?;
    if since > now {
        return Err(format!(
            "--since {since} is in the future: give the date the backup was taken"
        ));
    }
    Ok(since)
}

fn open_state(config: &Config) -> Result<(Arc<dyn Backend>, TombstoneKey), String> {
    let store = crate::statestore::open(config).map_err(|e| e.to_string())?;
    let key =
        TombstoneKey::load_or_create(&key_path(&config.state_dir)).map_err(|e| e.to_string())?;
    Ok((store, key))
}

/// Erases each tombstone's subject again, one at a time, counting the outcomes.
async fn erase_all(
    handle: &SystemHandle,
    key: &TombstoneKey,
    tombstones: &[TombstoneRecord],
    progress: &Progress,
    counts: &mut Counts,
) {
    for record in tombstones {
        let tombstone = &record.tombstone;
        match key.open(&tombstone.system, &tombstone.sealed) {
            Ok(subject) => match handle.call("erase", move |i| i.erase(&subject)).await {
                Ok(EraseOutcome::Erased { records: 0 })
                | Ok(EraseOutcome::Anonymized {
                    records: 0,
                    retained: None,
                    ..
                }) => counts.already_gone += 1,
                Ok(
                    EraseOutcome::Erased { .. } | EraseOutcome::Anonymized { retained: None, .. },
                ) => counts.erased_again += 1,
                Ok(EraseOutcome::Retained(_) | EraseOutcome::Anonymized { .. }) => counts.kept += 1,
                Ok(EraseOutcome::InProgress { .. }) => counts.failed += 1,
                Err(error) => {
                    tracing::warn!(tombstone = record.id, %error, "re-applying an erasure failed");
                    counts.failed += 1;
                }
            },
            Err(error) => {
                tracing::error!(tombstone = record.id, %error, "a tombstone did not open");
                counts.failed += 1;
            }
        }
        progress.advance(1);
    }
}

/// One audit entry with the counts.
fn record(config: &Config, system: &str, counts: &Counts) {
    let audit = crate::statestore::open(config)
        .map_err(|error| error.to_string())
        .and_then(|store| crate::audit::open(&config.state_dir, store))
        .map_err(|error| tracing::error!(%error, "the audit log cannot be written"))
        .ok();
    let outcome = if counts.failed > 0 {
        Outcome::Failed
    } else {
        Outcome::Done
    };
    let entry = NewEntry::new(Actor::Operator, Action::Erase, outcome)
        .system(system.to_owned())
        .detail("re-applied erasures after a restore from backup")
        .count("tombstones", counts.tombstones)
        .count("erased_again", counts.erased_again)
        .count("already_gone", counts.already_gone)
        .count("kept", counts.kept)
        .count("failed", counts.failed);
    crate::audit::append(audit.as_ref(), &[entry]);
}

fn report(
    config: &Config,
    system: &str,
    since: Timestamp,
    now: Timestamp,
    dry_run: bool,
    json: bool,
    counts: &Counts,
) {
    let window = window_note(config, system, since, now);
    if json {
        let mut value = serde_json::to_value(counts).expect("counts serialize");
        value["system"] = system.into();
        value["since"] = since.to_string().into();
        value["dry_run"] = dry_run.into();
        value["window"] = window.into();
        println!("{value}");
        return;
    }
    if dry_run {
        println!(
            "{} erasures in \"{system}\" since {since} would be re-applied (dry run: nothing done)",
            counts.tombstones
        );
    } else {
        println!(
            "re-applied {} erasures in \"{system}\" since {since}: {} erased again, {} already gone, {} kept by the system, {} failed",
            counts.tombstones, counts.erased_again, counts.already_gone, counts.kept, counts.failed
        );
    }
    if counts.pruned > 0 {
        println!(
            "{} tombstones had passed their system's backup retention and were removed",
            counts.pruned
        );
    }
    if let Some(window) = window {
        println!("{window}");
    }
    if counts.failed > 0 {
        println!("some erasures failed (see the log); running the same command again is safe");
    }
}

/// Says when erasures before `since` can no longer be re-applied: tombstones live only as
/// long as the system's backups.
fn window_note(config: &Config, system: &str, since: Timestamp, now: Timestamp) -> Option<String> {
    let Some(retention) = config
        .systems
        .get(system)
        .and_then(|s| s.backup_retention.as_ref())
    else {
        return Some(format!(
            "system \"{system}\" states no backup_retention, so gallra keeps no tombstones for it: nothing can be re-applied there"
        ));
    };
    let kept_from = retention.cutoff(&now.to_zoned(config.time_zone.clone()));
    (since < kept_from).then(|| {
        format!(
            "erasures before {kept_from} are past \"{system}\"'s backup retention ({}): the window has passed for those, their tombstones are gone, and no backup should still hold them",
            retention.as_str()
        )
    })
}
