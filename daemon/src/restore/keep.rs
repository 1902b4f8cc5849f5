//! Keeping a subject's data before a run erases it.

use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use gallra_plugin_api::{Capability, ExportResult, Identifier, Subject};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{key_path, seal_context};
use crate::config::Config;
use crate::plugins::SystemHandle;
use crate::store::{RestoreKeep, RunId, Store};
use crate::tombstones::TombstoneKey;

/// What is sealed per subject and system: every identifier the run knew the subject by (for
/// the audit entry of a restore, as keyed hashes, and to find erasures asked for since) and
/// the system's export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kept {
    /// The subject's identifiers, as the run had them.
    pub identifiers: Vec<Identifier>,
    /// Everything the system held about the subject before the erase.
    pub export: ExportResult,
}

/// Keeps what one run of a policy with a `restore_window` erases. Cheap to share.
pub struct RestoreKeeper {
    store: Arc<dyn Store>,
    run: RunId,
    policy: String,
    key_path: PathBuf,
    kept_until: Timestamp,
    key: Mutex<Option<TombstoneKey>>,
}

impl std::fmt::Debug for RestoreKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreKeeper")
            .field("run", &self.run)
            .field("policy", &self.policy)
            .field("kept_until", &self.kept_until)
            .finish_non_exhaustive()
    }
}

impl RestoreKeeper {
    /// Prunes the windows that have ended (of every run), then gives the keeper for `run` of
    /// `policy` if the policy has a `restore_window`: its window ends that long after `now`
    /// (or when it was first opened, for a run resumed). Nothing is written until the first
    /// keep.
    pub fn for_run(
        config: &Config,
        policy: &str,
        store: &Arc<dyn Store>,
        run: RunId,
    ) -> Option<Arc<Self>> {
        Self::for_run_at(config, policy, store, run, crate::clock::now())
    }

    /// [`for_run`](Self::for_run) at `now`.
    pub(crate) fn for_run_at(
        config: &Config,
        policy: &str,
        store: &Arc<dyn Store>,
        run: RunId,
        now: Timestamp,
    ) -> Option<Arc<Self>> {
        if let Err(error) = super::prune(store.as_ref(), &config.state_dir, now) {
            tracing::error!(%error, "ended restore windows could not be pruned; the next run tries again");
        }
        let window = config.policies.get(policy)?.restore_window.as_ref()?;
        let kept_until = window
            .after(&now.to_zoned(config.time_zone.clone()))
            .timestamp();
        Some(Arc::new(Self {
            store: Arc::clone(store),
            run,
            policy: policy.to_owned(),
            key_path: key_path(&config.state_dir, run),
            kept_until,
            key: Mutex::new(None),
        }))
    }

    /// The run's window is recorded and its key file exists (created on first use).
    pub(crate) fn key(&self) -> Result<TombstoneKey, String> {
        let mut key = self.key.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = key.as_ref() {
            return Ok(key.clone());
        }
        let window = self
            .store
            .open_restore_window(self.run, &self.policy, self.kept_until)
            .map_err(|e| e.to_string())?;
        if window.destroyed_at.is_some() {
            return Err(format!(
                "the restore window of run {} has ended and its key was destroyed; nothing more is erased in this run",
                self.run
            ));
        }
        let dir = self
            .key_path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        make_private_dir(&dir)?;
        let loaded = TombstoneKey::load_or_create(&self.key_path).map_err(|e| e.to_string())?;
        *key = Some(loaded.clone());
        Ok(loaded)
    }
}

/// Creates the key directory with mode 0700 (and tightens an existing one).
fn make_private_dir(dir: &std::path::Path) -> Result<(), String> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| format!("restore key directory {}: {e}", dir.display()))
}

/// Keeps what `handle`'s system holds about the subject, sealed under the run's key, before
/// the run erases it there. `subject_key` is the subject's key in the run; `subject` the
/// identifiers the erase will use; `identifiers` all the run knows the subject by. Kept already for this run (a task done again) is success
/// without a new export: the first, fuller one stands. An error says why, without personal
/// data, and means: do not erase.
pub async fn keep_before_erase(
    keeper: &RestoreKeeper,
    handle: &SystemHandle,
    subject_key: &str,
    subject: &Subject,
    identifiers: &[Identifier],
) -> Result<(), String> {
    let system = handle.name();
    let refuse = |why: String| {
        format!(
            "not erased: policy \"{}\" keeps what it erases for its restore window, and {why}; the next run tries again",
            keeper.policy
        )
    };
    if !(handle.can(Capability::Export) && handle.can(Capability::Restore)) {
        return Err(refuse(format!(
            "system \"{system}\" cannot export and restore (its connector does not offer both); remove the system from the policy or its restore_window"
        )));
    }
    let kept = keeper
        .store
        .is_kept(keeper.run, system, subject_key)
        .map_err(|e| refuse(e.to_string()))?;
    if kept {
        return Ok(());
    }
    let key = keeper.key().map_err(refuse)?;
    let who = subject.clone();
    let export = handle
        .call("export", move |i| i.export(&who))
        .await
        .map_err(|e| refuse(format!("the export failed: {e}")))?;
    let plain = serde_json::to_vec(&Kept {
        identifiers: identifiers.to_vec(),
        export,
    })
    .expect("an export serializes");
    let sealed = key.seal_bytes(&seal_context(keeper.run, system, subject_key), &plain);
    keeper
        .store
        .keep(&RestoreKeep {
            run: keeper.run,
            system: system.to_owned(),
            subject_key: subject_key.to_owned(),
            kept_at: crate::clock::now(),
            sealed,
        })
        .map_err(|e| refuse(e.to_string()))
}
