//! The built `libgallra_plugin_imap.so`, loaded the way the daemon loads it, looks up and
//! erases a subject's mail in a real Dovecot across the C ABI.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use gallra_plugin_api::host::PluginLibrary;
use gallra_plugin_api::EraseOutcome;
use serde_json::json;
use support::{by_email, context, Account, SUBJECT};

const LIBRARY: &str = "libgallra_plugin_imap.so";

/// The newest modification time under `path`.
fn newest(path: &Path) -> SystemTime {
    let mut newest = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            newest = newest.max(self::newest(&entry.path()));
        }
    }
    newest
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The plugin library of this build profile, built first if it is missing or older than
/// the crate's sources.
fn plugin_library() -> PathBuf {
    // The test binary lives in target/<profile>/deps/.
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir");
    let profile_dir = deps.parent().expect("profile dir");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = newest(&manifest.join("src")).max(newest(&manifest.join("Cargo.toml")));
    // `cargo test` builds the cdylib into deps/ alongside the rlib; `cargo build` copies it
    // up into the profile directory. Either is good if it is newer than the sources.
    let fresh = [deps.join(LIBRARY), profile_dir.join(LIBRARY)]
        .into_iter()
        .filter_map(|p| modified(&p).filter(|m| *m >= sources).map(|m| (m, p)))
        .max();
    if let Some((_, path)) = fresh {
        return path;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let profile = if profile == "debug" { "dev" } else { profile };
    let target_dir = profile_dir.parent().expect("target dir");
    let status = Command::new(cargo)
        .args([
            "build",
            "-p",
            "gallra-plugin-imap",
            "--lib",
            "--profile",
            profile,
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build of the plugin failed");
    profile_dir.join(LIBRARY)
}

#[test]
fn the_built_plugin_looks_up_and_erases_through_the_c_abi() {
    let Some(account) = Account::new() else {
        return;
    };
    account.seed();
    let library = PluginLibrary::load(&plugin_library()).expect("load the plugin");
    let settings = serde_json::to_vec(&account.settings(&["INBOX", "Sent"], json!({}))).unwrap();
    library.validate(&settings).expect("valid settings");
    let plugin = library.open(&settings, &context()).expect("open");

    assert_eq!(plugin.describe().unwrap().name, "imap");
    let subject = by_email(SUBJECT);
    assert_eq!(plugin.lookup(&subject).unwrap().records.len(), 3);
    assert_eq!(
        plugin.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 3 }
    );
    assert_eq!(
        plugin.erase(&subject).unwrap(),
        EraseOutcome::Erased { records: 0 }
    );
    assert_eq!(account.dovecot.count("INBOX"), 2);
    plugin.health().expect("healthy");

    let broken = account.settings(
        &["INBOX"],
        json!({"tls": "none", "host": "mail.example.se"}),
    );
    let err = library
        .validate(&serde_json::to_vec(&broken).unwrap())
        .unwrap_err();
    assert!(
        err.to_string().contains("only allowed for localhost"),
        "{err}"
    );
}
