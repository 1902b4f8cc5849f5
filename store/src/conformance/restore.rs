//! Restore windows ([`RestoreStore`](crate::RestoreStore)): what a run kept, sealed, until its
//! window ends.

use super::runs::at;
use super::Backend;
use crate::{RestoreKeep, RunId, Sealed};

/// A run to keep for.
fn a_run(store: &dyn Backend) -> RunId {
    store
        .begin_run(
            "idle",
            "enforce",
            at("2026-01-01T03:00:00Z"),
            at("2026-01-01T03:00:00Z"),
        )
        .unwrap()
}

/// What was kept of `subject` in `system`, its sealed bytes standing for an export.
fn keep(run: RunId, system: &str, subject: &str, bytes: &[u8]) -> RestoreKeep {
    RestoreKeep {
        run,
        system: system.into(),
        subject_key: subject.into(),
        kept_at: at("2026-01-01T03:00:01Z"),
        sealed: Sealed {
            ciphertext: bytes.to_vec(),
            nonce: vec![0; 24],
        },
    }
}

/// A run's window is opened once: opening it again returns it with its first end.
pub fn a_window_is_opened_once_and_its_first_end_stands(store: &dyn Backend) {
    let run = a_run(store);
    let first = store
        .open_restore_window(run, "idle", at("2026-01-15T03:00:00Z"))
        .unwrap();
    let again = store
        .open_restore_window(run, "idle", at("2026-02-15T03:00:00Z"))
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(again.kept_until, at("2026-01-15T03:00:00Z"));
    assert_eq!(store.restore_window(run).unwrap(), Some(first));
}

/// What was kept of a subject in a system is stored once; the first keep stands.
pub fn a_keep_is_stored_once_and_the_first_stands(store: &dyn Backend) {
    let run = a_run(store);
    store
        .open_restore_window(run, "idle", at("2026-01-15T03:00:00Z"))
        .unwrap();
    assert!(!store.is_kept(run, "crm", "7").unwrap());
    store.keep(&keep(run, "crm", "7", b"first")).unwrap();
    store.keep(&keep(run, "crm", "7", b"second")).unwrap();
    store.keep(&keep(run, "panel", "7", b"panel")).unwrap();
    assert!(store.is_kept(run, "crm", "7").unwrap());
    let crm = store.kept(run, Some("crm")).unwrap();
    assert_eq!(crm.len(), 1);
    assert_eq!(crm[0].sealed.ciphertext, b"first");
    assert_eq!(store.kept(run, None).unwrap().len(), 2);
}

/// A window is listed as ended from its end until it is destroyed, which deletes what it kept.
pub fn an_ended_window_is_listed_until_destroyed_and_then_keeps_nothing(store: &dyn Backend) {
    let run = a_run(store);
    store
        .open_restore_window(run, "idle", at("2026-01-15T03:00:00Z"))
        .unwrap();
    store.keep(&keep(run, "crm", "7", b"x")).unwrap();
    assert!(store
        .ended_restore_windows(at("2026-01-15T02:59:59Z"))
        .unwrap()
        .is_empty());
    let ended = store
        .ended_restore_windows(at("2026-01-15T03:00:00Z"))
        .unwrap();
    assert_eq!(ended.len(), 1);
    store
        .destroy_restore_window(run, at("2026-01-16T00:00:00Z"))
        .unwrap();
    assert!(store.kept(run, None).unwrap().is_empty());
    assert!(store
        .ended_restore_windows(at("2026-02-01T00:00:00Z"))
        .unwrap()
        .is_empty());
    let window = store.restore_window(run).unwrap().unwrap();
    assert_eq!(window.destroyed_at, Some(at("2026-01-16T00:00:00Z")));
}
