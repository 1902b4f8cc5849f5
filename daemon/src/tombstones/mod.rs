//! Tombstones: what was erased where, kept encrypted for as long as that system's backups
//! live, so that after the system is restored from a backup `gallra reapply` can erase the
//! same subjects again.
//!
//! A tombstone holds the identifiers exactly as the connector was asked (the [`Subject`]),
//! sealed with XChaCha20-Poly1305 under the key in `<state_dir>/tombstone.key`; it expires
//! at the erasure plus the system's `backup_retention` and is pruned then. A system without
//! `backup_retention` gets no tombstones.

mod key;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use gallra_plugin_api::Subject;
use jiff::tz::TimeZone;
use jiff::Timestamp;

pub use gallra_store::Sealed;
pub use key::{key_path, KeyError, TombstoneKey, KEY_BYTES};

use crate::config::Config;
use crate::duration::CalendarDuration;
use crate::store::{NewTombstone, StoreError, TombstoneStore};

/// Makes tombstones for erasures: the key, and each system's backup retention.
#[derive(Debug, Clone)]
pub struct Keeper {
    key: TombstoneKey,
    retention: BTreeMap<String, CalendarDuration>,
    time_zone: TimeZone,
}

impl Keeper {
    /// The keeper for this configuration, loading (or creating) the key in its state
    /// directory.
    pub fn from_config(config: &Config) -> Result<Self, KeyError> {
        Ok(Self::new(
            TombstoneKey::load_or_create(&key_path(&config.state_dir))?,
            config,
        ))
    }

    /// The keeper for this configuration with a key in hand.
    pub fn new(key: TombstoneKey, config: &Config) -> Self {
        let retention = config
            .systems
            .values()
            .filter_map(|s| Some((s.name.clone(), s.backup_retention.clone()?)))
            .collect();
        Self {
            key,
            retention,
            time_zone: config.time_zone.clone(),
        }
    }

    /// The key, to open tombstones.
    pub fn key(&self) -> &TombstoneKey {
        &self.key
    }

    /// The tombstone for erasing `subject` from `system` at `erased_at`; `None` if the system
    /// states no backup retention (nothing to re-apply after a restore) or no identifiers.
    pub fn tombstone(
        &self,
        system: &str,
        subject: &Subject,
        erased_at: Timestamp,
    ) -> Option<NewTombstone> {
        let retention = self.retention.get(system)?;
        if subject.identifiers.is_empty() {
            return None;
        }
        let expires_at = retention
            .after(&erased_at.to_zoned(self.time_zone.clone()))
            .timestamp();
        Some(NewTombstone {
            system: system.to_owned(),
            erased_at,
            expires_at,
            sealed: self.key.seal(system, subject),
        })
    }
}

/// Opens the keeper for a configuration, logging (never failing) if the key cannot be had:
/// erasures go ahead, but without tombstones, and the log says so.
pub fn keeper_or_log(config: &Config) -> Option<Keeper> {
    match Keeper::from_config(config) {
        Ok(keeper) => Some(keeper),
        Err(error) => {
            tracing::error!(%error, "no tombstones can be written: erasures done now cannot be re-applied after a restore from backup");
            None
        }
    }
}

/// The keeper set for each state directory in this process. A store knows nothing of keys:
/// the daemon sets the keeper once the configuration is known (the request engine, `serve`)
/// and every erasure recorded in that state directory from then on (requests' and runs')
/// leaves tombstones.
static KEEPERS: Mutex<BTreeMap<PathBuf, Keeper>> = Mutex::new(BTreeMap::new());

/// Sets what makes tombstones for the erasures recorded in `state_dir` by this process,
/// replacing any keeper set before (a reloaded configuration).
pub fn keep_with(state_dir: &Path, keeper: Keeper) {
    KEEPERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(state_dir.to_owned(), keeper);
}

/// What makes tombstones for the erasures recorded in `state_dir`, if it was set.
pub fn keeper(state_dir: &Path) -> Option<Keeper> {
    KEEPERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(state_dir)
        .cloned()
}

/// Removes expired tombstones and logs how many.
pub fn prune(store: &dyn TombstoneStore, now: Timestamp) -> Result<u64, StoreError> {
    let pruned = store.prune_tombstones(now)?;
    if pruned > 0 {
        tracing::info!(
            pruned,
            "tombstones past their system's backup retention removed"
        );
    }
    Ok(pruned)
}
