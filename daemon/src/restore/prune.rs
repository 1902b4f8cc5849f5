//! Ending restore windows: the key file first, then the ciphertexts.

use std::path::Path;

use jiff::Timestamp;

use super::key_path;
use crate::store::{RestoreStore, StoreError};

/// Destroys every window that has ended at `now`: deletes the run's key file (so that what
/// was kept can never be read again, wherever a copy of the database went), then the
/// ciphertexts, and records the window destroyed. A key file that cannot be deleted leaves
/// its window as it is, logged, for the next prune. Returns how many windows ended.
pub fn prune(
    store: &dyn RestoreStore,
    state_dir: &Path,
    now: Timestamp,
) -> Result<u64, StoreError> {
    let mut destroyed = 0;
    for window in store.ended_restore_windows(now)? {
        let path = key_path(state_dir, window.run);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::error!(run = window.run.0, path = %path.display(), %error, "the key of an ended restore window could not be deleted; what it sealed stays until it is");
                continue;
            }
        }
        store.destroy_restore_window(window.run, now)?;
        tracing::info!(run = window.run.0, kept_until = %window.kept_until, "restore window ended: its key and what it kept were destroyed");
        destroyed += 1;
    }
    Ok(destroyed)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    use super::*;
    use crate::restore::{seal_context, RestoreKeeper};
    use crate::store::{RestoreKeep, RunId, SqliteStore, Store};
    use crate::tombstones::TombstoneKey;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    const CONFIG: &str = r#"state_dir = "STATE"
time_zone = "Europe/Stockholm"
account_source = "panel"
[systems.panel]
plugin = "sql"
[policies.idle]
kind = "inactivity"
idle_for = "6 months"
mode = "enforce"
restore_window = "14 days"
[policies.ended]
kind = "retention"
after = "2 months"
systems = ["panel"]
"#;

    /// A store with one run of `idle`, its keeper (window opened and key made at
    /// 2026-03-01 by a keep), and one subject kept.
    fn kept_run(dir: &Path) -> (Arc<dyn Store>, RunId, crate::config::Config) {
        let text = CONFIG.replace("STATE", &dir.display().to_string());
        let config = crate::config::parse(&text, Path::new("/g.toml")).unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir).unwrap());
        let now = at("2026-03-01T03:00:00Z");
        let run = store.begin_run("idle", "enforce", now, now).unwrap();
        let keeper = RestoreKeeper::for_run_at(&config, "idle", &store, run, now).unwrap();
        assert!(RestoreKeeper::for_run_at(&config, "ended", &store, run, now).is_none());
        let key = keeper.key().unwrap();
        let sealed = key.seal_bytes(&seal_context(run, "panel", "7"), b"{}");
        store
            .keep(&RestoreKeep {
                run,
                system: "panel".into(),
                subject_key: "7".into(),
                kept_at: now,
                sealed,
            })
            .unwrap();
        (store, run, config)
    }

    #[test]
    fn the_key_is_a_private_file_in_a_private_directory_and_opens_what_was_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (store, run, _) = kept_run(dir.path());
        let path = crate::restore::key_path(dir.path(), run);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let kept = store.kept(run, None).unwrap();
        let key = TombstoneKey::load(&path).unwrap();
        let context = seal_context(run, "panel", "7");
        assert_eq!(key.open_bytes(&context, &kept[0].sealed).unwrap(), b"{}");
        assert!(key
            .open_bytes(&seal_context(run, "panel", "8"), &kept[0].sealed)
            .is_err());
        let window = store.restore_window(run).unwrap().unwrap();
        assert_eq!(
            window.kept_until,
            at("2026-03-15T03:00:00Z"),
            "14 calendar days"
        );
    }

    #[test]
    fn prune_destroys_the_key_then_the_ciphertexts_only_when_the_window_ended() {
        let dir = tempfile::tempdir().unwrap();
        let (store, run, _) = kept_run(dir.path());
        let path = crate::restore::key_path(dir.path(), run);
        assert_eq!(
            prune(store.as_ref(), dir.path(), at("2026-03-15T02:59:59Z")).unwrap(),
            0
        );
        assert!(path.exists());
        assert_eq!(store.kept(run, None).unwrap().len(), 1);
        assert_eq!(
            prune(store.as_ref(), dir.path(), at("2026-03-15T03:00:00Z")).unwrap(),
            1
        );
        assert!(!path.exists(), "the key file is gone");
        assert!(
            store.kept(run, None).unwrap().is_empty(),
            "and the ciphertexts"
        );
        let window = store.restore_window(run).unwrap().unwrap();
        assert_eq!(window.destroyed_at, Some(at("2026-03-15T03:00:00Z")));
        assert_eq!(
            prune(store.as_ref(), dir.path(), at("2026-04-01T00:00:00Z")).unwrap(),
            0
        );
    }

    #[test]
    fn a_key_that_cannot_be_deleted_leaves_the_window_for_the_next_prune() {
        let dir = tempfile::tempdir().unwrap();
        let (store, run, _) = kept_run(dir.path());
        let keys = crate::restore::key_dir(dir.path());
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o500)).unwrap();
        let later = at("2026-04-01T00:00:00Z");
        let pruned = prune(store.as_ref(), dir.path(), later).unwrap();
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700)).unwrap();
        if pruned == 1 {
            // Running as root: the directory's mode does not stop deletion.
            return;
        }
        assert_eq!(store.kept(run, None).unwrap().len(), 1);
        assert_eq!(prune(store.as_ref(), dir.path(), later).unwrap(), 1);
    }
}
